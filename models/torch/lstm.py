"""LSTM models in torch: the (bi)LSTM classifier (nn.LSTM, final states h_n or the mean of every
step → Linear) and the language model (nn.Embedding → nn.LSTM → Linear at every position).

Canonical LSTM weights (bench.zoo.layers.LSTM) have ONE bias; nn.LSTM has two, ``bias_ih`` and
``bias_hh``, added together. Each of them receives the full gradient of the sum, so plain SGD
would move their sum twice as far per step as the canonical (and Keras's) single bias. So
``bias_ih`` holds the canonical bias and ``bias_hh`` is kept at zero and frozen
(``requires_grad=False``: no gradient, never given to the optimizer). ``bias=False`` would lose
the fused bias add of the library's kernel; a frozen zero costs one add of zeros. Gate order is
the same (i, f, g, o); weights transpose: kernel (in, 4H) → ``weight_ih`` (4H, in).
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from bench.catalog.architectures import LSTM as LSTMLayer
from bench.catalog.architectures import Dense, GlobalAvgPool, layers
from bench.zoo.layers import Embedding, TokenDense
from bench.zoo.specs import ModelSpec
from models.torch import layout


def bindings(layer: LSTMLayer, module: nn.LSTM) -> list[layout.Binding]:
    """Canonical ``<prefix>.kernel/recurrent_kernel/bias`` ↔ one nn.LSTM's per-direction weights
    (``bias_hh`` is unbound: :func:`make_lstm` froze it at zero)."""
    out: list[layout.Binding] = []
    for prefix, sfx in zip(layer.directions, ("_l0", "_l0_reverse"), strict=False):

        def get(attr: str, sfx: str = sfx) -> nn.Parameter:
            param: nn.Parameter = getattr(module, attr + sfx)
            return param

        out += [
            layout.Binding(f"{prefix}.kernel", (get("weight_ih"),), transpose, transpose_back),
            layout.Binding(
                f"{prefix}.recurrent_kernel", (get("weight_hh"),), transpose, transpose_back
            ),
            layout.Binding(f"{prefix}.bias", (get("bias_ih"),), layout.same, layout.first),
        ]
    return out


def transpose(k: np.ndarray) -> tuple[np.ndarray, ...]:
    return (k.T,)


def transpose_back(t: tuple[np.ndarray, ...] | list[np.ndarray]) -> np.ndarray:
    return t[0].T


def make_lstm(layer: LSTMLayer) -> nn.LSTM:
    """nn.LSTM for ``layer``, each ``bias_hh`` zero and frozen (canonical LSTMs have one bias)."""
    module = nn.LSTM(
        layer.input_size, layer.hidden, batch_first=True, bidirectional=layer.bidirectional
    )
    for name, param in module.named_parameters():
        if name.startswith("bias_hh"):
            with torch.no_grad():
                param.zero_()
            param.requires_grad_(False)
    return module


def final_states(h_n: torch.Tensor) -> torch.Tensor:
    """h_n (directions, N, H) → (N, directions x H) as [forward, backward]."""
    return h_n.permute(1, 0, 2).reshape(h_n.shape[1], -1)


class LSTMClassifier(layout.CanonicalModule):
    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        table = layers(spec)
        rnn, head = table[0], table[-1]
        assert isinstance(rnn, LSTMLayer) and isinstance(head, Dense)
        self.layer = rnn
        self.mean = any(isinstance(layer, GlobalAvgPool) for layer in table)
        self.lstm = make_lstm(rnn)
        self.linear = nn.Linear(head.in_features, head.out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, (h_n, _) = self.lstm(x)  # out (N, T, dirs x H)
        features = out.mean(dim=1) if self.mean else final_states(h_n)
        return self.linear(features)

    def bindings(self) -> list[layout.Binding]:
        return bindings(self.layer, self.lstm) + layout.dense("linear", self.linear)


class LSTMLanguageModel(layout.CanonicalModule):
    """Token ids (N, T) → logits (N, T, vocab)."""

    def __init__(self, spec: ModelSpec) -> None:
        super().__init__()
        embedding, rnn, head = layers(spec)
        assert isinstance(embedding, Embedding) and isinstance(rnn, LSTMLayer)
        assert isinstance(head, TokenDense)
        self.layer = rnn
        self.embedding = nn.Embedding(embedding.vocab, embedding.dim)
        self.lstm = make_lstm(rnn)
        self.linear = nn.Linear(head.in_features, head.out_features)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        out, _ = self.lstm(self.embedding(x))
        return self.linear(out)

    def bindings(self) -> list[layout.Binding]:
        table = layout.Binding(
            "embedding.embeddings", (self.embedding.weight,), layout.same, layout.first
        )
        return [table, *bindings(self.layer, self.lstm), *layout.dense("linear", self.linear)]


def build(spec: ModelSpec, weights: dict[str, np.ndarray]) -> LSTMClassifier | LSTMLanguageModel:
    lm = spec.params.get("task") == "lm"
    model = LSTMLanguageModel(spec) if lm else LSTMClassifier(spec)
    layout.load(model.bindings(), weights)
    return model
