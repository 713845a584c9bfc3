"""The GPU check's one summary table (``summary.md`` in its output folder): per cell its speed with
the interval, MFU against the peak measured at its precision in its own library, the allocator's
peak, the first step (tracing and compilation); the speed-ups the check is for (torch.compile
over eager, XLA through Keras-on-JAX over Keras-on-torch and over torch); and each part's planned
and real seconds, with what was cut or failed and why.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from bench.report import fmt
from bench.report.cells import Record, achieved_gflops, get, peak_gflops
from bench.report.tables import memory_figure

#: The speed-ups reported per (model, precision): (faster candidate, against).
SPEEDUPS = (
    ("torch:compile", "torch"),
    ("keras:jax", "keras:torch"),
    ("keras:jax", "torch"),
    ("keras:torch", "torch"),
)

TF_NOTE = ("TensorFlow on a GPU: not checked by this run when TensorFlow is not installed (the "
           "GPU hosts have none); where the [gpu] extra is installed, the tf, tf:xla and keras "
           "variants run through `bench run --device cuda` unchanged (docs/gpu.md).")  # fmt: skip


@dataclass(frozen=True)
class PartOutcome:
    """How one part of the check went."""

    name: str
    planned_s: float  # on an H100
    cutoff_s: float  # what it was allowed here
    took_s: float
    status: str  # "ok" | "failed" | "cut" | "skipped" (tf32 in a dry run)
    error: str = ""


def cell_rows(records: list[Record], env: dict[str, Any]) -> list[list[str]]:
    """One row per cell: key, samples/s [CI], MFU, TFLOP/s, allocator peak, first step, status."""
    rows = []
    for r in records:
        tp = r.get("throughput") or {}
        achieved, peak = achieved_gflops(r), peak_gflops(r, env)
        mfu = fmt.percent(achieved / peak) if achieved and peak else "—"
        mem = allocator_peak(r)
        status = str(r.get("status"))
        if r.get("error"):
            status += f": {str(r['error'])[:160]}"
        speed = "—"
        if tp.get("median"):
            speed = f"{fmt.sig(tp['median'])} {fmt.interval(tp.get('ci_low'), tp.get('ci_high'))}"
        rows.append([
            str(r.get("key")),
            speed,
            mfu,
            fmt.sig(achieved / 1e3) if achieved else "—",
            mem,
            fmt.seconds(r.get("time_to_first_step_s")),
            status,
        ])  # fmt: skip
    return rows


def allocator_peak(r: Record) -> str:
    """The framework allocator's peak on the GPU: the timing passes' figure where they read it,
    else the training pass's; on a CPU (the dry run) the host memory figure, labelled so."""
    memory = memory_figure(r)
    if memory and memory["label"] == "device peak":
        return f"{fmt.mib(memory['bytes'])} MiB"
    device = get(r, "memory", "device_peak_bytes")
    if device:
        return f"{fmt.mib(device)} MiB (training pass)"
    return f"host: {fmt.mib(memory['bytes'])} MiB ({memory['label']})" if memory else "—"


def speedup_rows(records: list[Record]) -> list[list[str]]:
    """Ratios of median throughputs between variants of the same model and precision."""
    by_cell = {(r["framework"], r["model"], r.get("precision", "fp32")): r for r in records
               if r.get("status") == "ok"}  # fmt: skip
    rows = []
    for (framework, model, precision), r in sorted(by_cell.items(), key=lambda kv: kv[0][1:]):
        for fast, slow in SPEEDUPS:
            if framework != fast or (slow, model, precision) not in by_cell:
                continue
            a = get(r, "throughput", "median")
            b = get(by_cell[slow, model, precision], "throughput", "median")
            if a and b:
                rows.append([f"{model} @{precision}", f"{fast} / {slow}", f"{a / b:.2f}x"])
    return rows


def table(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(c.replace("|", "/") for c in row) + " |" for row in rows]
    return "\n".join(lines)


def summary_markdown(
    records: list[Record], env: dict[str, Any], parts: list[PartOutcome], title: str,
    notes: list[str],
) -> str:  # fmt: skip
    """The whole summary.md: the cells, the speed-ups, the parts, the notes."""
    out = [f"# {title}", ""]
    out += [table(["cell", "samples/s [95% CI]", "MFU", "TFLOP/s", "allocator peak",
                   "first step", "status"], cell_rows(records, env)), ""]  # fmt: skip
    speedups = speedup_rows(records)
    if speedups:
        out += ["Speed-ups (ratio of median samples/s):", "",
                table(["model", "variants", "speed-up"], speedups), ""]  # fmt: skip
    part_rows = [[p.name, f"{p.planned_s:.0f}", f"{p.cutoff_s:.0f}", f"{p.took_s:.1f}",
                  p.status + (f": {p.error}" if p.error else "")] for p in parts]  # fmt: skip
    header = ["part", "planned on an H100 (s)", "cut-off here (s)", "took (s)", "outcome"]
    out += [table(header, part_rows), ""]
    out += [f"- {note}" for note in [*notes, TF_NOTE]]
    return "\n".join(out) + "\n"
