"""A sweep's plan: its axes are checked (one line each), every point is an ordinary cell whose
key, group and history series carry its batch, threads and length, so no two points are ever
matched by ``bench compare`` or charted as one series."""

from __future__ import annotations

import pytest

from bench.run.plan import PlanError, PlanRequest
from bench.run.sweep_plan import CUTS, MAX_POINTS, SweepRequest, parse_axis, plan_sweep
from bench.track.series import series_fields, series_id
from bench.zoo.specs import Cell


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("16,abc", "not a whole number"),
        ("16,0", "greater than 0"),
        ("16,32,16", "more than once"),
        ("64,32", "increasing order"),
        ("16,-8", "greater than 0"),
    ],
)
def test_a_bad_axis_is_refused_in_one_line(text: str, words: str) -> None:
    with pytest.raises(PlanError, match=words) as info:
        parse_axis(text, "--batch-sizes")
    assert "--batch-sizes" in str(info.value) and "\n" not in str(info.value)


def test_an_axis_reads_as_increasing_integers() -> None:
    assert parse_axis("16, 32,64", "--batch-sizes") == [16, 32, 64]


def _plan(**axes: object) -> list[Cell]:
    base = PlanRequest(frameworks=["torch", "tf"], models=["mlp"], dataset=["mnist1d"])
    return plan_sweep(SweepRequest(base, **axes), lambda _: None)  # type: ignore[arg-type]


def test_every_point_has_its_own_key_group_and_series() -> None:
    cells = _plan(batch_sizes=[16, 64], threads=[1])
    keys = [c.key for c in cells]
    assert len(set(keys)) == 4
    assert "torch/mlp/mnist1d#batch16,threads1" in keys
    assert len({c.group for c in cells}) == 2  # one group per point: its frameworks
    assert all(c.recipe.warmup_steps == CUTS["warmup_steps"][0] for c in cells)
    series = set()
    for c in cells:
        record = {"framework": c.framework, "model": c.model, "dataset": c.dataset,
                  "recipe": c.recipe.to_dict(), "threads": c.threads}  # fmt: skip
        series.add(series_id(series_fields(record, {"fingerprint": "m"})))
    assert len(series) == 4


def test_a_length_point_is_its_own_series() -> None:
    c = _plan(batch_sizes=[16], threads=[1])[0]
    record = {"framework": c.framework, "model": c.model, "dataset": c.dataset,
              "recipe": c.recipe.to_dict(), "threads": 1}  # fmt: skip
    a = series_id(series_fields({**record, "seq_len": 64}, {}))
    b = series_id(series_fields({**record, "seq_len": 128}, {}))
    assert a != b != series_id(series_fields(record, {}))


def test_a_point_survives_the_plan_round_trip() -> None:
    for c in _plan(batch_sizes=[32], threads=[1]):
        assert Cell.from_dict(c.to_dict()) == c
    ordinary = Cell("torch", "mlp", "mnist1d", "quick", c.recipe)
    assert "sweep" not in ordinary.to_dict() and ordinary.key == "torch/mlp/mnist1d"


def test_plan_refusals() -> None:
    with pytest.raises(PlanError, match="larger than the 4000"):
        _plan(batch_sizes=[16, 8192])
    with pytest.raises(PlanError, match="not a sequence model"):
        _plan(seq_lens=[32, 64])
    with pytest.raises(PlanError, match="usable cores"):
        _plan(threads=[1, 4096])
    many = list(range(1, MAX_POINTS // 2 + 2))
    with pytest.raises(PlanError, match="--yes"):
        _plan(batch_sizes=many, threads=[1])
    assert len(_plan(batch_sizes=many, threads=[1], yes=True)) == 2 * len(many)
