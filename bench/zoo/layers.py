"""The layer kinds a model's table is made of: one frozen dataclass per kind.

A model's *layer table* (:func:`bench.catalog.architectures.layers`) is a list of these nodes in
forward order. It is the single framework-neutral statement of an architecture: the canonical weight
names and shapes (:func:`bench.catalog.architectures.weight_shapes`), the initial weights
(:mod:`bench.catalog.weights`), the FLOP count (:mod:`bench.catalog.flops`) and the float64 NumPy
reference of the tests (tests/models/reference.py) are all read from it; each framework's model file
builds the same layers under the same names.

One concern, though past 400 lines: the vocabulary of layer kinds (each kind its weights' names,
shapes and initial draws), kept in one module so that every kind is read the same way.

Data flow: a node reads the output of the node before it, unless ``inputs`` names other nodes
(``"input"`` is the model's input); :class:`Add` names its two operands. Every tensor is
channels-last, as in the canonical layout.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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


Layer = Dense | Conv | GRU | BatchNorm | ReLU | MaxPool | GlobalAvgPool | Add | ShortcutA

#: Layer kinds that hold canonical weights or state.
WEIGHTED = (Dense, Conv, GRU, BatchNorm)
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


# -- sequence layer kinds (issue 10) ---------------------------------------------------------------
# Tensors are (N, T, d) channels-last; token ids are int (N, T). Unlike the kinds above, these
# describe themselves: ``weight_shapes()`` (canonical name → shape, in draw order), ``draws()``
# (name → (distribution, scale), the initialisation written out with the layer, see
# docs/sequence-models.md), ``flops()`` (forward FLOPs per sample) and ``matmul_flops()`` (the part
# torch.utils.flop_counter counts). bench.catalog.architectures, bench.catalog.weights and
# bench.catalog.flops ask for these methods, so a new sequence kind needs no edit there.

#: LayerNorm epsilon, set explicitly everywhere (torch's default; Keras's default is 1e-3).
LN_EPSILON = 1e-5
#: GPT-2 / BERT initialisation: every kernel and embedding table ~ N(0, 0.02), biases 0.
INIT_STD = 0.02
#: The token id that padding positions hold (BERT's [PAD] is id 0) when a model masks padding.
PAD_ID = 0


@dataclass(frozen=True)
class Embedding:
    """Token ids (N, T) → rows of ``<name>.embeddings`` (vocab, dim): (N, T, dim)."""

    name: str
    vocab: int
    dim: int
    steps: int
    std: float = INIT_STD
    inputs: tuple[str, ...] = ()

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        return {f"{self.name}.embeddings": (self.vocab, self.dim)}

    def draws(self) -> dict[str, tuple[str, float]]:
        return {f"{self.name}.embeddings": ("normal", self.std)}

    def flops(self) -> int:
        return 0  # a gather

    def matmul_flops(self) -> int:
        return 0


@dataclass(frozen=True)
class PositionalEmbedding:
    """Learned positions: x (N, T, dim) + ``<name>.embeddings``[:T]. The table has ``positions``
    rows (default ``steps``; GPT-2 keeps 1,024 even where it runs shorter sequences)."""

    name: str
    steps: int
    dim: int
    std: float = INIT_STD
    positions: int | None = None
    inputs: tuple[str, ...] = ()

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        return {f"{self.name}.embeddings": (self.positions or self.steps, self.dim)}

    def draws(self) -> dict[str, tuple[str, float]]:
        return {f"{self.name}.embeddings": ("normal", self.std)}

    def flops(self) -> int:
        return self.steps * self.dim

    def matmul_flops(self) -> int:
        return 0


@dataclass(frozen=True)
class TokenDense:
    """``x @ kernel + bias`` at every position: (N, T, in) → (N, T, out). Kernel (in, out)."""

    name: str
    in_features: int
    out_features: int
    steps: int
    bias: bool = True
    std: float = INIT_STD
    inputs: tuple[str, ...] = ()

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes = {f"{self.name}.kernel": (self.in_features, self.out_features)}
        if self.bias:
            shapes[f"{self.name}.bias"] = (self.out_features,)
        return shapes

    def draws(self) -> dict[str, tuple[str, float]]:
        return {f"{self.name}.kernel": ("normal", self.std), f"{self.name}.bias": ("constant", 0.0)}

    def flops(self) -> int:
        return self.matmul_flops() + (self.steps * self.out_features if self.bias else 0)

    def matmul_flops(self) -> int:
        return 2 * self.steps * self.in_features * self.out_features


@dataclass(frozen=True)
class LayerNorm:
    """Normalise each position over its ``dim`` features (biased variance, eps
    :data:`LN_EPSILON`), then ``gamma * xhat + beta``. gamma starts at 1, beta at 0."""

    name: str
    dim: int
    steps: int
    inputs: tuple[str, ...] = ()

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        return {f"{self.name}.gamma": (self.dim,), f"{self.name}.beta": (self.dim,)}

    def draws(self) -> dict[str, tuple[str, float]]:
        return {f"{self.name}.gamma": ("constant", 1.0), f"{self.name}.beta": ("constant", 0.0)}

    def flops(self) -> int:
        # mean (1), centre (1), square and sum (2), normalise (1), scale and shift (2)
        return 7 * self.steps * self.dim

    def matmul_flops(self) -> int:
        return 0


@dataclass(frozen=True)
class GELU:
    """Exact GELU, x·Φ(x) with the erf form (torch's default; Keras/TF set approximate=False)."""

    name: str
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class Dropout:
    """Inverted dropout at ``rate`` in training, identity in inference (and at rate 0). Each
    framework draws its own masks from its own RNG: parity tests run at rate 0."""

    name: str
    rate: float
    inputs: tuple[str, ...] = ()


@dataclass(frozen=True)
class MultiHeadAttention:
    """Multi-head scaled dot-product self-attention over (N, T, dim).

    Canonical weights (the layout every framework converts from, docs/sequence-models.md):
    ``<name>.query|key|value|output.kernel`` (dim, dim) and ``.bias`` (dim,); head h owns
    columns h·head_dim:(h+1)·head_dim of the query/key/value kernels and the same rows of the
    output kernel. ``causal``: position t attends to positions ≤ t. ``padding``: keys whose
    token id (the model's input, the second entry of ``inputs``) is :data:`PAD_ID` get no
    weight. ``dropout``: on the attention probabilities, training only. ``output_std``: the
    output kernel's init (GPT-2 scales residual projections by 1/sqrt(2·layers)).
    """

    name: str
    dim: int
    heads: int
    steps: int
    causal: bool = False
    padding: bool = False
    dropout: float = 0.0
    std: float = INIT_STD
    output_std: float = INIT_STD
    inputs: tuple[str, ...] = ()

    PROJECTIONS = ("query", "key", "value", "output")

    @property
    def head_dim(self) -> int:
        return self.dim // self.heads

    def __post_init__(self) -> None:
        if self.dim % self.heads:
            raise ValueError(f"{self.name}: dim {self.dim} is not a multiple of {self.heads} heads")

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        shapes: dict[str, tuple[int, ...]] = {}
        for p in self.PROJECTIONS:
            shapes[f"{self.name}.{p}.kernel"] = (self.dim, self.dim)
            shapes[f"{self.name}.{p}.bias"] = (self.dim,)
        return shapes

    def draws(self) -> dict[str, tuple[str, float]]:
        out: dict[str, tuple[str, float]] = {}
        for p in self.PROJECTIONS:
            std = self.output_std if p == "output" else self.std
            out[f"{self.name}.{p}.kernel"] = ("normal", std)
            out[f"{self.name}.{p}.bias"] = ("constant", 0.0)
        return out

    def matmul_flops(self) -> int:
        """Four projections plus QK^T and the weighted sum of V over every (query, key) pair,
        as torch's counter counts them (the causal mask does not halve the math backend's
        matmuls)."""
        t, d = self.steps, self.dim
        return 4 * 2 * t * d * d + 2 * 2 * t * t * d

    def flops(self) -> int:
        t, d = self.steps, self.dim
        biases = 4 * t * d
        softmax = 4 * self.heads * t * t  # scale, max-subtract/exp, sum, divide
        return self.matmul_flops() + biases + softmax


@dataclass(frozen=True)
class SequenceMeanPool:
    """Mean over positions: (N, T, dim) → (N, dim). With ``padding`` the mean is over the
    positions whose token id (second entry of ``inputs``: the model input) is not
    :data:`PAD_ID`."""

    name: str
    dim: int
    steps: int
    padding: bool = False
    inputs: tuple[str, ...] = ()

    def flops(self) -> int:
        return self.steps * self.dim + self.dim

    def matmul_flops(self) -> int:
        return 0


@dataclass(frozen=True)
class TiedHead:
    """Language-model head tied to an :class:`Embedding`: logits = h @ E^T, (N, T, vocab). No
    weights of its own; its gradient adds to ``<embedding>.embeddings``."""

    name: str
    embedding: str
    dim: int
    vocab: int
    steps: int
    inputs: tuple[str, ...] = ()

    def flops(self) -> int:
        return self.matmul_flops()

    def matmul_flops(self) -> int:
        return 2 * self.steps * self.dim * self.vocab


SEQUENCE_KINDS = (
    Embedding, PositionalEmbedding, TokenDense, LayerNorm, GELU, Dropout, MultiHeadAttention,
    SequenceMeanPool, TiedHead,
)  # fmt: skip


# -- LSTM (sequence family) ---------------------------------------------------------------------
@dataclass(frozen=True)
class LSTM:
    """One-layer (bi)directional LSTM over (N, steps, input_size).

    Canonical weights per direction (``<name>.`` unidirectional, ``<name>.forward.`` and
    ``<name>.backward.`` bidirectional): ``kernel`` (in, 4H), ``recurrent_kernel`` (H, 4H) and
    ONE ``bias`` (4H), gates in the order input, forget, cell (g), output — torch's and Keras's
    common order. One bias, not torch's two: each of torch's ``bias_ih``/``bias_hh`` gets the
    full gradient of their sum, so SGD would move the sum twice as far as Keras's single bias.

    ``return_sequences``: True gives every step's output (N, steps, H x directions), [forward,
    backward] per step with the backward outputs at their input positions; False gives the final
    states (N, H x directions): the forward direction's after the last step, the backward
    direction's after the first (torch's ``h_n``, Keras's Bidirectional without sequences).
    """

    name: str
    input_size: int
    hidden: int
    steps: int
    bidirectional: bool
    return_sequences: bool = True
    inputs: tuple[str, ...] = ()

    @property
    def directions(self) -> tuple[str, ...]:
        """The canonical weight prefixes, one per direction."""
        if self.bidirectional:
            return (f"{self.name}.forward", f"{self.name}.backward")
        return (self.name,)

    def weight_shapes(self) -> dict[str, tuple[int, ...]]:
        h4 = 4 * self.hidden
        shapes: dict[str, tuple[int, ...]] = {}
        for p in self.directions:
            shapes[f"{p}.kernel"] = (self.input_size, h4)
            shapes[f"{p}.recurrent_kernel"] = (self.hidden, h4)
            shapes[f"{p}.bias"] = (h4,)
        return shapes

    def draws(self) -> dict[str, tuple[str, float]]:
        """torch's nn.LSTM default for every tensor: U(-1/sqrt(H), 1/sqrt(H))
        (bench.catalog.weights)."""
        bound = 1.0 / math.sqrt(self.hidden)
        return {name: ("uniform", bound) for name in self.weight_shapes()}

    def matmul_flops(self) -> int:
        """The input and recurrent matmuls alone (2 FLOPs per multiply-add)."""
        per_step = 2 * 4 * self.hidden * (self.input_size + self.hidden)
        return len(self.directions) * self.steps * per_step

    def flops(self) -> int:
        """Forward FLOPs per sample: the two matmuls per step (2 per multiply-add), the bias add
        and the sum of the two projections (4H each), the cell and output updates (4H); the
        activations are left out, as ReLU's are."""
        gates = 3 * 4 * self.hidden  # bias add, sum of projections, cell and output updates
        return self.matmul_flops() + len(self.directions) * self.steps * gates


Layer = Layer | LSTM  # type: ignore[misc]
WEIGHTED = (*WEIGHTED, LSTM)
