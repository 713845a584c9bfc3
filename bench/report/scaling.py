"""The report's scaling section: data-parallel cells (``bench run --workers N``) per worker count.

Rows come from :func:`bench.run.scaling.scaling_rows`; this module only formats them for the
page. Throughput is samples per second over the whole global batch; scaling efficiency is
throughput(N) / (N × throughput(1)), both worker counts timed in the same passes of the same run,
with a t interval over the paired passes; the all-reduce bandwidth is a gradient-sized float32
all-reduce timed alone in the framework's engine (bus bandwidth, nccl-tests convention).
"""

from __future__ import annotations

import math
from typing import Any

from bench.run.scaling import scaling_rows


def _num(x: float | None, spec: str) -> str:
    return "—" if x is None or not math.isfinite(x) else format(x, spec)


def scaling(records: list[dict[str, Any]]) -> list[dict[str, str]]:
    """One formatted row per (cell, worker count); empty for a single-process run."""
    out = []
    for row in scaling_rows(records):
        lo, hi = row["throughput_ci"]
        elo, ehi = row["efficiency_ci"]
        bw = row["allreduce_busbw"]
        out.append(
            {
                "cell": row["cell"],
                "framework": row["framework"],
                "workers": str(row["workers"]),
                "global_batch": str(row["global_batch"]),
                "status": row["status"],
                "error": row["error"] or "",
                "throughput": _num(row["throughput"], ",.0f"),
                "throughput_ci": f"{_num(lo, ',.0f')} – {_num(hi, ',.0f')}",
                "efficiency": "baseline" if row["workers"] == 1 else _num(row["efficiency"], ".2f"),
                "efficiency_ci": ""
                if row["workers"] == 1
                else f"{_num(elo, '.2f')} – {_num(ehi, '.2f')}",
                "allreduce": f"{_num(bw / 1e6, '.3g')} MB/s" if bw else "—",
                "allreduce_bytes": str(row["allreduce_bytes"] or ""),
                "engine": f"{row['engine']} / {row['backend']}",
            }
        )
    return out
