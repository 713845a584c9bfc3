"""GPT-style decoder-only causal language model with tied input/output embeddings (GPT-2)."""

from __future__ import annotations

from dataclasses import replace

from bench.zoo.base import Architecture, Variant
from bench.zoo.layers import Dropout, Embedding, Layer, LayerNorm, PositionalEmbedding, TiedHead
from bench.zoo.recipes import sequence
from bench.zoo.specs import ModelSpec
from bench.zoo.transformer_family import Config, blocks, gpt2_residual_std


def layers(spec: ModelSpec) -> list[Layer]:
    c = Config.of(spec)
    vocab = int(spec.params["vocab_size"])
    positions = spec.params.get("positions")
    table: list[Layer] = [
        Embedding("wte", vocab, c.dim, c.steps),
        PositionalEmbedding("wpe", c.steps, c.dim, positions=positions),
        Dropout("embedding_dropout", c.dropout),
    ]
    last = blocks(table, "embedding_dropout", c, causal=True, padding=False,
                  residual_std=gpt2_residual_std(c.layers))  # fmt: skip
    table += [
        LayerNorm("final_ln", c.dim, c.steps, inputs=(last,)),
        TiedHead("head", "wte", c.dim, vocab, c.steps),
    ]
    return table


#: GPT-2 small (124M parameters with its 1,024-row position table): 12 layers, d 768, 12 heads.
GPT2_SMALL = {
    "task": "lm", "vocab_size": 50_257, "layers": 12, "dim": 768, "heads": 12, "mlp": 3072,
    "dropout": 0.1, "positions": 1024,
}  # fmt: skip
#: The Markov-text model: 2 layers, d 64, 4 heads, context 64 (the data's sequence length).
MARKOV = {"task": "lm", "vocab_size": 32, "layers": 2, "dim": 64, "heads": 4, "dropout": 0.0}

#: GPU: a nanoGPT-like batch of 8 sequences, 100 timed steps. CPU: 1 sequence a step (the
#: BERT-sized cell's 4 x 128: the same tokens per step), 6 steps; ~12 s a step on one core. A
#: sequence is 512 tokens on both (the variant's input shape below).
GPU_RECIPE = replace(sequence(100, 8, 6e-4, 10, weight_decay=0.1), eval_every=100)
CPU_RECIPE = replace(sequence(6, 1, 6e-4, 5, weight_decay=0.1), eval_every=6, warmup_steps=2)

ARCHITECTURE = Architecture(
    name="gpt",
    description="GPT-style decoder-only causal LM: token + learned position embeddings, pre-LN "
    "blocks (causal attention + GELU MLP), final LayerNorm, output tied to the token embedding",
    layers=layers,
    variants={
        "markov-text": Variant(
            (64,),
            MARKOV,
            suites=("standard",),
            recipe=replace(sequence(3000, 64, 3e-3, 100), eval_every=250),
        ),
        # GPT-2's context is 1,024; the cell runs 512 tokens (bench.data.tokens.CPU_LENGTH: a
        # few steps at 1,024 take minutes on 2 cores) with GPT-2's full 1,024-row position table.
        "synthetic-tokens-gpt2": Variant(
            (512,), GPT2_SMALL, suites=("large",), recipe=GPU_RECIPE, cpu_recipe=CPU_RECIPE
        ),
    },
    tiny=ModelSpec(
        "gpt",
        (8,),
        11,
        {"task": "lm", "vocab_size": 11, "layers": 2, "dim": 16, "heads": 2, "positions": 12},
    ),
    init="normal",
    order=60,
)
