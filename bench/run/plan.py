"""Planning: a suite and the user's options → the cells to run, as a library function.

:func:`plan_cells` takes a :class:`PlanRequest` (what ``bench run`` parses from its flags, or what a
sweep, the GPU check or a test builds directly) and returns the cells, with every refusal raised
as a :class:`PlanError` whose message is the one line the command line prints (exit 2). What the
plan skips or changes on the way (a framework not installed, a CPU-sized recipe, a model run on
its own data) is said through ``say``, never dropped silently.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from bench.catalog import suites
from bench.catalog.frameworks import DEFAULT_FRAMEWORKS, VARIANTS, get_variant, reference_refusal
from bench.measure import environment
from bench.zoo.specs import Cell


class PlanError(ValueError):
    """A request the suite refuses; the message is one line naming the flag and the fix."""


@dataclass(frozen=True)
class PlanRequest:
    """What is asked for; ``None`` everywhere means the suite's own choice."""

    suite: str | None = None
    frameworks: list[str] | None = None
    models: list[str] | None = None
    dataset: list[str] | None = None
    data_dir: Path | None = None
    steps: int | None = None
    batch_size: int | None = None
    eval_every: int | None = None
    seed: int | None = None
    device: str | None = None
    precision: list[str] | None = None
    memory_format: str | None = None


Say = Callable[[str], None]


def _quiet(message: str) -> None:
    """The default ``say``: planning for a test or a script that does not print."""


def resolve_device(requested: str | None) -> str:
    gpus = environment.gpu_names()
    if requested in (None, "cpu"):
        return "cpu"
    if requested == "auto":
        return "cuda" if gpus else "cpu"
    if not gpus:
        raise PlanError("--device cuda: no CUDA GPU on this machine (nvidia-smi finds none); "
                        "use --device cpu or auto")  # fmt: skip
    return "cuda"


def plan_cells(args: PlanRequest, say: Say = _quiet) -> list[Cell]:
    """The cells ``args`` asks for: unknown names are :class:`PlanError`, a framework that is not
    installed is skipped (and said)."""
    suite_name = args.suite or "quick"
    if suite_name not in suites.SUITES:
        raise PlanError(f"unknown suite {suite_name!r}; choose from {', '.join(suites.SUITES)}")
    suite = suites.SUITES[suite_name]
    requested = args.frameworks or list(suite.frameworks or DEFAULT_FRAMEWORKS)
    for name in requested:
        try:
            get_variant(name)
        except ValueError as exc:
            raise PlanError(str(exc)) from None
    for name in args.models or []:
        if name not in suites.MODEL_NAMES:
            raise PlanError(f"unknown model {name!r}; choose from {', '.join(suites.MODEL_NAMES)}")
    for name in args.dataset or []:
        if name not in suites.DATASET_NAMES:
            raise PlanError(
                f"unknown dataset {name!r}; choose from {', '.join(suites.DATASET_NAMES)}"
            )
    datasets = args.dataset or list(dict.fromkeys(d for _, d in suite.pairs))
    check_data_dir(datasets, args.data_dir)
    frameworks = []
    for name in dict.fromkeys(requested):
        missing = VARIANTS[name].missing()
        if missing:
            say(f"skipping {name}: {', '.join(missing)} not installed "
                f"(install with: {VARIANTS[name].install})")  # fmt: skip
        else:
            frameworks.append(name)
    if not frameworks:
        raise PlanError("no requested framework is installed; nothing to run")

    models = args.models or list(dict.fromkeys(m for m, _ in suite.pairs))
    pairs = [(m, d) for d in datasets for m in suites.MODELS_BY_DATASET.get(d, ()) if m in models]
    pairs += _own_datasets(args, models, pairs, datasets, say)
    if not pairs:
        raise PlanError("no (model, dataset) pair matches --models/--dataset; "
                        f"registered: {_pairs_text()}")  # fmt: skip

    device = resolve_device(args.device)
    recipes = {}
    for m, d in pairs:  # each suite entry has its own recipe (suites.Entry)
        entry = suite.entry(m, d)
        recipe = entry.recipe_on(device)
        if recipe is not entry.recipe:
            say(f"{m} on {d}: on a CPU, {recipe.steps} steps at batch "
                f"{recipe.batch_size} instead of the suite's GPU-sized "
                f"{entry.recipe.batch_size}")  # fmt: skip
        if args.steps is not None:
            recipe = replace(recipe, steps=args.steps)
        if args.batch_size is not None:
            recipe = replace(recipe, batch_size=args.batch_size)
        if args.eval_every is not None:
            recipe = replace(recipe, eval_every=args.eval_every)
        recipes[m, d] = replace(recipe, eval_every=min(recipe.eval_every, recipe.steps),
                                warmup_steps=min(recipe.warmup_steps,
                                                 max(recipe.steps // 5, 1)))  # fmt: skip
    from bench import data

    for (_, dataset), recipe in recipes.items():
        n_train = data.train_size(dataset, args.data_dir)
        if recipe.batch_size > n_train:
            raise PlanError(f"--batch-size {recipe.batch_size} is larger than the {n_train} "
                            f"training samples of {dataset}")  # fmt: skip
    seed = args.seed if args.seed is not None else 0
    precisions = _check_precision(args, device, frameworks, pairs, say)
    cells = [Cell(fw, m, d, suite_name, recipes[m, d], seed, p)
             for p in precisions for m, d in pairs for fw in frameworks]  # fmt: skip
    return _reference_cells(cells, device, say)


def _reference_cells(cells: list[Cell], device: str, say: Say) -> list[Cell]:
    """``cells`` less the reference cells their variant cannot run, each skip said in one line
    (``sklearn`` is a reference for logreg only: the other models are skipped aloud)."""
    kept, said = [], set()
    for cell in cells:
        variant = get_variant(cell.framework)
        why = reference_refusal(variant, cell.model, cell.dataset, cell.recipe, cell.precision)
        if why is None:
            kept.append(cell)
            if variant.reference and device != "cpu" and variant.name not in said:
                said.add(variant.name)
                say(f"{variant.name}: a reference on the CPU (scikit-learn has no {device} path)")
        else:
            say(f"skipping {cell.framework} for {cell.model} on {cell.dataset}: {why}")
    if not kept:
        raise PlanError("nothing to run: every requested cell was skipped (see above)")
    return kept


def _own_datasets(
    args: PlanRequest,
    models: list[str],
    pairs: list[tuple[str, str]],
    datasets: list[str],
    say: Say,
) -> list[tuple[str, str]]:
    """Pairs for a model named with --models that the suite's datasets do not declare (say
    ``--models mlp,cnn,resnet20`` in the quick suite, which is MNIST-1D only): without --dataset it
    runs on its own first bundled dataset, and the CLI says so; with --dataset it is skipped,
    and the CLI says that too. Either way, nothing asked for disappears silently."""
    from bench import data

    placed = {m for m, _ in pairs}
    extra = []
    for model in dict.fromkeys(args.models or []):
        if model in placed:
            continue
        declared = [d for d, ms in suites.MODELS_BY_DATASET.items() if model in ms]
        if args.dataset:
            say(f"skipping {model}: not declared on {', '.join(datasets)} "
                f"(it is on {', '.join(declared)})")  # fmt: skip
            continue
        known = [d for d in declared if d in data.DATASET_NAMES]
        own = ([d for d in known if data.info(d).source == "bundled"]
               or [d for d in known if not data.info(d).needs_data_dir])  # fmt: skip
        if not own:
            say(f"skipping {model}: its datasets ({', '.join(declared)}) are read "
                "from files: give --dataset and --data-dir")  # fmt: skip
            continue
        say(f"{model}: not declared on the suite's {', '.join(datasets)}; "
            f"running it on {own[0]}, its own data")  # fmt: skip
        extra.append((model, own[0]))
    return extra


def _check_precision(
    args: PlanRequest,
    device: str,
    frameworks: list[str],
    pairs: list[tuple[str, str]],
    say: Say,
) -> list[str]:
    """--precision and --memory-format against the device and the models (bench.zoo.precision)."""
    from bench.catalog import architectures
    from bench.zoo import precision

    try:
        wanted = list(dict.fromkeys(precision.canonical(p) for p in args.precision or ["fp32"]))
    except ValueError as exc:
        raise PlanError(f"--precision: {exc}") from None
    for p in wanted:
        if refused := precision.refusal(p, device):
            raise PlanError(refused)
        if note := precision.cost_note(p, device, precision.cpu_flags()):
            say(f"note: {note}")
    if getattr(args, "memory_format", None) == "channels-last" and any(
        get_variant(f).family == "torch" for f in frameworks
    ):
        for m, d in pairs:
            spec = suites.model_spec(m, d, suite=args.suite or "quick")
            kinds = [type(layer).__name__ for layer in architectures.layers(spec)]
            if refused := precision.channels_last_refusal(m, spec.input_shape, kinds):
                raise PlanError(refused)
    return wanted


def check_data_dir(datasets: list[str], data_dir: Path | None) -> str | None:
    """--data-dir against the datasets: given exactly when one reads files, and those files
    read cleanly (each bad file is one line naming it). Returns the directory, resolved."""
    from bench import data

    needs = [d for d in datasets if data.info(d).needs_data_dir]
    if data_dir is None:
        if needs:
            raise PlanError(f"dataset {needs[0]} is read from files: give --data-dir DIR "
                            "(see docs/data.md)")  # fmt: skip
        return None
    if not needs:
        raise PlanError(f"--data-dir is only read by the datasets {', '.join(data.FILE_DATASETS)}"
                        f"; {', '.join(datasets)} need no files")  # fmt: skip
    try:
        for name in needs:
            data.load(name, data_dir=data_dir)  # reads and checks every file (cached for the run)
    except data.DataFileError as exc:
        raise PlanError(str(exc)) from None
    return str(data_dir.resolve())


def _pairs_text() -> str:
    return "; ".join(f"{d}: {', '.join(ms)}" for d, ms in suites.MODELS_BY_DATASET.items())


def parse_cpus(text: str | None) -> tuple[int, ...] | None:
    """--cpus as a tuple of CPU numbers (None: every CPU this process may use)."""
    if text is None:
        return None
    from bench.zoo import precision

    try:
        return precision.parse_cpus(text, set(os.sched_getaffinity(0)))
    except ValueError as exc:
        raise PlanError(str(exc)) from None


def check_distributed(workers: int | None, scaling: str | None, cells: list[Cell]) -> int:
    """--workers/--scaling against the plan; the intra-op threads per worker (1)."""
    from bench.run.distributed import DISTRIBUTED_FRAMEWORKS, global_batch

    if not workers:
        raise PlanError("--scaling needs --workers N")
    other = sorted({c.framework for c in cells} - set(DISTRIBUTED_FRAMEWORKS))
    if other:
        raise PlanError(f"--workers runs {', '.join(DISTRIBUTED_FRAMEWORKS)} only, not "
                        f"{', '.join(other)}")  # fmt: skip
    for c in cells:
        try:
            global_batch(c.recipe.batch_size, workers, scaling or "weak")
        except ValueError as exc:
            raise PlanError(f"{c.key}: {exc}") from None
    return 1
