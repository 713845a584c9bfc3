"""The PyTorch adapter: eager nn.Module (``torch``) or the same module via torch.compile
(``torch:compile``), trained with torch.optim in the plain loop a torch user writes.

Only the module's forward is compiled; the optimizer step stays eager (the common torch.compile
usage, and compiling ``opt.step`` would need the per-step lr as a tensor to avoid recompiles).
"""

from __future__ import annotations

import importlib
import os
import time
from dataclasses import dataclass
from typing import Any

import numpy as np
import torch
import torch.nn.functional as F

from bench.zoo import dropout
from bench.zoo import precision as precisions
from bench.zoo.specs import ModelSpec, Recipe, Settings
from models.torch import layout, optim
from models.torch import precision as amp
from models.torch.losses import cross_entropy

CPU = torch.device("cpu")


def architecture_builder(name: str) -> Any:
    """``build(spec, weights)`` of models/torch/<name>.py: found by convention, no table."""
    return importlib.import_module(f"models.torch.{name}").build


@dataclass
class TorchModel:
    """What :meth:`TorchAdapter.build` returns: the module, what runs it, and its optimizer."""

    module: layout.CanonicalModule
    forward: Any  # the module itself, or torch.compile(module)
    optimizer: torch.optim.Optimizer
    lr: list[float]
    bindings: list[layout.Binding]
    step: int = 0  # optimizer steps taken so far, across rounds
    label_smoothing: float = 0.0  # training loss only; evaluate reports plain cross-entropy
    amp_dtype: torch.dtype | None = None  # autocast dtype (bf16/fp16), None: float32 compute
    scaler: torch.amp.GradScaler | None = None  # fp16's dynamic loss scaling
    device: torch.device = CPU
    #: int64 token ids for a model whose spec has a "vocab_size", float32 features otherwise.
    x_dtype: torch.dtype = torch.float32

    def autocast(self) -> Any:
        return amp.autocast(self.device, self.amp_dtype)

    def lrs(self, n: int) -> list[float]:
        """Learning rates of the next ``n`` steps (steps past the table use its last entry)."""
        last = len(self.lr) - 1
        return [self.lr[min(k, last)] for k in range(self.step, self.step + n)]

    def train_step(self, xb: torch.Tensor, yb: torch.Tensor, lr: float) -> torch.Tensor:
        """One optimizer step, the plain loop a torch user writes; the one code path of every
        scope (synced steps, windows, the DataLoader loop), so they time the same work."""
        for g in self.optimizer.param_groups:
            g["lr"] = lr
        self.optimizer.zero_grad(set_to_none=True)
        with self.autocast():  # forward and loss only, as torch's AMP recipe says
            loss = cross_entropy(self.forward(xb), yb, self.label_smoothing)
        if self.scaler is None:
            loss.backward()
            self.optimizer.step()
        else:
            self.scaler.scale(loss).backward()
            self.scaler.step(self.optimizer)
            self.scaler.update()
        return loss.detach()


class TorchAdapter:
    def __init__(self, name: str, compile: bool = False) -> None:
        self.name = name
        self.compile = compile
        self.device = torch.device("cpu")
        self.precision = "fp32"
        self.channels_last = False

    # -- process settings ------------------------------------------------------------------
    def configure(self, settings: Settings) -> dict[str, Any]:
        notes: list[str] = []
        self.precision = precisions.canonical(settings.precision)
        refused = precisions.refusal(self.precision, settings.device)
        if refused:
            raise ValueError(refused)
        self.channels_last = settings.memory_format == "channels-last"
        if settings.device == "cuda":
            if not torch.cuda.is_available():
                raise RuntimeError("CUDA requested but torch sees no GPU")
        elif settings.device != "cpu":
            raise ValueError(f"unknown device {settings.device!r}")
        self.device = torch.device(settings.device)

        torch.set_num_threads(settings.threads)
        try:
            torch.set_num_interop_threads(settings.interop_threads)
        except RuntimeError:  # allowed once per process, before any inter-op work
            if torch.get_num_interop_threads() != settings.interop_threads:
                notes.append(
                    "inter-op threads could not be changed after torch started parallel work; "
                    f"{torch.get_num_interop_threads()} in force"
                )

        tf32 = settings.tf32 or self.precision == "tf32"
        torch.backends.cuda.matmul.allow_tf32 = tf32
        torch.backends.cudnn.allow_tf32 = tf32
        if settings.deterministic:
            # cuBLAS needs this before its first handle is made, or deterministic mode raises.
            os.environ.setdefault("CUBLAS_WORKSPACE_CONFIG", ":4096:8")
        torch.use_deterministic_algorithms(settings.deterministic)
        torch.backends.cudnn.deterministic = settings.deterministic
        torch.backends.cudnn.benchmark = False

        cuda = self.device.type == "cuda"
        return {
            "threads_intra": torch.get_num_threads(),
            "threads_inter": torch.get_num_interop_threads(),
            "precision": self.precision,
            "mixed_precision": "torch.autocast"
            + (" + torch.amp.GradScaler" if precisions.loss_scaling(self.precision) else "")
            if precisions.is_mixed(self.precision)
            else "none",
            "op_dtypes": amp.probe_dtypes(self.device, amp.autocast_dtype(self.precision)),
            "memory_format": "torch.channels_last (conv models)"
            if self.channels_last
            else "contiguous",
            "tf32": bool(torch.backends.cuda.matmul.allow_tf32 and cuda),
            "compile": compile_name() if self.compile else "eager",
            "deterministic": torch.are_deterministic_algorithms_enabled(),
            "layout": "NCL/NCHW (channels-first) inside the model; channels-last input permuted",
            "device": torch.cuda.get_device_name(self.device) if cuda else "cpu",
            "versions": {"torch": torch.__version__},
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
    ) -> TorchModel:
        draws = dropout.Draws.of(spec)
        if self.compile and draws.shared:  # a host mask per step: a graph break, a recompile
            raise ValueError("shared dropout masks are a parity mode of the eager torch model")
        module = architecture_builder(spec.name)(spec, weights).to(self.device)
        # Dropout draws from torch's global RNG, which is seeded by nothing but this: from the
        # run's seed, once the module's own (overwritten) init has drawn, as torch users seed.
        torch.manual_seed(draws.seed)
        if any(isinstance(m, torch.nn.LSTM) for m in module.modules()):
            refused = amp.recurrent_refusal(self.device.type, self.precision)
            if refused:
                raise ValueError(refused)
        if self.channels_last:  # NHWC weights; the NHWC input's NCHW view is channels_last
            if not any(isinstance(m, torch.nn.Conv2d) for m in module.modules()):
                raise ValueError(f"--memory-format channels-last: {spec.name} has no 2-D conv")
            module = module.to(memory_format=torch.channels_last)
        lrs = [float(v) for v in np.asarray(lr, dtype=np.float64).ravel()]
        if not lrs:
            raise ValueError("the learning-rate table is empty")
        named = optim.named_parameters(module.bindings())
        opt = optim.make(recipe, named, lrs[0], stock=stock_optimizer)
        if self.compile:
            # A fresh dynamo cache per model, as if each model ran in its own process: otherwise
            # a second model of the same class (1-D then 2-D cnn) trips "automatic dynamic"
            # shapes, recompiles with symbolic sizes and, in torch 2.13, can fail in inductor.
            torch._dynamo.reset()
            forward = torch.compile(module, backend=compile_backend())
        else:
            forward = module
        model = TorchModel(module, forward, opt, lrs, module.bindings())
        model.label_smoothing = recipe.label_smoothing
        model.device = self.device
        model.amp_dtype = amp.autocast_dtype(self.precision)
        model.scaler = amp.grad_scaler(self.device, self.precision)
        model.x_dtype = torch.int64 if "vocab_size" in spec.params else torch.float32
        return model

    def _tensor(self, a: np.ndarray, dtype: torch.dtype) -> torch.Tensor:
        return torch.from_numpy(np.ascontiguousarray(a)).to(self.device, dtype)

    def _sync(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)

    # -- timed loops -----------------------------------------------------------------------
    def train_round(
        self, model: TorchModel, x: np.ndarray, y: np.ndarray
    ) -> tuple[np.ndarray, np.ndarray]:
        xs = self._tensor(x, model.x_dtype).unbind(0)
        ys = self._tensor(y, torch.int64).unbind(0)
        lrs = model.lrs(len(xs))
        model.module.train()
        times = np.empty(len(xs), dtype=np.float64)
        losses: list[torch.Tensor] = []
        self._sync()
        for i, (xb, yb) in enumerate(zip(xs, ys, strict=True)):
            t0 = time.perf_counter()
            losses.append(model.train_step(xb, yb, lrs[i]))
            self._sync()
            times[i] = time.perf_counter() - t0
        model.step += len(xs)
        if not losses:
            return times, np.empty(0, dtype=np.float32)
        return times, torch.stack(losses).cpu().numpy().astype(np.float32)

    def loop_window(
        self, model: TorchModel, x_train: np.ndarray, y_train: np.ndarray, idx: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """The loop scope: a DataLoader over the arrays (see :mod:`models.torch.loop`)."""
        from models.torch import loop

        self.loop_pipeline = loop.pipeline(self.device)
        return loop.loop_window(model, self.device, x_train, y_train, idx)

    def train_window(
        self, model: TorchModel, x: np.ndarray, y: np.ndarray
    ) -> tuple[float, np.ndarray]:
        """Consecutive optimizer steps on staged batches, one device sync at the end: the
        window's seconds are what a training loop pays, the host free to run ahead of a GPU.
        The step is the same code as :meth:`train_round`'s (same scope), without its syncs."""
        xs = self._tensor(x, model.x_dtype).unbind(0)
        ys = self._tensor(y, torch.int64).unbind(0)
        lrs = model.lrs(len(xs))
        model.module.train()
        losses: list[torch.Tensor] = []
        self._sync()
        t0 = time.perf_counter()
        for i, (xb, yb) in enumerate(zip(xs, ys, strict=True)):
            losses.append(model.train_step(xb, yb, lrs[i]))
        self._sync()
        seconds = time.perf_counter() - t0
        model.step += len(xs)
        if not losses:
            return seconds, np.empty(0, dtype=np.float32)
        return seconds, torch.stack(losses).cpu().numpy().astype(np.float32)

    def predict_round(self, model: TorchModel, x: np.ndarray) -> np.ndarray:
        xs = self._tensor(x, model.x_dtype).unbind(0)
        times = np.empty(len(xs), dtype=np.float64)
        model.module.eval()
        try:
            with torch.inference_mode(), model.autocast():
                self._sync()
                for i, xb in enumerate(xs):
                    t0 = time.perf_counter()
                    model.forward(xb)
                    self._sync()
                    times[i] = time.perf_counter() - t0
        finally:
            model.module.train()
        return times

    # -- inspection ------------------------------------------------------------------------
    def evaluate(
        self, model: TorchModel, x: np.ndarray, y: np.ndarray, batch_size: int
    ) -> tuple[float, float]:
        """(mean test loss, accuracy). A language model's (N, T) labels count every position
        as one prediction: mean cross-entropy in nats per token, per-token accuracy."""
        xt, yt = self._tensor(x, model.x_dtype), self._tensor(y, torch.int64)
        total = torch.zeros((), dtype=torch.float64, device=self.device)
        correct = torch.zeros((), dtype=torch.int64, device=self.device)
        model.module.eval()
        try:
            with torch.inference_mode(), model.autocast():
                for xb, yb in zip(xt.split(batch_size), yt.split(batch_size), strict=True):
                    out = model.forward(xb).float()  # (B, K), or (B, T, V) for an LM
                    flat = out.reshape(-1, out.shape[-1])
                    total += F.cross_entropy(flat, yb.reshape(-1), reduction="sum").double()
                    correct += (out.argmax(-1) == yb).sum()
        finally:
            model.module.train()
        n = max(y.size, 1)  # samples, or every position's next token for a language model
        return float(total.item()) / n, float(correct.item()) / n

    def logits(self, model: TorchModel, x: np.ndarray, training: bool = False) -> np.ndarray:
        """Eval mode by default; ``training=True`` runs train mode (batch statistics, and
        BatchNorm's running statistics updated, as in a training step)."""
        model.module.train(training)
        try:
            with torch.no_grad(), model.autocast():
                out = model.forward(self._tensor(x, model.x_dtype))
        finally:
            model.module.train()
        return out.float().cpu().numpy()

    def loss_and_gradients(
        self, model: TorchModel, x: np.ndarray, y: np.ndarray
    ) -> tuple[float, dict[str, np.ndarray]]:
        model.module.train()
        model.optimizer.zero_grad(set_to_none=True)
        with model.autocast():
            loss = cross_entropy(
                model.forward(self._tensor(x, model.x_dtype)),
                self._tensor(y, torch.int64),
                model.label_smoothing,
            )
        scale = 1.0 if model.scaler is None else float(model.scaler.get_scale())
        (loss * scale).backward()  # fp16: scaled as in training, unscaled below
        grads = layout.export(model.bindings, grads=True)
        if scale != 1.0:
            grads = {k: v / np.float32(scale) for k, v in grads.items()}
        model.optimizer.zero_grad(set_to_none=True)
        return float(loss.item()), grads

    def get_weights(self, model: TorchModel) -> dict[str, np.ndarray]:
        return layout.export(model.bindings)

    def peak_device_memory(self) -> int | None:
        if self.device.type != "cuda":
            return None
        return int(torch.cuda.max_memory_allocated(self.device))

    def reset_peak_device_memory(self) -> None:
        if self.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(self.device)


#: torch.compile's backend: inductor, unless BENCH_COMPILE_BACKEND names another. The GPU
#: check's CPU rehearsal sets "aot_eager": dynamo's capture and AOT autograd run as on the GPU,
#: without inductor's C++ code generation, which minutes of a 2-core CPU would pay and a GPU
#: (Triton) never runs. The manifest names the backend whenever it is not inductor.
COMPILE_BACKEND_ENV = "BENCH_COMPILE_BACKEND"


def compile_backend() -> str:
    return os.environ.get(COMPILE_BACKEND_ENV) or "inductor"


def compile_name() -> str:
    backend = compile_backend()
    return "torch.compile" if backend == "inductor" else f"torch.compile (backend {backend})"


def create(name: str, **options: Any) -> TorchAdapter:
    """The adapter for variant ``name`` (``torch`` or ``torch:compile``)."""
    unknown = set(options) - {"compile"}
    if unknown:
        raise ValueError(f"unknown options for {name!r}: {sorted(unknown)}")
    return TorchAdapter(name, compile=bool(options.get("compile", False)))
