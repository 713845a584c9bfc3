"""What the GPU check's plan (:mod:`bench.run.gpu_plan`) assumes a part costs on an H100, each
figure with where it comes from: the datasheet, an assumption stated as one, or a measurement on
this project's 2-core CPU machine (``benchmarks/gpu_overheads.py``; docs/gpu.md quotes the run).

Nothing here is a result: these numbers only size the check's parts and their cut-offs before a
GPU host is had. When the check has run on a GPU, its log holds each part's real seconds beside
these, and the constants should be replaced by those.
"""

from __future__ import annotations

#: NVIDIA H100 SXM5 datasheet, dense (without 2:4 sparsity) tensor-core peaks, TFLOP/s; fp32
#: is the non-tensor-core FMA rate. The H200 has the same compute (more, faster memory).
H100_DENSE_TFLOPS = {"fp32": 66.9, "tf32": 494.7, "bf16": 989.4, "fp16": 989.4}

#: Assumed model FLOP utilisation per model, of the precision's dense peak. ResNet-50's
#: BatchNorm, ReLU and pooling are memory-bound, so its published eager training rates on an
#: H100 (about 2,500-3,000 images/s at bf16) are ~7 % of the bf16 peak; BERT-base and GPT-2
#: small spend most FLOPs in large matmuls, ~30 % is typical of eager PyTorch at these sizes.
#: Assumptions, stated as such: the check itself measures the real figure (its MFU column).
ASSUMED_MFU = {"resnet50": 0.07, "transformer": 0.30, "gpt": 0.30}

#: Creating a CUDA context and loading the cuDNN/cuBLAS libraries in a fresh process: not
#: measurable without a GPU, assumed (a few seconds on recent drivers).
CUDA_INIT_S = 3.0

#: Measured on the CPU by ``benchmarks/gpu_overheads.py --precision bf16`` (2026-12-05, torch
#: 2.13 CPU, jax 0.10.2, keras 3.15.1) on this project's 2-core VM while other jobs shared it
#: (load average 4.7-6.3). Each wall-clock figure is scaled by 2 / load average (a process gets
#: about cores/load of a core on a machine that busy): what the same work takes unshared. The
#: raw figures are in the comments and in docs/gpu.md. A worker's framework import and set-up,
#: seconds (median over the models and runs).
IMPORT_S = {"keras:jax": 3.8, "torch:compile": 1.6, "torch": 1.3, "keras:torch": 3.2}

#: The same run, per (variant, model): the build (Keras-on-JAX traces there) plus the first
#: training step's time beyond a steady step (tracing, torch.compile's or XLA's compilation of
#: the full-depth graph), seconds, "cold" (empty compilation caches: a cell's training worker)
#: and "warm" (the caches its training worker filled: its timing-pass worker). Never below 0.
FIRST_STEP_S: dict[tuple[str, str], dict[str, float]] = {
    ("keras:jax", "resnet50"): {"cold": 14.7, "warm": 8.3},  # raw 36.9 / 20.0
    ("torch:compile", "resnet50"): {"cold": 75.0, "warm": 4.3},  # raw 221.2 / 11.8
    ("torch", "resnet50"): {"cold": 0.0, "warm": 0.8},  # raw 0.1 / 2.4
    ("keras:torch", "resnet50"): {"cold": 2.2, "warm": 0.7},  # raw 6.4 / 2.0
    ("keras:jax", "transformer"): {"cold": 11.9, "warm": 6.6},  # raw 34.3 / 18.6
    ("torch:compile", "transformer"): {"cold": 47.1, "warm": 2.1},  # raw 124.0 / 5.1
    ("torch", "transformer"): {"cold": 0.1, "warm": 0.1},  # raw 0.1 / 0.1
    ("keras:torch", "transformer"): {"cold": 0.2, "warm": 0.3},  # raw 0.4 / 0.7
    ("keras:jax", "gpt"): {"cold": 7.5, "warm": 3.2},  # raw 17.8 / 7.2
    ("torch:compile", "gpt"): {"cold": 30.6, "warm": 4.2},  # raw 73.2 / 9.7
    ("torch", "gpt"): {"cold": 0.1, "warm": 0.1},  # raw 0.2 / 0.3
    ("keras:torch", "gpt"): {"cold": 0.2, "warm": 0.2},  # raw 0.4 / 0.5
}

#: A cell's evaluation and inference measurement after training on the GPU (the test pool of
#: 64-256 samples, at most 200 batch-1 calls, 5-30 large-batch calls): assumed.
EVALUATION_S = 5.0
#: A part's own process: importing bench, planning, generating the synthetic data (measured on
#: the CPU: 1.0 s, plus the environment capture's 0.5 s of sampling; rounded up).
RUN_START_S = 3.0
#: nvidia-smi and the versions of the host's packages.
ENVIRONMENT_S = 5.0
#: The gpu-marked tests (each starts torch or jax once in a subprocess).
PYTEST_S = 30.0
#: The calibration: per library one process (import + CUDA), per precision 4 sizes x 0.3 s.
CALIBRATE_SECONDS_PER_PRECISION = 4 * 0.3 + 2.0
CALIBRATE_PRECISIONS = ("fp32", "tf32", "bf16")
CALIBRATE_LIBRARIES = {"torch": "torch", "jax": "keras:jax"}


def worker_start_s(framework: str) -> float:
    """A fresh worker on the GPU host: the import measured on the CPU plus the CUDA start."""
    return IMPORT_S[framework] + CUDA_INIT_S


def first_step_s(framework: str, model: str, cache: str = "cold") -> float:
    """The build's and first step's tracing and compilation, measured on the CPU at full
    depth; ``cache`` "cold" or "warm"."""
    return FIRST_STEP_S.get((framework, model), {}).get(cache, 0.0)


def calibrate_s() -> float:
    """The calibration part: one process per library, each precision in turn."""
    per_library = [worker_start_s(variant) + len(CALIBRATE_PRECISIONS)
                   * CALIBRATE_SECONDS_PER_PRECISION
                   for variant in CALIBRATE_LIBRARIES.values()]  # fmt: skip
    return sum(per_library)


def calibrate_line() -> str:
    return (f"{calibrate_s():.0f} s: torch and jax, each a process ({CUDA_INIT_S:.0f} s CUDA + "
            f"import) measuring {len(CALIBRATE_PRECISIONS)} precisions x "
            f"{CALIBRATE_SECONDS_PER_PRECISION:.1f} s")  # fmt: skip
