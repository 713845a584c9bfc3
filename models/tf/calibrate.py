"""TensorFlow's float32 matmul peak on this machine (for `bench calibrate`)."""

from __future__ import annotations

import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

import tensorflow as tf

from bench.measure.calibrate import best_gflops


def matmul_gflops(threads: int, device: str) -> float:
    tf.config.threading.set_intra_op_parallelism_threads(threads)
    tf.config.threading.set_inter_op_parallelism_threads(1)
    tf.config.experimental.enable_tensor_float_32_execution(False)
    name = "/GPU:0" if device == "cuda" else "/CPU:0"
    cache: dict[int, tuple[tf.Tensor, tf.Tensor]] = {}

    @tf.function
    def mm(a: tf.Tensor, b: tf.Tensor) -> tf.Tensor:
        return tf.matmul(a, b)

    def matmul(n: int) -> None:
        with tf.device(name):
            if n not in cache:
                g = tf.random.Generator.from_seed(0)
                cache[n] = (g.uniform((n, n)), g.uniform((n, n)))
            out = mm(*cache[n])
            out.numpy()[0, 0]  # waits for the device: a matmul is only done when read

    sizes = (1024, 2048, 4096, 8192) if device == "cuda" else (256, 512, 1024, 2048)
    return best_gflops(matmul, sizes)
