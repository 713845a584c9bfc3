"""The summary table shows tokens/s for sequence models and the LM figures for LM cells."""

from __future__ import annotations

from pathlib import Path

from bench.report import build_report
from bench.report.sequence import lm_line, tokens_line
from bench.run.store import RunDir
from tests.report.test_report import minimal_record, section

TOKENS = {"median": 12_345.0, "ci_low": 12_000.0, "ci_high": 12_700.0, "unit": "tokens/s"}
LM = {
    "test_loss": 1.8,
    "perplexity": 6.0496,
    "entropy_rate": 1.738,
    "unigram_loss": 3.460,
    "loss_above_entropy_rate": 0.062,
    "gap_closed": 0.964,
}


def test_lines_for_sequence_and_other_records() -> None:
    assert tokens_line({"token_throughput": TOKENS}) == "12,345 tokens/s [12,000 – 12,700]"
    line = lm_line({"language_model": LM})
    assert line.startswith("loss 1.800 nats/token · ppl 6.050")
    assert "+0.062 above entropy rate 1.738" in line and "unigram 3.460" in line
    assert "96.4% of the gap closed" in line
    no_source = lm_line({"language_model": {**LM, "entropy_rate": None,
                                            "loss_above_entropy_rate": None}})  # fmt: skip
    assert "entropy" not in no_source and "ppl" in no_source
    for empty in ({}, {"token_throughput": None}, {"language_model": {"test_loss": None}}):
        assert tokens_line(empty) == "" and lm_line(empty) == ""


def test_summary_table_renders_them(tmp_path: Path) -> None:
    run = RunDir.create(tmp_path / "seq-run", {})
    run.append({**minimal_record("torch", "lstm"), "token_throughput": TOKENS,
                "language_model": LM})  # fmt: skip
    run.append(minimal_record("tf", "mlp"))
    summary = section(build_report(run.path, tmp_path / "report").read_text(), "summary")
    assert summary.count('class="tokens"') == 1 and "12,345 tokens/s" in summary
    assert summary.count('class="lm"') == 1 and "+0.062 above entropy rate" in summary
