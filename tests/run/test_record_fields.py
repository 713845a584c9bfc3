"""``bench.run.results`` documents every field a record of ``bench run`` holds (issue 29): the
fields :func:`bench.run.record.build_record` writes (a classifier and a language model, so the
sequence figures are in) and those the runners add with ``record["name"] = ...``. A field added
without a line in that docstring fails here; so does a documented field nothing writes.
"""

from __future__ import annotations

import inspect
import re

import pytest

from bench import data
from bench.catalog.suites import model_spec
from bench.run import distributed, record, results, runner, sweep_runner
from bench.run.cells import CellProgress
from bench.zoo.specs import Cell, Recipe


def documented() -> set[str]:
    """The field names of the docstring's table: each line indented 4 spaces names one or more
    (comma-separated) before its description."""
    doc = results.__doc__ or ""
    table = doc[doc.index("Fields (") :]
    names: set[str] = set()
    for line in table.splitlines():
        head = re.match(r"^ {4}(\w+(?:, \w+)*)", line)
        if head:
            names.update(head.group(1).split(", "))
    return names


def built(model: str, dataset: str) -> set[str]:
    spec = model_spec(model, dataset, data.num_classes(dataset))
    p = CellProgress(Cell("torch", model, dataset, "quick", Recipe(steps=4)), spec, "now")
    out = record.build_record(
        p, run_id="r", device="cpu", accuracy_target=None, param_count=1, flops_forward=1,
        flops_train=3,
    )  # fmt: skip
    return set(out)


def assigned(module: object) -> set[str]:
    """Fields a runner sets on a built record (``record["x"] = ...``, also in a tuple)."""
    names: set[str] = set()
    for line in inspect.getsource(module).splitlines():  # type: ignore[arg-type]
        left = line.split(" = ", 1)[0] if " = " in line else ""
        if left.strip().startswith('record["'):
            names.update(re.findall(r'record\["(\w+)"\]', left))
    return names


def point_fields() -> set[str]:
    """Fields a sweep's throughput point adds (:func:`bench.run.sweep_runner.point_fields`)."""
    cell = Cell("torch", "mlp", "mnist1d", "quick", Recipe(steps=4), sweep=True, threads=1)
    return set(sweep_runner.point_fields(cell))


@pytest.mark.parametrize(
    ("model", "dataset"), [("mlp", "mnist1d"), ("gpt", "synthetic-tokens-gpt2")]
)
def test_every_field_a_record_holds_is_documented(model: str, dataset: str) -> None:
    fields = built(model, dataset) | assigned(runner) | assigned(distributed) | point_fields()
    missing = fields - documented()
    assert not missing, f"bench/run/results.py does not document {sorted(missing)}"


def test_every_documented_field_is_written() -> None:
    written = (
        built("mlp", "mnist1d")
        | built("gpt", "synthetic-tokens-gpt2")
        | assigned(runner)
        | assigned(distributed)
        | point_fields()
    )
    stale = documented() - written
    assert not stale, f"bench/run/results.py documents fields nothing writes: {sorted(stale)}"
