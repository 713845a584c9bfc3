"""What only a CUDA GPU can show (``pytest -m gpu``; the GPU check runs them, docs/gpu.md): cells
placed on the device, the allocator's peak as the memory sample, the precision switches in
force, and tensor cores visible in the calibration. Skipped where nvidia-smi finds no GPU, before
any framework is imported.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from bench.catalog import suites
from bench.catalog.weights import init_weights
from bench.measure.environment import gpu_names
from bench.zoo import get as get_architecture
from bench.zoo.specs import Settings

ROOT = Path(__file__).resolve().parents[2]

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.framework,
    pytest.mark.skipif(not gpu_names(), reason="needs a CUDA GPU (nvidia-smi finds none)"),
]


def _batches(spec, n: int, batch: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    x = rng.standard_normal((n, batch, *spec.input_shape)).astype(np.float32)
    return x, rng.integers(0, spec.num_classes, (n, batch)).astype(np.int64)


def test_torch_cell_is_on_the_gpu_and_its_memory_is_the_allocator_peak() -> None:
    from bench.zoo.recipes import resnet_imagenet
    from models.torch.adapter import create

    adapter = create("torch")
    manifest = adapter.configure(Settings(device="cuda", threads=4, precision="bf16"))
    assert manifest["device"] != "cpu" and manifest["tf32"] is False  # bf16 leaves TF32 off
    spec = get_architecture("resnet50").tiny
    recipe = resnet_imagenet(4, 8)
    peaks = []
    for batch in (4, 32):
        adapter.reset_peak_device_memory()
        model = adapter.build(spec, init_weights(spec, 0), recipe, np.array([0.01]))
        times, losses = adapter.train_round(model, *_batches(spec, 2, batch))
        assert np.all(np.isfinite(losses)) and np.all(times > 0)
        peaks.append(adapter.peak_device_memory())
        del model
    assert peaks[0] is not None and 0 < peaks[0] < peaks[1]  # activations grow with the batch


def test_torch_tf32_is_switched_on_only_when_asked() -> None:
    from models.torch.adapter import create

    assert create("torch").configure(Settings(device="cuda", precision="tf32"))["tf32"] is True
    assert create("torch").configure(Settings(device="cuda", precision="fp32"))["tf32"] is False


KERAS_JAX_CELL = """
import json, numpy as np
from bench.catalog.frameworks import get_variant
from bench.catalog.weights import init_weights
from bench.run.adapter import load_adapter
from bench.zoo import get
from bench.zoo.recipes import sequence
from bench.zoo.specs import Settings
adapter = load_adapter(get_variant("keras:jax"))
manifest = adapter.configure(Settings(device="cuda", threads=4, precision="bf16"))
spec = get("transformer").tiny
model = adapter.build(spec, init_weights(spec, 0), sequence(4, 8, 1e-3, 1), np.array([1e-3]))
rng = np.random.default_rng(0)
x = rng.integers(1, spec.params["vocab_size"], (2, 8, *spec.input_shape)).astype(np.int32)
y = rng.integers(0, spec.num_classes, (2, 8)).astype(np.int64)
times, losses = adapter.train_round(model, x, y)
print(json.dumps({"device": manifest["device"], "peak": adapter.peak_device_memory(),
                  "finite": bool(np.all(np.isfinite(losses)))}))
"""


def test_keras_on_jax_trains_on_the_gpu_with_an_allocator_peak() -> None:
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": str(ROOT)}
    done = subprocess.run([sys.executable, "-c", KERAS_JAX_CELL], capture_output=True,
                          text=True, env=env, timeout=300, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr[-2000:]
    reply = json.loads(done.stdout.strip().splitlines()[-1])
    assert reply["device"] == "cuda" and reply["finite"]
    assert reply["peak"] and reply["peak"] > 0


@pytest.mark.parametrize("library", ["torch", "jax"])
def test_calibration_sees_tensor_cores(library: str) -> None:
    """bf16 and tf32 matmuls run on tensor cores: several times the fp32 (FMA) rate on any
    NVIDIA GPU since Ampere (an H100's datasheet: 989 and 495 against 67 TFLOP/s)."""
    from bench.measure.calibrate import framework_peaks

    peaks = framework_peaks(library, 4, "cuda", ("fp32", "tf32", "bf16"), sizes=(4096,))
    gflops = {p: v["gflops"] for p, v in peaks.items()}
    assert gflops["bf16"] > 2 * gflops["fp32"] and gflops["tf32"] > 2 * gflops["fp32"], gflops


def test_the_check_suite_plans_on_the_gpu() -> None:
    from bench.run.plan import PlanRequest, plan_cells

    cells = plan_cells(PlanRequest(suite="gpu-check", frameworks=["torch"], device="cuda",
                                   precision=["tf32"]))  # fmt: skip
    assert {c.model for c in cells} == {e.model for e in suites.SUITES["gpu-check"].entries}
    assert all(c.precision == "tf32" and c.recipe.batch_size >= 8 for c in cells)
