"""torch's matmul peak on this machine, per precision (for ``bench calibrate``).

fp32: float32 operands with TF32 off (``allow_tf32 = False``, as the fp32 cells run); tf32: the
same operands with TF32 tensor-core matmuls on; bf16/fp16: operands in that dtype (what autocast
hands a matmul).
"""

from __future__ import annotations

import torch

from bench.measure.calibrate import best_gflops, default_sizes

DTYPE = {"fp32": torch.float32, "tf32": torch.float32, "bf16": torch.bfloat16,
         "fp16": torch.float16}  # fmt: skip


def matmul_gflops(
    threads: int, device: str, precision: str = "fp32",
    sizes: tuple[int, ...] | None = None, seconds: float = 0.3,
) -> float:  # fmt: skip
    torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = precision == "tf32"
    dev = torch.device("cuda" if device == "cuda" else "cpu")
    cache: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def matmul(n: int) -> None:
        if n not in cache:
            g = torch.Generator().manual_seed(0)
            cache[n] = (
                torch.rand(n, n, generator=g).to(dev, DTYPE[precision]),
                torch.rand(n, n, generator=g).to(dev, DTYPE[precision]),
            )
        a, b = cache[n]
        torch.mm(a, b)
        if dev.type == "cuda":
            torch.cuda.synchronize()

    return best_gflops(matmul, sizes or default_sizes(dev.type), seconds)
