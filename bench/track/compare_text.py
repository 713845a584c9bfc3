"""A comparison as people and CI read it: the markdown a job summary shows, the JSON a script
reads and the rows of the console table. What could not be judged is said before the table,
never left for a reader to notice in it: cells not compared and why, how many cells got a speed
verdict, a disturbed machine, a drift estimate resting on too few cells."""

from __future__ import annotations

import json
import math
from dataclasses import asdict
from typing import Any

from bench.track.compare import CellComparison, Comparison, software_line
from bench.track.machine import MIN_DRIFT_CELLS


def _pct(x: float | None) -> str:
    return "—" if x is None else f"{x:+.1%}"


def _num(x: float | None, fmt: str = ",.0f") -> str:
    return "—" if x is None else f"{x:{fmt}}"


HEADER = ["cell", "verdict", "samples/s", "raw change", "vs machine", "95% CI", "p", "memory",
          "accuracy", "note"]  # fmt: skip


def _accuracy(c: CellComparison) -> str:
    if c.accuracy_current is None or c.accuracy_base is None:
        return "—"
    text = f"{c.accuracy_base:.1%} → {c.accuracy_current:.1%}"
    if c.accuracy_sigma is not None:
        source = "seeds" if c.accuracy_sigma_source == "seeds" else "binomial"
        text += f" (sd {c.accuracy_sigma:.1%}, {source})"
    return text


def _mib(x: float) -> str:
    return f"{x / 2**20:,.1f}" if x < 100 * 2**20 else f"{x / 2**20:,.0f}"


def _memory(c: CellComparison) -> str:
    """Base → current MiB, the change with its interval and Holm p where the samples allow a
    test, and a mark where one sample was judged by the threshold alone."""
    if c.memory_current is None or c.memory_base is None:
        return "—"
    text = f"{_mib(c.memory_base)} → {_mib(c.memory_current)} MiB ({_pct(c.memory_change)}"
    if c.memory_ci is not None:
        text += f" [{c.memory_ci[0]:+.1%}, {c.memory_ci[1]:+.1%}]"
        text += "" if c.memory_p_value is None else f", p {c.memory_p_value:.2g}"
    else:
        text += ", one sample: threshold alone"
    return text + ")"


def rows(comparisons: list[CellComparison]) -> list[list[str]]:
    out = []
    for c in comparisons:
        ci = (
            "—"
            if c.throughput_ci is None
            else f"[{c.throughput_ci[0]:+.1%}, {c.throughput_ci[1]:+.1%}]"
        )
        out.append([
            c.key, c.verdict, f"{_num(c.throughput_base)} → {_num(c.throughput_current)}",
            _pct(c.throughput_change_raw), _pct(c.throughput_change), ci,
            "—" if c.p_value is None else f"{c.p_value:.2g}",
            _memory(c), _accuracy(c), c.note,
        ])  # fmt: skip
    return out


def drift_line(comparison: Comparison) -> str:
    """What each cell's speed was judged against: the machine's move, where the estimate came
    from, its cross-check, the cells' own scatter about it, or why speed was not judged."""
    line = _drift_words(comparison)
    m = comparison.machine
    if not m.disturbed and m.disagreement is not None and abs(m.disagreement) > 0.02:
        line += (
            f" The two estimates of the machine's move differ by {abs(m.disagreement):.1%} (log "
            "step time): the move is known no better, and that joins every cell's interval."
        )
    s = m.scatter
    if m.disturbed or s is None:
        return line
    if s.variance > 0:
        return line + (
            f" The cells scattered about the machine's move by {math.sqrt(s.variance):.1%} "
            f"(sd, median absolute deviation of {s.n} cells) beyond what their passes explain: "
            "that run-to-run scatter is added to every cell's interval."
        )
    return line + f" The {s.n} cells' scatter about the machine's move is within their passes'."


def _drift_words(comparison: Comparison) -> str:
    m = comparison.machine
    if m.disturbed:
        return (
            "Machine disturbed: " + "; ".join(m.disturbed) + ". Speed verdicts are withheld "
            "(contention does not slow every framework as it slows the reference, so no "
            "correction can rescue the comparison): rerun on a quiet machine."
        )
    if not comparison.drift_correction:
        return "Cells are judged on their raw change (no drift correction)."
    ref, cells = m.reference, m.cells
    few = f"too few cells (under {MIN_DRIFT_CELLS}) for their median, so no cross-check"
    cross = (
        few if cells is None
        else f"the median over {cells.n} cells moved {cells.machine_change:+.1%}"
    )  # fmt: skip
    if m.source == "reference":
        assert ref is not None
        agree = "" if m.agree is None else ", within the two estimates' intervals"
        if not ref.spread_known:
            agree += " (one reference reading a run: its uncertainty is unknown, taken as 0)"
        return (
            f"Machine drift {ref.machine_change:+.1%} in throughput, from the drift reference "
            f"(a fixed framework-free workload timed in every pass, its own pass-to-pass spread "
            f"carried into each cell's interval); {cross}{agree}. Each cell is judged on its "
            "change relative to the reference (`--no-drift-correction` judges raw changes)."
        )
    if m.source == "raw":
        assert ref is not None and cells is not None
        return (
            f"The drift reference ({ref.machine_change:+.1%}) and the median over {cells.n} "
            f"cells ({cells.machine_change:+.1%}) disagree beyond their intervals: the machine "
            "did not move the cells as it moved the reference, or a change is common to most "
            "cells. No correction is trusted: cells are judged on their raw change, with the "
            "wider interval of the two estimates."
        )
    if m.source == "cells":
        assert cells is not None
        return (
            f"All cells together ran {cells.machine_change:+.1%} (median over {cells.n} cells; "
            "one run has no drift reference, so the median stands in for it): the machine's "
            "drift, or a change common to every framework and model. Each cell is judged on its "
            "change relative to that (`--no-drift-correction` judges raw changes)."
        )
    return (
        f"No drift reference in one run and {few}: cells are judged on their raw change, "
        "machine drift included."
    )


def gate_lines(comparison: Comparison) -> list[str]:
    """The lines a CI reader needs before the table: regressions or their absence, a disturbed
    machine, the cells not compared (and why), how many cells got a speed verdict."""
    bad = comparison.regressed
    lines = [
        (f"**{len(bad)} regression(s)**: " + ", ".join(f"`{c.key}` ({c.verdict})" for c in bad))
        if bad
        else "**No regression.**"
    ]
    if comparison.disturbed:
        lines.append("**Machine disturbed**: speed not judged.")
    missing = comparison.not_comparable
    if missing:
        lines.append(
            f"**{len(missing)} cell(s) not compared** (`--strict` fails on these): "
            + "; ".join(f"`{c.key}` ({c.note})" for c in missing)
        )
    timed = [c for c in comparison.cells if c.throughput_change_raw is not None]
    lines.append(
        f"{comparison.judged_speed} of {len(comparison.cells)} cells judged on speed"
        + ("" if len(timed) == comparison.judged_speed else
           f" ({len(timed) - comparison.judged_speed} timed but not judged)")
        + "."
    )  # fmt: skip
    return lines


def _methods(comparisons: list[CellComparison]) -> str:
    counts: dict[str, int] = {}
    for c in comparisons:
        if c.speed_method:
            name = (
                "Welch t over the timing passes"
                if c.speed_method.startswith("Welch")
                else "Mann-Whitney U and a bootstrap CI on raw step times (single-pass runs)"
            )
            counts[name] = counts.get(name, 0) + 1
    return "; ".join(f"{name} ({n} cells)" for name, n in counts.items()) or "none"


def _memory_evidence(comparisons: list[CellComparison]) -> str:
    tested = sum(c.memory_p_value is not None for c in comparisons)
    single = sum(c.memory_change is not None and c.memory_p_value is None for c in comparisons)
    text = (
        f"Memory: the peak above the framework's baseline over the training steps, one sample "
        f"per timing pass in a fresh worker; hungrier when the rise passes the memory "
        f"threshold and Welch's t on the log samples, Holm over the cells ({tested} cells)"
    )
    if single:
        text += f"; {single} cells with one sample judged by the threshold alone"
    return text + "."


def _accuracy_sources(comparisons: list[CellComparison]) -> str:
    seeds = sum(c.accuracy_sigma_source == "seeds" for c in comparisons)
    binomial = sum(c.accuracy_sigma_source == "binomial" for c in comparisons)
    return (
        f"Accuracy against the seed-to-seed spread measured over seeds 0-4 ({seeds} cells) or, "
        f"where none is measured yet, the test set's binomial standard error ({binomial} "
        "cells); a drop must be significant after Holm and beyond half a point."
    )


def to_markdown(
    comparison: Comparison, base: str, current: str, software: list[str] | None = None
) -> str:
    lines = [f"### bench compare: `{base}` → `{current}`", ""]
    if software:
        lines += [f"**{software_line(software)}**", ""]
    for line in gate_lines(comparison):
        lines += [line, ""]
    lines += [
        f"Threshold {comparison.threshold:.0%}; a change counts when it is beyond the threshold, "
        "significant after a Holm adjustment over the cells and its 95% CI excludes 0. "
        f"Speed evidence: {_methods(comparison.cells)}. {_memory_evidence(comparison.cells)} "
        f"{_accuracy_sources(comparison.cells)}",
        "",
        drift_line(comparison),
        "",
        "| " + " | ".join(HEADER) + " |",
        "|" + "---|" * len(HEADER),
    ]
    for row in rows(comparison.cells):
        cells = [v.replace("|", "\\|") for v in row]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def _estimate(e: Any) -> dict[str, Any] | None:
    if e is None:
        return None
    return {"machine_change": e.machine_change, "log_change": e.log_change, "se": e.se, "n": e.n}


def to_json(
    comparison: Comparison, base: str, current: str, software: list[str] | None = None
) -> str:
    m = comparison.machine
    return json.dumps(
        {
            "base": base,
            "current": current,
            "software_changes": software or [],
            "drift": {
                "source": m.source,
                "machine_change": (None if m.source in (None, "raw") else math.exp(-m.shift) - 1),
                "reference": _estimate(m.reference),
                "cells": _estimate(m.cells),
                "agree": m.agree,
                "cells_machine_change": m.cells_machine_change,
                "cells_scatter_sd": None if m.scatter is None else math.sqrt(m.scatter.variance),
                "disagreement": m.disagreement,
            },
            "machine_disturbed": m.disturbed,
            "regressed": [c.key for c in comparison.regressed],
            "not_comparable": {c.key: c.note for c in comparison.not_comparable},
            "judged_speed": comparison.judged_speed,
            "cells": [asdict(c) for c in comparison.cells],
        },
        indent=2,
    )
