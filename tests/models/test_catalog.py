"""The catalog as a view of the registry: suites, per-entry recipes, old names kept working."""

from __future__ import annotations

from bench import catalog, zoo
from bench.zoo.resnet_family import DIGITS_RECIPE


def test_old_tables_are_views_of_the_declarations() -> None:
    for (model, dataset), target in catalog.ACCURACY_TARGETS.items():
        assert zoo.get(model).variants[dataset].accuracy_target == target
    # the paper's four models have its figures; later MNIST-1D models (lstm) have none
    paper = {m for m, d in catalog.SUITES["paper"].pairs if d == "mnist1d"}
    assert set(catalog.PAPER_ACCURACY) == paper < set(catalog.MODELS_BY_DATASET["mnist1d"])
    assert tuple(zoo.REGISTRY) == catalog.MODEL_NAMES
    for dataset, models in catalog.MODELS_BY_DATASET.items():
        for model in models:
            assert catalog.model_spec(model, dataset).input_shape == tuple(
                zoo.get(model).variants[dataset].input_shape
            )


def test_quick_stays_small_and_standard_adds_the_resnet_cells() -> None:
    assert not any(m.startswith("resnet") for m, _ in catalog.SUITES["quick"].pairs)
    assert {e.recipe.steps for e in catalog.SUITES["quick"].entries} == {300}
    standard = catalog.SUITES["standard"]
    assert set(catalog.SUITES["paper"].pairs) < set(standard.pairs)
    assert standard.entry("resnet20", "digits").recipe == DIGITS_RECIPE
    assert standard.entry("resnet20", "synthetic-cifar10").recipe.optimizer == "momentum"
    assert standard.entry("mlp", "mnist1d").recipe == catalog.PAPER_RECIPE


def test_resnet_recipe_is_written_out() -> None:
    r = DIGITS_RECIPE
    assert (r.optimizer, r.schedule, r.weight_decay) == ("momentum", "warmup_cosine", 5e-4)
    assert r.optimizer_args == {"momentum": 0.9, "nesterov": False}
    assert r.decay_exclusions and r.label_smoothing == 0.0
    assert r.schedule_args == {"warmup_steps": r.steps // 20, "min_lr": 0.0}
    assert r.lr == 0.1 * r.batch_size / 128


def test_large_runs_a_small_batch_on_a_cpu() -> None:
    large = catalog.SUITES["large"]
    assert large.entry("resnet50", "synthetic-imagenet").recipe_on("cuda").batch_size == 64
    assert {"transformer", "gpt"} <= {e.model for e in large.entries}  # BERT/GPT-2-sized cells
    for entry in large.entries:
        cpu = entry.recipe_on("cpu")
        assert cpu.batch_size < entry.recipe.batch_size and cpu.steps < entry.recipe.steps


def test_a_model_outside_the_suite_gets_its_declared_recipe() -> None:
    entry = catalog.SUITES["standard"].entry("resnet56", "synthetic-cifar10")
    assert entry.recipe == zoo.get("resnet56").variants["synthetic-cifar10"].recipe


def test_plan_cells_uses_each_entrys_recipe_and_says_when_the_cpu_one_runs() -> None:
    from io import StringIO

    from rich.console import Console

    from bench import cli

    out = StringIO()
    console = Console(file=out, width=200)
    args = cli.build_parser().parse_args(
        ["run", "--suite", "standard", "--frameworks", "torch", "--dataset", "mnist1d,digits"]
    )
    cells = {(c.model, c.dataset): c for c in cli.plan_cells(args, console)}
    assert cells["resnet20", "digits"].recipe.optimizer == "momentum"
    assert cells["mlp", "mnist1d"].recipe.optimizer == "adam"

    args = cli.build_parser().parse_args(["run", "--suite", "large", "--device", "cpu",
                                          "--frameworks", "torch"])  # fmt: skip
    large_data = {d for _, d in catalog.SUITES["large"].pairs}
    if not large_data <= set(catalog.DATASET_NAMES):  # before the data branches' datasets
        return
    (cell,) = [c for c in cli.plan_cells(args, console) if c.model == "resnet50"]
    entry = catalog.SUITES["large"].entry("resnet50", "synthetic-imagenet")
    assert entry.cpu_recipe is not None and cell.recipe.batch_size == entry.cpu_recipe.batch_size
    assert "on a CPU" in out.getvalue()


def test_a_model_the_suites_data_lacks_runs_on_its_own_or_is_skipped_aloud() -> None:
    """``--models mlp,cnn,resnet20`` in the MNIST-1D-only quick suite: ResNet-20 runs on digits
    (its bundled data) and the CLI says so; with --dataset mnist1d it is skipped, aloud."""
    from io import StringIO

    from rich.console import Console

    from bench import cli

    out = StringIO()
    console = Console(file=out, width=200)
    args = cli.build_parser().parse_args(["run", "--frameworks", "torch",
                                          "--models", "mlp,cnn,resnet20"])  # fmt: skip
    pairs = {(c.model, c.dataset) for c in cli.plan_cells(args, console)}
    assert pairs == {("mlp", "mnist1d"), ("cnn", "mnist1d"), ("resnet20", "digits")}
    assert "running it on digits" in out.getvalue()

    out.truncate(0)
    args = cli.build_parser().parse_args(["run", "--frameworks", "torch", "--dataset", "mnist1d",
                                          "--models", "mlp,resnet20"])  # fmt: skip
    pairs = {(c.model, c.dataset) for c in cli.plan_cells(args, console)}
    assert pairs == {("mlp", "mnist1d")}
    assert "skipping resnet20: not declared on mnist1d" in out.getvalue()
