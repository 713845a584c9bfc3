"""A fixed framework-free workload timed in every timing pass: the machine's own speed.

Comparing two runs, the change of this reference is the machine's drift (a noisy neighbour,
another CPU frequency, a slower VM host), measured apart from the cells, so a slowdown shared
by most cells (the harness, NumPy, a common backend) still shows (as a regression, or as a
disturbed machine where the cells moved more than the threshold apart from it) instead of
being taken off as "drift". It is the same arithmetic in every run: float64 matrix products
(compute-bound, BLAS) on one BLAS thread, with fixed sizes and data.

Why this and nothing more (measured on the 2-core VM, quiet, one process, 12 readings each):
the previous workload, the same matmuls on BLAS's two threads plus five 16 MiB array copies,
median of 5 samples, read 11-16.5 ms (spread 49 %), and moved 16-25 % between back-to-back
quick-suite runs whose cells moved 0-14 %: the copies alone spread 35 % even as a median of 21
(the host's memory bandwidth, which the cache-resident cells hardly feel), two BLAS threads pay a
pool wake-up the machine's speed is not. One thread's matmuls, median of 21 samples: 7.64-7.96
ms, spread 4 %; median of 41 (0.35 s a pass), twelve readings over 4 s: 7.78-8.59 ms, the
machine itself drifting. A reference noisier than the cells cannot correct them, and marks a
quiet machine "disturbed" (:mod:`bench.track.machine`).

It runs in the parent process, with the workers closed, at the start and at the end of each
timing pass, and the pass's figure is the lower of the two readings (:func:`pass_reading`). One
reading a pass read a quiet machine out of line now and then: in 15 back-to-back quick-suite runs,
42 of 45 passes read 7.8-8.8 ms and three read 11.1, 13.9 and 15.9 ms, one pass in a run each.
A 0.35 s workload sees a second's disturbance that the pass's cells, timed over half a minute,
hardly feel; something else on the machine can only slow a reading, never speed it up, so the
lower of two readings half a minute apart is the machine over the pass unless it was slow at
both ends, and then the pass is out of line in earnest.
"""

from __future__ import annotations

import time

import numpy as np

MATMUL_N = 256
MATMUL_REPEATS = 10
SAMPLES = 41

WORKLOAD = (
    f"numpy: {MATMUL_REPEATS} float64 {MATMUL_N}x{MATMUL_N} matmuls on one BLAS thread; "
    f"median of {SAMPLES} samples (seconds per sample)"
)


def measure(samples: int = SAMPLES) -> float:
    """Seconds of one sample of the workload, the median of ``samples`` (one warm-up first)."""
    from threadpoolctl import threadpool_limits

    rng = np.random.default_rng(0)
    a = rng.standard_normal((MATMUL_N, MATMUL_N))
    b = rng.standard_normal((MATMUL_N, MATMUL_N))

    def once() -> float:
        t0 = time.perf_counter()
        for _ in range(MATMUL_REPEATS):
            a @ b
        return time.perf_counter() - t0

    with threadpool_limits(limits=1, user_api="blas"):
        once()
        return float(np.median([once() for _ in range(max(samples, 1))]))


def pass_reading(readings: list[float]) -> float:
    """A timing pass's figure from its readings (at its start and at its end): the lowest."""
    if not readings:
        raise ValueError("pass_reading: a pass needs at least one reading")
    return float(min(readings))
