"""JAX's matmul peak on this machine, per precision (for ``bench calibrate``), so the
``keras:jax`` cells get a share of a peak measured in their own library (XLA), not TensorFlow's.

The precisions are set the way the Keras-on-JAX cells set them (``models/keras/settings.py``):
``jax_default_matmul_precision`` "highest" for fp32, "tensorfloat32" for tf32, bfloat16 operands
for bf16 (XLA's default accumulation, float32 on tensor cores).
"""

from __future__ import annotations

import jax
import jax.numpy as jnp

from bench.measure.calibrate import best_gflops, default_sizes

MATMUL_PRECISION = {"fp32": "highest", "tf32": "tensorfloat32", "bf16": "highest",
                    "fp16": "highest"}  # fmt: skip
DTYPE = {"fp32": jnp.float32, "tf32": jnp.float32, "bf16": jnp.bfloat16, "fp16": jnp.float16}


def matmul_gflops(
    threads: int, device: str, precision: str = "fp32",
    sizes: tuple[int, ...] | None = None, seconds: float = 0.3,
) -> float:  # fmt: skip
    """Best GFLOP/s of a jitted n x n matmul. ``threads`` cannot be set after import (XLA's CPU
    pool: models/keras/settings.py says so in every manifest); it is accepted for the common
    signature."""
    platform = "gpu" if device == "cuda" else "cpu"
    if jax.default_backend() != platform and platform == "gpu":
        raise RuntimeError(f"jax sees no GPU (default backend {jax.default_backend()!r})")
    target = jax.devices(platform)[0]
    jax.config.update("jax_default_matmul_precision", MATMUL_PRECISION[precision])
    mm = jax.jit(jnp.matmul)
    cache: dict[int, tuple[jax.Array, jax.Array]] = {}

    def matmul(n: int) -> None:
        if n not in cache:
            ka, kb = jax.random.split(jax.random.PRNGKey(0))
            a = jax.random.uniform(ka, (n, n), DTYPE[precision])
            b = jax.random.uniform(kb, (n, n), DTYPE[precision])
            cache[n] = (jax.device_put(a, target), jax.device_put(b, target))
        mm(*cache[n]).block_until_ready()

    return best_gflops(matmul, sizes or default_sizes(device), seconds)
