"""Did a commit regress? Per-cell verdicts between two runs, for people and for CI.

Speed: a cell is "slower" only when its median step time rose by more than the threshold AND the
rise is statistically significant AND its confidence interval excludes zero. The evidence is the
timing passes (fresh processes spread over each run, see :mod:`bench.measure.timing`): Welch's t on
the log median step time of each pass (:func:`bench.track.verdicts.compare_passes`); runs with one
pass fall back to the raw step times (Mann-Whitney U and a bootstrap interval,
:func:`bench.track.verdicts.compare_samples`). The p-values of all cells of one comparison are
adjusted together (Holm), so the chance of any false alarm in a comparison stays at alpha however
many cells it has. The machine's move between the runs is estimated, with its own uncertainty, by
:mod:`bench.track.machine`, and taken off each cell; a disturbed machine gets no speed verdicts
at all ("machine disturbed"). Memory: "hungrier" needs a rise beyond ``--memory-threshold`` that
is also significant, Welch's t on the log memory samples (one per timing pass, each a fresh
worker's peak over the training steps: :mod:`bench.measure.memory`), Holm over the cells' memory
tests; a run with one sample (no timing passes, older records) falls back to the threshold alone
on the whole-run peak, and the output says so.
Accuracy: a drop significant (Holm over the cells) against the seed-to-seed spread declared with
the model, or the test set's binomial standard error where no spread is measured yet, and beyond
half a point (:func:`bench.track.verdicts.accuracy_sigma`).

Output (markdown, JSON, the console table) is :mod:`bench.track.compare_text`.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from bench.catalog import suites
from bench.measure import environment, timing
from bench.track import verdicts
from bench.track.machine import MIN_DRIFT_CELLS, MachineView, machine_view

REGRESSIONS = ("slower", "hungrier", "less accurate", "failed")
DISTURBED = "machine disturbed"
NOT_COMPARABLE = "not comparable"
#: Exit statuses of ``bench compare``: a regression, then a disturbed machine (1 under --strict).
EXIT_REGRESSION, EXIT_DISTURBED = 1, 3
#: The disturbance threshold's default: a quiet 2-core VM repeats the drift reference within it.
DISTURBANCE_THRESHOLD = 0.15

__all__ = ["DISTURBANCE_THRESHOLD", "MIN_DRIFT_CELLS", "CellComparison", "Comparison"]


@dataclass
class CellComparison:
    key: str
    verdict: str  # slower | hungrier | less accurate | failed | machine disturbed | faster |
    #               unchanged | not comparable
    throughput_base: float | None = None
    throughput_current: float | None = None
    throughput_change: float | None = None  # fraction, + is faster
    throughput_ci: tuple[float, float] | None = None
    p_value: float | None = None  # Holm-adjusted over the comparison's cells
    speed_verdict: str | None = None  # None when withheld (machine disturbed) or no evidence
    speed_method: str | None = None
    throughput_change_raw: float | None = None  # before taking off the machine's drift
    machine_change: float | None = None  # run-wide throughput change the cell was judged against
    drift_source: str | None = None  # "reference" | "cells" | "raw" (the two disagree)
    cells_machine_change: float | None = None  # median-of-cells estimate, the cross-check
    memory_base: float | None = None  # the gated figure: geometric mean of the samples
    memory_current: float | None = None
    memory_change: float | None = None
    memory_ci: tuple[float, float] | None = None
    memory_p_value: float | None = None  # Holm-adjusted over the cells' memory tests
    memory_verdict: str | None = None  # hungrier | leaner | unchanged
    memory_method: str | None = None  # the test, or "one sample: the threshold alone judges"
    memory_figure: str | None = None  # which figure: training steps or the whole-run peak
    accuracy_base: float | None = None
    accuracy_current: float | None = None
    accuracy_verdict: str | None = None
    accuracy_sigma: float | None = None  # one run's accuracy sd the change is judged against
    accuracy_sigma_source: str | None = None  # "seeds" (measured, 0-4) | "binomial" (test set)
    accuracy_p_value: float | None = None  # Holm-adjusted over the cells
    note: str = ""


@dataclass
class Comparison:
    """Every cell's verdict and what they were judged against."""

    cells: list[CellComparison]
    machine: MachineView
    threshold: float
    disturbance_threshold: float
    drift_correction: bool = True
    judged_speed: int = 0  # cells whose speed got a verdict
    notes: list[str] = field(default_factory=list)

    @property
    def regressed(self) -> list[CellComparison]:
        return regressed(self.cells)

    @property
    def not_comparable(self) -> list[CellComparison]:
        return [c for c in self.cells if c.verdict == NOT_COMPARABLE]

    @property
    def disturbed(self) -> bool:
        return bool(self.machine.disturbed)

    def exit_status(self, strict: bool = False) -> int:
        """1 on a regression; a disturbed machine 3 (1 under ``strict``); under ``strict`` also 1
        when any cell could not be compared (missing, failed in the base, another recipe)."""
        if self.regressed:
            return EXIT_REGRESSION
        if self.disturbed:
            return EXIT_REGRESSION if strict else EXIT_DISTURBED
        if strict and self.not_comparable:
            return EXIT_REGRESSION
        return 0


def _enough(passes: list[list[np.ndarray]] | None) -> bool:
    return bool(passes) and sum(r.size for p in passes or [] for r in p) >= 5


def _not_comparable(base: dict[str, Any] | None, current: dict[str, Any] | None) -> str | None:
    """Why two records of one key cannot be compared (None if they can); a current failure
    after a base success is a regression, not this."""
    if base is None or current is None:
        return f"not in the {'base' if base is None else 'current'} run"
    if current["status"] != "ok" and base["status"] != "ok":
        return f"failed in both runs (current: {current['status']}: {current.get('error')})"
    if base["status"] != "ok":
        return f"failed in the base run ({base['status']}: {base.get('error')})"
    if base.get("recipe") != current.get("recipe"):
        return "another recipe"
    if base.get("seed") != current.get("seed"):
        return f"another seed ({base.get('seed')} → {current.get('seed')})"
    return None


def compare_cell(
    base: dict[str, Any] | None,
    current: dict[str, Any] | None,
    threshold: float,
    memory_threshold: float,
    machine: MachineView | None = None,
) -> CellComparison:
    """One cell's verdict, its speed and accuracy p-values not yet adjusted for the other cells;
    ``machine`` says what the machine's move was (taken off before judging speed) and whether
    it was disturbed (speed not judged)."""
    machine = machine or MachineView()
    key = (current or base or {}).get("key", "?")
    why = _not_comparable(base, current)
    if why is not None:
        return CellComparison(key, NOT_COMPARABLE, note=why)
    assert base is not None and current is not None
    if current["status"] != "ok":
        return CellComparison(
            key, "failed", note=f"current: {current['status']}: {current.get('error')}"
        )
    out = CellComparison(key, "unchanged")
    b_passes, c_passes = timing.passes(base), timing.passes(current)
    if b_passes and c_passes and _enough(b_passes) and _enough(c_passes):
        out.throughput_change_raw = math.exp(-verdicts.log_change(b_passes, c_passes)) - 1
        if machine.disturbed:
            out.note = "speed not judged: machine disturbed"
        else:
            _judge_speed(out, b_passes, c_passes, threshold, machine)
    out.throughput_base = (base.get("throughput") or {}).get("median")
    out.throughput_current = (current.get("throughput") or {}).get("median")
    _judge_memory(out, base, current, memory_threshold)
    _judge_accuracy(out, base, current)
    out.verdict = _overall(out, memory_threshold, machine.disturbed)
    return out


def _judge_speed(
    out: CellComparison,
    b_passes: list[list[np.ndarray]],
    c_passes: list[list[np.ndarray]],
    threshold: float,
    machine: MachineView,
) -> None:
    speed = verdicts.compare_passes(
        b_passes, c_passes, threshold=threshold, offset=machine.shift,
        offset_variance=machine.variance, offset_df=machine.df,
    )  # fmt: skip
    out.machine_change = math.exp(-machine.shift) - 1
    out.drift_source = machine.source
    out.cells_machine_change = machine.cells_machine_change
    # step-time ratio r → throughput change 1/r − 1 (the interval flips)
    out.throughput_change = 1 / (1 + speed["change"]) - 1
    out.throughput_ci = (1 / (1 + speed["ci_high"]) - 1, 1 / (1 + speed["ci_low"]) - 1)
    out.p_value = speed["p_value"]
    out.speed_verdict = speed["verdict"]
    out.speed_method = speed["method"]


def _judge_accuracy(out: CellComparison, base: dict[str, Any], current: dict[str, Any]) -> None:
    out.accuracy_base, out.accuracy_current = (
        base.get("test_accuracy"),
        current.get("test_accuracy"),
    )
    if out.accuracy_base is None or out.accuracy_current is None:
        return
    if current.get("synthetic") or base.get("synthetic"):
        return  # random labels: the accuracy means nothing, and is not judged
    if not all(math.isfinite(a) and 0.0 <= a <= 1.0 for a in (out.accuracy_base,
                                                              out.accuracy_current)):  # fmt: skip
        out.note = _join(out.note, "accuracy not judged: not a fraction in [0, 1]")
        return
    spread = suites.seed_spread(
        current["suite"], current["model"], current["dataset"], current.get("recipe")
    )
    samples = current.get("test_samples") or base.get("test_samples")
    sigma, source = verdicts.accuracy_sigma(
        spread, out.accuracy_base, out.accuracy_current, samples
    )
    out.accuracy_sigma, out.accuracy_sigma_source = sigma, source
    if sigma is None:
        out.note = _join(out.note, "accuracy not judged: no seed spread, test-set size unknown")
        return
    out.accuracy_p_value = verdicts.accuracy_p_value(out.accuracy_base, out.accuracy_current, sigma)
    out.accuracy_verdict = verdicts.accuracy_verdict(
        out.accuracy_base, out.accuracy_current, out.accuracy_p_value
    )


def _join(a: str, b: str) -> str:
    return f"{a}; {b}" if a else b


#: The gated figure's name in the output, and the fallbacks' (one sample each).
STEPS_FIGURE = "training steps, fresh worker per pass"
WHOLE_RUN_FIGURE = "whole-run peak above baseline, one sample"
PEAK_RSS_FIGURE = "peak RSS, one sample"


def memory_samples(
    base: dict[str, Any], current: dict[str, Any]
) -> tuple[list[float], list[float], str] | None:
    """The two cells' memory samples on one footing, and which figure they are: the timing
    passes' fresh-worker samples over the training steps (``memory.steps``) when both records
    have them from the same source; else the training pass's whole-run peak above the
    framework's post-import baseline; else both workers' peak RSS (older records). None when
    either record has no figure."""
    b, c = base.get("memory") or {}, current.get("memory") or {}
    bs, cs = b.get("steps") or {}, c.get("steps") or {}
    if bs.get("samples_bytes") and cs.get("samples_bytes") and bs["source"] == cs["source"]:
        return list(bs["samples_bytes"]), list(cs["samples_bytes"]), STEPS_FIGURE
    key = "peak_above_baseline_bytes"
    if b.get(key) is not None and c.get(key) is not None:
        return [b[key]], [c[key]], WHOLE_RUN_FIGURE
    if base.get("peak_rss_bytes") and current.get("peak_rss_bytes"):
        return [base["peak_rss_bytes"]], [current["peak_rss_bytes"]], PEAK_RSS_FIGURE
    return None


def _judge_memory(
    out: CellComparison, base: dict[str, Any], current: dict[str, Any], threshold: float
) -> None:
    found = memory_samples(base, current)
    if found is None:
        return
    b, c, out.memory_figure = found
    if min(b) <= 0 or min(c) <= 0:
        out.note = _join(out.note, "memory not judged: a sample of 0 bytes")
        return
    change = verdicts.compare_memory(b, c, threshold)
    out.memory_base = float(np.exp(np.log(b).mean()))
    out.memory_current = float(np.exp(np.log(c).mean()))
    out.memory_change = change["change"]
    if change["p_value"] is not None:
        out.memory_ci = (change["ci_low"], change["ci_high"])
    out.memory_p_value, out.memory_method = change["p_value"], change["method"]
    out.memory_verdict = verdicts.memory_verdict(change, threshold)


def _overall(out: CellComparison, memory_threshold: float, disturbed: bool = False) -> str:
    if out.speed_verdict == "slower":
        return "slower"
    if out.memory_verdict == "hungrier":
        return "hungrier"
    if out.accuracy_verdict == "worse":
        return "less accurate"
    if disturbed and out.throughput_change_raw is not None:
        return DISTURBED  # never "faster" or "unchanged" on a machine that could not tell
    if out.speed_verdict == "faster":
        return "faster"
    return "unchanged"


def cell_changes(
    base: list[dict[str, Any]], current: list[dict[str, Any]]
) -> list[tuple[float, float]]:
    """Each cell's log step-time change between two runs and that change's variance from its
    passes (None with one pass on a side), over the cells that finished in both with enough
    timing: the material of the median-of-cells drift and of the cells' scatter about it."""
    b = {r["key"]: r for r in base if r.get("status") == "ok"}
    changes = []
    for r in current:
        if r.get("status") != "ok" or r["key"] not in b or _not_comparable(b[r["key"]], r):
            continue  # another recipe or seed moves step time for its own reasons
        bp, cp = timing.passes(b[r["key"]]), timing.passes(r)
        if bp and cp and _enough(bp) and _enough(cp):
            changes.append(verdicts.screened_change(bp, cp))
    return changes


def cell_log_changes(base: list[dict[str, Any]], current: list[dict[str, Any]]) -> list[float]:
    """Each cell's log step-time change (:func:`cell_changes` without the variances)."""
    return [change for change, _ in cell_changes(base, current)]


def judge(
    base: list[dict[str, Any]],
    current: list[dict[str, Any]],
    threshold: float = 0.05,
    memory_threshold: float = 0.10,
    drift_correction: bool = True,
    disturbance_threshold: float = DISTURBANCE_THRESHOLD,
    base_env: dict[str, Any] | None = None,
    current_env: dict[str, Any] | None = None,
) -> Comparison:
    """Every cell's verdict, the machine's move and disturbances they were judged against, and
    the p-values adjusted over the cells (speed and accuracy, each its own family)."""
    b = {r["key"]: r for r in base}
    c = {r["key"]: r for r in current}
    keys = list(dict.fromkeys([*c, *b]))
    changes = cell_changes(base, current)
    machine = machine_view(base, current, [c for c, _ in changes], disturbance_threshold,
                           drift_correction, base_env, current_env,
                           [v for _, v in changes])  # fmt: skip
    cells = [compare_cell(b.get(k), c.get(k), threshold, memory_threshold, machine) for k in keys]
    judged = [x for x in cells if x.p_value is not None and x.throughput_ci is not None]
    for x, p_adjusted in zip(judged, verdicts.holm([x.p_value for x in judged]), strict=True):
        x.p_value = p_adjusted
        # the verdict again, on the adjusted p, judged on step time as the threshold is stated
        # (throughput change t is a step-time change 1/(1+t) - 1; the interval flips)
        step_ci = (1 / (1 + x.throughput_ci[1]) - 1, 1 / (1 + x.throughput_ci[0]) - 1)
        x.speed_verdict = verdicts.change_verdict(
            1 / (1 + x.throughput_change) - 1, step_ci[0], step_ci[1], p_adjusted, threshold
        )
    scored = [x for x in cells if x.accuracy_p_value is not None]
    for x, p_adjusted in zip(scored, verdicts.holm([x.accuracy_p_value for x in scored]),
                             strict=True):  # fmt: skip
        x.accuracy_p_value = p_adjusted
        x.accuracy_verdict = verdicts.accuracy_verdict(
            x.accuracy_base,
            x.accuracy_current,
            p_adjusted,  # type: ignore[arg-type]
        )
    tested = [x for x in cells if x.memory_p_value is not None]
    for x, p_adjusted in zip(tested, verdicts.holm([x.memory_p_value for x in tested]),
                             strict=True):  # fmt: skip
        x.memory_p_value = p_adjusted
        change = {
            "change": x.memory_change,
            "p_value": p_adjusted,
            "ci_low": x.memory_ci[0],
            "ci_high": x.memory_ci[1],
        }  # type: ignore[index]
        x.memory_verdict = verdicts.memory_verdict(change, memory_threshold)
    for x in cells:
        if x.verdict not in ("failed", NOT_COMPARABLE):
            x.verdict = _overall(x, memory_threshold, machine.disturbed)
    return Comparison(cells, machine, threshold, disturbance_threshold, drift_correction,
                      judged_speed=len(judged))  # fmt: skip


def compare_runs(
    base: list[dict[str, Any]], current: list[dict[str, Any]], **options: Any
) -> list[CellComparison]:
    """The cells of :func:`judge` (same options; no run environments, so no busy-process check)."""
    return judge(base, current, **options).cells


def regressed(comparisons: list[CellComparison]) -> list[CellComparison]:
    return [c for c in comparisons if c.verdict in REGRESSIONS]


def machine_difference(base_env: dict[str, Any], current_env: dict[str, Any]) -> str | None:
    """Why two runs' machines differ (CPU model, cores, memory, GPUs), or None. Software
    versions are not the machine: see :func:`software_changes`."""
    diffs = environment.machine_difference(base_env, current_env)
    return ", ".join(diffs) if diffs else None


def software_changes(base_env: dict[str, Any], current_env: dict[str, Any]) -> list[str]:
    """The framework/library versions that changed, e.g. ``["torch 2.12.0 → 2.13.0"]``."""
    return environment.software_changes(base_env, current_env)


def software_line(changes: list[str]) -> str | None:
    if not changes:
        return None
    return "Software changed: " + ", ".join(changes) + "."
