"""Data-parallel Keras 3 (TensorFlow backend) on ``tf.distribute.MultiWorkerMirroredStrategy``,
in a custom training loop under the strategy — not ``model.fit``.

Why not ``fit``: with Keras 3.15 / TF 2.21, ``model.fit`` under MultiWorkerMirroredStrategy fails
at its first step ("Attempt to convert a value (PerReplica:{...}) ..."; verified here with two
loopback workers and a one-layer model; upstream keras-team/keras#20585, open). Keras's own
``keras.distribution.DataParallel`` exists on the JAX backend only. So the model and its optimizer
are built under ``strategy.scope()`` (MirroredVariables), and each step runs under
``strategy.run``: the Keras loss divides its batch mean by the number of replicas itself (under a
strategy, ``keras.losses.Loss`` applies ``scale_loss_for_distribution``), and the Keras optimizer
all-reduces (sums) the gradients across workers before its one update — the gradient *mean* —
exactly what Keras's own TF train step does.

Clipping: Keras clips (``_clip_gradients``) before its all-reduce, i.e. the local, scaled
gradients, which is not torch's global-norm clipping of the averaged gradient: recipes with
``clip_grad_norm`` are refused here rather than run with different arithmetic.

BatchNorm: each worker normalises its own slice (per-worker statistics, as DDP on the CPU).
"""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from models.tf.distributed import agree_mean, allreduce_times, cluster_config, prepare

__all__ = ["agree_mean", "allreduce_times", "cluster_config", "prepare"]


def init(rank: int, world: int, address: str, ports: list[int], timeout_s: float) -> dict[str, Any]:
    from models.tf import distributed as tfd

    info = tfd.init(rank, world, address, ports, timeout_s)
    return {
        **info,
        "engine": "tf.distribute.MultiWorkerMirroredStrategy (Keras 3 custom loop; fit fails "
        "under this strategy, keras-team/keras#20585)",
        "gradient_reduction": "mean (Keras loss / replicas, optimizer all-reduces the sum)",
    }


def configure(
    adapter: Any,
    settings: Any,
    rank: int,
    world: int,
    address: str,
    ports: list[int],
    timeout_s: float,
) -> tuple[dict[str, Any], dict[str, Any]]:
    """(manifest, engine): TF's threads first, then the strategy (collective ops must be
    configured before TensorFlow's runtime starts), then the adapter's own settings and probes."""
    import tensorflow as tf

    tf.config.threading.set_intra_op_parallelism_threads(settings.threads)
    tf.config.threading.set_inter_op_parallelism_threads(settings.interop_threads)
    engine = init(rank, world, address, ports, timeout_s)
    return adapter.configure(settings), engine


class KerasDistributed:
    """The Keras model with its distributed train step, one graph per batch size."""

    def __init__(self, model: Any, strategy: Any) -> None:
        self.model = model
        self.strategy = strategy
        self._steps: dict[int, Any] = {}

    def step(self, batch: int, sample_shape: tuple[int, ...]) -> Any:
        import tensorflow as tf

        if batch not in self._steps:
            model, strategy = self.model, self.strategy
            variables = model.trainable_variables
            opt, loss_fn = model.optimizer, model.loss
            replicas = strategy.num_replicas_in_sync

            def replica_step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
                with tf.GradientTape() as tape:
                    # a keras.losses.Loss divides its batch mean by the replicas in sync
                    # under a strategy (keras.src.losses.loss.reduce_values)
                    scaled = loss_fn(y, model(x, training=True))
                grads = tape.gradient(scaled, variables)
                opt.apply_gradients(zip(grads, variables, strict=True))
                return scaled * replicas  # this worker's batch-mean loss, as logged

            spec = [
                tf.TensorSpec([batch, *sample_shape], tf.float32),
                tf.TensorSpec([batch], tf.int64),
            ]

            @tf.function(input_signature=spec)
            def train_step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
                out = strategy.run(replica_step, args=(x, y))
                return strategy.experimental_local_results(out)[0]

            self._steps[batch] = train_step
        return self._steps[batch]


def build(adapter: Any, spec: Any, weights: dict[str, np.ndarray], recipe: Any, lr: Any) -> Any:
    """The adapter's model and optimizer, built under the strategy's scope."""
    from models.tf import distributed as tfd

    if recipe.clip_grad_norm:
        raise ValueError(
            "clip_grad_norm under MultiWorkerMirroredStrategy: Keras clips the local gradients "
            "before its all-reduce, not the averaged ones; not run"
        )
    strategy = tfd._strategy
    with strategy.scope():
        model = adapter.build(spec, weights, recipe, lr)
        model.optimizer.build(model.trainable_variables)
    return KerasDistributed(model, strategy)


def train_window(
    adapter: Any, model: KerasDistributed, x: np.ndarray, y: np.ndarray
) -> tuple[float, np.ndarray]:
    """Consecutive distributed steps on staged batches, one device sync at the end (the scope
    of the adapters' windows)."""
    import tensorflow as tf

    from models.keras.timing import sync_function

    xs = tf.unstack(tf.constant(x, tf.float32))
    ys = tf.unstack(tf.constant(y, tf.int64))
    step = model.step(x.shape[1], tuple(x.shape[2:]))
    sync = sync_function()
    losses = []
    sync()
    t0 = time.perf_counter()
    for xb, yb in zip(xs, ys, strict=True):
        losses.append(step(xb, yb))
    sync()
    seconds = time.perf_counter() - t0
    if not losses:
        return seconds, np.empty(0, np.float32)
    return seconds, tf.stack(losses).numpy().astype(np.float32)


def evaluate(
    adapter: Any, model: KerasDistributed, x: np.ndarray, y: np.ndarray, batch_size: int
) -> tuple[float, float]:
    """Test loss and accuracy from plain forward calls (``predict`` would go through the
    strategy's distributed input path, as ``fit``)."""
    logits = np.concatenate(
        [adapter.logits(model.model, x[i : i + batch_size]) for i in range(0, len(x), batch_size)]
    ).astype(np.float64)
    shifted = logits - logits.max(axis=1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=1, keepdims=True))
    loss = -log_probs[np.arange(len(y)), y].mean()
    return float(loss), float((logits.argmax(axis=1) == y).mean())


def weights(adapter: Any, model: KerasDistributed) -> dict[str, np.ndarray]:
    return adapter.get_weights(model.model)


def shutdown() -> None:
    from models.tf import distributed as tfd

    tfd.shutdown()
