"""Synthetic token data for throughput cells of the sequence models, labelled synthetic.

As :mod:`bench.data.synthetic` for images: a small *pool* of random sequences (token ids uniform
over the vocabulary, drawn from the seed) cycled by a larger logical training set, so memory
stays small (a worker is sent the whole array) while the kernels' cost — which does not depend on
the token values — is real. Accuracy and loss on such data mean nothing: no accuracy target.

* ``synthetic-tokens-bert``: BERT-base's vocabulary (30,522), 128 tokens, 2 random classes.
* ``synthetic-tokens-gpt2``: GPT-2's vocabulary (50,257), 1,024 tokens, a language-model task
  (x = tokens[:, :-1], y = tokens[:, 1:] of 1,025 sampled). A model declared with a shorter
  sequence (GPT-2-small's cell uses :data:`CPU_LENGTH` = 512 on every device) gets the first T
  tokens of each sequence: :func:`fit_length`, which keeps y the next token of x at every
  position.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

import numpy as np

#: Sequence length of the GPT-2-sized cell (half of GPT-2's 1,024 context), on a GPU too: chosen
#: for the CPU, where attention's T² cost and the activations of 12 layers at 1,024 make even a
#: few steps take minutes on 2 cores.
CPU_LENGTH = 512


@dataclass(frozen=True)
class TokenShape:
    vocab_size: int
    length: int
    task: str  # "classify" | "lm"
    num_classes: int  # classes, or the vocabulary for "lm"
    train_samples: int  # the logical training set
    pool: int  # distinct training sequences held in memory
    test_pool: int


SHAPES = {
    "synthetic-tokens-bert": TokenShape(30_522, 128, "classify", 2, 50_000, 256, 256),
    "synthetic-tokens-gpt2": TokenShape(50_257, 1024, "lm", 50_257, 50_000, 64, 64),
}


def generate(
    name: str, seed: int, length: int | None = None
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """(x_pool, y_pool, x_test, y_test) of ``name`` from ``seed``; x int32 (N, T); y int64 (N,)
    classes, or int32 (N, T) next tokens for a language-model shape. ``length``: T other than
    the shape's (a sweep's length axis)."""
    s = SHAPES[name] if length is None else replace(SHAPES[name], length=length)
    rng = np.random.default_rng([seed, zlib.crc32(name.encode())])
    n = s.pool + s.test_pool
    if s.task == "lm":
        tokens = rng.integers(0, s.vocab_size, size=(n, s.length + 1)).astype(np.int32)
        x, y = tokens[:, :-1], tokens[:, 1:]
    else:
        x = rng.integers(0, s.vocab_size, size=(n, s.length)).astype(np.int32)
        y = rng.integers(0, s.num_classes, size=n).astype(np.int64)
    x, y = np.ascontiguousarray(x), np.ascontiguousarray(y)
    return x[: s.pool], y[: s.pool], x[s.pool :], y[s.pool :]


def fit_length(
    x: np.ndarray, y: np.ndarray, length: int, task: str
) -> tuple[np.ndarray, np.ndarray]:
    """The first ``length`` tokens of each sequence (and, for "lm", of its next-token labels);
    the arrays as they are when they already have that length."""
    if x.ndim != 2 or x.shape[1] == length:
        return x, y
    if x.shape[1] < length:
        raise ValueError(f"sequences of {x.shape[1]} tokens cannot feed a model of {length}")
    x = np.ascontiguousarray(x[:, :length])
    return x, (np.ascontiguousarray(y[:, :length]) if task == "lm" else y)
