"""The layer kinds a model's table is made of: one frozen dataclass per kind.

A model's *layer table* (:func:`bench.catalog.architectures.layers`) is a list of these nodes in
forward order. It is the single framework-neutral statement of an architecture: the canonical weight
names and shapes (:func:`bench.catalog.architectures.weight_shapes`), the initial weights
(:mod:`bench.catalog.weights`), the FLOP count (:mod:`bench.catalog.flops`) and the float64 NumPy
reference of the tests (tests/models/reference.py) are all read from it; each framework's model file
builds the same layers under the same names.

This module is the vocabulary: the dense, convolutional, recurrent (GRU) and shortcut kinds are
defined here, the sequence kinds (embeddings, LayerNorm, attention, LSTM, …) in
:mod:`bench.zoo.sequence_layers` and re-exported here, so every table is read in one namespace.

Data flow: a node reads the output of the node before it, unless ``inputs`` names other nodes
(``"input"`` is the model's input); :class:`Add` names its two operands. Every tensor is
channels-last, as in the canonical layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

from bench.zoo.sequence_layers import (
    GELU,
    INIT_STD,
    LN_EPSILON,
    LSTM,
    PAD_ID,
    SEQUENCE_KINDS,
    Dropout,
    Embedding,
    LayerNorm,
    MultiHeadAttention,
    PositionalEmbedding,
    SequenceMeanPool,
    TiedHead,
    TokenDense,
)

#: The name a node uses in ``inputs`` to read the model's input.
INPUT = "input"


@dataclass(frozen=True)
class Dense:
    """``x @ kernel + bias`` on the flattened (channels-last) input."""

    name: str
    in_features: int
    out_features: int
    #: For a dense layer after a conv stack: the (spatial..., channels) shape it flattens.
    flattened_from: tuple[int, ...] | None = None
    bias: bool = True
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Conv:
    """Convolution with symmetric zero padding (torch's arithmetic; TF/Keras pad explicitly)."""

    name: str
    kernel: tuple[int, ...]  # (k,) or (kh, kw)
    in_channels: int
    out_channels: int
    stride: int
    padding: int
    in_spatial: tuple[int, ...]
    out_spatial: tuple[int, ...]
    #: Convs followed by BatchNorm have none (BN's beta is the shift; a bias would be dead).
    bias: bool = True
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class GRU:
    """One-layer (bi)directional GRU; output (N, steps, hidden x directions)."""

    name: str
    input_size: int
    hidden: int
    steps: int
    bidirectional: bool
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class BatchNorm:
    """Batch normalisation over every axis but the channels.

    Trainable ``gamma``/``beta``; state ``moving_mean``/``moving_variance`` (canonical state:
    loaded, exported and compared like weights, never given to an optimizer). Training mode
    normalises with the batch mean and biased variance and updates the state as
    ``moving = (1 - MOMENTUM) * moving + MOMENTUM * batch`` with the *unbiased* batch variance
    (torch, TF fused batch norm; Keras gets a subclass that does the same).
    """

    name: str
    channels: int
    spatial: tuple[int, ...]
    inputs: tuple[str, ...] = ()


#: torch's BatchNorm momentum (the weight of the new batch); Keras's momentum is 1 - this.
BN_MOMENTUM = 0.1
#: BatchNorm epsilon, set explicitly everywhere (torch's default; Keras's default is 1e-3).
BN_EPSILON = 1e-5


@dataclass(frozen=True)
class ReLU:
    name: str
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class MaxPool:
    """Max pooling with symmetric padding by -inf (torch's), stride ``stride``."""

    name: str
    kernel: int
    stride: int
    padding: int
    channels: int
    in_spatial: tuple[int, ...]
    out_spatial: tuple[int, ...]
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class GlobalAvgPool:
    """Mean over every spatial position: (N, *spatial, C) → (N, C)."""

    name: str
    channels: int
    in_spatial: tuple[int, ...]
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Add:
    """Elementwise sum of the two nodes named in ``inputs`` (a residual connection)."""

    name: str
    inputs: tuple[str, ...]
    channels: int
    spatial: tuple[int, ...]


@dataclass(frozen=True)
class ShortcutA:
    """He et al.'s option A shortcut: subsample by ``stride`` (``x[:, ::s, ::s]``), then pad the
    channels with zeros, ``(out - in) // 2`` before and the rest after (the common CIFAR
    ResNet code's layout). No weights."""

    name: str
    in_channels: int
    out_channels: int
    stride: int
    in_spatial: tuple[int, ...]
    out_spatial: tuple[int, ...]
    inputs: tuple[str, ...] = ()

    @property
    def pad(self) -> tuple[int, int]:
        extra = self.out_channels - self.in_channels
        return extra // 2, extra - extra // 2


Layer = Dense | Conv | GRU | BatchNorm | ReLU | MaxPool | GlobalAvgPool | Add | ShortcutA | LSTM

#: Layer kinds that hold canonical weights or state.
WEIGHTED = (Dense, Conv, GRU, BatchNorm, LSTM)
#: Canonical weight suffixes that are state, not trainable.
STATE_SUFFIXES = (".moving_mean", ".moving_variance")


def is_state(name: str) -> bool:
    """True for canonical state (BatchNorm running statistics), False for trainable weights."""
    return name.endswith(STATE_SUFFIXES)


def conv_output_size(size: int, kernel: int, stride: int, padding: int) -> int:
    """torch's formula (floor), which explicit symmetric padding + 'valid' reproduces in TF."""
    return (size + 2 * padding - kernel) // stride + 1


def conv(
    name: str, kernel: int, c_in: int, c_out: int, stride: int, padding: int,
    spatial: tuple[int, ...], bias: bool = True, inputs: tuple[str, ...] = (),
) -> Conv:  # fmt: skip
    """A square conv node with its output size worked out."""
    out = tuple(conv_output_size(n, kernel, stride, padding) for n in spatial)
    return Conv(name, (kernel,) * len(spatial), c_in, c_out, stride, padding, spatial, out, bias,
                inputs)  # fmt: skip


def elements(spatial: tuple[int, ...], channels: int) -> int:
    return math.prod(spatial) * channels


#: Every kind, the sequence ones included: ``from bench.zoo.layers import …`` finds them all.
__all__ = [
    "BN_EPSILON",
    "BN_MOMENTUM",
    "GELU",
    "GRU",
    "INIT_STD",
    "INPUT",
    "LN_EPSILON",
    "LSTM",
    "PAD_ID",
    "SEQUENCE_KINDS",
    "STATE_SUFFIXES",
    "WEIGHTED",
    "Add",
    "BatchNorm",
    "Conv",
    "Dense",
    "Dropout",
    "Embedding",
    "GlobalAvgPool",
    "Layer",
    "LayerNorm",
    "MaxPool",
    "MultiHeadAttention",
    "PositionalEmbedding",
    "ReLU",
    "SequenceMeanPool",
    "ShortcutA",
    "TiedHead",
    "TokenDense",
    "conv",
    "conv_output_size",
    "elements",
    "is_state"
]  # fmt: skip
