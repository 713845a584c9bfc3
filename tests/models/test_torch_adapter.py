"""What only the PyTorch adapter has: its fairness manifest and the torch.compile variant.

The properties every adapter shares (layouts, logits, gradients, optimizers, training) are
tested for torch and tf alike in test_adapters_vs_numpy.py.
"""

from __future__ import annotations

import numpy as np
import pytest

torch = pytest.importorskip("torch")

from bench.catalog.weights import init_weights  # noqa: E402
from bench.zoo.specs import Recipe, Settings  # noqa: E402
from models.torch.adapter import TorchAdapter, create  # noqa: E402
from tests.models.reference import inputs  # noqa: E402

SETTINGS = Settings(device="cpu", threads=2, interop_threads=1)


@pytest.fixture(scope="module")
def adapter() -> TorchAdapter:
    a = create("torch")
    a.configure(SETTINGS)
    return a


def test_configure_manifest_and_is_repeatable(adapter: TorchAdapter) -> None:
    first = adapter.configure(SETTINGS)
    second = adapter.configure(SETTINGS)
    assert first == second
    assert first["threads_intra"] == 2 and first["threads_inter"] == torch.get_num_interop_threads()
    assert first["compile"] == "eager" and first["precision"] == "fp32"
    assert first["tf32"] is False and first["deterministic"] is False
    assert first["versions"] == {"torch": torch.__version__}
    if not torch.cuda.is_available():
        with pytest.raises(RuntimeError, match="CUDA requested"):
            create("torch").configure(Settings(device="cuda", threads=2))


@pytest.mark.slow
def test_compiled_variant_matches_eager(adapter: TorchAdapter) -> None:
    spec, x, y = inputs("mlp", "mnist1d", 200)
    w = init_weights(spec, 0)
    comp = create("torch:compile", compile=True)
    assert comp.configure(SETTINGS)["compile"] == "torch.compile"
    eager_m = adapter.build(spec, w, Recipe(), np.array([1e-2]))
    comp_m = comp.build(spec, w, Recipe(), np.array([1e-2]))
    xb, yb = x.reshape(2, 100, -1), y.reshape(2, 100)
    _, l_eager = adapter.train_round(eager_m, xb, yb)
    _, l_comp = comp.train_round(comp_m, xb, yb)
    np.testing.assert_allclose(l_comp, l_eager, rtol=1e-5)
    ge, gc = adapter.get_weights(eager_m), comp.get_weights(comp_m)
    for k in ge:
        np.testing.assert_allclose(gc[k], ge[k], rtol=0, atol=1e-5, err_msg=k)
