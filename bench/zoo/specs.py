"""Framework-neutral descriptions of what is trained, how, and what came out.

These are plain frozen dataclasses so that the parent process, the workers, the store and the
report all share one vocabulary without any of them importing a framework.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

#: Version of the result record written to results.jsonl. Readers refuse other versions.
SCHEMA_VERSION = 1

OPTIMIZERS = ("sgd", "momentum", "adam", "adamw", "adagrad", "rmsprop")
SCHEDULES = ("constant", "step", "cosine", "warmup_cosine", "warmup_step")


@dataclass(frozen=True)
class ModelSpec:
    """What the network is, in no framework's terms.

    ``input_shape`` is one sample, channels-last (``(40,)`` for a dense model on MNIST-1D,
    ``(40, 1)`` for a conv or recurrent one, ``(8, 8, 1)`` for a 2-D conv). Adapters convert.
    """

    name: str
    input_shape: tuple[int, ...]
    num_classes: int
    params: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        return {**asdict(self), "input_shape": list(self.input_shape)}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ModelSpec:
        return cls(d["name"], tuple(d["input_shape"]), int(d["num_classes"]), dict(d["params"]))


@dataclass(frozen=True)
class Recipe:
    """How a model is trained, with every default written out.

    ``optimizer_args`` always carries every hyper-parameter of the optimizer (eps, betas, alpha,
    momentum, nesterov, initial accumulator), so no framework's default ever decides an outcome.
    The arithmetic is PyTorch's (coupled L2 weight decay, eps added to sqrt(v_hat) in Adam,
    ``v = mu v + g`` momentum); the TF and Keras adapters implement the same formulas
    (docs/recipes.md writes every one out).

    ``decay_exclusions``: biases and BatchNorm gamma/beta get no weight decay
    (:func:`bench.zoo.recipes.decays`). ``weight_decay`` is coupled L2 (added to the gradient) for
    every optimizer but ``adamw``, where it is decoupled (``w *= 1 - lr·wd``), as torch's classes.
    ``label_smoothing``: torch's formula, training loss only. ``clip_grad_norm``: the gradients'
    global L2 norm is clipped to it with torch's ``clip_grad_norm_`` formula (0 = off).
    ``warmup_steps`` is the number of *timed* steps dropped as warm-up, not a learning-rate
    warm-up: that one is ``schedule_args["warmup_steps"]`` of the ``warmup_*`` schedules.
    """

    optimizer: str = "adam"
    lr: float = 1e-2
    batch_size: int = 100
    steps: int = 6000
    schedule: str = "constant"
    weight_decay: float = 0.0
    optimizer_args: dict[str, Any] = field(default_factory=dict)
    schedule_args: dict[str, Any] = field(default_factory=dict)
    eval_every: int = 250
    warmup_steps: int = 10
    decay_exclusions: bool = False
    label_smoothing: float = 0.0
    clip_grad_norm: float = 0.0

    def __post_init__(self) -> None:
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"unknown optimizer {self.optimizer!r}; choose from {OPTIMIZERS}")
        if self.schedule not in SCHEDULES:
            raise ValueError(f"unknown schedule {self.schedule!r}; choose from {SCHEDULES}")
        # Write every optimizer default out, so records say exactly what ran.
        full = {**default_optimizer_args(self.optimizer), **self.optimizer_args}
        object.__setattr__(self, "optimizer_args", full)
        if self.schedule in WARMUP_SCHEDULES:  # older schedules keep their records as they were
            sched = {**default_schedule_args(self.schedule, self.steps), **self.schedule_args}
            object.__setattr__(self, "schedule_args", sched)
            if int(sched["warmup_steps"]) < 0:
                raise ValueError(f"warmup_steps must be >= 0, got {sched['warmup_steps']}")
        if self.clip_grad_norm < 0:
            raise ValueError(f"clip_grad_norm must be >= 0 (0 = off), got {self.clip_grad_norm}")
        if not 0.0 <= self.label_smoothing < 1.0:
            raise ValueError(f"label_smoothing must be in [0, 1), got {self.label_smoothing}")

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Recipe:
        return cls(**d)


WARMUP_SCHEDULES = ("warmup_cosine", "warmup_step")


def default_optimizer_args(optimizer: str) -> dict[str, Any]:
    """PyTorch's defaults, written out. Keras/TF defaults differ and are never used."""
    return {
        "sgd": {},
        "momentum": {"momentum": 0.9, "nesterov": False},
        "adam": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
        "adamw": {"beta1": 0.9, "beta2": 0.999, "eps": 1e-8},
        "adagrad": {"eps": 1e-10, "initial_accumulator": 0.0},
        "rmsprop": {"alpha": 0.99, "eps": 1e-8},
    }[optimizer]


def default_schedule_args(schedule: str, steps: int) -> dict[str, Any]:
    """Every argument of the warm-up schedules, written out (bench.catalog.schedules has the
    formulas).

    Step decay's milestones are fractions of ``steps`` (so a ``--steps`` override keeps the
    schedule's shape); the default is He et al.'s CIFAR one, 32k and 48k of 64k steps.
    """
    if schedule == "warmup_cosine":
        return {"warmup_steps": 0, "min_lr": 0.0}
    if schedule == "warmup_step":
        return {"warmup_steps": 0, "milestones": [0.5, 0.75], "gamma": 0.1}
    return {}


@dataclass(frozen=True)
class Settings:
    """Process-wide settings every framework is put into before it builds anything."""

    device: str = "cpu"  # "cpu" | "cuda"
    threads: int = 1  # intra-op threads
    interop_threads: int = 1
    precision: str = "fp32"  # bench.zoo.precision.PRECISIONS; a legacy "float32" reads as "fp32"
    tf32: bool = False  # TF enables TF32 by default on Ampere+; the suite turns it off everywhere
    deterministic: bool = False
    memory_format: str = "contiguous"  # "channels-last": torch conv models in NHWC memory
    cpus: tuple[int, ...] | None = None  # CPU-affinity mask of every worker (None: inherited)

    def __post_init__(self) -> None:
        from bench.zoo.precision import LEGACY

        object.__setattr__(self, "precision", LEGACY.get(self.precision, self.precision))
        if self.cpus is not None:
            object.__setattr__(self, "cpus", tuple(sorted(int(c) for c in self.cpus)))

    def to_dict(self) -> dict[str, Any]:
        d = asdict(self)
        d["cpus"] = None if self.cpus is None else list(self.cpus)
        return d

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Settings:
        return cls(**d)


@dataclass(frozen=True)
class Cell:
    """One (framework variant, model, dataset, recipe, device) combination."""

    framework: str  # a variant name: "torch", "torch:compile", "tf", "keras", "keras:torch" ...
    model: str
    dataset: str
    suite: str
    recipe: Recipe
    seed: int = 0
    precision: str = "fp32"  # bench.zoo.precision.PRECISIONS
    #: A sweep's throughput point (``bench sweep``): timed, never trained to accuracy. Its
    #: intra-op threads and (sequence models) length are part of it, with the recipe's batch.
    sweep: bool = False
    threads: int | None = None
    seq_len: int | None = None
    tiny: bool = False  # the architecture's tiny configuration (layers, width) on this data

    @property
    def point(self) -> str:
        """A throughput point's axis values as the key writes them (``batch64,threads2``);
        empty for an ordinary cell."""
        if not self.sweep:
            return ""
        text = f"batch{self.recipe.batch_size},threads{self.threads}"
        text = text if self.seq_len is None else f"{text},T{self.seq_len}"
        return f"{text},tiny" if self.tiny else text

    @property
    def key(self) -> str:
        """Stable identity of the cell within a run (resume and compare match on it); a
        reduced precision is part of it (``torch/mlp/mnist1d@bf16``), so no two precisions
        of one cell are ever matched, and fp32 keys stay what they always were. A sweep's
        throughput point carries its batch, threads and length (``…#batch64,threads2``), so
        no two points of a sweep are ever matched either."""
        base = f"{self.framework}/{self.model}/{self.dataset}"
        base = base if self.precision == "fp32" else f"{base}@{self.precision}"
        return f"{base}#{self.point}" if self.sweep else base

    @property
    def worker_key(self) -> str:
        """Which worker serves the cell: one per framework variant and precision."""
        return self.framework if self.precision == "fp32" else f"{self.framework}@{self.precision}"

    @property
    def group(self) -> str:
        """Cells of one group train the same model on the same data; they run interleaved. A
        sweep's group is one point: its frameworks, each in its own fresh worker."""
        base = f"{self.model}/{self.dataset}"
        return f"{base}#{self.point}" if self.sweep else base

    def to_dict(self) -> dict[str, Any]:
        return {
            "framework": self.framework,
            "model": self.model,
            "dataset": self.dataset,
            "suite": self.suite,
            "recipe": self.recipe.to_dict(),
            "seed": self.seed,
            "precision": self.precision,
            **(
                {"sweep": True, "threads": self.threads, "seq_len": self.seq_len, "tiny": self.tiny}
                if self.sweep
                else {}
            ),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Cell:
        return cls(
            d["framework"],
            d["model"],
            d["dataset"],
            d["suite"],
            Recipe.from_dict(d["recipe"]),
            int(d["seed"]),
            str(d.get("precision", "fp32")),  # plans written before precision were fp32
            bool(d.get("sweep", False)),
            d.get("threads"),
            d.get("seq_len"),
            bool(d.get("tiny", False)),
        )


STATUSES = ("ok", "failed", "timeout", "diverged")
