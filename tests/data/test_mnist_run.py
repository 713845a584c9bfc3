"""``--dataset mnist`` runs: the image models are declared on MNIST with their own recipes, the
28x28x1 images flow through each of them, ``bench list`` and the planner show the pairs, and one
short ``bench run`` trains MLP, CNN and ResNet-20 on IDX files the test writes (nothing
downloads; the real files are 60,000 + 10,000 images, these a few hundred).
"""

from __future__ import annotations

import io
import json
import math
import os
import subprocess
import sys
from pathlib import Path

import pytest
from rich.console import Console

from bench import data, zoo
from bench.catalog import architectures, flops, suites
from bench.zoo import layers as kinds
from bench.zoo.recipes import MNIST_EPOCH_STEPS, MNIST_STEPS
from tests.conftest import requires
from tests.data.datafiles import write_mnist

ROOT = Path(__file__).resolve().parents[2]
#: ``python -m bench`` with a smaller inference budget (bench.run.options): the full one spends
#: 200 batch-1 calls and five of 1,000 images on ResNet-20 after its 4 steps, most of the run's
#: wall time (156 s against 33 s on a loaded 2-core machine). Everything else is the real CLI.
BENCH = """import sys
import bench.run.options
bench.run.options.INFERENCE_FLOP_BUDGET = 1e9
from bench.cli import main
sys.exit(main(sys.argv[1:]))
"""
#: The models that suit 28x28x1 images, and what the end-to-end run trains.
IMAGE_MODELS = ("logreg", "mlp", "cnn", "resnet20")
RUN_MODELS = ("mlp", "cnn", "resnet20")


def test_mnist_is_declared_for_the_image_models_with_their_own_recipes() -> None:
    assert set(IMAGE_MODELS) <= set(suites.MODELS_BY_DATASET["mnist"])
    for model in IMAGE_MODELS:
        v = zoo.get(model).variants["mnist"]
        assert math.prod(v.input_shape) == 28 * 28
        # unmeasured: compare falls back to its binomial floor, not a made-up spread
        assert v.seed_spread == {} and v.accuracy_target is not None
        assert v.recipe is not None and v.recipe.steps == MNIST_STEPS
        assert v.recipe.eval_every == MNIST_EPOCH_STEPS and v.recipe.batch_size == 128
        assert not v.suites  # a suite must not need --data-dir
    resnet = zoo.get("resnet20").variants["mnist"].recipe
    assert resnet is not None and (resnet.optimizer, resnet.lr) == ("momentum", 0.1)
    mlp = zoo.get("mlp").variants["mnist"].recipe
    assert mlp is not None and (mlp.optimizer, mlp.lr, mlp.schedule) == ("adam", 1e-3, "cosine")


def test_28x28x1_images_flow_through_every_model_declared_on_mnist(tmp_path: Path) -> None:
    write_mnist(tmp_path, n_train=4, n_test=2)
    ds = data.load("mnist", data_dir=tmp_path)
    assert ds.sample_shape == (28, 28, 1)
    for model in suites.MODELS_BY_DATASET["mnist"]:
        spec = suites.model_spec(model, "mnist")
        assert data.as_model_input(ds.x_train, spec.input_shape).shape == (4, *spec.input_shape)
        table = architectures.layers(spec)
        assert isinstance(table[-1], kinds.Dense) and table[-1].out_features == 10
        assert architectures.param_count(spec) > 0 and flops.forward_flops(spec) > 0
    pooled = [t for t in architectures.layers(suites.model_spec("resnet20", "mnist"))
              if isinstance(t, kinds.GlobalAvgPool)]  # fmt: skip
    assert [p.in_spatial for p in pooled] == [(7, 7)]  # stages at 28, 14 and 7 pixels
    head = architectures.layers(suites.model_spec("cnn", "mnist"))[-1]
    assert isinstance(head, kinds.Dense) and head.flattened_from == (4, 4, 64)


def test_the_planner_and_bench_list_show_the_mnist_pairs(tmp_path: Path) -> None:
    from bench.cli.list import cmd_list
    from bench.run.plan import PlanRequest, plan_cells

    write_mnist(tmp_path, n_train=300, n_test=10)
    asked = PlanRequest(frameworks=["torch"], models=list(RUN_MODELS), dataset=["mnist"],
                        data_dir=tmp_path)  # fmt: skip
    cells = {c.model: c for c in plan_cells(asked)}
    assert set(cells) == set(RUN_MODELS) and {c.dataset for c in cells.values()} == {"mnist"}
    for model, cell in cells.items():
        assert cell.recipe == zoo.get(model).variants["mnist"].recipe
    # README's bare `--dataset mnist --data-dir DIR`: the default suite's models on MNIST
    bare = PlanRequest(frameworks=["torch"], dataset=["mnist"], data_dir=tmp_path)
    assert {(c.model, c.dataset) for c in plan_cells(bare)} == {("mlp", "mnist"), ("cnn", "mnist")}

    console = Console(file=io.StringIO(), width=400)
    assert cmd_list(None, console) == 0  # type: ignore[arg-type]
    rows = console.file.getvalue().splitlines()  # type: ignore[attr-defined]
    for model in IMAGE_MODELS:
        (row,) = [r for r in rows if r.startswith(f"│ {model} ")]
        assert "mnist" in row.split("│")[2].strip().split(", "), row


@pytest.mark.slow
@requires("torch")
def test_bench_run_trains_mlp_cnn_and_resnet20_on_mnist_idx_files(tmp_path: Path) -> None:
    """The command README shows, on 300 training and 100 test images, 4 steps of 32 per model:
    exit 0 and one finished record per model, each with its declared recipe's optimizer."""
    write_mnist(tmp_path / "mnist", n_train=300, n_test=100)
    out = tmp_path / "results"
    command = [sys.executable, "-c", BENCH, "run", "--models", ",".join(RUN_MODELS),
               "--dataset", "mnist", "--data-dir", str(tmp_path / "mnist"), "--frameworks",
               "torch", "--steps", "4", "--batch-size", "32", "--timing-passes", "0",
               "--reuse-workers", "--no-report", "--no-history", "--no-calibrate",
               "--out", str(out)]  # fmt: skip
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    done = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True,
                          timeout=600)  # fmt: skip
    output = done.stdout + done.stderr
    assert done.returncode == 0, output
    (results,) = out.glob("*/results.jsonl")
    records = {r["model"]: r for r in map(json.loads, results.read_text().splitlines())}
    assert set(records) == set(RUN_MODELS), output
    for model, r in records.items():
        assert (r["dataset"], r["status"]) == ("mnist", "ok"), r["error"]
        assert math.isfinite(r["test_accuracy"]) and 0.0 <= r["test_accuracy"] <= 1.0
        assert r["data_dir"] == str((tmp_path / "mnist").resolve())
        declared = zoo.get(model).variants["mnist"].recipe
        assert declared is not None and r["recipe"]["optimizer"] == declared.optimizer
        assert (r["recipe"]["steps"], r["recipe"]["batch_size"]) == (4, 32)
