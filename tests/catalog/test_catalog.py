"""The catalog as a view of the registry: suites, per-entry recipes, old names kept working."""

from __future__ import annotations

from bench import zoo
from bench.catalog import suites
from bench.zoo.resnet_family import DIGITS_RECIPE


def test_old_tables_are_views_of_the_declarations() -> None:
    for (model, dataset), target in suites.ACCURACY_TARGETS.items():
        assert zoo.get(model).variants[dataset].accuracy_target == target
    # the paper's four models have its figures; later MNIST-1D models (lstm) have none
    paper = {m for m, d in suites.SUITES["paper"].pairs if d == "mnist1d"}
    assert set(suites.PAPER_ACCURACY) == paper < set(suites.MODELS_BY_DATASET["mnist1d"])
    assert tuple(zoo.REGISTRY) == suites.MODEL_NAMES
    for dataset, models in suites.MODELS_BY_DATASET.items():
        for model in models:
            assert suites.model_spec(model, dataset).input_shape == tuple(
                zoo.get(model).variants[dataset].input_shape
            )


def test_quick_stays_small_and_standard_adds_the_resnet_cells() -> None:
    assert not any(m.startswith("resnet") for m, _ in suites.SUITES["quick"].pairs)
    assert {e.recipe.steps for e in suites.SUITES["quick"].entries} == {300}
    standard = suites.SUITES["standard"]
    assert set(suites.SUITES["paper"].pairs) < set(standard.pairs)
    assert standard.entry("resnet20", "digits").recipe == DIGITS_RECIPE
    assert standard.entry("resnet20", "synthetic-cifar10").recipe.optimizer == "momentum"
    assert standard.entry("mlp", "mnist1d").recipe == suites.PAPER_RECIPE


def test_resnet_recipe_is_written_out() -> None:
    r = DIGITS_RECIPE
    assert (r.optimizer, r.schedule, r.weight_decay) == ("momentum", "warmup_cosine", 5e-4)
    assert r.optimizer_args == {"momentum": 0.9, "nesterov": False}
    assert r.decay_exclusions and r.label_smoothing == 0.0
    assert r.schedule_args == {"warmup_steps": r.steps // 20, "min_lr": 0.0}
    assert r.lr == 0.1 * r.batch_size / 128


def test_large_runs_a_small_batch_on_a_cpu() -> None:
    large = suites.SUITES["large"]
    assert large.entry("resnet50", "synthetic-imagenet").recipe_on("cuda").batch_size == 64
    assert {"transformer", "gpt"} <= {e.model for e in large.entries}  # BERT/GPT-2-sized cells
    for entry in large.entries:
        cpu = entry.recipe_on("cpu")
        assert cpu.batch_size < entry.recipe.batch_size and cpu.steps < entry.recipe.steps


def test_a_model_outside_the_suite_gets_its_declared_recipe() -> None:
    entry = suites.SUITES["standard"].entry("resnet56", "synthetic-cifar10")
    assert entry.recipe == zoo.get("resnet56").variants["synthetic-cifar10"].recipe


def test_plan_cells_uses_each_entrys_recipe_and_says_when_the_cpu_one_runs() -> None:
    from bench.run.plan import PlanRequest, plan_cells

    said: list[str] = []
    request = PlanRequest(suite="standard", frameworks=["torch"], dataset=["mnist1d", "digits"])
    cells = {(c.model, c.dataset): c for c in plan_cells(request, said.append)}
    assert cells["resnet20", "digits"].recipe.optimizer == "momentum"
    assert cells["mlp", "mnist1d"].recipe.optimizer == "adam"

    large_data = {d for _, d in suites.SUITES["large"].pairs}
    if not large_data <= set(suites.DATASET_NAMES):  # before the data branches' datasets
        return
    request = PlanRequest(suite="large", device="cpu", frameworks=["torch"])
    (cell,) = [c for c in plan_cells(request, said.append) if c.model == "resnet50"]
    entry = suites.SUITES["large"].entry("resnet50", "synthetic-imagenet")
    assert entry.cpu_recipe is not None and cell.recipe.batch_size == entry.cpu_recipe.batch_size
    assert any("on a CPU" in line for line in said)


def test_a_model_the_suites_data_lacks_runs_on_its_own_or_is_skipped_aloud() -> None:
    """``--models mlp,cnn,resnet20`` in the MNIST-1D-only quick suite: ResNet-20 runs on digits
    (its bundled data) and the plan says so; with --dataset mnist1d it is skipped, aloud."""
    from bench.run.plan import PlanRequest, plan_cells

    said: list[str] = []
    request = PlanRequest(frameworks=["torch"], models=["mlp", "cnn", "resnet20"])
    pairs = {(c.model, c.dataset) for c in plan_cells(request, said.append)}
    assert pairs == {("mlp", "mnist1d"), ("cnn", "mnist1d"), ("resnet20", "digits")}
    assert any("running it on digits" in line for line in said)

    said.clear()
    request = PlanRequest(frameworks=["torch"], dataset=["mnist1d"], models=["mlp", "resnet20"])
    pairs = {(c.model, c.dataset) for c in plan_cells(request, said.append)}
    assert pairs == {("mlp", "mnist1d")}
    assert any("skipping resnet20: not declared on mnist1d" in line for line in said)
