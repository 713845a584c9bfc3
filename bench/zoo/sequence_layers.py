"""The sequence layer kinds (embeddings, LayerNorm, attention, GELU, dropout, pooling, the tied
head, LSTM): one frozen dataclass per kind, each describing its own weights, initial draws and
FLOPs.

Re-exported by :mod:`bench.zoo.layers`, the one vocabulary a layer table is read in; defined here
so that the convolutional and the sequence families each fit in a module of one screenful's
concern.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

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
    framework draws its own masks from its own RNG, seeded from the run (bench/zoo/dropout.py):
    parity tests run at rate 0, or with the shared NumPy masks of that module's parity mode.
    ``name`` is the site's name there (the key of its masks and seeds)."""

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
