"""The registered models, datasets and suites: what `bench run` can be asked for.

Everything per model is read from its declaration in bench/zoo/ (one module per architecture);
the tables below are views of that registry, kept under their old names for the CLI, the runner,
the report and compare. A suite is a list of (model, dataset, recipe) entries:

* ``paper``: the MNIST-1D paper's recipe (Greydanus 2020: Adam, lr 1e-2, batch 100, 6,000
  steps, weight decay 0, test accuracy every 250 steps) on its four models;
* ``quick``: the small models, the paper recipe cut to 300 steps: a first look, and CI;
* ``standard``: the CPU-sized real workloads: the MNIST-1D paper models plus ResNet-20 on digits
  (accuracy) and on synthetic CIFAR-10 (throughput), each with its own recipe;
* ``large``: GPU-sized cells (ResNet-50 at 224x224, batch 64); on a CPU each entry's
  ``cpu_recipe`` runs instead (a few timed steps at batch 8), and the CLI says so.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, replace

from bench import zoo
from bench.catalog.architectures import MODEL_NAMES
from bench.data import DATASET_NAMES
from bench.zoo.base import Variant
from bench.zoo.recipes import resnet_imagenet, sequence
from bench.zoo.specs import ModelSpec, Recipe

#: Input shape and class count of the datasets the models are declared on, for sizing a model
#: without loading data; bench.data.sample_shape/num_classes answer first where they know a name.
DATASET_CLASSES = {
    "mnist1d": 10, "digits": 10, "synthetic-cifar10": 10, "cifar10": 10,
    "synthetic-imagenet": 1000, "mnist": 10,
    # sequence data: a language model's "classes" are its vocabulary
    "markov-text": 32, "synthetic-tokens-bert": 2, "synthetic-tokens-gpt2": 50_257,
}  # fmt: skip

#: Which models run on which dataset, in the registry's order.
MODELS_BY_DATASET: dict[str, tuple[str, ...]] = {}
for _arch in zoo.REGISTRY.values():
    for _dataset in _arch.variants:
        MODELS_BY_DATASET[_dataset] = (*MODELS_BY_DATASET.get(_dataset, ()), _arch.name)

MODEL_DESCRIPTIONS = {name: arch.description for name, arch in zoo.REGISTRY.items()}

#: Test accuracy a paper reports, per (model, dataset) (ResNets: He et al. on CIFAR-10).
PAPER_ACCURACY_BY_PAIR: dict[tuple[str, str], float] = {
    (name, d): v.paper_accuracy
    for name, arch in zoo.REGISTRY.items()
    for d, v in arch.variants.items()
    if v.paper_accuracy is not None
}
#: Test accuracy the MNIST-1D paper reports (its Table 1), for the report and the paper check.
PAPER_ACCURACY = {m: acc for (m, d), acc in PAPER_ACCURACY_BY_PAIR.items() if d == "mnist1d"}

#: Per (model, dataset) test-accuracy target for time-to-accuracy (DAWNBench-style): a level each
#: model reaches well inside its recipe on this data.
ACCURACY_TARGETS: dict[tuple[str, str], float] = {
    (name, d): v.accuracy_target
    for name, arch in zoo.REGISTRY.items()
    for d, v in arch.variants.items()
    if v.accuracy_target is not None
}

#: Seed-to-seed standard deviation of final test accuracy, per (suite, model, dataset), measured
#: with torch over seeds 0-4 (see the README). `bench compare` judges accuracy changes by it.
SEED_SPREAD: dict[tuple[str, str, str], float] = {
    (suite, name, d): spread
    for name, arch in zoo.REGISTRY.items()
    for d, v in arch.variants.items()
    for suite, spread in v.seed_spread.items()
}


def seed_spread(suite: str, model: str, dataset: str, recipe: dict | None) -> float | None:
    """The measured seed spread of a cell trained with ``recipe`` (a record's): declared for a
    suite whose entry trains the same (model, dataset) with that very recipe (the standard suite
    runs the paper's recipe on the paper's models: one measurement serves both). A cell whose
    recipe was changed (``--steps``, ``--batch-size``) has none: its spread was not measured.
    Without a recipe, the suite's declaration as it stands."""
    if recipe is None:
        return SEED_SPREAD.get((suite, model, dataset))
    as_recorded = json.loads(json.dumps(recipe))  # a record's tuples are JSON lists
    for (s, m, d), spread in SEED_SPREAD.items():
        if (m, d) != (model, dataset) or s not in SUITES:
            continue
        if json.loads(json.dumps(SUITES[s].entry(m, d).recipe.to_dict())) == as_recorded:
            return spread
    return None


def variant(model: str, dataset: str) -> Variant:
    """The declaration of ``model`` on ``dataset``; ValueError naming the choices otherwise."""
    if dataset not in MODELS_BY_DATASET:
        known = sorted({*DATASET_NAMES, *MODELS_BY_DATASET})
        raise ValueError(f"unknown dataset {dataset!r}; choose from {', '.join(known)}")
    if model not in MODELS_BY_DATASET[dataset]:
        raise ValueError(
            f"model {model!r} is not registered for dataset {dataset!r}; "
            f"choose from {', '.join(MODELS_BY_DATASET[dataset])}"
        )
    return zoo.get(model).variants[dataset]


def num_classes(dataset: str) -> int:
    """Classes of ``dataset``, from bench.data where it knows the name, else the table above."""
    from bench import data

    ask = getattr(data, "num_classes", None)
    if ask is not None and dataset in DATASET_NAMES:
        return int(ask(dataset))
    return DATASET_CLASSES[dataset]


def model_spec(
    model: str, dataset: str, num_classes: int | None = None, suite: str | None = None
) -> ModelSpec:
    """The spec of ``model`` on ``dataset``: input shape and layer sizes for that data, as
    ``suite``'s own entry changes them (:class:`Entry`). ``num_classes`` defaults to the
    dataset's."""
    v = variant(model, dataset)
    classes = num_classes if num_classes is not None else globals()["num_classes"](dataset)
    shape, params = tuple(v.input_shape), dict(v.params)
    entry = next((e for e in SUITES[suite].entries if (e.model, e.dataset) == (model, dataset)),
                 None) if suite in SUITES else None  # fmt: skip
    if entry is not None:
        params.update(entry.params or {})
        shape = tuple(entry.input_shape or shape)
    return ModelSpec(model, shape, classes, params)


@dataclass(frozen=True)
class Entry:
    """One cell of a suite per framework: a model on a dataset with its recipe. ``cpu_recipe``
    replaces ``recipe`` when the run is on a CPU (GPU-sized entries); None: the same.

    ``params`` and ``input_shape`` change the declared model for this suite only (the GPU
    check's GPT-2 at its full 1,024 tokens, its rehearsal's narrow models): merged over the
    declaration's params, and the sequence length a token dataset is cut to."""

    model: str
    dataset: str
    recipe: Recipe
    cpu_recipe: Recipe | None = None
    params: dict | None = None
    input_shape: tuple[int, ...] | None = None

    def recipe_on(self, device: str) -> Recipe:
        return self.cpu_recipe if device == "cpu" and self.cpu_recipe is not None else self.recipe


@dataclass(frozen=True)
class Suite:
    name: str
    description: str
    entries: tuple[Entry, ...]
    #: What `bench run --suite NAME` runs when --frameworks is not given (None: the defaults).
    frameworks: tuple[str, ...] | None = None

    @property
    def pairs(self) -> tuple[tuple[str, str], ...]:
        """(model, dataset) of every entry, in order."""
        return tuple((e.model, e.dataset) for e in self.entries)

    @property
    def recipe(self) -> Recipe:
        """The first entry's recipe (the whole suite's where it has one recipe)."""
        return self.entries[0].recipe

    def entry(self, model: str, dataset: str) -> Entry:
        """The suite's entry for the pair, or one built from the model's declaration (a model
        asked for with --models outside the suite): its own recipe, else this suite's first."""
        for e in self.entries:
            if (e.model, e.dataset) == (model, dataset):
                return e
        v = variant(model, dataset)
        return Entry(model, dataset, v.recipe or self.recipe, v.cpu_recipe)


PAPER_RECIPE = Recipe(
    optimizer="adam", lr=1e-2, batch_size=100, steps=6000, eval_every=250, warmup_steps=10
)
QUICK_CUT = {"steps": 300, "eval_every": 50}


def _entries(suite: str, default: Recipe, **cut: int) -> tuple[Entry, ...]:
    """Every declared (model, dataset) in ``suite``, dataset-major as MODELS_BY_DATASET."""
    out = []
    for dataset, models in MODELS_BY_DATASET.items():
        for model in models:
            v = zoo.get(model).variants[dataset]
            if suite in v.suites:
                recipe = replace(v.recipe or default, **cut)
                out.append(Entry(model, dataset, recipe, v.cpu_recipe))
    return tuple(out)


def _gpu_check_entries(tiny: bool) -> tuple[Entry, ...]:
    """The GPU check's cells (``bench gpu-check``, docs/gpu.md): the large suite's three models
    at the sizes people compare frameworks at on a GPU, with short recipes (the check has
    minutes for every part). ``tiny``: the same models, layer kinds and recipes' shapes at a few
    channels, for the check's rehearsal on a CPU (``gpu-check --dry-run``)."""
    from bench.zoo import gpt, resnet50, transformer

    resnet = replace(resnet_imagenet(30, 128, warmup_steps=3), eval_every=30, warmup_steps=10)
    bert = replace(sequence(30, 32, 1e-4, 3), eval_every=30, warmup_steps=10)
    gpt2 = replace(sequence(30, 8, 6e-4, 3, weight_decay=0.1), eval_every=30, warmup_steps=10)
    if not tiny:
        return (
            Entry("resnet50", "synthetic-imagenet", resnet, resnet50.CPU_RECIPE),
            Entry("transformer", "synthetic-tokens-bert", bert, transformer.CPU_RECIPE),
            Entry("gpt", "synthetic-tokens-gpt2", gpt2, gpt.CPU_RECIPE, input_shape=(1024,)),
        )
    few = {"steps": 3, "eval_every": 3, "warmup_steps": 1}
    narrow = {"layers": 2, "dim": 16, "heads": 2, "mlp": 32}
    return (
        Entry("resnet50", "synthetic-imagenet", replace(resnet, batch_size=2, **few),
              params={"blocks": [1, 1, 1, 1], "widths": [4, 4, 8, 8], "stem": 4}),
        Entry("transformer", "synthetic-tokens-bert", replace(bert, batch_size=2, **few),
              params=narrow, input_shape=(32,)),
        Entry("gpt", "synthetic-tokens-gpt2", replace(gpt2, batch_size=2, **few),
              params={**narrow, "positions": 32}, input_shape=(32,)),
    )  # fmt: skip


SUITES: dict[str, Suite] = {
    "quick": Suite(
        "quick",
        "the MNIST-1D MLP and CNN, the paper recipe cut to 300 steps: a first look in under "
        "3 minutes (make bench's budget, docs/measurement.md), and CI",
        _entries("quick", PAPER_RECIPE, **QUICK_CUT),
    ),
    "paper": Suite(
        "paper",
        "the MNIST-1D paper: four models, Adam lr 1e-2, batch 100, 6,000 steps; scikit-learn's "
        "linear model beside logreg as a reference (its other models skipped)",
        _entries("paper", PAPER_RECIPE),
        # the reference answers whether logreg's 31 % is the linear model's ceiling
        frameworks=("torch", "tf", "keras", "sklearn"),
    ),
    "standard": Suite(
        "standard",
        "CPU-sized real workloads: the MNIST-1D paper models, ResNet-20 on digits (accuracy) "
        "and on synthetic CIFAR-10 (throughput), the tiny transformer and LSTM on MNIST-1D, "
        "gpt and the LSTM language model on Markov text; each with its own recipe",
        _entries("paper", PAPER_RECIPE) + _entries("standard", PAPER_RECIPE),
        frameworks=("torch", "tf", "keras", "keras:jax"),  # Keras's third backend measured too
    ),
    "large": Suite(
        "large",
        "GPU-sized cells: ResNet-50 v1.5 on synthetic ImageNet-shaped data, a BERT-base-sized "
        "encoder and GPT-2 small on synthetic tokens; on a CPU a few timed steps at small batch",
        _entries("large", PAPER_RECIPE),
    ),
    "gpu-check": Suite(
        "gpu-check",
        "the GPU check's cells (bench gpu-check, docs/gpu.md): ResNet-50 at 224 (batch 128), "
        "BERT-base (batch 32 x 128 tokens) and GPT-2 small at its full 1,024 tokens (batch 8), "
        "30 steps each; synthetic data",
        _gpu_check_entries(tiny=False),
        frameworks=("torch", "keras:jax"),
    ),
    "gpu-check-dry": Suite(
        "gpu-check-dry",
        "the GPU check's cells at a few channels and 3 steps: its rehearsal on a CPU "
        "(bench gpu-check --dry-run); measures nothing worth reading",
        _gpu_check_entries(tiny=True),
        frameworks=("torch", "keras:jax"),
    ),
}

__all__ = [
    "ACCURACY_TARGETS",
    "DATASET_NAMES",
    "MODELS_BY_DATASET",
    "MODEL_NAMES",
    "PAPER_ACCURACY",
    "PAPER_ACCURACY_BY_PAIR",
    "SEED_SPREAD",
    "SUITES",
    "Entry",
    "Suite",
    "model_spec",
    "seed_spread",
    "variant",
]
