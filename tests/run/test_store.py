"""Results on disk survive crashes and refuse what they cannot read."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from bench.run.results import SchemaError, TruncatedLineWarning, read_records
from bench.run.store import RunDir
from bench.zoo.specs import SCHEMA_VERSION


def record(key: str, **extra: object) -> dict[str, object]:
    fw, model, dataset = key.split("/")
    return {"schema": SCHEMA_VERSION, "run_id": "r1", "key": key, "framework": fw,
            "model": model, "dataset": dataset, "status": "ok", **extra}  # fmt: skip


def test_append_is_durable_and_readable(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path / "r1", {"run_id": "r1"})
    run.append(record("torch/mlp/mnist1d", test_accuracy=0.5))
    run.append(record("tf/mlp/mnist1d", test_accuracy=float("nan")))
    records = run.records()
    assert [r["key"] for r in records] == ["torch/mlp/mnist1d", "tf/mlp/mnist1d"]
    assert records[1]["test_accuracy"] is None  # NaN is stored as null: records are strict JSON
    assert run.run_id == "r1"


def test_cut_off_last_line_is_a_warning_not_an_error(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path / "r1", {"run_id": "r1"})
    run.append(record("torch/mlp/mnist1d"))
    with open(run.results_path, "a") as f:
        f.write(json.dumps(record("tf/mlp/mnist1d"))[:40])  # the writer died mid-line
    with pytest.warns(TruncatedLineWarning, match="cut off"):
        records = read_records(run.results_path)
    assert [r["key"] for r in records] == ["torch/mlp/mnist1d"]
    # the next append (a resumed run) drops the fragment, so it never lands mid-file
    run.append(record("keras/mlp/mnist1d"))
    keys = [r["key"] for r in read_records(run.results_path)]
    assert keys == ["torch/mlp/mnist1d", "keras/mlp/mnist1d"]


def test_a_bad_line_in_the_middle_is_corruption(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(
        json.dumps(record("a/b/c")) + "\n{half a rec\n" + json.dumps(record("d/e/f")) + "\n"
    )
    with pytest.raises(SchemaError, match="corrupt"):
        read_records(path)


def test_newer_schema_is_refused_naming_both_versions(tmp_path: Path) -> None:
    path = tmp_path / "results.jsonl"
    path.write_text(json.dumps({**record("torch/mlp/mnist1d"), "schema": SCHEMA_VERSION + 1}))
    with pytest.raises(SchemaError) as err:
        read_records(path)
    assert f"version {SCHEMA_VERSION + 1}" in str(err.value)
    assert f"version {SCHEMA_VERSION}" in str(err.value)


def test_drop_records_keeps_only_the_named_cells(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path / "r1", {"run_id": "r1"})
    run.append(record("torch/mlp/mnist1d"))
    run.append(record("tf/mlp/mnist1d", status="failed"))
    run.drop_records(keep={"torch/mlp/mnist1d"})
    assert [r["key"] for r in run.records()] == ["torch/mlp/mnist1d"]
