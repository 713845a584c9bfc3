"""The usual CIFAR augmentation, in NumPy, drawn from (seed, step) so every framework sees it.

Random crop with 4-pixel zero padding, then a horizontal flip with probability 1/2 (He et al.
2016, section 4.2). It is applied to each training batch after the batch is gathered and before
the framework gets it — outside the timed step, identical for every framework — so the
accuracy cells compare frameworks on the same augmented batches. The frameworks' own input
pipelines are the business of the *loop* timing scope, not of this module.

Padding is with zeros of the *normalised* images (normalisation happens when the files are read),
that is with the per-channel mean colour, as in He et al., who subtract the mean before padding.
"""

from __future__ import annotations

import numpy as np

PAD = 4
#: The name recorded for this augmentation (record field ``augmentation``).
CROP_FLIP = "random crop 32 from 4-pixel zero padding + horizontal flip p=0.5, from (seed, step)"


def draws(n: int, seed: int, step: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per-sample (row offset, column offset, flip) of step ``step``: offsets in 0..2*PAD."""
    rng = np.random.default_rng([seed, step])
    dy = rng.integers(0, 2 * PAD + 1, size=n)
    dx = rng.integers(0, 2 * PAD + 1, size=n)
    flip = rng.random(n) < 0.5
    return dy, dx, flip


def augment(x_batch: np.ndarray, seed: int, step: int) -> np.ndarray:
    """Crop-and-flip a channels-last batch (N, H, W, C); a new array, the input is untouched.

    Sample ``b`` becomes ``padded[b, dy + i, dx + j]`` (``dx + W - 1 - j`` when flipped), the
    crop taken first and flipped second, as torchvision's RandomCrop then RandomHorizontalFlip.
    """
    if x_batch.ndim != 4:
        raise ValueError(f"augment expects (N, H, W, C) images, got shape {x_batch.shape}")
    n, h, w, _ = x_batch.shape
    dy, dx, flip = draws(n, seed, step)
    padded = np.pad(x_batch, ((0, 0), (PAD, PAD), (PAD, PAD), (0, 0)))
    rows = dy[:, None] + np.arange(h)
    cols = dx[:, None] + np.where(flip[:, None], np.arange(w)[::-1], np.arange(w))
    return padded[np.arange(n)[:, None, None], rows[:, :, None], cols[:, None, :]]


def augment_round(
    x_round: np.ndarray, start: int, seed: int, sample_shape: tuple[int, ...] | list[int]
) -> np.ndarray:
    """Augment a round of batches (steps, B, *input_shape): batch k is step ``start + k``.

    ``sample_shape`` is the images' (H, W, C); a model whose input is shaped otherwise (flat)
    gets its batches reshaped to images, augmented, and reshaped back.
    """
    steps, batch = x_round.shape[:2]
    images = x_round.reshape((steps, batch, *sample_shape))
    out = np.stack([augment(images[k], seed, start + k) for k in range(steps)])
    return out.reshape(x_round.shape)
