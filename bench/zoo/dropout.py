"""Where dropout's masks come from (issue 29): the run's seed, in every framework.

Two modes, read from a model spec's params, so that every path that builds a model (the worker,
a distributed rank, a test calling ``adapter.build``) gets them with the spec and no adapter
needs another argument:

* **own masks** (the default). Each framework draws with its own RNG, seeded from
  ``dropout_seed`` (the run's seed: :func:`bench.run.cells.group_inputs` puts it there) and,
  where a framework seeds per layer, the dropout site's canonical layer name
  (:meth:`Draws.site_seed`). The same command gives the same losses in a fresh process. The
  three frameworks' masks still differ (three RNGs), so their trajectories part at step 0.
* **shared masks** (``dropout_masks: "shared"``), a parity-test mode. The masks are drawn here,
  in NumPy, from (seed, site, step) (:meth:`Draws.mask`), and every framework multiplies by the
  same array, so loss trajectories *with* dropout can be compared across frameworks. Each mask
  crosses from the host into the step, so the figures of such a run would time that too: the
  worker refuses the mode (:func:`refuse_shared`), and only tests build such a model.

A site's ``step`` is how many training-mode forward passes that site has made since the model was
built (0, 1, ...): one per optimizer step in a training loop.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np

from bench.zoo.specs import ModelSpec

#: Spec param: the seed every framework's dropout draws from (the run's seed).
SEED = "dropout_seed"
#: Spec param: "shared" for the parity mode's NumPy masks; absent (or "own") otherwise.
MASKS = "dropout_masks"
MODES = ("own", "shared")


@dataclass(frozen=True)
class Draws:
    """A model's dropout seed, and whether its masks are the shared NumPy ones."""

    seed: int = 0
    shared: bool = False

    @classmethod
    def of(cls, spec: ModelSpec) -> Draws:
        mode = str(spec.params.get(MASKS, "own"))
        if mode not in MODES:
            raise ValueError(f"unknown {MASKS} {mode!r}; choose from {MODES}")
        return cls(int(spec.params.get(SEED, 0)), mode == "shared")

    def site_seed(self, site: str) -> int:
        """A seed in [0, 2**31) for the dropout site named ``site``: distinct per site (two
        layers seeded alike would draw the same mask for the same shape at the same step), and
        small enough for every framework's seed dtype (Keras's int32 on some backends)."""
        state = np.random.SeedSequence([self.seed, _site_key(site)]).generate_state(1)
        return int(state[0] >> 1)

    def mask(self, site: str, step: int, shape: tuple[int, ...], rate: float) -> np.ndarray:
        """The shared mode's mask for ``site`` at training forward ``step``: float32 keep/(1 −
        rate), so a framework's dropout is one multiply. A pure function of its arguments: every
        framework, and any process, gets the same array."""
        rng = np.random.default_rng([self.seed, _site_key(site), int(step)])
        keep = rng.random(tuple(int(n) for n in shape), dtype=np.float32) >= np.float32(rate)
        return keep.astype(np.float32) / np.float32(1.0 - rate)


def _site_key(site: str) -> int:
    """A stable integer for a site name (``hash`` of a str changes from process to process)."""
    return zlib.crc32(site.encode())


def seeded(spec: ModelSpec, seed: int) -> ModelSpec:
    """``spec`` whose dropout draws from ``seed`` (its own masks in each framework)."""
    return replace(spec, params={**spec.params, SEED: int(seed)})


def shared(spec: ModelSpec, seed: int = 0) -> ModelSpec:
    """``spec`` in the shared-mask parity mode (tests only: see :func:`refuse_shared`)."""
    return replace(spec, params={**spec.params, SEED: int(seed), MASKS: "shared"})


def refuse_shared(spec: ModelSpec) -> None:
    """Raise if ``spec`` asks for shared masks: a measured run never carries the host-side mask
    traffic of the parity mode (the worker calls this before every build, timing passes too)."""
    if Draws.of(spec).shared:
        raise ValueError(
            f"{MASKS}='shared' is a parity-test mode (NumPy masks fed to every step); "
            "bench runs refuse it so that no figure times it"
        )
