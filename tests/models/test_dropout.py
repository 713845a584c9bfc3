"""Dropout drawn from the run's seed, and the shared-mask parity mode (issue 29).

Seeded (each framework's own masks): the tiny transformer with dropout, trained from a seed in
this process (after whatever ran here before) and again in a fresh child process, gives
bit-identical losses in every framework; another seed gives other losses, so the seed reaches
the masks. Shared masks (bench/zoo/dropout.py: NumPy masks per (seed, site, step) that every
framework multiplies by): the frameworks' first 50 losses agree within 1e-3 (they agree to
~1e-6 in float32; with their own masks they part at step 0). ``BENCH_TEST_FRAMEWORKS`` runs the
module for another Keras backend in its own process (tests/models/test_keras_backends.py); the
shared-mask trajectories are then compared with torch's.
"""

from __future__ import annotations

import itertools
import json
import os
import subprocess
import sys
from dataclasses import replace
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench import zoo
from bench.catalog.frameworks import get_variant
from bench.catalog.schedules import lr_table
from bench.catalog.weights import init_weights
from bench.run.adapter import load_adapter
from bench.zoo import dropout
from bench.zoo.specs import ModelSpec, Recipe, Settings
from tests.models.test_zoo import FRAMEWORKS

ROOT = Path(__file__).resolve().parents[2]
RATE, BATCH, STEPS = 0.2, 8, 50
SHARED_ATOL = 1e-3
ADAM = Recipe(optimizer="adam", lr=1e-2, batch_size=BATCH, steps=STEPS)


def tiny(name: str, rate: float = RATE) -> ModelSpec:
    """The zoo's tiny ``name`` with dropout at every site."""
    spec = zoo.get(name).tiny
    return replace(spec, params={**spec.params, "dropout": rate})


def adapter(name: str) -> Any:
    """Configured once per process, test_zoo.py's cache (its settings: 2 threads)."""
    from tests.models import test_zoo

    if name not in test_zoo._adapters:
        a = load_adapter(get_variant(name))
        a.configure(Settings(threads=2, interop_threads=1))
        test_zoo._adapters[name] = a
    return test_zoo._adapters[name]


def trained(framework: str, spec: ModelSpec, steps: int) -> np.ndarray:
    """Per-step training losses of ``steps`` Adam steps on fixed token batches (no padding)."""
    rng = np.random.default_rng(3)
    vocab = int(spec.params["vocab_size"])
    x = rng.integers(1, vocab, size=(steps, BATCH, *spec.input_shape)).astype(np.int32)
    lm = spec.params.get("task") == "lm"
    y = rng.integers(spec.num_classes, size=x.shape if lm else (steps, BATCH))
    a = adapter(framework)
    model = a.build(spec, init_weights(spec, 5), ADAM, lr_table(ADAM))
    return np.asarray(a.train_round(model, x, y)[1], np.float32)


def training_logits(framework: str, spec: ModelSpec) -> np.ndarray:
    """One training-mode forward of a fresh model on a fixed token batch (no padding)."""
    rng = np.random.default_rng(1)
    x = rng.integers(1, int(spec.params["vocab_size"]), size=(BATCH, *spec.input_shape))
    a = adapter(framework)
    model = a.build(spec, init_weights(spec, 5), ADAM, lr_table(ADAM))
    return a.logits(model, x.astype(np.int32), training=True)


#: The fresh process's half of the repeat test: the same trainings, printed as JSON.
CHILD = """
import json, sys
from bench.zoo import dropout
from tests.models.test_dropout import tiny, trained
frameworks, seed, steps = sys.argv[1].split(","), int(sys.argv[2]), int(sys.argv[3])
spec = dropout.seeded(tiny("transformer"), seed)
print(json.dumps({fw: trained(fw, spec, steps).tolist() for fw in frameworks}))
"""


@pytest.mark.slow
def test_seeded_dropout_repeats_in_a_fresh_process() -> None:
    steps, seed = 20, 7
    spec = dropout.seeded(tiny("transformer"), seed)
    here = {fw: trained(fw, spec, steps) for fw in FRAMEWORKS}
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    proc = subprocess.run(
        [sys.executable, "-c", CHILD, ",".join(FRAMEWORKS), str(seed), str(steps)],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    child = json.loads(proc.stdout.strip().splitlines()[-1])
    for fw in FRAMEWORKS:
        np.testing.assert_array_equal(np.asarray(child[fw], np.float32), here[fw], err_msg=fw)


def test_the_run_seed_reaches_the_masks() -> None:
    """Training-mode logits: the same under one seed in two builds, other under another."""
    for fw in FRAMEWORKS:
        first, again, other = (training_logits(fw, dropout.seeded(tiny("transformer"), s))
                               for s in (7, 7, 8))  # fmt: skip
        np.testing.assert_array_equal(first, again, err_msg=fw)
        assert np.abs(first - other).max() > 1e-3, f"{fw}: the seed does not reach dropout"


@pytest.mark.parametrize("name", ["transformer", "gpt"])
def test_shared_masks_give_every_framework_the_same_losses(name: str) -> None:
    spec = dropout.shared(tiny(name), seed=11)
    runs = {fw: trained(fw, spec, STEPS) for fw in dict.fromkeys(["torch", *FRAMEWORKS])}
    for a, b in itertools.combinations(runs, 2):
        worst = float(np.abs(runs[a] - runs[b]).max())
        assert worst <= SHARED_ATOL, f"{a} vs {b}: {worst:.2e}"
    # the masks act: torch's own masks (same seed) give another trajectory
    own = trained("torch", dropout.seeded(tiny(name), 11), STEPS)
    assert np.abs(own - runs["torch"]).max() > 10 * SHARED_ATOL


def test_shared_masks_give_every_framework_the_same_training_logits() -> None:
    """One training-mode forward at rate 0.5: every framework's logits are torch's (the same
    masks at the same sites and step), and not the rate-0 model's (the masks act)."""
    spec = dropout.shared(tiny("transformer", rate=0.5), seed=2)
    logits = {fw: training_logits(fw, spec) for fw in dict.fromkeys(["torch", *FRAMEWORKS])}
    inference = training_logits("torch", dropout.shared(tiny("transformer", rate=0.0), seed=2))
    assert np.abs(logits["torch"] - inference).max() > 1e-3  # the masks act
    for fw, value in logits.items():
        np.testing.assert_allclose(value, logits["torch"], atol=1e-5, err_msg=fw)
