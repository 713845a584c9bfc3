"""Threads, TF32, determinism and device for whichever backend Keras runs on.

Keras has no API for these: they belong to the backend library, so each is set there and read
back from there. What a backend cannot change at this point is reported in ``notes``.
"""

from __future__ import annotations

import os
from dataclasses import replace
from typing import Any

from bench.zoo.specs import Settings


def apply(backend: str, settings: Settings) -> dict[str, Any]:
    """Put ``backend`` into ``settings``; the manifest of what is actually in force."""
    setter = {"tensorflow": _tensorflow, "torch": _torch, "jax": _jax}[backend]
    from bench.zoo import precision as names
    from models.keras import precision

    wanted = names.canonical(settings.precision)
    refused = names.refusal(wanted, settings.device)
    if refused:
        raise ValueError(refused)
    manifest: dict[str, Any] = {
        "precision": wanted,
        "layout": "NLC / NHWC (channels-last, Keras's data_format)",
        "memory_format": "channels-last (native)",
        "notes": [],
    }
    tf32 = settings.tf32 or wanted == "tf32"
    manifest.update(setter(replace(settings, tf32=tf32), manifest["notes"]))
    policy = precision.apply_policy(wanted)
    manifest["mixed_precision"] = (
        f"dtype policy {policy}"
        + (" + keras.optimizers.LossScaleOptimizer" if names.loss_scaling(wanted) else "")
        if names.is_mixed(wanted)
        else "none"
    )
    manifest["op_dtypes"] = precision.probe_dtypes()
    return manifest


def _tensorflow(settings: Settings, notes: list[str]) -> dict[str, Any]:
    import tensorflow as tf
    from tensorflow.python.framework import config as tf_config

    gpus = tf.config.list_physical_devices("GPU")
    if settings.device == "cuda" and not gpus:
        raise RuntimeError("CUDA requested but keras (tensorflow backend) sees no GPU")
    if settings.device == "cpu" and gpus:
        try:
            tf.config.set_visible_devices([], "GPU")
        except RuntimeError:
            notes.append("GPU could not be hidden: the TF runtime had already started")
    try:  # TF refuses once its runtime has started: keep what is in force and say so
        tf.config.threading.set_intra_op_parallelism_threads(settings.threads)
        tf.config.threading.set_inter_op_parallelism_threads(settings.interop_threads)
    except RuntimeError:
        notes.append("TF threads already fixed by an earlier start of the runtime")
    tf.config.experimental.enable_tensor_float_32_execution(settings.tf32)
    if settings.deterministic:
        tf.config.experimental.enable_op_determinism()
    visible_gpu = bool(tf.config.list_logical_devices("GPU"))
    return {
        "threads_intra": tf.config.threading.get_intra_op_parallelism_threads(),
        "threads_inter": tf.config.threading.get_inter_op_parallelism_threads(),
        "tf32": bool(tf.config.experimental.tensor_float_32_execution_enabled()),
        "deterministic": bool(tf_config.is_op_determinism_enabled()),
        "device": "cuda" if visible_gpu else "cpu",
        "versions": {"tensorflow": tf.__version__},
    }


def _torch(settings: Settings, notes: list[str]) -> dict[str, Any]:
    import torch
    from keras.src.backend.torch.core import get_device

    if settings.device == "cuda" and not torch.cuda.is_available():
        raise RuntimeError("CUDA requested but keras (torch backend) sees no GPU")
    device = str(get_device())
    if not device.startswith(settings.device):
        notes.append(
            f"Keras placed tensors on {device!r}, not {settings.device!r}: only "
            "KERAS_TORCH_DEVICE set before keras is imported changes that"
        )
    torch.set_num_threads(settings.threads)
    try:
        torch.set_num_interop_threads(settings.interop_threads)
    except RuntimeError:
        notes.append("torch inter-op threads already fixed (parallel work had started)")
    torch.backends.cuda.matmul.allow_tf32 = settings.tf32
    torch.backends.cudnn.allow_tf32 = settings.tf32
    torch.use_deterministic_algorithms(settings.deterministic)
    return {
        "threads_intra": torch.get_num_threads(),
        "threads_inter": torch.get_num_interop_threads(),
        "tf32": bool(torch.backends.cuda.matmul.allow_tf32),
        "deterministic": torch.are_deterministic_algorithms_enabled(),
        "device": "cuda" if device.startswith("cuda") else device,
        "versions": {"torch": torch.__version__},
    }


def _jax(settings: Settings, notes: list[str]) -> dict[str, Any]:
    import jax

    platform = jax.default_backend()
    if settings.device == "cuda" and platform != "gpu":
        raise RuntimeError("CUDA requested but keras (jax backend) sees no GPU")
    notes.append(
        "jax: XLA's CPU thread pool cannot be set after import (only XLA_FLAGS before it, e.g. "
        "--xla_cpu_multi_thread_eigen=false intra_op_parallelism_threads=N); threads_intra is "
        "the machine's core count XLA uses by default"
    )
    if settings.deterministic:
        notes.append("jax: determinism needs XLA_FLAGS=--xla_gpu_deterministic_ops before import")
    jax.config.update(
        "jax_default_matmul_precision", "tensorfloat32" if settings.tf32 else "highest"
    )
    flags = os.environ.get("XLA_FLAGS", "")
    return {
        "threads_intra": os.cpu_count() or 1,
        "threads_inter": 1,
        "tf32": settings.tf32,
        "deterministic": "xla_gpu_deterministic_ops=true" in flags,
        "device": "cuda" if platform == "gpu" else platform,
        "versions": {"jax": jax.__version__},
    }


def peak_device_memory(backend: str) -> int | None:
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.config.list_logical_devices("GPU"):
            return int(tf.config.experimental.get_memory_info("GPU:0")["peak"])
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            return int(torch.cuda.max_memory_allocated())
    elif backend == "jax":
        import jax

        stats = jax.devices()[0].memory_stats() if jax.default_backend() == "gpu" else None
        if stats:
            return int(stats.get("peak_bytes_in_use", 0))
    return None


def reset_peak_device_memory(backend: str) -> None:
    if backend == "tensorflow":
        import tensorflow as tf

        if tf.config.list_logical_devices("GPU"):
            tf.config.experimental.reset_memory_stats("GPU:0")
    elif backend == "torch":
        import torch

        if torch.cuda.is_available():
            torch.cuda.reset_peak_memory_stats()
