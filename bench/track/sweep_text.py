"""A sweep on the console: each point's throughput, then per model the fixed vs per-sample cost
fit with its intervals and where the line holds, the crossovers in words, the thread scaling
and the length fit (:mod:`bench.measure.sweep_analysis` computes them all)."""

from __future__ import annotations

from typing import Any

from bench.measure import memory, sweep_analysis

LABEL = "throughput point"


def _ci(low: float, high: float, spec: str = ".3g") -> str:
    return f"[{low:{spec}}, {high:{spec}}]"


def points_text(records: list[dict[str, Any]]) -> list[str]:
    lines = [f"{'point (' + LABEL + ', not trained to accuracy)':<58} {'samples/s':>10} "
             f"{'95% interval':>22} {'passes':>6}  memory (training-steps peak)"]  # fmt: skip

    def order(r: dict[str, Any]) -> tuple:
        s = r.get("sweep") or {}
        return (
            r["model"],
            r["framework"],
            s.get("threads") or 0,
            s.get("seq_len") or 0,
            s.get("batch_size") or 0,
        )

    for r in sorted(records, key=order):
        tp = r.get("throughput") or {}
        mem = memory.gated_figure(r)
        mem_text = f"{mem['bytes'] / 2**20:.1f} MiB" if mem else "—"
        if r.get("status") != "ok" or not tp:
            why = r.get("error") or "; ".join(r.get("timing_notes") or []) or "no timed pass"
            lines.append(f"{r['key']:<58} {'—':>10} {'':>22} {'':>6}  {why}")
            continue
        lines.append(f"{r['key']:<58} {tp['median']:>10.4g} "
                     f"{_ci(tp['ci_low'], tp['ci_high'], '.4g'):>22} "
                     f"{tp.get('n_passes', 1):>6}  {mem_text}")  # fmt: skip
    return lines


def fit_text(analysis: dict[str, Any]) -> list[str]:
    lines = []
    for line in analysis["batch"]:
        lines += ["", f"{line['model']} on {line['dataset']}, {line['threads']} threads: step time "
                  "= a + c·batch (weighted by the passes' spread; 95% intervals from resampling "
                  "passes)"]  # fmt: skip
        lines.append(
            f"  {'framework':<12} {'a (ms/step)':>12} {'95% interval':>20} "
            f"{'c (µs/sample)':>14} {'95% interval':>20}  line holds on  residuals"
        )
        for f in line["fits"]:
            if f.get("note"):
                lines.append(f"  {f['framework']:<12} {f['note']}")
                continue
            res = " ".join(f"{v:+.1%}" for v in f["residuals"])
            lines.append(f"  {f['framework']:<12} {f['a_ms']:>12.3f} {_ci(*f['a_ms_ci']):>20} "
                         f"{f['c_us']:>14.3f} {_ci(*f['c_us_ci']):>20}  "
                         f"batch {f['range'][0]:g}–{f['range'][1]:g}  {res}")  # fmt: skip
            if f["bends"]:
                lines.append(f"  {'':<12} {f['bends']}")
            h = f.get("holdout")
            if h:
                lines.append(f"  {'':<12} held out batch {h['x']:g}: measured "
                             f"{1e3 * h['measured']:.3f} ms, predicted {1e3 * h['predicted']:.3f} "
                             f"ms [{1e3 * h['low']:.3f}, {1e3 * h['high']:.3f}] (95% prediction "
                             f"interval): {'inside' if h['inside'] else 'OUTSIDE'}")  # fmt: skip
        for r in line["ratios"]:
            lines.append(f"  {r['a']} / {r['b']}: {r['words']}")
    for block in analysis["threads"]:
        lines += ["", f"{block['model']} on {block['dataset']}, batch {block['batch_size']}: "
                  "thread scaling (efficiency = speed-up / threads, 95% intervals)"]  # fmt: skip
        for r in block["rows"]:
            lines.append(f"  {r['framework']:<12} {r['threads']:>2} threads "
                         f"{r['throughput']:>10.4g}"
                         f" samples/s  speed-up {r['speedup']:.2f} {_ci(*r['speedup_ci'], '.2f')}"
                         f"  efficiency {r['efficiency']:.0%} "
                         f"[{r['efficiency_ci'][0]:.0%}, {r['efficiency_ci'][1]:.0%}]")  # fmt: skip
    for block in analysis["seq_len"]:
        lines += ["", f"{block['model']} on {block['dataset']}, batch {block['batch_size']}: "
                  "step time = a + b·T + c·T²"]  # fmt: skip
        for f in block["fits"]:
            if f.get("note"):
                lines.append(f"  {f['framework']:<12} {f['note']}")
                continue
            dom = ", ".join(f"T={t}: {d}" for t, d in f["dominant"].items())
            lines.append(f"  {f['framework']:<12} a {f['a_ms']:.3f} ms {_ci(*f['a_ms_ci'])}, "
                         f"b {f['b_us']:.3f} µs/token {_ci(*f['b_us_ci'])}, c {f['c_ns']:.4g} "
                         f"ns/token² {_ci(*f['c_ns_ci'])}; dominant: {dom}")  # fmt: skip
        for r in block["ratios"]:
            lines.append(f"  {r['a']} / {r['b']}: {r['words']}")
    return lines


def fit_search_text(results: list[dict[str, Any]]) -> str:
    """The largest batch within the budget, per framework and model, with the first that did
    not fit and why, and every try."""
    lines = [""]
    for s in results:
        budget = s["budget_bytes"] / 2**20
        fits = (f"batch {s['fits']} fits ({s['fits_bytes'] / 2**20:.1f} MiB)" if s["fits"]
                else "no batch tried fits")  # fmt: skip
        first = (
            f"; first that did not: {s['first_not']} ({s['why_not']})"
            if s["first_not"]
            else (f"; {s['why_not']}" if s["why_not"] else "")
        )
        tries = ", ".join(f"{t['batch']}{'✓' if t['fits'] else '✗'}" for t in s["tries"])
        lines.append(f"{s['framework']:<8} {s['model']} within {budget:.0f} MiB: {fits}{first}"
                     f"  [tries: {tries}]")  # fmt: skip
    return "\n".join(lines)


def sweep_text(records: list[dict[str, Any]]) -> str:
    """The console's sweep summary."""
    return "\n".join(points_text(records) + fit_text(sweep_analysis.analyse(records)))
