"""What only the TensorFlow adapter has: the tf.scan GRU, its fairness manifest, the XLA variant.

The properties every adapter shares (layouts, logits, gradients, optimizers, training) are
tested for torch and tf alike in test_adapters_vs_numpy.py.
"""

from __future__ import annotations

import numpy as np
import pytest

tf = pytest.importorskip("tensorflow")

from bench.catalog.weights import init_weights  # noqa: E402
from bench.zoo.specs import Recipe, Settings  # noqa: E402
from models.tf.adapter import TFAdapter, create  # noqa: E402
from tests.models.reference import inputs, mlp_batches, reference_logits  # noqa: E402

SETTINGS = Settings(device="cpu", threads=2, interop_threads=1)


@pytest.fixture(scope="module")
def adapter() -> TFAdapter:
    a = create("tf")
    a.configure(SETTINGS)
    return a


def test_gru_scan_path_matches_reference(adapter: TFAdapter) -> None:
    """The tf.scan recurrence (what tf:xla uses) computes the same as the unrolled loop."""
    spec, x, _ = inputs("gru", "mnist1d", 8)
    w = init_weights(spec, seed=5)
    m = adapter.build(spec, w, Recipe(), np.array([1e-2]))
    m.module.unroll = False  # read at trace time; nothing is traced yet
    np.testing.assert_allclose(adapter.logits(m, x), reference_logits(spec, w, x), atol=1e-5)


def test_configure_manifest_and_is_repeatable(adapter: TFAdapter) -> None:
    first = adapter.configure(SETTINGS)
    second = adapter.configure(SETTINGS)
    assert first == second
    # Another test module may have started TF's runtime with other counts: then the values in
    # force are reported, with a note saying so.
    intra = tf.config.threading.get_intra_op_parallelism_threads()
    inter = tf.config.threading.get_inter_op_parallelism_threads()
    assert (first["threads_intra"], first["threads_inter"]) == (intra, inter)
    assert (intra, inter) == (2, 1) or first["notes"]
    assert first["compile"] == "tf.function" and first["precision"] == "fp32"
    assert first["tf32"] is False and first["deterministic"] is False
    assert first["versions"] == {"tensorflow": tf.__version__}
    if not tf.config.list_physical_devices("GPU"):
        with pytest.raises(RuntimeError, match="CUDA requested"):
            create("tf").configure(Settings(device="cuda", threads=2))


def test_xla_variant_matches_graph_variant(adapter: TFAdapter) -> None:
    """SGD, because Adam's m/sqrt(v) turns float32 noise in a near-zero gradient into a visible
    step (XLA fuses differently); the cross-framework Adam step is checked in test_parity."""
    xla = create("tf:xla", xla=True)
    assert xla.configure(SETTINGS)["compile"] == "xla"
    spec, x, y = mlp_batches(2)
    w = init_weights(spec, 0)
    sgd = Recipe(optimizer="sgd")
    graph_m = adapter.build(spec, w, sgd, np.array([0.1]))
    xla_m = xla.build(spec, w, sgd, np.array([0.1]))
    _, l_graph = adapter.train_round(graph_m, x, y)
    _, l_xla = xla.train_round(xla_m, x, y)
    np.testing.assert_allclose(l_xla, l_graph, rtol=1e-5)
    gg, gx = adapter.get_weights(graph_m), xla.get_weights(xla_m)
    for k in gg:
        np.testing.assert_allclose(gx[k], gg[k], rtol=0, atol=1e-5, err_msg=k)
