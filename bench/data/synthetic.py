"""Synthetic image data for throughput cells: real shapes, random content, labelled synthetic.

50,000 ImageNet-sized float32 images would take 30 GB, and every worker process is sent the
whole training array. So a synthetic dataset is a small *pool* of distinct images (standard
normal values, like normalised pixels) with uniform random labels, drawn from the seed, and a
*logical* training set of ``train_samples`` that cycles it: logical sample ``i`` is pool image
``i % pool``. The batch order is drawn over the logical set like any dataset's (one permutation
per epoch), then mapped into the pool (:func:`bench.data.train_order`).

The kernels' cost does not depend on pixel values, so throughput is real; accuracy is not
(labels are random): such cells have no accuracy target and their accuracy is shown as n/a.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class SyntheticShape:
    sample_shape: tuple[int, ...]
    num_classes: int
    train_samples: int  # the logical training set
    pool: int  # distinct training images held in memory
    test_pool: int  # distinct test images


SHAPES = {
    # CIFAR-10-shaped: 256 x 12 KiB = 3 MiB of distinct training images
    "synthetic-cifar10": SyntheticShape((32, 32, 3), 10, 50_000, 256, 256),
    # ImageNet-shaped: 64 x 588 KiB = 37 MiB (a pool of 1,281,167 would be 771 GB)
    "synthetic-imagenet": SyntheticShape((224, 224, 3), 1000, 50_000, 64, 64),
}


def generate(name: str, seed: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_pool, y_pool, x_test, y_test) of ``name`` from ``seed``: float32 N(0, 1), int64."""
    shape = SHAPES[name]
    # the dataset's name is part of the seed, so two synthetic datasets never share images
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    n = shape.pool + shape.test_pool
    x = rng.standard_normal((n, *shape.sample_shape), dtype=np.float32)
    y = rng.integers(0, shape.num_classes, size=n).astype(np.int64)
    return x[: shape.pool], y[: shape.pool], x[shape.pool :], y[shape.pool :]
