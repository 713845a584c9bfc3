"""Throughputs in the results table keep their digits: a GPT-2 step on a CPU is 0.23 samples/s,
which the old ",.0f" printed as "0 (0–0)"; sequence models also show tokens/s."""

from __future__ import annotations

from bench.run.progress import rate, throughput_text


def test_small_rates_keep_three_significant_figures() -> None:
    assert rate(0.23435) == "0.234"
    assert rate(1.4858) == "1.49"
    assert rate(99.94) == "99.9"
    assert rate(149_897.2) == "149,897"


def test_sequence_models_show_tokens_per_second_beside_samples() -> None:
    tp = {"median": 1.4858, "ci_low": 1.2766, "ci_high": 1.7293}
    tokens = {"median": 190.2, "ci_low": 163.4, "ci_high": 221.4, "unit": "tokens/s"}
    assert throughput_text(tp, tokens) == "1.49 (1.28–1.73); 190 (163–221) tokens/s"
    assert throughput_text(tp) == "1.49 (1.28–1.73)"


def test_a_cell_without_an_interval_shows_a_dash() -> None:
    assert throughput_text({"median": 5.0}) == "—"
    assert throughput_text({}) == "—"
