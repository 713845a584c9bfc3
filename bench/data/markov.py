"""``markov-text``: token sequences from a fixed random Markov source whose best loss is known.

A language model's loss on real text has no known floor. Text sampled from a known source has
one: no model can beat the source's *entropy rate*, and a model that ignores context can do no
better than the *unigram entropy*. So a framework's test loss can be set against both.

The source (fixed: drawn once from :data:`SOURCE_SEED`, the same for every training seed, so
seeds compare models, not sources):

* vocabulary :data:`VOCAB` = 32 tokens, order :data:`ORDER` = 2: the next token's distribution
  depends on the previous two tokens (32² = 1,024 contexts);
* each context's next-token distribution is drawn from a symmetric Dirichlet with concentration
  :data:`CONCENTRATION` = 0.1: far from uniform (a few tokens take most of the mass; the entropy
  rate is about half of log 32), so context matters and there is a wide gap to close.

Sequences start in the source's stationary distribution over contexts, so every position is a
draw from the stationary process. Exact figures (nats per token), computed not estimated:

* entropy rate ``h = Σ_s π_s H(P(·|s))``, π the stationary distribution of the chain on contexts
  (s = (a, b) → (b, c) with probability P(c|a, b)), solved as a linear system;
* unigram loss ``H(p)``, p the stationary token distribution ``p(c) = Σ_s π_s P(c|s)``.

The data set (the LM contract): ``LENGTH + 1`` tokens per sequence, x = tokens[:, :-1], y =
tokens[:, 1:] (int32, (N, LENGTH)), the loss averaged over every position. Position 0 sees one
token of its order-2 context, so the best loss *averaged over positions* sits
``(H(X1|X0) - h) / LENGTH`` above h (:func:`position_floor`); records report loss - h.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass
from functools import cached_property

import numpy as np

NAME = "markov-text"
VOCAB = 32
ORDER = 2
CONCENTRATION = 0.1
LENGTH = 64  # tokens the model sees per sequence (LENGTH + 1 are sampled)
TRAIN_SEQUENCES = 20_000  # 1.28M training tokens
TEST_SEQUENCES = 2_000
SOURCE_SEED = 0


@dataclass(frozen=True)
class MarkovSource:
    """An order-``order`` Markov source over ``vocab`` tokens; ``transitions`` is
    (vocab**order, vocab), row s the next-token distribution of context s (s = Σ a_i vocab^(k-1-i),
    oldest token most significant)."""

    vocab: int
    order: int
    transitions: np.ndarray

    @classmethod
    def draw(cls, vocab: int, order: int, concentration: float, seed: int) -> MarkovSource:
        rng = np.random.default_rng([seed, zlib.crc32(NAME.encode())])
        p = rng.dirichlet(np.full(vocab, concentration), size=vocab**order)
        return cls(vocab, order, p)

    @cached_property
    def stationary(self) -> np.ndarray:
        """π over contexts: π T = π, Σ π = 1, solved exactly (least squares on the stacked
        system; the chain is irreducible since every Dirichlet draw is positive)."""
        n, v = self.transitions.shape
        chain = np.zeros((n, n))
        rows = np.arange(n)
        for c in range(v):
            chain[rows, (rows * v) % n + c] += self.transitions[:, c]
        system = np.vstack([chain.T - np.eye(n), np.ones((1, n))])
        rhs = np.zeros(n + 1)
        rhs[-1] = 1.0
        pi, *_ = np.linalg.lstsq(system, rhs, rcond=None)
        return np.clip(pi, 0.0, None) / np.clip(pi, 0.0, None).sum()

    @cached_property
    def entropy_rate(self) -> float:
        """Nats per token: Σ_s π_s H(P(·|s))."""
        return float(self.stationary @ entropy(self.transitions))

    @cached_property
    def unigram(self) -> np.ndarray:
        return self.stationary @ self.transitions

    @cached_property
    def unigram_loss(self) -> float:
        """Nats per token of the best context-free model: the stationary token entropy."""
        return float(entropy(self.unigram[None])[0])

    def conditional(self, history: np.ndarray) -> np.ndarray:
        """P(next | the last ``k`` tokens of ``history``) for k < order: the stationary mixture
        over the unseen older tokens. ``history`` (N, k) → (N, vocab)."""
        k, v = history.shape[1], self.vocab
        joint = (self.stationary[:, None] * self.transitions).reshape(
            *(v,) * self.order, v
        )  # P(context, next)
        marginal = joint.sum(axis=tuple(range(self.order - k)))  # P(last k, next)
        rows = marginal[tuple(history.T)]
        return rows / rows.sum(axis=1, keepdims=True)

    def sample(self, n: int, length: int, rng: np.random.Generator) -> np.ndarray:
        """``n`` sequences of ``length`` tokens (int32), starting in the stationary process."""
        k, v = self.order, self.vocab
        out = np.empty((n, length), dtype=np.int32)
        contexts = rng.choice(len(self.stationary), size=n, p=self.stationary)
        for i in range(k):
            out[:, i] = (contexts // v ** (k - 1 - i)) % v
        cdf = np.cumsum(self.transitions, axis=1)
        cdf[:, -1] = 1.0
        for t in range(k, length):
            u = rng.random(n)[:, None]
            nxt = (cdf[contexts] < u).sum(axis=1)
            out[:, t] = nxt
            contexts = (contexts * v) % v**k + nxt
        return out

    def log_loss(self, x: np.ndarray, y: np.ndarray) -> np.ndarray:
        """The source's own loss, nats, at every position of (x, y) pairs (N, T): with the full
        context from position order-1 on, the stationary mixture before it."""
        n, steps = x.shape
        losses = np.empty((n, steps))
        for t in range(steps):
            hist = x[:, max(0, t - self.order + 1) : t + 1]
            if hist.shape[1] < self.order:
                probs = self.conditional(hist)
            else:
                ctx = np.zeros(n, dtype=np.int64)
                for j in range(self.order):
                    ctx = ctx * self.vocab + hist[:, j]
                probs = self.transitions[ctx]
            losses[:, t] = -np.log(probs[np.arange(n), y[:, t]])
        return losses


def entropy(p: np.ndarray) -> np.ndarray:
    """Row-wise entropy in nats (0 log 0 = 0)."""
    logs = np.log(np.where(p > 0, p, 1.0))
    return -(p * logs).sum(axis=1)


def source() -> MarkovSource:
    """The ``markov-text`` source (fixed)."""
    return MarkovSource.draw(VOCAB, ORDER, CONCENTRATION, SOURCE_SEED)


def position_floor(src: MarkovSource, length: int = LENGTH) -> float:
    """The best loss averaged over ``length`` positions: the first ``order - 1`` positions see
    only part of their context (their exact conditional entropies), the rest the entropy rate."""
    parts = []
    for k in range(1, src.order):
        joint = (src.stationary[:, None] * src.transitions).reshape(*(src.vocab,) * src.order, -1)
        marginal = joint.sum(axis=tuple(range(src.order - k))).reshape(-1, src.vocab)
        weights = marginal.sum(axis=1)
        parts.append(float(weights @ entropy(marginal / weights[:, None])))
    full = length - len(parts)
    return (sum(parts) + full * src.entropy_rate) / length


def generate(
    length: int = LENGTH,
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, MarkovSource]:
    """(x_train, y_train, x_test, y_test, source): disjoint draws from one generator, sequences
    of ``length`` tokens (a sweep's length axis; the data set is :data:`LENGTH`)."""
    src = source()
    rng = np.random.default_rng([SOURCE_SEED, zlib.crc32(b"markov-text samples")])
    tokens = src.sample(TRAIN_SEQUENCES + TEST_SEQUENCES, length + 1, rng)
    train, test = tokens[:TRAIN_SEQUENCES], tokens[TRAIN_SEQUENCES:]
    return train[:, :-1], train[:, 1:], test[:, :-1], test[:, 1:], src
