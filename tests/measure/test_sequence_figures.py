"""Sequence-model figures in records: tokens/s, and the language-model loss figures."""

from __future__ import annotations

import math

import pytest

from bench import data
from bench.catalog.suites import model_spec
from bench.measure import sequence_figures
from bench.zoo.specs import ModelSpec

LM_SPEC = ModelSpec("any-lm", (64,), 32, {"vocab_size": 32, "task": "lm"})
THROUGHPUT = {"median": 250.0, "ci_low": 240.0, "ci_high": 262.0, "unit": "samples/s"}


def test_which_models_are_sequence_models() -> None:
    assert sequence_figures.tokens_per_sample(model_spec("lstm", "mnist1d")) == 40
    assert sequence_figures.tokens_per_sample(model_spec("gru", "mnist1d")) == 40
    assert sequence_figures.tokens_per_sample(model_spec("cnn", "mnist1d")) is None
    assert sequence_figures.tokens_per_sample(LM_SPEC) == 64


def test_token_throughput_scales_the_interval_by_the_sequence_length() -> None:
    tp = sequence_figures.token_throughput(THROUGHPUT, 40)
    assert tp == {"unit": "tokens/s", "median": 10_000.0, "ci_low": 9_600.0, "ci_high": 10_480.0}
    assert sequence_figures.token_throughput(None, 40) is None
    record = {"dataset": "mnist1d", "throughput": THROUGHPUT}
    assert "language_model" not in sequence_figures.figures(record, model_spec("lstm", "mnist1d"))
    assert sequence_figures.figures(record, model_spec("mlp", "mnist1d")) == {}


def test_language_model_figures_against_the_markov_source() -> None:
    d = data.load("markov-text")
    assert d.entropy_rate is not None and d.unigram_loss is not None
    loss = d.entropy_rate + 0.1
    record = {"dataset": "markov-text", "throughput": THROUGHPUT, "test_loss": loss}
    out = sequence_figures.figures(record, LM_SPEC)
    lm = out["language_model"]
    assert out["token_throughput"]["median"] == 250.0 * 64
    assert lm["perplexity"] == pytest.approx(math.exp(loss))
    assert lm["loss_above_entropy_rate"] == pytest.approx(0.1)
    assert (lm["entropy_rate"], lm["unigram_loss"]) == (d.entropy_rate, d.unigram_loss)
    gap = d.unigram_loss - d.entropy_rate
    assert lm["gap_closed"] == pytest.approx((gap - 0.1) / gap)


def test_language_model_figures_without_a_known_source_or_a_loss() -> None:
    record = {"dataset": "synthetic-tokens-gpt2", "test_loss": 10.8}
    lm = sequence_figures.figures(record, LM_SPEC)["language_model"]
    assert lm["perplexity"] == pytest.approx(math.exp(10.8))
    assert lm["entropy_rate"] is None and lm["loss_above_entropy_rate"] is None
    empty = sequence_figures.language_model(None, 1.7, 3.4)
    assert empty["perplexity"] is None and empty["gap_closed"] is None
    assert sequence_figures.language_model(float("nan"), 1.7, 3.4)["perplexity"] is None
