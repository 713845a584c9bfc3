"""Numeric precision and memory format: the names, what each device can run, and tolerances.

Framework-neutral (no framework import): the CLI checks a request here before any worker starts,
the adapters read the canonical names, and the parity tests derive their tolerances here.

Mixed precision everywhere means float32 master weights (the optimizer updates float32
variables) and reduced-precision compute, through each framework's own machinery: torch
``autocast`` (+ ``GradScaler`` for fp16), Keras's ``mixed_bfloat16``/``mixed_float16`` dtype
policy (+ ``LossScaleOptimizer`` for fp16), and for the tf adapter the same recipe written in tf
ops (inputs and weights cast to the compute dtype per op, normalisation and loss in float32).
docs/precision.md has the details.
"""

from __future__ import annotations

import math
from typing import Any

#: Precisions ``--precision`` accepts, in display order.
PRECISIONS = ("fp32", "tf32", "bf16", "fp16")
#: Names older records and settings used (Settings.precision was "float32" before fp32).
LEGACY = {"float32": "fp32", "bfloat16": "bf16", "float16": "fp16", "tensorfloat32": "tf32"}
#: The dtype the arithmetic runs in (tf32 is float32 storage with TF32 tensor-core matmuls).
COMPUTE_DTYPE = {"fp32": "float32", "tf32": "float32", "bf16": "bfloat16", "fp16": "float16"}
#: Unit roundoff u = 2^-(p) of the compute dtype's p-bit significand (float32: 24 bits,
#: bfloat16: 8, float16: 11; TF32 matmuls keep 11 bits of float32's significand).
UNIT_ROUNDOFF = {"fp32": 2.0**-24, "tf32": 2.0**-11, "bf16": 2.0**-8, "fp16": 2.0**-11}
#: The suite's memory formats; TF and Keras are channels-last natively.
MEMORY_FORMATS = ("contiguous", "channels-last")
#: Safety factor on the first-order bound (see :func:`logits_tolerance`).
SAFETY = 4.0


def canonical(name: str) -> str:
    """``name`` as one of :data:`PRECISIONS` (legacy names mapped); ValueError otherwise."""
    key = str(name).strip().lower()
    key = LEGACY.get(key, key)
    if key not in PRECISIONS:
        raise ValueError(f"unknown precision {name!r}; choose from {', '.join(PRECISIONS)}")
    return key


def is_mixed(precision: str) -> bool:
    """Reduced-precision compute over float32 master weights."""
    return canonical(precision) in ("bf16", "fp16")


def loss_scaling(precision: str) -> bool:
    """fp16 only: its 5-bit exponent underflows small gradients; bf16 has float32's range."""
    return canonical(precision) == "fp16"


def refusal(precision: str, device: str) -> str | None:
    """Why ``device`` cannot run ``precision`` (one line), or None when it can."""
    p = canonical(precision)
    if p == "tf32" and device != "cuda":
        return ("--precision tf32 needs an NVIDIA GPU (Ampere or newer): TF32 is a tensor-core "
                "matmul mode and no CPU has it; on this CPU use fp32 or bf16")  # fmt: skip
    return None


def cost_note(precision: str, device: str, cpu_flags: set[str] | None = None) -> str | None:
    """What running ``precision`` costs on ``device`` when the hardware lacks its arithmetic.

    ``cpu_flags``: the CPU's feature flags (from /proc/cpuinfo) where known."""
    p = canonical(precision)
    if device != "cpu" or p not in ("bf16", "fp16"):
        return None
    flags = cpu_flags or set()
    if p == "fp16" and "avx512_fp16" not in flags and "amx_fp16" not in flags:
        return (
            "fp16 on this CPU: no float16 arithmetic (no AVX512-FP16/AMX-FP16), so every fp16 "
            "op converts to float32 and back (F16C) around float32 math: expect it slower "
            "than fp32; it measures the frameworks' casts, not fp16 speed"
        )
    if p == "bf16" and not flags & {"avx512_bf16", "amx_bf16"} and flags:
        return ("bf16 on this CPU: no bfloat16 dot-product instructions (AVX512-BF16/AMX), so "
                "matmuls emulate bf16 by conversion: expect no speed-up")  # fmt: skip
    return None


def cpu_flags() -> set[str]:
    """The CPU's feature flags from /proc/cpuinfo (empty where it cannot be read)."""
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as f:
            for line in f:
                if line.startswith("flags"):
                    return set(line.split(":", 1)[1].split())
    except OSError:
        pass
    return set()


def logits_tolerance(precision: str, depth: int) -> float:
    """Relative tolerance (max |a − b| / max |b|) of logits computed in ``precision`` against
    the float64 reference, for a network of ``depth`` rounding stages.

    Error analysis: each stage (a matmul/conv and what follows it) rounds its two operands (the
    weights and the input activations) to the compute dtype and its output back to it, relative
    error ≤ u each: 3 roundings per stage. The frameworks accumulate reduced-precision dot
    products in float32 (oneDNN, cuBLAS), so the accumulation length K adds only float32
    roundoff (√K·2^-24, negligible next to u). Roundings of independent stages are
    independent, zero-mean errors, which add in quadrature (the probabilistic bound of Higham
    and Mary, SIAM J. Sci. Comput. 2019): √(3·depth)·u. :data:`SAFETY` (4, about four standard
    deviations) covers the tail and the amplification by the weights. fp32 runs get the
    float32 suite tolerance, 1e-5.
    """
    p = canonical(precision)
    if p == "fp32":
        return 1e-5
    return SAFETY * math.sqrt(3 * max(int(depth), 1)) * UNIT_ROUNDOFF[p]


def step_tolerance(precision: str, depth: int) -> float:
    """Relative tolerance of one optimizer step's update (w₁ − w₀) against the reference,
    measured over all trainable tensors together (max |error| / max |update|): the backward
    pass runs the stages again (twice: input and weight gradients), so the depth counts three
    times; the update is lr·grad, so its relative error is the gradient's."""
    p = canonical(precision)
    if p == "fp32":
        return 1e-4
    return logits_tolerance(p, 3 * max(int(depth), 1))


def rounding_depth(layer_kinds: list[str]) -> int:
    """Rounding stages of a layer table: the layers with weights that run in the compute
    dtype (dense, conv, recurrent cells count once per layer)."""
    heavy = ("dense", "conv", "gru", "lstm", "attention", "embedding")
    return sum(1 for k in layer_kinds if any(h in k.lower() for h in heavy))


def describe(precision: str) -> dict[str, Any]:
    """The record's view of a precision: its name, compute dtype, master weights, scaling."""
    p = canonical(precision)
    return {
        "precision": p,
        "compute_dtype": COMPUTE_DTYPE[p],
        "master_weights": "float32",
        "loss_scaling": "dynamic" if loss_scaling(p) else "none",
        "unit_roundoff": UNIT_ROUNDOFF[p],
        "digits": round(-math.log10(UNIT_ROUNDOFF[p]), 1),
    }


def canonical_memory_format(name: str) -> str:
    key = str(name).strip().lower().replace("_", "-")
    key = {"channels-first": "contiguous", "nchw": "contiguous", "nhwc": "channels-last"}.get(
        key, key
    )
    if key not in MEMORY_FORMATS:
        raise ValueError(f"unknown memory format {name!r}; choose from {', '.join(MEMORY_FORMATS)}")
    return key


def channels_last_refusal(
    model: str, input_shape: tuple[int, ...], layer_kinds: list[str]
) -> str | None:
    """Why ``--memory-format channels-last`` means nothing for a model (one line), or None:
    torch.channels_last is a 4-D (NHWC) format, so it applies to 2-D convolution models only."""
    if len(input_shape) == 3 and any(k.lower().startswith("conv") for k in layer_kinds):
        return None
    return (f"--memory-format channels-last applies to 2-D convolution models (torch's "
            f"torch.channels_last is 4-D); {model} has none: drop it or the option")  # fmt: skip


def parse_cpus(text: str, allowed: set[int]) -> tuple[int, ...]:
    """``"0-3,6"`` → (0, 1, 2, 3, 6); ValueError (one line) on bad syntax or a CPU outside
    ``allowed`` (this process's own affinity mask)."""
    cpus: set[int] = set()
    try:
        for part in (p.strip() for p in text.split(",") if p.strip()):
            lo, _, hi = part.partition("-")
            cpus.update(range(int(lo), int(hi or lo) + 1))
    except ValueError:
        raise ValueError(f"--cpus {text!r}: expected CPU numbers like 0-3,6") from None
    if not cpus:
        raise ValueError(f"--cpus {text!r}: no CPU named")
    outside = sorted(cpus - allowed)
    if outside:
        raise ValueError(f"--cpus: CPU {outside[0]} is not available here (this process may run "
                         f"on {', '.join(map(str, sorted(allowed)))})")  # fmt: skip
    return tuple(sorted(cpus))
