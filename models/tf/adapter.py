"""The TensorFlow adapter: ``tf`` (tf.function graphs) and ``tf:xla`` (jit_compile=True).

A good TF user's loop: a tf.Module of tf.Variables, the forward pass in tf.nn ops, and the whole
optimizer step — tape, gradients, update — in one tf.function with a fixed input signature, so
it traces once and every later step is one graph call.
"""

from __future__ import annotations

import importlib
import logging
import os
import time
from typing import Any

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import numpy as np
import tensorflow as tf

from bench.zoo import dropout
from bench.zoo import precision as precisions
from bench.zoo.specs import ModelSpec, Recipe, Settings
from models.tf import losses, optim
from models.tf import precision as mixed
from models.tf.layers import CanonicalModule


class _FreshModelTracing(logging.Filter):
    """Every build traces new graphs for a new model, which TF's retracing heuristic calls
    "excessive retracing" once five models are built in one process (tests, parity); it is not.
    Only that message is dropped."""

    def filter(self, record: logging.LogRecord) -> bool:
        return "triggered tf.function retracing" not in record.getMessage()


tf.get_logger().addFilter(_FreshModelTracing())


def architecture_builder(name: str) -> Any:
    """``build(spec, weights)`` of models/tf/<name>.py: found by convention, no table."""
    return importlib.import_module(f"models.tf.{name}").build


def cross_entropy(logits: tf.Tensor, y: tf.Tensor, label_smoothing: float = 0.0) -> tf.Tensor:
    return losses.cross_entropy(logits, y, label_smoothing)


def dense_gradients(grads: list[Any]) -> list[tf.Tensor]:
    """An embedding lookup's gradient is a tf.IndexedSlices (rows touched); the optimizers apply
    dense updates to the whole table, as torch's dense nn.Embedding gradient does."""
    return [tf.convert_to_tensor(g) if isinstance(g, tf.IndexedSlices) else g for g in grads]


class TFModel:
    """The module, its optimizer and its graphs, one per batch size.

    Each graph has a fully static input signature: a fixed batch dimension lets grappler and XLA
    specialise every shape (a ``None`` batch costs 0.3 ms a step on the MNIST-1D logreg, about
    double its step time). A new batch size (parity tests, batch-1 inference) traces once more.
    """

    def __init__(
        self,
        module: CanonicalModule,
        optimizer: optim.TorchFormulaOptimizer | optim.StockOptimizer,
        input_shape: tuple[int, ...],
        xla: bool,
        label_smoothing: float = 0.0,
        precision: str = "fp32",
        tokens: bool = False,
        label_shape: tuple[int, ...] = (),
    ) -> None:
        self.module = module
        self.dtype = mixed.compute_dtype(precision)  # the ops' dtype; variables stay float32
        self.loss_scale = mixed.LossScale() if precisions.loss_scaling(precision) else None
        #: int32 token ids for a model whose spec has a "vocab_size", float32 features otherwise.
        self.x_dtype = tf.int32 if tokens else tf.float32
        #: One sample's label shape: () for a classifier, (T,) for a language model.
        self.label_shape = label_shape
        self.optimizer = optimizer
        self.label_smoothing = label_smoothing  # training loss only; evaluation's is plain
        self.input_shape = input_shape
        self.xla = xla
        self._train: dict[int, Any] = {}
        self._forward: dict[tuple[int, bool], Any] = {}
        self._eval: Any = None

    def _specs(self, batch: int | None) -> tuple[tf.TensorSpec, tf.TensorSpec]:
        return (
            tf.TensorSpec([batch, *self.input_shape], self.x_dtype),
            tf.TensorSpec([batch, *self.label_shape], tf.int64),
        )

    def train_step(self, batch: int) -> Any:
        """tf.function (x, y) → loss: forward, tape, gradients and the update, one graph."""
        if batch not in self._train:
            module, opt, variables = self.module, self.optimizer, self.module.ordered
            smoothing, dtype, scaler = self.label_smoothing, self.dtype, self.loss_scale

            @tf.function(input_signature=self._specs(batch), jit_compile=self.xla)
            def train_step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
                with tf.GradientTape() as tape:
                    loss = cross_entropy(mixed.mixed_call(module, x, dtype, True), y, smoothing)
                    scaled = loss if scaler is None else loss * scaler.scale
                grads = dense_gradients(tape.gradient(scaled, variables))
                if scaler is None:
                    opt.apply(grads, variables)
                else:  # fp16: unscale, skip the step on overflow, adapt the scale
                    grads = [g / scaler.scale for g in grads]
                    scaler.step(grads, lambda gs: opt.apply(gs, variables))
                return loss

            self._train[batch] = train_step
        return self._train[batch]

    def forward(self, batch: int, training: bool = False) -> Any:
        """tf.function x → logits (inference: no tape, nothing updated; ``training``: batch
        statistics, running statistics updated, for parity tests)."""
        if (batch, training) not in self._forward:
            module, dtype = self.module, self.dtype

            @tf.function(input_signature=self._specs(batch)[:1], jit_compile=self.xla)
            def forward(x: tf.Tensor) -> tf.Tensor:
                return mixed.mixed_call(module, x, dtype, training)

            self._forward[batch, training] = forward
        return self._forward[batch, training]

    def eval_batch(self) -> Any:
        """tf.function (x, y) → (sum of losses in float64, correct count); any batch size, as
        evaluation is not timed and its last batch may be short."""
        if self._eval is None:
            module, dtype = self.module, self.dtype
            x_spec, y_spec = self._specs(None)

            @tf.function(input_signature=[x_spec, y_spec])
            def eval_batch(x: tf.Tensor, y: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
                logits = mixed.mixed_call(module, x, dtype)
                losses = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=logits)
                hits = tf.equal(tf.argmax(logits, -1), y)  # every position of an LM
                correct = tf.reduce_sum(tf.cast(hits, tf.int64))
                return tf.reduce_sum(tf.cast(losses, tf.float64)), correct

            self._eval = eval_batch
        return self._eval


class TFAdapter:
    def __init__(self, name: str, xla: bool = False) -> None:
        self.name = name
        self.xla = xla
        self.device = "/CPU:0"
        self.on_gpu = False
        self.deterministic = False
        self.precision = "fp32"

    # -- process settings ------------------------------------------------------------------
    def configure(self, settings: Settings) -> dict[str, Any]:
        notes: list[str] = []
        self.precision = precisions.canonical(settings.precision)
        refused = precisions.refusal(self.precision, settings.device)
        if refused:
            raise ValueError(refused)
        try:
            tf.config.threading.set_intra_op_parallelism_threads(settings.threads)
            tf.config.threading.set_inter_op_parallelism_threads(settings.interop_threads)
        except RuntimeError:  # the runtime has started: the values in force are reported
            notes.append(
                f"TensorFlow's runtime had started; asked for {settings.threads} intra-op / "
                f"{settings.interop_threads} inter-op threads, the values in force are reported"
            )
        gpus = tf.config.list_physical_devices("GPU")
        if settings.device == "cuda":
            if not gpus:
                raise RuntimeError("CUDA requested but TensorFlow sees no GPU")
            self.device, self.on_gpu = "/GPU:0", True
        elif settings.device == "cpu":
            if gpus:
                try:
                    tf.config.set_visible_devices([], "GPU")
                except RuntimeError:
                    notes.append("GPU stayed visible (runtime already started); ops pinned to CPU")
        else:
            raise ValueError(f"unknown device {settings.device!r}")
        # TF enables TF32 by default on Ampere+ GPUs; the suite sets it like torch's default.
        tf32 = settings.tf32 or self.precision == "tf32"
        tf.config.experimental.enable_tensor_float_32_execution(tf32)
        if settings.deterministic:  # TF has no switch back and no public read-back
            tf.config.experimental.enable_op_determinism()
            self.deterministic = True
        return {
            "threads_intra": tf.config.threading.get_intra_op_parallelism_threads(),
            "threads_inter": tf.config.threading.get_inter_op_parallelism_threads(),
            "precision": self.precision,
            "mixed_precision": (
                f"{mixed.compute_dtype(self.precision).name} compute by casts in tf ops, float32 "
                "variables" + (", dynamic loss scaling" if self.precision == "fp16" else "")
            )
            if precisions.is_mixed(self.precision)
            else "none",
            "op_dtypes": mixed.probe_dtypes(self.precision),
            "memory_format": "channels-last (native)",
            "tf32": tf.config.experimental.tensor_float_32_execution_enabled(),
            "compile": "xla" if self.xla else "tf.function",
            "deterministic": self.deterministic,
            "layout": "NLC/NHWC (channels-last)",
            "device": self.device,
            "versions": {"tensorflow": tf.__version__},
            "notes": notes,
        }

    # -- model -----------------------------------------------------------------------------
    def build(
        self,
        spec: ModelSpec,
        weights: dict[str, np.ndarray],
        recipe: Recipe,
        lr: np.ndarray,
        stock_optimizer: bool = False,
    ) -> TFModel:
        if self.xla and dropout.Draws.of(spec).shared:
            raise ValueError("shared dropout masks come through tf.numpy_function: not under XLA")
        with tf.device(self.device):
            module = architecture_builder(spec.name)(spec, weights)
            module.compute_dtype = mixed.compute_dtype(self.precision)  # rows start in it
            module.unroll = not self.xla  # see CanonicalModule.gru_direction
            opt = optim.make(recipe, list(module.params.items()), lr, stock=stock_optimizer)
        shape = tuple(spec.input_shape)
        tokens = "vocab_size" in spec.params
        label_shape = shape if spec.params.get("task") == "lm" else ()  # next token per step
        return TFModel(module, opt, shape, self.xla, recipe.label_smoothing, self.precision,
                       tokens, label_shape)  # fmt: skip

    def _sync(self) -> None:
        """On the CPU a graph call returns when it is done; a GPU runs ahead of Python."""
        if self.on_gpu:
            tf.test.experimental.sync_devices()

    # -- timed loops -----------------------------------------------------------------------
    def train_round(
        self, model: TFModel, x: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        with tf.device(self.device):
            xs = tf.unstack(tf.constant(x, model.x_dtype))
            ys = tf.unstack(tf.constant(y, tf.int64))
        step = model.train_step(x.shape[1])
        times = np.empty(len(xs), dtype=np.float64)
        losses = []
        self._sync()
        for i in range(len(xs)):
            t0 = time.perf_counter()
            losses.append(step(xs[i], ys[i]))
            self._sync()
            times[i] = time.perf_counter() - t0
        if not losses:
            return times, np.empty(0, np.float32)
        return times, tf.stack(losses).numpy().astype(np.float32)

    def loop_window(
        self, model: TFModel, x_train: np.ndarray, y_train: np.ndarray, idx: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """The loop scope: a tf.data pipeline over the arrays (see :mod:`models.tf.loop`)."""
        from models.tf import loop

        self.loop_pipeline = loop.pipeline(self.on_gpu)
        with tf.device(self.device):
            return loop.loop_window(model, self.on_gpu, x_train, y_train, idx)

    def train_window(
        self, model: TFModel, x: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Consecutive graph calls of :meth:`train_round`'s step on staged batches, one device
        sync at the end (a GPU runs ahead of Python inside the window, as in a training loop)."""
        with tf.device(self.device):
            xs = tf.unstack(tf.constant(x, model.x_dtype))
            ys = tf.unstack(tf.constant(y, tf.int64))
        step = model.train_step(x.shape[1])
        losses = []
        self._sync()
        t0 = time.perf_counter()
        for i in range(len(xs)):
            losses.append(step(xs[i], ys[i]))
        self._sync()
        seconds = time.perf_counter() - t0
        if not losses:
            return seconds, np.empty(0, np.float32)
        return seconds, tf.stack(losses).numpy().astype(np.float32)

    def predict_round(self, model: TFModel, x: np.ndarray) -> np.ndarray:
        with tf.device(self.device):
            xs = tf.unstack(tf.constant(x, model.x_dtype))
        forward = model.forward(x.shape[1])
        times = np.empty(len(xs), dtype=np.float64)
        self._sync()
        for i in range(len(xs)):
            t0 = time.perf_counter()
            forward(xs[i])
            self._sync()
            times[i] = time.perf_counter() - t0
        return times

    # -- inspection ------------------------------------------------------------------------
    def evaluate(
        self, model: TFModel, x: np.ndarray, y: np.ndarray, batch_size: int
    ) -> tuple[float, float]:
        """(mean test loss, accuracy). A language model's (N, T) labels count every position
        as one prediction: mean cross-entropy in nats per token, per-token accuracy."""
        total, correct = 0.0, 0
        eval_batch = model.eval_batch()
        with tf.device(self.device):
            for start in range(0, len(x), batch_size):
                loss_sum, right = eval_batch(
                    tf.constant(x[start : start + batch_size], model.x_dtype),
                    tf.constant(y[start : start + batch_size], tf.int64),
                )
                total += float(loss_sum)
                correct += int(right)
        n = max(y.size, 1)  # samples, or every position's next token for a language model
        return total / n, correct / n

    def logits(self, model: TFModel, x: np.ndarray, training: bool = False) -> np.ndarray:
        with tf.device(self.device):
            return model.forward(len(x), training)(tf.constant(x, model.x_dtype)).numpy()

    def loss_and_gradients(
        self, model: TFModel, x: np.ndarray, y: np.ndarray
    ) -> tuple[float, dict[str, np.ndarray]]:
        names = list(model.module.params)
        variables = model.module.ordered
        with tf.device(self.device), tf.GradientTape() as tape:
            x_in = tf.constant(x, model.x_dtype)
            logits = mixed.mixed_call(model.module, x_in, model.dtype, True)
            loss = cross_entropy(logits, tf.constant(y, tf.int64), model.label_smoothing)
        grads = dense_gradients(tape.gradient(loss, variables))
        return float(loss), {n: g.numpy() for n, g in zip(names, grads, strict=True)}

    def get_weights(self, model: TFModel) -> dict[str, np.ndarray]:
        every = {**model.module.params, **model.module.state}
        return {name: every[name].numpy() for name in model.module.names}

    def peak_device_memory(self) -> int | None:
        if not self.on_gpu:
            return None
        return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])

    def reset_peak_device_memory(self) -> None:
        if self.on_gpu:
            tf.config.experimental.reset_memory_stats("GPU:0")


def create(name: str, xla: bool = False) -> TFAdapter:
    return TFAdapter(name, xla=xla)
