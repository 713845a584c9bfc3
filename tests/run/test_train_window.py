"""``train_window`` runs the same optimizer steps as ``train_round``, timed as one window.

Each framework runs in its own process in the suite; here each adapter is loaded in a
subprocess so Keras's backend and the frameworks' thread settings stay apart.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from bench.catalog.frameworks import get_variant

ROOT = Path(__file__).resolve().parents[2]
FRAMEWORKS = [f for f in ("torch", "tf", "keras") if get_variant(f).available()]

CHILD = """
import json, sys
import numpy as np
from bench.catalog import suites
from bench.catalog import weights
from bench.catalog.frameworks import get_variant
from bench.run.adapter import load_adapter
from bench.catalog.schedules import lr_table
from bench.zoo.specs import Recipe, Settings

fw = sys.argv[1]
spec = suites.model_spec("mlp", "mnist1d", 10)
recipe = Recipe(optimizer="adam", lr=1e-2, batch_size=16, steps=12, eval_every=6)
adapter = load_adapter(get_variant(fw))
adapter.configure(Settings(threads=1, interop_threads=1))
rng = np.random.default_rng(0)
x = rng.standard_normal((12, 16, 40)).astype(np.float32)
y = rng.integers(0, 10, (12, 16)).astype(np.int64)
w, lr = weights.init_weights(spec, 0), lr_table(recipe)
synced, windowed = adapter.build(spec, w, recipe, lr), adapter.build(spec, w, recipe, lr)
_, round_losses = adapter.train_round(synced, x, y)
seconds, window_losses = adapter.train_window(windowed, x, y)
print(json.dumps({"seconds": float(seconds), "round": np.asarray(round_losses).tolist(),
                  "window": np.asarray(window_losses).tolist(),
                  "weights_equal": all(np.allclose(a, b, atol=1e-6) for a, b in zip(
                      adapter.get_weights(synced).values(),
                      adapter.get_weights(windowed).values()))}))
"""


@pytest.mark.slow
@pytest.mark.parametrize("framework", FRAMEWORKS)
def test_window_trains_the_same_steps_as_a_round(framework: str) -> None:
    env = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "3"}
    out = subprocess.run([sys.executable, "-c", CHILD, framework], cwd=ROOT, env=env,
                         capture_output=True, text=True, timeout=300, check=True)  # fmt: skip
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["seconds"] > 0
    assert len(result["window"]) == 12
    assert result["window"] == pytest.approx(result["round"], abs=2e-5)  # Keras: running mean
    assert result["weights_equal"]  # the same optimizer steps, in the same order
