"""TensorFlow's matmul peak on this machine, per precision (for ``bench calibrate``)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf

from bench.measure.calibrate import best_gflops, default_sizes

DTYPE = {"fp32": tf.float32, "tf32": tf.float32, "bf16": tf.bfloat16, "fp16": tf.float16}


def matmul_gflops(
    threads: int, device: str, precision: str = "fp32",
    sizes: tuple[int, ...] | None = None, seconds: float = 0.3,
) -> float:  # fmt: skip
    try:  # fixed once the runtime has started (a second precision in the same process)
        tf.config.threading.set_intra_op_parallelism_threads(threads)
        tf.config.threading.set_inter_op_parallelism_threads(1)
    except RuntimeError:
        pass
    tf.config.experimental.enable_tensor_float_32_execution(precision == "tf32")
    name = "/GPU:0" if device == "cuda" else "/CPU:0"
    cache: dict[int, tuple[tf.Tensor, tf.Tensor]] = {}

    @tf.function
    def mm(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
        return tf.matmul(a, b)

    def matmul(n: int) -> None:
        with tf.device(name):
            if n not in cache:
                g = tf.random.Generator.from_seed(0)
                cache[n] = (tf.cast(g.uniform((n, n)), DTYPE[precision]),
                            tf.cast(g.uniform((n, n)), DTYPE[precision]))  # fmt: skip
            out = mm(*cache[n])
            out.numpy()[0, 0]  # waits for the device: a matmul is only done when read

    return best_gflops(matmul, sizes or default_sizes(device), seconds)
