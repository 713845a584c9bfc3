"""The GPU check's plan (``bench gpu-check``, docs/gpu.md): its parts in priority order, what each
costs on an H100, and the wall-clock cut-off each part gets so a slow part cannot starve the rest.

A GPU host is lent for minutes, without network, so the check is decided here, before it runs:
the most valuable figures first (ResNet-50 at bf16 in torch and Keras-on-JAX, then
``torch:compile`` and ``keras:torch``, then BERT-base and GPT-2 small, then the same at tf32),
each part a ``bench run`` of its own cells in its own process. A part's planned seconds are its
cells' work at the H100 datasheet's dense peak times an assumed MFU, plus the overheads every
worker pays (framework import, first step's tracing and compilation) as measured on the CPU
(:mod:`bench.run.gpu_costs`). The cut-offs share the whole budget out in proportion to the plan,
and time a part leaves unused passes to the next.

The dry run (``--dry-run``) runs the same parts on the CPU with the ``gpu-check-dry`` suite's
narrow models, prints the same H100 plan, and skips the tf32 parts (no CPU has TF32:
bench.zoo.precision refuses it), saying so.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from bench.catalog import flops, suites
from bench.run import gpu_costs

#: The whole check, on the host: 8 minutes.
BUDGET_S = 480.0
#: Kept back from the parts for the merge, the report and the summary at the end.
FINISH_S = 15.0
#: Timing passes and seconds of throughput windows per cell and pass, on the GPU and in the
#: dry run. One pass (a fresh worker after the training pass) keeps each cell to two framework
#: starts and compilations, which is what the budget allows; its interval comes from the pass's
#: windows (bench.measure.summaries: a bootstrap within one process, narrower than a
#: pass-to-pass interval would be: the summary says so).
TIMING = {"gpu": (1, 3.0), "dry": (1, 0.5)}


@dataclass(frozen=True)
class Part:
    """One step of the check: ``kind`` "environment", "calibrate", "cells" or "pytest"."""

    name: str
    kind: str
    frameworks: tuple[str, ...] = ()
    models: tuple[str, ...] = ()
    precision: str = "fp32"
    planned_s: float = 0.0  # on an H100
    timing_passes: int = 1  # on the GPU (0: the training pass's steps time the cells)
    detail: list[str] = field(default_factory=list)  # how planned_s adds up

    @property
    def key(self) -> str:
        """A short name for files and the log: ``3-resnet50-bf16``-like, no spaces."""
        return self.name.split(":")[0].replace(" ", "-")


#: The cell parts, most valuable first: (name, frameworks, models, precision, timing passes).
#: ResNet-50's bf16 parts get a timing pass in fresh workers; the transformers' and the tf32
#: parts are timed by their training pass's steps (one framework start per cell), which is what
#: keeps the plan within 8 minutes.
CELL_PARTS: tuple[tuple[str, tuple[str, ...], tuple[str, ...], str, int], ...] = (
    ("resnet50 bf16", ("torch", "keras:jax"), ("resnet50",), "bf16", 1),
    ("resnet50 bf16 compile+keras-torch", ("torch:compile", "keras:torch"), ("resnet50",),
     "bf16", 1),
    ("bert-gpt2 bf16", ("torch", "keras:jax"), ("transformer", "gpt"), "bf16", 0),
    ("resnet50 tf32", ("torch", "keras:jax"), ("resnet50",), "tf32", 0),
    ("bert-gpt2 tf32", ("torch", "keras:jax"), ("transformer", "gpt"), "tf32", 0),
)  # fmt: skip

SUITE = {"gpu": "gpu-check", "dry": "gpu-check-dry"}


def step_seconds(model: str, precision: str) -> float:
    """One training step of the GPU check's cell on an H100: its training FLOPs at the dense
    datasheet peak of ``precision`` times the MFU assumed for the model."""
    entry = suites.SUITES["gpu-check"].entry(model, dataset_of(model))
    spec = suites.model_spec(model, entry.dataset, suite="gpu-check")
    work = flops.train_flops(spec) * entry.recipe.batch_size
    return work / (gpu_costs.H100_DENSE_TFLOPS[precision] * 1e12 * gpu_costs.ASSUMED_MFU[model])


def dataset_of(model: str) -> str:
    return next(e.dataset for e in suites.SUITES["gpu-check"].entries if e.model == model)


def cell_seconds(framework: str, model: str, precision: str, passes: int = 1) -> tuple[float, str]:
    """Planned seconds of one cell on an H100 (training pass + timing passes, each in a fresh
    worker) and how they add up, in one line."""
    pass_seconds = TIMING["gpu"][1]
    recipe = suites.SUITES["gpu-check"].entry(model, dataset_of(model)).recipe
    step = step_seconds(model, precision)
    start = gpu_costs.worker_start_s(framework)
    cold = gpu_costs.first_step_s(framework, model, "cold")
    warm = gpu_costs.first_step_s(framework, model, "warm")
    train = recipe.steps * step + gpu_costs.EVALUATION_S
    # a timing pass: warm-up, a cold window of up to 10 steps, the windows, up to 5 s of latency
    timed = recipe.warmup_steps * step + 10 * step + pass_seconds + min(50 * step, 5.0)
    total = start + cold + train + passes * (start + warm + timed)
    line = (f"{framework} {model}: {start:.0f} s start + {cold:.0f} s compile + "
            f"{recipe.steps} steps x {step * 1e3:.0f} ms + {gpu_costs.EVALUATION_S:.0f} s "
            f"evaluation")  # fmt: skip
    if passes:
        line += (f", then {passes} timing pass: {start:.0f} s start + {warm:.0f} s compile "
                 f"(warm cache) + {timed:.1f} s")  # fmt: skip
    line += f" = {total:.0f} s"
    return total, line


def plan(pytest_s: float = gpu_costs.PYTEST_S) -> list[Part]:
    """Every part, in the order they run, with its planned seconds on an H100."""
    parts = [
        Part("environment", "environment", planned_s=gpu_costs.ENVIRONMENT_S,
             detail=[f"{gpu_costs.ENVIRONMENT_S:.0f} s: nvidia-smi and the versions"]),
        Part("calibrate: torch and jax matmul peaks at fp32, tf32, bf16", "calibrate",
             ("torch", "keras:jax"), planned_s=gpu_costs.calibrate_s(),
             detail=[gpu_costs.calibrate_line()]),
    ]  # fmt: skip
    for index, (name, frameworks, models, precision, passes) in enumerate(CELL_PARTS, start=1):
        lines, total = [], 0.0
        for model in models:
            for framework in frameworks:
                seconds, line = cell_seconds(framework, model, precision, passes)
                total += seconds + gpu_costs.RUN_START_S / (len(models) * len(frameworks))
                lines.append(line)
        lines.append(f"{gpu_costs.RUN_START_S:.0f} s: bench run's own start and data")
        parts.append(Part(f"{index} {name}: {', '.join(frameworks)}", "cells", frameworks,
                          models, precision, total, timing_passes=passes,
                          detail=lines))  # fmt: skip
    parts.append(Part("pytest -m gpu", "pytest", planned_s=pytest_s,
                      detail=[f"{pytest_s:.0f} s: the gpu-marked tests"]))  # fmt: skip
    return parts


def cutoffs(
    parts: list[Part], budget_s: float = BUDGET_S, runs: list[bool] | None = None
) -> list[float]:
    """Each part's share of ``budget_s`` (less :data:`FINISH_S`), in proportion to its plan:
    the most a part may take when the parts before it used exactly their shares. ``runs``: which
    parts will run here (a skipped part's share goes to the others; default all)."""
    runs = runs or [True] * len(parts)
    total = sum(p.planned_s for p, r in zip(parts, runs, strict=True) if r)
    available = budget_s - FINISH_S
    return [available * p.planned_s / total if r else 0.0
            for p, r in zip(parts, runs, strict=True)]  # fmt: skip


def run_argv(part: Part) -> list[str]:
    """The ``bench run`` command line that runs a cells part's cells as the GPU check does, for
    a person to rerun one part by hand on the host."""
    pass_seconds = TIMING["gpu"][1]
    return [
        "run", "--suite", SUITE["gpu"], "--frameworks", ",".join(part.frameworks),
        "--models", ",".join(part.models), "--precision", part.precision, "--device", "cuda",
        "--timing-passes", str(part.timing_passes), "--pass-seconds", str(pass_seconds),
    ]  # fmt: skip
