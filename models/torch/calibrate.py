"""torch's float32 matmul peak on this machine (for `bench calibrate`)."""

from __future__ import annotations

import torch

from bench.measure.calibrate import best_gflops


def matmul_gflops(threads: int, device: str) -> float:
    torch.set_num_threads(threads)
    torch.backends.cuda.matmul.allow_tf32 = False
    dev = torch.device("cuda" if device == "cuda" else "cpu")
    cache: dict[int, tuple[torch.Tensor, torch.Tensor]] = {}

    def matmul(n: int) -> None:
        if n not in cache:
            g = torch.Generator().manual_seed(0)
            cache[n] = (
                torch.rand(n, n, generator=g).to(dev),
                torch.rand(n, n, generator=g).to(dev),
            )
        a, b = cache[n]
        torch.mm(a, b)
        if dev.type == "cuda":
            torch.cuda.synchronize()

    sizes = (1024, 2048, 4096, 8192) if dev.type == "cuda" else (256, 512, 1024, 2048)
    return best_gflops(matmul, sizes)
