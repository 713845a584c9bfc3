"""Live progress on a terminal (rich bars), plain lines elsewhere (CI logs), and final tables."""

from __future__ import annotations

from typing import Any, Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn
from rich.table import Table

from bench.measure.memory import figure_note, gated_figure
from bench.zoo.specs import Cell


def _fmt(value: float | None, spec: str, scale: float = 1.0, suffix: str = "") -> str:
    return "—" if value is None else f"{value * scale:{spec}}{suffix}"


def rate(value: float) -> str:
    """A throughput with its digits: thousands separated, three significant figures below 100
    (a GPT-2 step on a CPU is 0.23 samples/s, which ",.0f" shows as 0)."""
    return f"{value:,.0f}" if abs(value) >= 100 else f"{value:.3g}"


def _with_interval(figure: dict[str, Any] | None) -> str | None:
    """ "median (low–high)", or None without a median and an interval."""
    if not figure or not figure.get("median") or figure.get("ci_low") is None:
        return None
    return f"{rate(figure['median'])} ({rate(figure['ci_low'])}–{rate(figure['ci_high'])})"


def throughput_text(tp: dict[str, Any], tokens: dict[str, Any] | None = None) -> str:
    """ "median (low–high)" in samples/s, and in tokens/s for a sequence model."""
    samples = _with_interval(tp)
    if samples is None:
        return "—"
    per_token = _with_interval(tokens)
    return samples if per_token is None else f"{samples}; {per_token} tokens/s"


def is_synthetic(record: dict[str, Any]) -> bool:
    """Whether the cell ran on synthetic data (``synthetic``; schema 1 said ``synthetic_data``)."""
    return record.get("synthetic") is True or record.get("synthetic_data") is True


def accuracy_text(record: dict[str, Any]) -> str:
    """Test accuracy, or "n/a (synthetic)": random labels make it meaningless."""
    return "n/a (synthetic)" if is_synthetic(record) else _fmt(record.get("test_accuracy"), ".1%")


def mib(value: float) -> str:
    """Bytes as MiB with one decimal: a cell's figure above the baseline can be a few MiB."""
    return f"{value / 2**20:,.1f}"


def memory_text(record: dict[str, Any]) -> str:
    """The gated memory figure in MiB with its 95% interval, "12.3 [11.8–12.9]"; without an
    interval, what it is instead (:func:`bench.measure.memory.figure_note`): "12.3 (1 sample)",
    "45.0 (whole run)"."""
    figure = gated_figure(record)
    if figure is None:
        return "—"
    text = mib(figure["bytes"])
    if figure["low"] is not None and figure["high"] is not None:
        text += f" [{mib(figure['low'])}–{mib(figure['high'])}]"
    note = figure_note(figure)
    return f"{text} ({note})" if note else text


def is_reference(record: dict[str, Any]) -> bool:
    """Whether the record is a reference row (the ``sklearn`` variant): shown, never ranked."""
    return record.get("reference") is True


def optimum_text(optimum: dict[str, Any]) -> str:
    """A reference's fitted optimum in a few words: "L-BFGS optimum, C=inf, 118 iterations,
    converged, fit 0.11 s"."""
    state = "converged" if optimum.get("converged") else "NOT converged"
    return (f"L-BFGS optimum, C={optimum.get('C')}, {optimum.get('n_iter')} iterations, {state}, "
            f"fit {_fmt(optimum.get('fit_seconds'), '.3g', suffix=' s')}")  # fmt: skip


def outcome(record: dict[str, Any]) -> str:
    if record["status"] != "ok":
        return f"{record['status'].upper()}: {record.get('error') or ''}"
    tp = record.get("throughput") or {}
    # Finished training; the timing passes (if any) come later and give the table's figure.
    where = "" if tp.get("n_passes") else " while training"
    line = (
        f"acc {accuracy_text(record)}  "
        f"{'—' if tp.get('median') is None else rate(tp['median'])} samples/s{where}  "
        f"whole-run peak RSS {_fmt(record.get('peak_rss_bytes'), ',.0f', 1 / 2**20, ' MiB')}"
    )
    if optimum := record.get("optimum"):
        line += f"  (reference; {optimum_text(optimum)}: acc {optimum['test_accuracy']:.1%})"
    return line


class Reporter(Protocol):
    """Progress display (rich on a terminal, plain lines otherwise)."""

    def start(self, cells: list[Cell]) -> None: ...
    def advance(self, cell: Cell, step: int) -> None: ...
    def finished(self, record: dict[str, Any]) -> None: ...
    def note(self, message: str) -> None: ...
    def stop(self) -> None: ...


class RichReporter:
    """One progress bar per cell on a terminal."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.progress = Progress(
            TextColumn("{task.description:<28}"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("steps"),
            TimeElapsedColumn(),
            TextColumn("{task.fields[outcome]}"),
            console=console,
        )
        self.tasks: dict[str, Any] = {}

    def start(self, cells: list[Cell]) -> None:
        for cell in cells:
            self.tasks[cell.key] = self.progress.add_task(
                cell.key, total=cell.recipe.steps, outcome=""
            )
        self.progress.start()

    def advance(self, cell: Cell, step: int) -> None:
        self.progress.update(self.tasks[cell.key], completed=step)

    def finished(self, record: dict[str, Any]) -> None:
        task = self.tasks.get(record["key"])
        if task is not None:
            self.progress.update(task, outcome=outcome(record))

    def note(self, message: str) -> None:
        self.progress.console.print(message)

    def stop(self) -> None:
        self.progress.stop()


class PlainReporter:
    """A line per finished cell, for logs and CI."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.total = 0
        self.done = 0

    def start(self, cells: list[Cell]) -> None:
        self.total = len(cells)

    def advance(self, cell: Cell, step: int) -> None:
        pass

    def finished(self, record: dict[str, Any]) -> None:
        self.done += 1
        self.console.print(f"[{self.done}/{self.total}] {record['key']}: {outcome(record)}",
                           highlight=False, markup=False)  # fmt: skip

    def note(self, message: str) -> None:
        self.console.print(message, highlight=False, markup=False)

    def stop(self) -> None:
        pass


def make_reporter(console: Console) -> RichReporter | PlainReporter:
    return RichReporter(console) if console.is_terminal else PlainReporter(console)


def results_table(records: list[dict[str, Any]]) -> Table:
    """The run's summary: one row per cell, speed relative to the fastest of its model, and the
    gated memory figure (above the framework's post-import baseline, over the training steps,
    one fresh worker per timing pass) with its interval. A reference cell (``sklearn``) reads
    "reference" instead of a ratio, is no one's fastest, and adds a row for its fitted optimum."""
    fastest: dict[str, float] = {}
    for r in records:
        tp = (r.get("throughput") or {}).get("median")
        if r["status"] == "ok" and tp and not is_reference(r):
            group = f"{r['model']}/{r['dataset']}"
            fastest[group] = max(fastest.get(group, 0.0), tp)
    table = Table(title="Results", show_lines=False)
    for name, justify in [
        ("model/dataset", "left"), ("framework", "left"), ("status", "left"),
        ("test acc", "right"), ("samples/s (95% CI)", "right"), ("vs fastest", "right"),
        ("p50/p99 ms", "right"), ("1st step s", "right"), ("memory MiB (95% CI)", "right"),
    ]:  # fmt: skip
        table.add_column(name, justify=justify)  # type: ignore[arg-type]
    for r in records:
        tp = r.get("throughput") or {}
        lat = r.get("step_latency_ms") or {}
        group = f"{r['model']}/{r['dataset']}"
        shown = group + (" (synthetic)" if is_synthetic(r) else "")
        median = tp.get("median")
        rel = f"{median / fastest[group]:.2f}x" if median and fastest.get(group) else "—"
        rel = "reference" if is_reference(r) else rel
        ci = throughput_text(tp, r.get("token_throughput"))
        status = r["status"] if r["status"] == "ok" else f"{r['status']}: {r.get('error') or ''}"
        table.add_row(
            shown,
            r["framework"] + (f"@{r['precision']}" if r.get("precision", "fp32") != "fp32" else ""),
            status,
            accuracy_text(r),
            ci,
            rel,
            f"{_fmt(lat.get('p50'), '.2f')}/{_fmt(lat.get('p99'), '.2f')}",
            _fmt(r.get("time_to_first_step_s"), ".2f"),
            memory_text(r),
        )
        if is_reference(r) and (optimum := r.get("optimum")):
            table.add_row(
                shown, f"{r['framework']} optimum", optimum_text(optimum),
                f"{optimum['test_accuracy']:.1%}", "—", "reference", "—", "—", "—",
            )  # fmt: skip
    return table
