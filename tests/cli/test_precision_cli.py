"""Bad --precision / --memory-format / --cpus input: one line, exit 2, nothing written.

The same checks as tests/cli/test_cli_errors.py's catalogue, kept in their own module."""

from __future__ import annotations

from pathlib import Path

import pytest

from bench import cli

CASES = [
    ("unknown precision", ["run", "--precision", "int8"], ["--precision", "bf16"]),
    ("tf32 on a cpu", ["run", "--precision", "tf32", "--device", "cpu"], ["tf32", "GPU"]),
    (
        "channels-last without conv",
        ["run", "--models", "mlp", "--memory-format", "channels-last"],
        ["channels-last", "mlp has none"],
    ),
    ("bad memory format", ["run", "--memory-format", "nhwc8"], ["--memory-format"]),
    ("cpus syntax", ["run", "--cpus", "a-b"], ["--cpus", "0-3"]),
    ("cpus outside the mask", ["run", "--cpus", "4096"], ["--cpus", "4096", "not available"]),
    ("resume with precision", ["run", "--resume", "x", "--precision", "bf16"], ["--precision"]),
]


@pytest.mark.parametrize(("argv", "words"), [c[1:] for c in CASES], ids=[c[0] for c in CASES])
def test_bad_precision_input_is_one_line(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
    argv: list[str],
    words: list[str],
) -> None:
    monkeypatch.chdir(tmp_path)
    assert cli.main(argv) == 2
    out, err = capsys.readouterr()
    lines = [line for line in err.splitlines() if line.strip()]
    assert len(lines) == 1, err
    for word in words:
        assert word in lines[0], (word, lines[0])
    assert "Traceback" not in out + err
    assert not any(tmp_path.iterdir())


def test_precision_list_plans_one_cell_per_precision(capsys: pytest.CaptureFixture[str]) -> None:
    from bench.cli.run import plan_request
    from bench.run.plan import plan_cells

    args = cli.build_parser().parse_args(
        ["run", "--frameworks", "torch", "--models", "mlp", "--precision", "fp32,bf16,float32"]
    )
    cells = plan_cells(plan_request(args))
    assert [c.key for c in cells] == ["torch/mlp/mnist1d", "torch/mlp/mnist1d@bf16"]


def test_worker_pins_the_affinity_mask_and_reads_it_back() -> None:
    import os

    from bench.measure.isolation import pin_cpus

    mask = sorted(os.sched_getaffinity(0))
    assert pin_cpus(None) == mask  # no --cpus: the inherited mask, read back
    try:
        assert pin_cpus([mask[-1]]) == [mask[-1]]
        assert os.sched_getaffinity(0) == {mask[-1]}
    finally:
        os.sched_setaffinity(0, set(mask))
