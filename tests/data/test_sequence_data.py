"""Sequence datasets: the Markov source's exact figures, its samples, synthetic token data."""

from __future__ import annotations

import math

import numpy as np
import pytest

from bench import data
from bench.catalog.suites import DATASET_CLASSES
from bench.data import markov, tokens


@pytest.fixture(scope="module")
def src() -> markov.MarkovSource:
    return markov.source()


def test_stationary_distribution_is_stationary(src: markov.MarkovSource) -> None:
    pi, v = src.stationary, src.vocab
    moved = np.zeros_like(pi)  # one step of the chain on contexts (a, b) -> (b, c)
    for c in range(v):
        np.add.at(moved, (np.arange(len(pi)) * v) % len(pi) + c, pi * src.transitions[:, c])
    np.testing.assert_allclose(moved, pi, atol=1e-12)
    assert pi.min() > 0 and pi.sum() == pytest.approx(1.0)


def test_source_is_far_from_uniform_and_figures_are_ordered(src: markov.MarkovSource) -> None:
    """Context matters: the entropy rate is well below the unigram loss, itself ≤ log V."""
    assert src.transitions.shape == (markov.VOCAB**markov.ORDER, markov.VOCAB)
    assert 0 < src.entropy_rate < 0.7 * src.unigram_loss
    assert src.unigram_loss <= math.log(markov.VOCAB) + 1e-12
    floor = markov.position_floor(src)
    assert src.entropy_rate < floor < src.entropy_rate + (src.unigram_loss / markov.LENGTH)


def test_true_source_loss_on_test_set_is_the_entropy_rate(src: markov.MarkovSource) -> None:
    """The source's own loss on the test sequences matches its exact entropy rate within
    sampling error (4 standard errors over independent sequences), and the all-position loss
    matches the position floor; the unigram model's loss matches the unigram loss."""
    d = data.load("markov-text")
    losses = src.log_loss(d.x_test, d.y_test)
    full_context = losses[:, markov.ORDER - 1 :].mean(axis=1)
    se = full_context.std(ddof=1) / math.sqrt(len(full_context))
    assert abs(full_context.mean() - src.entropy_rate) < 4 * se
    per_seq = losses.mean(axis=1)
    se_all = per_seq.std(ddof=1) / math.sqrt(len(per_seq))
    assert abs(per_seq.mean() - markov.position_floor(src)) < 4 * se_all
    unigram = -np.log(src.unigram[d.y_test]).mean(axis=1)
    se_u = unigram.std(ddof=1) / math.sqrt(len(unigram))
    assert abs(unigram.mean() - src.unigram_loss) < 4 * se_u


def test_markov_text_dataset_follows_the_lm_contract(src: markov.MarkovSource) -> None:
    d = data.load("markov-text")
    assert (d.task, d.vocab_size, d.num_classes) == ("lm", markov.VOCAB, markov.VOCAB)
    assert d.entropy_rate == src.entropy_rate and d.unigram_loss == src.unigram_loss
    assert d.x_train.dtype == d.y_train.dtype == np.int32
    assert d.x_train.shape == d.y_train.shape == (markov.TRAIN_SEQUENCES, markov.LENGTH)
    assert d.x_test.shape == (markov.TEST_SEQUENCES, markov.LENGTH)
    np.testing.assert_array_equal(d.y_train[:, :-1], d.x_train[:, 1:])  # y is x shifted
    assert not d.synthetic and data.info("markov-text").task == "lm"
    assert DATASET_CLASSES["markov-text"] == data.num_classes("markov-text") == markov.VOCAB
    # the same source and samples every time (the training seed does not change them)
    again = markov.generate()
    np.testing.assert_array_equal(again[2], d.x_test)
    assert data.load("markov-text", seed=3) is d


@pytest.mark.parametrize("name", list(tokens.SHAPES))
def test_synthetic_token_data(name: str) -> None:
    shape = tokens.SHAPES[name]
    d = data.load(name, seed=0)
    assert d.synthetic and "SYNTHETIC" in d.description and data.info(name).synthetic
    assert (d.task, d.vocab_size) == (shape.task, shape.vocab_size)
    assert d.x_train.dtype == np.int32 and d.x_train.shape == (shape.pool, shape.length)
    assert d.x_train.min() >= 0 and d.x_train.max() < shape.vocab_size
    assert d.n_train == shape.train_samples and DATASET_CLASSES[name] == shape.num_classes
    if shape.task == "lm":
        assert d.y_train.shape == d.x_train.shape
        np.testing.assert_array_equal(d.y_train[:, :-1], d.x_train[:, 1:])
    else:
        assert d.y_train.shape == (shape.pool,) and set(np.unique(d.y_train)) <= {0, 1}
    other = data.load(name, seed=1)
    assert not np.array_equal(other.x_train, d.x_train)


def test_fit_length_cuts_tokens_and_labels_alike() -> None:
    x, y, _, _ = tokens.generate("synthetic-tokens-gpt2", 0)
    cx, cy = tokens.fit_length(x, y, tokens.CPU_LENGTH, "lm")
    assert cx.shape == cy.shape == (len(x), tokens.CPU_LENGTH)
    np.testing.assert_array_equal(cy[:, :-1], cx[:, 1:])
    bx, by = tokens.fit_length(x[:, :10], y[:, 0], 4, "classify")
    assert bx.shape == (len(x), 4) and by is not None and by.shape == (len(x),)
    with pytest.raises(ValueError, match="cannot feed"):
        tokens.fit_length(x[:, :10], y[:, :10], 20, "lm")
    d = data.load("synthetic-tokens-gpt2")
    cut = data.fit_to_model(d, (tokens.CPU_LENGTH,))
    assert cut.x_test.shape == cut.y_test.shape == (len(d.x_test), tokens.CPU_LENGTH)
    assert data.fit_to_model(d, d.sample_shape) is d
