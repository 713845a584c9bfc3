"""A sweep's report: per model, small multiples along the batch axis (throughput log-log with
each framework's interval band, every framework pair's ratio with its band and the line at 1,
the memory figure with the budget line and the largest batch that fits), the fit table
(fixed cost a, per-sample cost c, with intervals, where the line holds), the crossovers in
words, the thread scaling and the length fits. Every number comes from
:mod:`bench.measure.sweep_analysis`; nothing is re-run.
"""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import numpy as np
from matplotlib.figure import Figure
from matplotlib.ticker import FuncFormatter

from bench.measure import memory, sweep_analysis
from bench.report import envinfo
from bench.report.cells import load_run
from bench.report.figures import framework_colors
from bench.report.render import render
from bench.report.svg import style, to_svg

LABEL = "throughput point"


def _tp(r: dict[str, Any]) -> tuple[float, float, float]:
    tp = r["throughput"]
    return (
        float(tp["median"]),
        float(tp["ci_low"] or tp["median"]),
        float(tp["ci_high"] or tp["median"]),
    )


def batch_figure(line: dict[str, Any], colors: dict[str, str], budget: int | None,
                 fits: dict[str, dict[str, Any]], found: dict[str, int]) -> Figure:  # fmt: skip
    """Three panels of one model's batch line: throughput, ratios, memory."""
    with style():
        fig = Figure(figsize=(11.5, 3.2), layout="constrained")
        ax_tp, ax_ratio, ax_mem = fig.subplots(1, 3)
        for fw, rs in line["lines"].items():
            rs = [r for r in rs if r.get("throughput")]
            xs = [r["sweep"]["batch_size"] for r in rs]
            mid, lo, hi = (
                (np.array(v) for v in zip(*map(_tp, rs), strict=True)) if rs else ([],) * 3
            )
            ax_tp.plot(xs, mid, "o-", color=colors[fw], label=fw, ms=3, lw=1.4)
            ax_tp.fill_between(xs, lo, hi, color=colors[fw], alpha=0.2, lw=0)
            mems = [(r["sweep"]["batch_size"], memory.gated_figure(r)) for r in rs]
            mems = [(x, m) for x, m in mems if m]
            if mems:
                mx = [x for x, _ in mems]
                ax_mem.plot(mx, [m["bytes"] / 2**20 for _, m in mems], "o-", color=colors[fw],
                            ms=3, lw=1.4, label=fw)  # fmt: skip
                ax_mem.fill_between(
                    mx, [(m["low"] or m["bytes"]) / 2**20 for _, m in mems],
                    [(m["high"] or m["bytes"]) / 2**20 for _, m in mems],
                    color=colors[fw], alpha=0.2, lw=0,
                )  # fmt: skip
            fit = fits.get(fw)
            if fit and fit.get("fit") is not None:
                grid = np.geomspace(fit["range"][0], fit["range"][1], 40)
                step = fit["fit"].design(grid) @ fit["fit"].coef
                ax_tp.plot(grid, grid / step, ":", color=colors[fw], lw=1)
        for ax in (ax_tp, ax_ratio, ax_mem):
            ax.set_xscale("log", base=2)
            ax.xaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}"))
            ax.set_xlabel("batch size")
        ax_tp.set_yscale("log")
        ax_tp.set_ylabel("samples/s (95% band; dotted: a + c·B)")
        ax_tp.set_title("Throughput")
        ax_tp.legend(loc="best")
        for pair in line["ratios"]:
            curve = pair["curve"]
            if not curve:
                continue
            xs = [p["x"] for p in curve]
            ax_ratio.plot(xs, [p["ratio"] for p in curve], "o-", ms=3, lw=1.4,
                          color=colors[pair["a"]], label=f"{pair['a']} / {pair['b']}")  # fmt: skip
            ax_ratio.fill_between(xs, [p["low"] for p in curve], [p["high"] for p in curve],
                                  color=colors[pair["a"]], alpha=0.15, lw=0)  # fmt: skip
        ax_ratio.axhline(1.0, color="#323f4b", lw=1)
        ax_ratio.set_yscale("log", base=2)  # 2x and 1/2 equally far from 1; a wide band no wall
        ax_ratio.yaxis.set_major_formatter(FuncFormatter(lambda v, _: f"{v:g}×"))
        ax_ratio.set_ylabel("throughput ratio (>1: first faster)")
        ax_ratio.set_title("Ratio per pair (95% band)")
        if line["ratios"]:
            ax_ratio.legend(loc="best")
        if budget:
            ax_mem.axhline(budget / 2**20, color="#c03f7a", ls="--", lw=1, label="budget")
        for fw, batch in found.items():  # the largest batch within the budget
            ax_mem.axvline(batch, color=colors[fw], ls=":", lw=1.2, label=f"{fw} fits ≤ {batch}")
        if budget or found:
            ax_mem.legend(loc="best")
        ax_mem.set_ylabel("MiB above baseline")
        ax_mem.set_title("Memory: training-steps peak")
        return fig


def _ci(v: tuple[float, float], spec: str = ".3g") -> str:
    return f"[{v[0]:{spec}}, {v[1]:{spec}}]"


def fit_rows(line: dict[str, Any]) -> list[dict[str, str]]:
    rows = []
    for f in line["fits"]:
        if f.get("note"):
            rows.append({"framework": f["framework"], "a": "—", "a_ci": "", "c": "—", "c_ci": "",
                         "range": "", "residuals": "", "bends": f["note"],
                         "holdout": ""})  # fmt: skip
            continue
        rows.append({
            "framework": f["framework"], "a": f"{f['a_ms']:.3f}", "a_ci": _ci(f["a_ms_ci"]),
            "c": f"{f['c_us']:.3f}", "c_ci": _ci(f["c_us_ci"]),
            "range": f"{f['range'][0]:g}–{f['range'][1]:g}",
            "residuals": " ".join(f"{v:+.1%}" for v in f["residuals"]),
            "bends": f["bends"] or "holds over the whole range",
            "holdout": _holdout(f.get("holdout")),
        })  # fmt: skip
    return rows


def search_row(s: dict[str, Any]) -> dict[str, Any]:
    """One framework's largest-batch search, formatted."""
    tries = ", ".join(f"{t['batch']} {'fits' if t['fits'] else 'no'}" for t in s["tries"])
    mib = f"{s['fits_bytes'] / 2**20:.1f} MiB" if s.get("fits_bytes") is not None else "—"
    return {**s, "fits_mib": mib, "tries_text": tries}


def _holdout(h: dict[str, Any] | None) -> str:
    if not h:
        return "fewer than 4 points on the line"
    return (f"batch {h['x']:g}: {1e3 * h['measured']:.3f} ms measured, "
            f"{1e3 * h['predicted']:.3f} [{1e3 * h['low']:.3f}, {1e3 * h['high']:.3f}] predicted"
            f" — {'inside' if h['inside'] else 'outside'}")  # fmt: skip


def sweep_context(run_dir: Path) -> dict[str, Any]:
    run = load_run(Path(run_dir))
    analysis = sweep_analysis.analyse(run.records)
    sweep = run.env.get("sweep") or {}
    budget = sweep.get("memory_budget_bytes")
    colors = framework_colors(run.frameworks())
    models = []
    for i, line in enumerate(analysis["batch"]):
        fits = {f["framework"]: f for f in line["fits"]}
        found = {s["framework"]: s["fits"] for s in sweep.get("fit_search") or []
                 if s["model"] == line["model"] and s.get("fits")}  # fmt: skip
        fig = batch_figure(line, colors, budget, fits, found)
        models.append({
            "title": f"{line['model']} on {line['dataset']}, {line['threads']} threads"
                     + (f", T={line['seq_len']}" if line["seq_len"] else ""),
            "svg": to_svg(fig, f"sweep{i}"), "fits": fit_rows(line),
            "crossovers": [f"{r['a']} / {r['b']}: {r['words']}" for r in line["ratios"]],
        })  # fmt: skip
    cuts = sweep.get("cuts") or {}
    return {
        "header": envinfo.header(run),
        "label": LABEL,
        "axes": sweep.get("axes") or {},
        "cuts": [
            f"{k.replace('_', ' ')}: {v['sweep']} (suite {v['suite']})" for k, v in cuts.items()
        ],
        "timing": run.env.get("timing") or {},
        "models": models,
        "threads": analysis["threads"],
        "seq": analysis["seq_len"],
        "fit_search": [search_row(s) for s in sweep.get("fit_search") or []],
        "budget": budget,
        "failed": [
            f"{r['key']}: {r.get('error') or '; '.join(r.get('timing_notes') or [])}"
            for r in run.records
            if r.get("status") != "ok" or not r.get("throughput")
        ],
        "environment": envinfo.environment_rows(run.env),
        "generated": datetime.now(timezone.utc).isoformat(timespec="seconds"),
    }


def write_sweep_report(run_dir: Any, out_dir: Path) -> Path:
    """Write ``out_dir/index.html`` for a sweep run (``run_dir``: a RunDir or its path)."""
    path = getattr(run_dir, "path", run_dir)
    html = render("sweep.html", sweep_context(Path(path)))
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    tmp = out / ".index.html.tmp"
    tmp.write_text(html, encoding="utf-8")
    os.replace(tmp, out / "index.html")
    return out / "index.html"
