"""A run as the report sees it: its records in a stable order, and facts derived from one record.

Everything is read from the run directory's files; nothing here runs a model. Records are
untrusted plain dicts (an old schema's cell may lack fields, a failed cell holds None), so
every accessor tolerates missing or malformed values and returns None instead of raising.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from bench.catalog.frameworks import VARIANTS
from bench.catalog.frameworks import is_reference as is_reference_variant
from bench.catalog.suites import MODELS_BY_DATASET
from bench.measure.calibrate import LIBRARY_OF_FAMILY, library_of
from bench.report.fmt import number
from bench.run.store import RunDir

Record = dict[str, Any]


@dataclass(frozen=True)
class Run:
    """The files of one run: env.json and the latest record of every cell."""

    env: dict[str, Any]
    records: list[Record]

    @property
    def run_id(self) -> str:
        ids = {r.get("run_id") for r in self.records}
        return str(self.env.get("run_id") or (ids.pop() if len(ids) == 1 else "") or "")

    def frameworks(self) -> list[str]:
        return sorted({str(r["framework"]) for r in self.records}, key=framework_order)

    def pairs(self) -> list[tuple[str, str]]:
        """(model, dataset) pairs present, in the catalogue's order."""
        found = {(str(r["model"]), str(r["dataset"])) for r in self.records}
        return sorted(found, key=pair_order)

    def cells(self, model: str, dataset: str) -> list[Record]:
        """The records of one (model, dataset), ordered by framework."""
        cells = [r for r in self.records if (r["model"], r["dataset"]) == (model, dataset)]
        return sorted(cells, key=lambda r: framework_order(str(r["framework"])))


def load_run(run_dir: Path) -> Run:
    """Read a run directory; a resumed cell's last record supersedes its earlier attempts."""
    store = RunDir.open(run_dir)
    return Run(env=store.env(), records=list(store.latest_by_key().values()))


def is_synthetic(r: Record) -> bool:
    """Whether the cell ran on synthetic data (``synthetic``; schema 1 said ``synthetic_data``)."""
    return r.get("synthetic") is True or r.get("synthetic_data") is True


def is_reference(r: Record) -> bool:
    """Whether the cell is a reference row (``sklearn``): shown, never ranked. The record's own
    ``reference`` flag, or its variant's for a record written before the flag."""
    flag = r.get("reference")
    return flag is True or (flag is None and is_reference_variant(str(r.get("framework"))))


def framework_order(name: str) -> tuple[int, str]:
    """Registered variants first, in their registry order (torch, tf, keras, ...)."""
    names = list(VARIANTS)
    return (names.index(name), name) if name in names else (len(names), name)


def pair_order(pair: tuple[str, str]) -> tuple[int, int, str, str]:
    model, dataset = pair
    datasets = list(MODELS_BY_DATASET)
    d = datasets.index(dataset) if dataset in datasets else len(datasets)
    models = MODELS_BY_DATASET.get(dataset, ())
    m = models.index(model) if model in models else len(models)
    return (d, m, dataset, model)


def get(record: Any, *path: str) -> Any:
    """``record[path[0]][path[1]]...`` or None where any level is missing or not a dict."""
    value = record
    for key in path:
        if not isinstance(value, dict):
            return None
        value = value.get(key)
    return value


def calibration_library(record: Record) -> str | None:
    """The calibrated matmul library whose peak this cell's arithmetic runs on (a Keras
    variant: its backend's, :func:`bench.measure.calibrate.library_of`)."""
    framework = str(record.get("framework", ""))
    if framework in VARIANTS:
        return library_of(framework)
    family = record.get("family") or framework.split(":")[0]
    return LIBRARY_OF_FAMILY.get(str(family))


def achieved_gflops(record: Record) -> float | None:
    """Training GFLOP/s achieved: median throughput × training FLOPs per sample."""
    median = number(get(record, "throughput", "median"))
    flops = number(record.get("flops_per_sample_train"))
    return None if median is None or flops is None else median * flops / 1e9


def peak_gflops(record: Record, env: dict[str, Any]) -> float | None:
    """The machine's measured matmul GFLOP/s for this cell's library at its precision where
    that was calibrated (``matmul_gflops_by_precision``), else its float32 peak, else the best
    measured.

    None when env.json has no calibration: the report then shows no percentage rather than
    one against a theoretical peak nobody measured.
    """
    table = get(env, "calibration", "matmul_gflops")
    if not isinstance(table, dict):
        return None
    measured = {k: number(v) for k, v in table.items()}
    measured = {k: v for k, v in measured.items() if v is not None and v > 0}
    if not measured:
        return None
    library = calibration_library(record)
    precision = str(record.get("precision") or "fp32")
    at_precision = number(get(env, "calibration", "matmul_gflops_by_precision", str(library),
                              precision))  # fmt: skip
    if at_precision is not None and at_precision > 0:
        return at_precision  # a bf16 cell against the bf16 peak, where it was measured
    if library in measured:
        return measured[library]
    return max(measured.values())
