"""LSTM models: a (bi)LSTM classifier, and an LSTM language model (``params["task"] == "lm"``).

Classifier: on MNIST-1D the input is the 40-step sequence of one feature, and the LSTM's
``kernel`` is the input projection (no embedding). ``pooling``: "last" feeds the final states
[forward after the last step, backward after the first] to the head; "mean" averages every
step's output.

Language model (markov-text): token embedding → unidirectional LSTM (every step's output) →
a linear layer to the vocabulary at every position (``TokenDense``); logits (N, T, vocab).
Initial weights are torch's defaults written out: the embedding ~ N(0, 1) (nn.Embedding), the
LSTM ~ U(±1/sqrt(H)) (nn.LSTM), the head's kernel ~ N(0, 1/(3H)) (the variance of nn.Linear's
U(±1/sqrt(H))) with a zero bias.
"""

from __future__ import annotations

import math

from bench.zoo.base import Architecture, Variant
from bench.zoo.layers import LSTM, Dense, Embedding, GlobalAvgPool, Layer, TokenDense
from bench.zoo.specs import ModelSpec, Recipe

POOLINGS = ("last", "mean")


def layers(spec: ModelSpec) -> list[Layer]:
    if spec.params.get("task") == "lm":
        return language_model(spec)
    hidden = int(spec.params.get("hidden", 32))
    bidirectional = bool(spec.params.get("bidirectional", True))
    pooling = spec.params.get("pooling", "last")
    if pooling not in POOLINGS:
        raise ValueError(f"lstm pooling {pooling!r}; choose from {POOLINGS}")
    steps, features = spec.input_shape
    width = hidden * (2 if bidirectional else 1)
    table: list[Layer] = [
        LSTM("lstm", features, hidden, steps, bidirectional, return_sequences=pooling == "mean")
    ]
    if pooling == "mean":
        table.append(GlobalAvgPool("pool", width, (steps,)))
    return [*table, Dense("linear", width, spec.num_classes)]


def language_model(spec: ModelSpec) -> list[Layer]:
    (steps,) = spec.input_shape
    vocab, dim = int(spec.params["vocab_size"]), int(spec.params.get("embedding", 32))
    hidden = int(spec.params.get("hidden", 128))
    return [
        Embedding("embedding", vocab, dim, steps, std=1.0),
        LSTM("lstm", dim, hidden, steps, bidirectional=False, return_sequences=True),
        TokenDense("linear", hidden, vocab, steps, std=1.0 / math.sqrt(3 * hidden)),
    ]


MNIST1D = {"hidden": 32, "bidirectional": True, "pooling": "last"}

#: The Markov-text LM: embedding 32, hidden 128 (the order-2 source's 1,024 contexts x 32 next
#: tokens need the width: hidden 64 stalled near 77 % of the unigram-to-floor gap in torch).
MARKOV = {"task": "lm", "vocab_size": 32, "embedding": 32, "hidden": 128}
#: Adam 1e-2 with cosine decay to 0 over 2,000 steps of 64 sequences (8 epochs' worth of the 20,000
#: training sequences is not needed: 6.4). In torch (seed 0) this closed 90.6 % of the gap;
#: a constant 1e-2 plateaued at 88 %.
MARKOV_RECIPE = Recipe(
    optimizer="adam", lr=1e-2, batch_size=64, steps=2000, schedule="cosine", eval_every=250
)

ARCHITECTURE = Architecture(
    name="lstm",
    description="LSTM: on MNIST-1D a bidirectional LSTM, hidden 32, final states into a linear "
    "layer; on markov-text an embedding + LSTM (hidden 128) language model",
    layers=layers,
    variants={
        # 0.90: reached by about step 1,500 of 6,000 in torch (seed 0); the paper has no LSTM
        # (its GRU: 0.91), so no paper figure.
        "mnist1d": Variant(
            (40, 1),
            MNIST1D,
            suites=("standard",),
            accuracy_target=0.90,
            seed_spread={"standard": 0.004},
        ),
        "markov-text": Variant((64,), MARKOV, suites=("standard",), recipe=MARKOV_RECIPE),
    },
    # The LM's layer kinds include the classifier's (LSTM, and a dense head); the classifier
    # layouts are tested at tiny size in tests/models/test_lstm.py.
    tiny=ModelSpec("lstm", (6,), 7, {"task": "lm", "vocab_size": 7, "embedding": 4, "hidden": 5}),
    order=45,
)
