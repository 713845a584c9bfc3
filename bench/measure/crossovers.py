"""Where two frameworks' ranking turns along a sweep axis.

At every point the ratio A/B is one figure per paired pass (the two frameworks ran one after
the other in each pass, :func:`bench.measure.summaries.speed_ratio`) with its t interval. A
point reads "A faster" when the interval lies above 1, "B faster" below 1, "unclear" when it
holds 1. A *crossover* is the ranking turning: the last point where one framework is faster and
the first where the other is, with any unclear points between them ("torch faster at batch
64 and below; unclear at 128; tf faster from batch 256"). No turn: "no crossover in the swept
range".
"""

from __future__ import annotations

from collections.abc import Sequence
from itertools import pairwise
from typing import Any

import numpy as np

from bench.measure import summaries


def ratio_curve(
    xs: Sequence[float], a_passes: Sequence[Any], b_passes: Sequence[Any]
) -> list[dict[str, Any]]:
    """The A/B throughput ratio at each point with its interval and which side of 1 it is on
    (points where either framework has no usable pass are left out)."""
    out = []
    for x, a, b in zip(xs, a_passes, b_passes, strict=True):
        if not a or not b:
            continue
        try:
            r = summaries.speed_ratio(a, b)
        except ValueError:
            continue
        low, high = float(r["ci_low"]), float(r["ci_high"])
        side = "a" if low > 1 else "b" if high < 1 else "unclear"
        if not np.isfinite(low) or not np.isfinite(high):
            side = "unclear"
        out.append({"x": float(x), "ratio": float(r["ratio"]), "low": low, "high": high,
                    "side": side, "n_pairs": int(r["n_pairs"])})  # fmt: skip
    return out


def crossovers(curve: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """Every turn of the ranking along ``curve``: (from side, last x there, unclear xs, to side,
    first x there)."""
    decided = [(i, p) for i, p in enumerate(curve) if p["side"] != "unclear"]
    out = []
    for (i, p), (j, q) in pairwise(decided):
        if p["side"] != q["side"]:
            out.append({"from": p["side"], "last": p["x"], "to": q["side"], "first": q["x"],
                        "unclear": [c["x"] for c in curve[i + 1 : j]]})  # fmt: skip
    return out


def crossover_words(curve: list[dict[str, Any]], a: str, b: str, unit: str = "batch") -> str:
    """The crossovers of ``curve`` in one sentence, or why there is none."""
    if not curve:
        return "no ratio: no point with both frameworks timed"
    name = {"a": a, "b": b}
    turns = crossovers(curve)
    if not turns:
        sides = {p["side"] for p in curve}
        lo, hi = curve[0]["x"], curve[-1]["x"]
        if sides == {"unclear"}:
            return (
                f"no crossover in the swept range ({unit} {lo:g}–{hi:g}): the ratio's "
                "interval holds 1 everywhere"
            )
        only = name[next(s for s in ("a", "b") if s in sides)]
        return (
            f"no crossover in the swept range ({unit} {lo:g}–{hi:g}): {only} faster "
            "wherever the interval excludes 1"
        )
    words = []
    for t in turns:
        between = (
            f"; unclear at {', '.join(f'{x:g}' for x in t['unclear'])}" if t["unclear"] else ""
        )
        words.append(f"{name[t['from']]} faster at {unit} {t['last']:g} and below{between}; "
                     f"{name[t['to']]} faster from {unit} {t['first']:g}")  # fmt: skip
    return "crossover: " + " | ".join(words)
