"""Pairwise speed ratios between frameworks, each with its paired interval.

A ratio of medians taken from two rows of the summary table would hide how uncertain it is; the
runner times every framework of a group in each timing pass (one contiguous stretch each, the
order rotating from pass to pass), so pass k of A and pass k of B saw the same machine and
:func:`bench.measure.summaries.speed_ratio` pairs them (one ratio per pass, a t interval over
passes; over paired rounds for a run with a single pass).
"""

from __future__ import annotations

from itertools import combinations
from typing import Any

from bench.measure import summaries, timing
from bench.report import fmt
from bench.report.cells import Run, is_reference
from bench.report.precision_view import label, precision_of


def speed_ratios(run: Run) -> list[dict[str, Any]]:
    """For each (model, dataset) and each pair of frameworks that finished: A/B throughput.

    Each pair is oriented so that A is the faster (ratio ≥ 1 reads "A is r× as fast as B").
    Pairs whose interval excludes 1 are marked significant. A reference cell (``sklearn``) is
    in no pair: it is shown beside the frameworks, never ranked among them.
    """
    rows = []
    for model, dataset in run.pairs():
        cells = [c for c in run.cells(model, dataset) if c["status"] == "ok"]
        cells = [c for c in cells if not is_reference(c)]
        timed = [(label(c), precision_of(c), timing.passes(c)) for c in cells]
        for (a, pa, a_rounds), (b, pb, b_rounds) in combinations(timed, 2):
            if pa == pb:  # frameworks at one precision; bf16 vs fp32 is the precision view's
                rows.append(_pair(model, dataset, a, a_rounds, b, b_rounds))
    return rows


def _pair(model: str, dataset: str, a: str, a_rounds: Any, b: str, b_rounds: Any) -> dict[str, Any]:
    row: dict[str, Any] = {"model": model, "dataset": dataset, "a": a, "b": b}
    row |= {"ratio": fmt.DASH, "ci": "", "ci_level": "", "n_pairs": fmt.DASH}
    row |= {"significant": False}
    if a_rounds is None or b_rounds is None:
        return {**row, "method": f"no usable step times for {a if a_rounds is None else b}"}
    try:
        result = summaries.speed_ratio(a_rounds, b_rounds)
    except ValueError as exc:
        return {**row, "method": f"no interval: {exc}"}
    ratio, low, high = result["ratio"], result["ci_low"], result["ci_high"]
    if ratio < 1:  # orient: the faster framework first
        a, b = b, a
        ratio, low, high = 1 / ratio, 1 / high, 1 / low
    level = fmt.number(result.get("ci_level"))
    return {
        **row,
        "a": a,
        "b": b,
        "ratio": fmt.times(ratio),
        "ci": fmt.interval(low, high, fmt.times),
        "ci_level": f"{100 * level:.0f}%" if level is not None else "",
        "n_pairs": fmt.integer(result.get("n_pairs")),
        "method": str(result.get("method", "")),
        "significant": low > 1.0,
    }
