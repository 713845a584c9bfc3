"""The rank entry point answers under its new name and its old one: ``python -m
bench.distributed_rank`` (README, docs/distributed.md before the move, commands people saved) is a
shim over ``python -m bench.run.rank``."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def _usage(module: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def test_the_old_name_runs_the_same_entry_point() -> None:
    new, old = _usage("bench.run.rank"), _usage("bench.distributed_rank")
    assert new.returncode == old.returncode != 0
    assert "make-job" in new.stderr and new.stderr == old.stderr
    assert "Traceback" not in old.stderr


def test_make_job_writes_the_job_under_the_old_name(tmp_path: Path) -> None:
    """(The launcher's tests start every rank under the new name.)"""
    job = tmp_path / "job.pkl"
    args = ["make-job", "--framework", "torch", "--model", "mlp", "--dataset", "mnist1d",
            "--workers", "2", str(job)]  # fmt: skip
    command = [sys.executable, "-m", "bench.distributed_rank", *args]
    proc = subprocess.run(command, cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 0, proc.stderr
    assert job.stat().st_size > 0
