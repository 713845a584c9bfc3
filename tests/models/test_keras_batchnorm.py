"""TorchBatchNormalization: the running variance moves toward the unbiased batch variance.

Stock Keras 3 uses the biased one (a factor n/(n−1) in every update), so the test also shows the
stock layer differs, by exactly that factor: the trap the subclass closes.
"""

from __future__ import annotations

import os

import numpy as np
import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
keras = pytest.importorskip("keras")

from models.keras.batchnorm import TorchBatchNormalization  # noqa: E402


def test_running_variance_is_unbiased_and_stock_keras_is_not() -> None:
    rng = np.random.default_rng(0)
    x = rng.normal(1.0, 2.0, size=(4, 2, 2, 3)).astype(np.float32)  # n = 16 per channel
    n = 16
    ours = TorchBatchNormalization()
    stock = keras.layers.BatchNormalization(momentum=0.9, epsilon=1e-5)
    out = keras.ops.convert_to_numpy(ours(x, training=True))
    stock_out = keras.ops.convert_to_numpy(stock(x, training=True))

    flat = x.reshape(-1, 3).astype(np.float64)
    mean, biased = flat.mean(0), flat.var(0)
    unbiased = biased * n / (n - 1)
    assert ours.momentum == pytest.approx(0.9) and ours.epsilon == pytest.approx(1e-5)
    np.testing.assert_allclose(ours.moving_mean.numpy(), 0.1 * mean, rtol=1e-5)
    np.testing.assert_allclose(ours.moving_variance.numpy(), 0.9 + 0.1 * unbiased, rtol=1e-5)
    np.testing.assert_allclose(stock.moving_variance.numpy(), 0.9 + 0.1 * biased, rtol=1e-5)
    assert not np.allclose(stock.moving_variance.numpy(), ours.moving_variance.numpy(), rtol=1e-3)
    # Training-mode output normalises with the biased variance, as stock Keras and torch do.
    expected = (flat - mean) / np.sqrt(biased + 1e-5)
    np.testing.assert_allclose(out.reshape(-1, 3), expected, rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(out, stock_out, rtol=1e-5, atol=1e-6)
    # Inference mode reads the running statistics.
    inference = keras.ops.convert_to_numpy(ours(x, training=False)).reshape(-1, 3)
    mm, mv = ours.moving_mean.numpy(), ours.moving_variance.numpy()
    np.testing.assert_allclose(inference, (flat - mm) / np.sqrt(mv + 1e-5), rtol=1e-4, atol=1e-5)
