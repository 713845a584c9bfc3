"""Pre-LN Transformer encoder classifier: tokens (or patches) → blocks → mean pool → linear."""

from __future__ import annotations

from dataclasses import replace

from bench.zoo.base import Architecture, Variant
from bench.zoo.layers import (
    INPUT,
    Dense,
    Dropout,
    Embedding,
    Layer,
    LayerNorm,
    PositionalEmbedding,
    SequenceMeanPool,
    TokenDense,
)
from bench.zoo.recipes import sequence
from bench.zoo.specs import ModelSpec
from bench.zoo.transformer_family import Config, blocks


def layers(spec: ModelSpec) -> list[Layer]:
    """Token ids (N, T) through an embedding when the spec has a ``vocab_size``; otherwise
    features (N, T, F) — MNIST-1D as T patches of F samples — through a linear patch projection.
    ``padding``: token id 0 is padding, masked out of attention's keys and of the mean pool."""
    c = Config.of(spec)
    padding = bool(spec.params.get("padding", False))
    if "vocab_size" in spec.params:
        first: Layer = Embedding("embedding", int(spec.params["vocab_size"]), c.dim, c.steps)
    else:
        first = TokenDense("patch", int(spec.input_shape[-1]), c.dim, c.steps)
    table: list[Layer] = [
        first,
        PositionalEmbedding("position", c.steps, c.dim),
        Dropout("embedding_dropout", c.dropout),
    ]
    last = blocks(table, "embedding_dropout", c, causal=False, padding=padding)
    table += [
        LayerNorm("final_ln", c.dim, c.steps, inputs=(last,)),
        SequenceMeanPool(
            "pool", c.dim, c.steps, padding, inputs=("final_ln", INPUT) if padding else ()
        ),
        Dense("head", c.dim, spec.num_classes),
    ]
    return table


#: MNIST-1D as 10 patches of 4 samples: 2 blocks, d 64, 4 heads, MLP 128, dropout 0.1.
MNIST1D = {"layers": 2, "dim": 64, "heads": 4, "mlp": 128, "dropout": 0.1}
#: BERT-base-sized (Devlin et al. 2019): 12 layers, d 768, 12 heads, MLP 3,072, 128 tokens,
#: BERT's vocabulary; token id 0 ([PAD] in BERT's vocabulary) masked.
BERT_BASE = {
    "vocab_size": 30_522, "layers": 12, "dim": 768, "heads": 12, "mlp": 3072, "dropout": 0.1,
    "padding": True,
}  # fmt: skip
GPU_RECIPE = replace(sequence(100, 32, 1e-4, 10), eval_every=100)
CPU_RECIPE = replace(sequence(6, 4, 1e-4, 5), eval_every=6, warmup_steps=2)

ARCHITECTURE = Architecture(
    name="transformer",
    description="pre-LN Transformer encoder classifier: token embedding (or linear patch "
    "projection), learned positions, attention + GELU MLP blocks, mean pooling, linear head",
    layers=layers,
    variants={
        "mnist1d": Variant(
            (10, 4),
            MNIST1D,
            suites=("standard",),
            recipe=replace(sequence(6000, 100, 1e-3, 300), eval_every=250),
            seed_spread={"standard": 0.005},
        ),
        "synthetic-tokens-bert": Variant(
            (128,), BERT_BASE, suites=("large",), recipe=GPU_RECIPE, cpu_recipe=CPU_RECIPE
        ),
    },
    tiny=ModelSpec(
        "transformer",
        (8,),
        3,
        {"vocab_size": 13, "layers": 2, "dim": 16, "heads": 2, "padding": True},
    ),
    init="normal",
    order=50,
)
