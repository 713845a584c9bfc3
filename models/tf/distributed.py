"""Data-parallel training on TensorFlow's own engine: ``tf.distribute.MultiWorkerMirroredStrategy``.

One worker process per rank, the cluster described by ``TF_CONFIG`` (set by :func:`prepare` before
TensorFlow starts, as the strategy requires). The train step runs under ``strategy.run``; the
gradients are averaged across workers with the replica context's ``all_reduce(MEAN)`` — the
strategy's CollectiveAllReduce (ring over gRPC on the CPU, NCCL on GPUs) — and every worker applies
the same update with the adapter's own optimizer arithmetic (models/tf/optim.py).

The variables are the adapter's, created outside ``strategy.scope()``: each worker keeps its own
copy, kept identical by identical averaged updates (what DDP does). Inside the scope they would
be MirroredVariables, which refuse the optimizer's plain ``assign_sub`` in a replica context; the
all-reduce is the strategy's either way. BatchNorm statistics are per worker (each normalises its
own slice; the running statistics of rank 0 are those of its slices), as torch's DDP on the CPU.
"""

from __future__ import annotations

import json
import os
import time
from typing import Any

import numpy as np

_strategy: Any = None


def cluster_config(rank: int, address: str, ports: list[int]) -> dict[str, Any]:
    """TF_CONFIG for worker ``rank`` of a cluster of ``len(ports)`` workers on ``address``."""
    workers = [f"{address}:{p}" for p in ports]
    return {"cluster": {"worker": workers}, "task": {"type": "worker", "index": rank}}


def prepare(rank: int, world: int, address: str, ports: list[int]) -> None:
    """Set TF_CONFIG (unless the user's launcher already did) before TensorFlow is imported."""
    if "TF_CONFIG" not in os.environ:
        os.environ["TF_CONFIG"] = json.dumps(cluster_config(rank, address, ports[:world]))


def init(rank: int, world: int, address: str, ports: list[int], timeout_s: float) -> dict[str, Any]:
    """Create the strategy (the rendezvous: the workers' gRPC servers find each other)."""
    import tensorflow as tf

    global _strategy
    gpu = bool(tf.config.list_physical_devices("GPU"))
    impl = tf.distribute.experimental.CommunicationImplementation
    options = tf.distribute.experimental.CommunicationOptions(
        implementation=impl.NCCL if gpu else impl.RING, timeout_seconds=timeout_s
    )
    _strategy = tf.distribute.MultiWorkerMirroredStrategy(communication_options=options)
    if _strategy.num_replicas_in_sync != world:
        replicas = _strategy.num_replicas_in_sync
        raise RuntimeError(f"the strategy has {replicas} replicas, not {world}")
    agree_mean(0.0)  # the first collective: returns once every worker has joined
    return {
        "engine": "tf.distribute.MultiWorkerMirroredStrategy",
        "collective_backend": "NCCL" if gpu else "RING (gRPC collective ops)",
        "batchnorm": "per-worker statistics (each worker's own slice); no synchronisation",
        "gradient_reduction": "mean (replica context all_reduce MEAN)",
    }


def _distributed_step(model: Any, batch: int) -> Any:
    """The adapter's train step (tape, gradients, update) under ``strategy.run``, with the
    gradients averaged across workers between the tape and the update."""
    import tensorflow as tf

    from models.tf.adapter import cross_entropy

    module, opt, variables = model.module, model.optimizer, model.module.ordered
    smoothing = model.label_smoothing
    strategy = _strategy

    def replica_step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        with tf.GradientTape() as tape:
            loss = cross_entropy(module(x, training=True), y, smoothing)
        grads = tape.gradient(loss, variables)
        ctx = tf.distribute.get_replica_context()
        grads = ctx.all_reduce(tf.distribute.ReduceOp.MEAN, grads)
        opt.apply(grads, variables)
        return loss

    @tf.function(input_signature=model._specs(batch), jit_compile=False)
    def train_step(x: tf.Tensor, y: tf.Tensor) -> tf.Tensor:
        per_replica = strategy.run(replica_step, args=(x, y))
        return strategy.experimental_local_results(per_replica)[0]

    return train_step


def build(adapter: Any, spec: Any, weights: dict[str, np.ndarray], recipe: Any, lr: Any) -> Any:
    """The adapter's model whose train step (used by the adapter's windows) is the strategy's."""
    model = adapter.build(spec, weights, recipe, lr)
    steps: dict[int, Any] = {}

    def train_step(batch: int) -> Any:
        if batch not in steps:
            steps[batch] = _distributed_step(model, batch)
        return steps[batch]

    model.train_step = train_step  # the adapter's train_window / train_round call this
    return model


def train_window(adapter: Any, model: Any, x: np.ndarray, y: np.ndarray) -> tuple[float, Any]:
    return adapter.train_window(model, x, y)


def evaluate(
    adapter: Any, model: Any, x: np.ndarray, y: np.ndarray, batch_size: int
) -> tuple[float, float]:
    """Test loss and accuracy on this worker's copy (local variables: no collective)."""
    return adapter.evaluate(model, x, y, batch_size)


def weights(adapter: Any, model: Any) -> dict[str, np.ndarray]:
    return adapter.get_weights(model)


def agree_mean(value: float) -> float:
    """The mean of ``value`` over the workers (one scalar collective)."""
    import tensorflow as tf

    def fn() -> tf.Tensor:
        ctx = tf.distribute.get_replica_context()
        return ctx.all_reduce(tf.distribute.ReduceOp.MEAN, tf.constant([value], tf.float32))

    out = _strategy.run(fn)
    return float(_strategy.experimental_local_results(out)[0].numpy()[0])


def allreduce_times(n_floats: int, repeats: int) -> list[float]:
    """Seconds of ``repeats`` strategy all-reduces of a float32 gradient-sized buffer, each
    timed alone after a scalar collective that lines the workers up; two warm-up calls."""
    import tensorflow as tf

    buf = tf.ones([max(n_floats, 1)], tf.float32)
    strategy = _strategy

    @tf.function
    def reduce() -> tf.Tensor:
        def fn() -> tf.Tensor:
            ctx = tf.distribute.get_replica_context()
            return ctx.all_reduce(tf.distribute.ReduceOp.SUM, buf)

        return strategy.experimental_local_results(strategy.run(fn))[0][0]

    times = []
    for i in range(repeats + 2):
        agree_mean(0.0)
        t0 = time.perf_counter()
        reduce().numpy()
        if i >= 2:
            times.append(time.perf_counter() - t0)
    return times


def shutdown() -> None:
    """Line the workers up once more so none exits while a peer still reads from it."""
    global _strategy
    if _strategy is not None:
        agree_mean(0.0)
        _strategy = None
