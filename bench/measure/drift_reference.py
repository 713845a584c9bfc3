"""A fixed framework-free workload timed in every timing pass: the machine's own speed.

Comparing two runs, the change of this reference is the machine's drift (a noisy neighbour,
another CPU frequency, a slower VM host), measured apart from the cells, so a slowdown shared
by most cells (the harness, NumPy, a common backend) still shows as a regression instead of
being taken off as "drift". It is the same arithmetic in every run: a float64 matrix product
(compute-bound, BLAS) and a large array copy (memory-bound), with fixed sizes and data.

It runs in the parent process, with the workers idle, at the start of each timing pass.
"""

from __future__ import annotations

import time

import numpy as np

MATMUL_N = 256
MATMUL_REPEATS = 10
COPY_BYTES = 16 * 2**20
COPY_REPEATS = 5
SAMPLES = 5

WORKLOAD = (
    f"numpy: {MATMUL_REPEATS} float64 {MATMUL_N}x{MATMUL_N} matmuls + {COPY_REPEATS} copies of "
    f"{COPY_BYTES // 2**20} MiB; median of {SAMPLES} samples (seconds per sample)"
)


def measure(samples: int = SAMPLES) -> float:
    """Seconds of one sample of the workload, the median of ``samples`` (one warm-up first)."""
    rng = np.random.default_rng(0)
    a = rng.standard_normal((MATMUL_N, MATMUL_N))
    b = rng.standard_normal((MATMUL_N, MATMUL_N))
    src = np.ones(COPY_BYTES // 8)
    dst = np.empty_like(src)

    def once() -> float:
        t0 = time.perf_counter()
        for _ in range(MATMUL_REPEATS):
            a @ b
        for _ in range(COPY_REPEATS):
            np.copyto(dst, src)
        return time.perf_counter() - t0

    once()
    return float(np.median([once() for _ in range(max(samples, 1))]))
