"""What a data-parallel cell's records say about scaling: the efficiency throughput(N) /
(N × throughput(1)) from paired passes with its interval, and the rows and Markdown table the
report and the run's closing note show.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

from bench.measure import intervals


def scaling_efficiency(
    thr_n: list[float], thr_1: list[float], workers: int
) -> dict[str, Any] | None:
    """throughput(N) / (N × throughput(1)) from paired passes: one ratio per pass, a t interval
    over the passes (one pass: the estimate without an interval)."""
    n = min(len(thr_n), len(thr_1))
    if n == 0:
        return None
    ratios = np.array([thr_n[k] / (workers * thr_1[k]) for k in range(n)])
    if n == 1:
        return {"estimate": float(ratios[0]), "ci_low": None, "ci_high": None, "n_pairs": 1}
    est, lo, hi = intervals.log_mean_ci(ratios)
    return {"estimate": est, "ci_low": lo, "ci_high": hi, "n_pairs": n,
            "method": f"t interval over {n} paired timing passes"}  # fmt: skip


def scaling_rows(records: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """One row per distributed record: throughput and its interval, efficiency, all-reduce."""
    rows = []
    for rec in records:
        info = rec.get("distributed")
        if not info:
            continue
        thr = rec.get("throughput") or {}
        eff = info.get("scaling_efficiency") or {}
        ar = info.get("allreduce") or {}
        rows.append(
            {
                "cell": rec["key"].rsplit("@", 1)[0],
                "framework": rec["framework"],
                "workers": info["workers"],
                "global_batch": info["global_batch"],
                "status": rec["status"],
                "error": rec.get("error"),
                "throughput": thr.get("median"),
                "throughput_ci": (thr.get("ci_low"), thr.get("ci_high")),
                "efficiency": eff.get("estimate"),
                "efficiency_ci": (eff.get("ci_low"), eff.get("ci_high")),
                "engine": info.get("engine"),
                "backend": info.get("collective_backend"),
                "allreduce_busbw": ar.get("busbw_bytes_per_s"),
                "allreduce_bytes": ar.get("bytes"),
            }
        )
    return sorted(rows, key=lambda row: (row["cell"], row["workers"]))


def _fmt(x: float | None, spec: str) -> str:
    return "—" if x is None or not math.isfinite(x) else format(x, spec)


def scaling_table(records: list[dict[str, Any]]) -> str:
    """The scaling table as Markdown (the run's closing note prints it)."""
    lines = [
        "| cell | workers | global batch | samples/s [95% CI] | efficiency [95% CI] | "
        "all-reduce busbw (MB/s, bytes) | engine / backend |",
        "|---|---:|---:|---|---|---|---|",
    ]
    for row in scaling_rows(records):
        if row["status"] != "ok":
            lines.append(f"| {row['cell']} | {row['workers']} | {row['global_batch']} | "
                         f"{row['status']}: {row['error']} | | | |")  # fmt: skip
            continue
        lo, hi = row["throughput_ci"]
        elo, ehi = row["efficiency_ci"]
        thr = f"{_fmt(row['throughput'], '.0f')} [{_fmt(lo, '.0f')}, {_fmt(hi, '.0f')}]"
        eff = (f"{_fmt(row['efficiency'], '.2f')} [{_fmt(elo, '.2f')}, {_fmt(ehi, '.2f')}]"
               if row["workers"] > 1 else "1 (baseline)")  # fmt: skip
        bw = row["allreduce_busbw"]
        ar = f"{_fmt(bw / 1e6 if bw else None, '.3g')} ({row['allreduce_bytes']})" if bw else "—"
        lines.append(f"| {row['cell']} | {row['workers']} | {row['global_batch']} | {thr} | "
                     f"{eff} | {ar} | {row['engine']} / {row['backend']} |")  # fmt: skip
    return "\n".join(lines)
