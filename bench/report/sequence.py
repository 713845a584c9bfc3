"""The summary table's lines for sequence models: tokens/s and the language-model figures.

Read from the record fields of :mod:`bench.measure.sequence_figures`; a record without them (any
non-sequence model, or an older record) gets empty strings, so the table is unchanged for it.
"""

from __future__ import annotations

from bench.report import fmt
from bench.report.cells import Record, get


def tokens_line(r: Record) -> str:
    """ "12,340 tokens/s [11,900 – 12,800]" for a sequence model, else ""."""
    tp = r.get("token_throughput")
    if fmt.number(get(tp, "median")) is None:
        return ""
    ci = fmt.interval(get(tp, "ci_low"), get(tp, "ci_high"), lambda v: fmt.sig(v, 4))
    return f"{fmt.sig(get(tp, 'median'), 4)} tokens/s {ci}".rstrip()


def lm_line(r: Record) -> str:
    """A language model's test loss (nats/token) and perplexity; on data with a known source,
    the loss above its entropy rate and the floor and unigram loss beside it."""
    lm = r.get("language_model")
    loss = fmt.number(get(lm, "test_loss"))
    if loss is None:
        return ""
    parts = [f"loss {loss:.3f} nats/token", f"ppl {fmt.sig(get(lm, 'perplexity'), 4)}"]
    above = fmt.number(get(lm, "loss_above_entropy_rate"))
    if above is not None:
        parts.append(f"{above:+.3f} above entropy rate {fmt.fixed(get(lm, 'entropy_rate'), 3)}")
        parts.append(f"unigram {fmt.fixed(get(lm, 'unigram_loss'), 3)}")
        closed = fmt.number(get(lm, "gap_closed"))
        if closed is not None:
            parts.append(f"{fmt.percent(closed)} of the gap closed")
    return " · ".join(parts)
