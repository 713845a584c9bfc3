"""The figures that fit sequence models, added to a cell's record next to the generic ones.

* ``tokens_per_sample`` and ``token_throughput``: a sequence model's samples/s times its sequence
  length T (the same interval scaled by T, unit "tokens/s"), so an LSTM on 40-step MNIST-1D and a
  GPT on 512-token text are compared in the unit their communities use. A *sequence model* is one
  whose spec takes token ids (``params["vocab_size"]``) or whose layer table has a recurrent
  layer (GRU, LSTM); T is its input's first axis. Other models get neither field.
* ``language_model`` for a language-model cell (``params["task"] == "lm"``): the test loss
  (nats per token: the adapters' LM evaluation averages over all N·T positions), its perplexity
  ``exp(loss)``, and on data whose source is known (markov-text) the entropy rate (the floor),
  the unigram loss (the best context-free model), ``loss - entropy rate`` and the share of the
  unigram-to-entropy gap the model closed.

Framework-free: reads the spec and the dataset's metadata only.
"""

from __future__ import annotations

import math
from typing import Any

from bench import data
from bench.catalog.architectures import GRU, LSTM, layers
from bench.zoo.specs import ModelSpec


def tokens_per_sample(spec: ModelSpec) -> int | None:
    """T for a sequence model (see the module docstring), None for any other."""
    if "vocab_size" in spec.params or any(isinstance(x, GRU | LSTM) for x in layers(spec)):
        return int(spec.input_shape[0])
    return None


def token_throughput(throughput: dict[str, Any] | None, tokens: int) -> dict[str, Any] | None:
    """A samples/s throughput (median and interval) in tokens/s."""
    if not throughput or throughput.get("median") is None:
        return None
    out = {"unit": "tokens/s"}
    for key in ("median", "ci_low", "ci_high"):
        if throughput.get(key) is not None:
            out[key] = float(throughput[key]) * tokens
    return out


def language_model(
    test_loss: float | None, entropy_rate: float | None, unigram_loss: float | None
) -> dict[str, Any]:
    """Perplexity and the loss set against the known floor and the unigram loss."""
    out: dict[str, Any] = {
        "test_loss": test_loss,
        "perplexity": None,
        "entropy_rate": entropy_rate,
        "unigram_loss": unigram_loss,
        "loss_above_entropy_rate": None,
        "gap_closed": None,
    }
    if test_loss is None or not math.isfinite(test_loss):
        return out
    out["perplexity"] = math.exp(min(test_loss, 700.0))
    if entropy_rate is not None:
        out["loss_above_entropy_rate"] = test_loss - entropy_rate
        if unigram_loss is not None and unigram_loss > entropy_rate:
            out["gap_closed"] = (unigram_loss - test_loss) / (unigram_loss - entropy_rate)
    return out


def figures(record: dict[str, Any], spec: ModelSpec) -> dict[str, Any]:
    """The record fields above for ``spec`` on the record's dataset ({} for other models)."""
    out: dict[str, Any] = {}
    tokens = tokens_per_sample(spec)
    if tokens is not None:
        out["tokens_per_sample"] = tokens
        out["token_throughput"] = token_throughput(record.get("throughput"), tokens)
    if spec.params.get("task") == "lm":
        entropy = unigram = None
        if not data.info(record["dataset"]).synthetic:  # random tokens have no meaningful floor
            dataset = data.load(record["dataset"])
            entropy, unigram = dataset.entropy_rate, dataset.unigram_loss
        out["language_model"] = language_model(record.get("test_loss"), entropy, unigram)
    return out
