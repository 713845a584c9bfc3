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

#: Measured on the CPU by ``benchmarks/gpu_overheads.py --precision bf16`` (2026-12-05, 2 cores,
#: torch 2.13 CPU, jax 0.10.2, keras 3.15.1): a worker's framework import and set-up, seconds.
IMPORT_S = {"torch": 0.0, "torch:compile": 0.0, "keras:torch": 0.0, "keras:jax": 0.0}

#: The same run: the first training step's time beyond a steady step (tracing, and
#: torch.compile's or XLA's compilation of the full-depth graph), seconds, per (variant, model).
FIRST_STEP_EXTRA_S: dict[tuple[str, str], float] = {}

#: A cell's evaluation and inference measurement after training on the GPU (the test pool of
#: 64-256 samples, at most 200 batch-1 calls, 5-30 large-batch calls): assumed.
EVALUATION_S = 5.0
#: A part's own process: importing bench, planning, generating the synthetic data.
RUN_START_S = 5.0
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


def first_step_s(framework: str, model: str) -> float:
    """The first step's tracing and compilation, measured on the CPU at full depth."""
    return FIRST_STEP_EXTRA_S.get((framework, model), 0.0)


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
