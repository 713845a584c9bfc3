"""Step latency comes from the step scope (issue 29): each framework's ``train_round``, whose
separately synced steps give the latency percentiles and the time to first step, runs the same
step code as its ``train_window``, whose windows give the throughput. Same weights, same
batches: the same per-step losses and the same weights after, to float32 rounding. For Keras
this also means ``train_round`` is not ``model.fit`` (fit is timed in the loop scope).

torch, tf and Keras on its tensorflow backend run in this process (tests/conftest.py fixes the
backend and the import order); Keras's torch and jax backends run in a child each (slow tier).
"""

from __future__ import annotations

import importlib
import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from bench.catalog.suites import model_spec
from bench.catalog.weights import init_weights
from bench.zoo.specs import Recipe
from tests.run.frameworks import configured_adapter

ROOT = Path(__file__).resolve().parents[2]
STEPS, BATCH = 6, 16


def _batches() -> tuple[np.ndarray, np.ndarray]:
    """Seeded MNIST-1D-shaped batches (the MLP's input is 40 floats)."""
    rng = np.random.default_rng(0)
    x = rng.standard_normal((STEPS, BATCH, 40)).astype(np.float32)
    return x, rng.integers(0, 10, (STEPS, BATCH)).astype(np.int64)


def _models(adapter: Any) -> tuple[Any, Any]:
    """Two MLPs from the same weights, each with its own optimizer (Adam: state, a step count)."""
    spec = model_spec("mlp", "mnist1d", 10)
    recipe = Recipe(optimizer="adam", lr=1e-2, batch_size=BATCH, steps=STEPS)
    weights, lr = init_weights(spec, 0), np.full(STEPS, 1e-2, np.float32)
    return adapter.build(spec, weights, recipe, lr), adapter.build(spec, weights, recipe, lr)


@pytest.fixture(scope="module", params=["torch", "tf", "keras"])
def adapter(request: pytest.FixtureRequest) -> Any:
    return configured_adapter(request.param)


@pytest.mark.framework
def test_latency_steps_are_the_windows_steps(adapter: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    x, y = _batches()
    synced, windowed = _models(adapter)
    if adapter.name == "keras":  # the latency steps are the custom step, never fit's
        monkeypatch.setattr(synced, "fit", _refuse_fit)
    seconds, round_losses = adapter.train_round(synced, x[:2], y[:2])
    more, later = adapter.train_round(synced, x[2:], y[2:])  # the step count carries over
    _, window_losses = adapter.train_window(windowed, x, y)
    assert seconds.shape == (2,) and more.shape == (STEPS - 2,) and (seconds > 0).all()
    got = np.concatenate([round_losses, later])
    assert got.dtype == np.float32
    assert abs(float(got[-1] - got[0])) > 1e-3  # the steps train: equal losses mean something
    np.testing.assert_allclose(got, window_losses, rtol=0, atol=1e-6)
    after_round, after_window = adapter.get_weights(synced), adapter.get_weights(windowed)
    for name, value in after_window.items():
        np.testing.assert_allclose(after_round[name], value, rtol=0, atol=1e-6, err_msg=name)


def _refuse_fit(*args: object, **kwargs: object) -> None:
    raise AssertionError("Keras's train_round called model.fit: fit belongs to the loop scope")


CHILD = """
import json, sys
import numpy as np
from models.keras.adapter import create
from tests.run.test_latency_scope import _batches, _models, _refuse_fit
from bench.zoo.specs import Settings

a = create("keras:" + sys.argv[1], backend=sys.argv[1])
a.configure(Settings(threads=1, interop_threads=1))
x, y = _batches()
synced, windowed = _models(a)
synced.fit = _refuse_fit
_, first = a.train_round(synced, x[:2], y[:2])
_, later = a.train_round(synced, x[2:], y[2:])
_, window = a.train_window(windowed, x, y)
print("RESULT" + json.dumps({"round": np.concatenate([first, later]).tolist(),
                             "window": np.asarray(window).tolist()}))
"""


@pytest.mark.slow
@pytest.mark.framework
@pytest.mark.parametrize("backend", ["torch", "jax"])
def test_keras_backends_latency_steps_are_the_windows_steps(backend: str) -> None:
    """The torch backend's per-step losses are recovered from a running mean: the recovery
    holds across rounds, each round's mean starting afresh."""
    for module in ("keras", backend):
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"needs {module}")
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": str(ROOT)}
    env["TF_CPP_MIN_LOG_LEVEL"] = "3"
    proc = subprocess.run([sys.executable, "-c", CHILD, backend], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=300)  # fmt: skip
    assert proc.returncode == 0, proc.stderr[-3000:]
    line = next(s for s in proc.stdout.splitlines() if s.startswith("RESULT"))
    result = json.loads(line[len("RESULT") :])
    assert len(result["round"]) == STEPS
    np.testing.assert_allclose(result["round"], result["window"], rtol=0, atol=1e-6)
