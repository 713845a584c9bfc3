"""FLOPs per sample counted from the layer table, so achieved FLOP/s can be set against a peak.

Conventions (per sample, forward):

* dense and conv: 2 FLOPs per multiply-add, plus one per output for a bias add (convs before
  BatchNorm have none). These are the FLOPs ``torch.utils.flop_counter`` counts for convolutions
  and matmuls (it leaves bias adds out: :func:`matmul_flops` is that part, checked in a test).
* GRU: its matmuls as above plus the gate arithmetic (bias adds, reset product, blend).
* LSTM: its matmuls, the bias add, the sum of the projections and the cell/output updates
  (:meth:`bench.zoo.layers.LSTM.flops`).
* BatchNorm: 2 per element (scale and shift with the folded per-channel factors; the batch
  statistics of training mode are left out). torch's counter counts nothing for it.
* max pooling: one comparison per window element per output; global average pooling: one add per
  input element plus one divide per channel; residual add: one per element. torch's counter
  counts none of these: they are ours to state.
* left out: activations (ReLU), option-A shortcuts (a copy), the loss — a few percent at most.

Training is counted as 3x forward (forward, plus backward for activations and weights), the
convention of Kaplan et al. and nanoGPT's MFU.
"""

from __future__ import annotations

import math

from bench.catalog.architectures import (
    GRU,
    Add,
    BatchNorm,
    Conv,
    Dense,
    GlobalAvgPool,
    Layer,
    MaxPool,
    layers,
)
from bench.zoo.specs import ModelSpec

TRAIN_MULTIPLIER = 3


def _matmul(layer: Layer) -> int:
    if hasattr(layer, "matmul_flops"):  # self-describing kinds (sequence layers)
        return int(layer.matmul_flops())
    if isinstance(layer, Dense):
        return 2 * layer.in_features * layer.out_features
    if isinstance(layer, Conv):
        per_position = 2 * math.prod(layer.kernel) * layer.in_channels * layer.out_channels
        return math.prod(layer.out_spatial) * per_position
    return 0


def layer_flops(layer: Layer) -> int:
    """Forward FLOPs of one layer for one sample (see the module's conventions)."""
    if hasattr(layer, "flops"):  # self-describing kinds (sequence layers)
        return int(layer.flops())
    if isinstance(layer, Dense):
        return _matmul(layer) + (layer.out_features if layer.bias else 0)
    if isinstance(layer, Conv):
        bias = math.prod(layer.out_spatial) * layer.out_channels if layer.bias else 0
        return _matmul(layer) + bias
    if isinstance(layer, GRU):
        h = layer.hidden
        matmuls = 2 * 3 * h * (layer.input_size + h)
        gates = 3 * 2 * h + 3 * h + 4 * h  # bias adds, reset product, blend
        directions = 2 if layer.bidirectional else 1
        return directions * layer.steps * (matmuls + gates)
    if isinstance(layer, BatchNorm):
        return 2 * math.prod(layer.spatial) * layer.channels
    if isinstance(layer, MaxPool):
        return math.prod(layer.out_spatial) * layer.channels * layer.kernel ** len(layer.in_spatial)
    if isinstance(layer, GlobalAvgPool):
        return math.prod(layer.in_spatial) * layer.channels + layer.channels
    if isinstance(layer, Add):
        return math.prod(layer.spatial) * layer.channels
    return 0


def forward_flops(spec: ModelSpec) -> int:
    return sum(layer_flops(layer) for layer in layers(spec))


def matmul_flops(spec: ModelSpec) -> int:
    """The conv and dense multiply-adds alone (2 FLOPs each): what torch's counter counts."""
    return sum(_matmul(layer) for layer in layers(spec))


def train_flops(spec: ModelSpec) -> int:
    return TRAIN_MULTIPLIER * forward_flops(spec)


# -- sequence models: FLOPs per token (issue 10) -----------------------------------------------
def non_embedding_params(spec: ModelSpec) -> int:
    """Trainable parameters without the embedding tables (token and position ``.embeddings``):
    Kaplan et al.'s N. A table lookup costs no multiply-adds, so counting its rows would inflate
    the compute estimate of a large-vocabulary model several-fold at small widths."""
    from bench.catalog.architectures import trainable_names, weight_shapes

    shapes = weight_shapes(spec)
    return sum(math.prod(shapes[n]) for n in trainable_names(spec) if not n.endswith(".embeddings"))


def attention_context_flops(spec: ModelSpec) -> int:
    """Σ over attention layers of 12·d·T: the training FLOPs per token of QK^T and the weighted
    sum of V (2·T·d each forward, x3 for training), over every (query, key) pair: the causal
    mask's zeros are counted as the math kernels compute them."""
    from bench.zoo.layers import MultiHeadAttention

    return sum(12 * la.dim * la.steps for la in layers(spec) if isinstance(la, MultiHeadAttention))


def train_flops_per_token(spec: ModelSpec) -> int:
    """6N + 12·L·d·T (Kaplan et al. 2020; PaLM's appendix B): training FLOPs per token of a
    Transformer, N the parameters *without the embedding tables* (:func:`non_embedding_params`),
    L layers of width d over T positions. Left out by the rule, as by its authors: a tied LM
    head's 6·d·V (GPT-2 small: 6·768·50,257 ≈ 0.23 GFLOP per token, a quarter of 6N), the
    softmax, LayerNorm and GELU arithmetic."""
    return TRAIN_MULTIPLIER * 2 * non_embedding_params(spec) + attention_context_flops(spec)
