"""The rank entry point answers under its new name and its old one: ``python -m
bench.distributed_rank`` (README, docs/distributed.md before the move, commands people saved) is a
shim over ``python -m bench.run.rank``. Its job file is arrays and JSON (:mod:`bench.run.job_file`):
``make-job`` writes the same bytes in every process for the same arguments, and a bad job file is
one line and exit status 2 from the entry point itself."""

from __future__ import annotations

import pickle
import subprocess
import sys
from pathlib import Path

import numpy as np

from bench.run.job_file import read_job
from tests.data.datafiles import tiny_job

ROOT = Path(__file__).resolve().parents[2]
MAKE_JOB = ["make-job", "--framework", "torch", "--model", "mlp", "--dataset", "mnist1d",
            "--workers", "2", "--steps", "10"]  # fmt: skip


def _usage(module: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def _rank(module: str, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", module, *args], cwd=ROOT, capture_output=True,
                          text=True, timeout=120)  # fmt: skip


def test_the_old_name_runs_the_same_entry_point() -> None:
    new, old = _usage("bench.run.rank"), _usage("bench.distributed_rank")
    assert new.returncode == old.returncode != 0
    assert "make-job" in new.stderr and new.stderr == old.stderr
    assert "job.npz" in new.stderr and "job.pkl" not in new.stderr
    assert "Traceback" not in old.stderr


def test_make_job_writes_the_job_under_the_old_name(tmp_path: Path) -> None:
    """(The launcher's tests start every rank under the new name.)"""
    job = tmp_path / "job.npz"
    proc = _rank("bench.distributed_rank", *MAKE_JOB, str(job))
    assert proc.returncode == 0, proc.stderr
    assert read_job(job)["framework"] == "torch"


def test_make_job_is_byte_identical_across_processes(tmp_path: Path) -> None:
    """Each node makes its own job file: two processes (other hash seeds, other clocks) with
    the same arguments write the same bytes, and it holds the job rank_job builds."""
    first, second = tmp_path / "a" / "job.npz", tmp_path / "b" / "job.npz"
    for path in (first, second):
        path.parent.mkdir()
        proc = _rank("bench.run.rank", *MAKE_JOB, "--address", "10.0.0.1", str(path))
        assert proc.returncode == 0, proc.stderr
    assert first.read_bytes() == second.read_bytes()
    job = read_job(first)
    assert job["address"] == "10.0.0.1" and job["train_steps"] == 10
    assert job["order"].shape[0] == 10 and job["order"].dtype == np.int64
    assert job["x_train"].dtype == np.float32 and len(job["x_train"]) == len(job["y_train"])
    assert list(job["weights"]) == ["linear1.kernel", "linear1.bias", "linear2.kernel",
                                    "linear2.bias", "linear3.kernel", "linear3.bias"]  # fmt: skip


def test_make_job_into_a_missing_directory_is_one_line(tmp_path: Path) -> None:
    proc = _rank("bench.run.rank", *MAKE_JOB, str(tmp_path / "nowhere" / "job.npz"))
    assert proc.returncode == 2
    assert proc.stderr.strip().splitlines() == [
        f"bench.run.rank: error: {tmp_path / 'nowhere' / 'job.npz'}: cannot write the job "
        "file: No such file or directory"
    ]
    assert not (tmp_path / "nowhere").exists()


def test_an_old_pickle_job_file_is_refused_in_one_line(tmp_path: Path) -> None:
    """Both names, both forms: exit 2, one line, nothing written to OUT, never unpickled."""
    old = tmp_path / "job.pkl"
    old.write_bytes(pickle.dumps(tiny_job(), protocol=pickle.HIGHEST_PROTOCOL))
    out = tmp_path / "out"
    for module, args in [
        ("bench.run.rank", [str(old), "0", "2", "29500", str(out)]),
        ("bench.distributed_rank", [str(old), str(out)]),  # as under torchrun
    ]:
        proc = _rank(module, *args)
        assert proc.returncode == 2, proc.stderr
        lines = proc.stderr.strip().splitlines()
        assert len(lines) == 1 and "Traceback" not in proc.stderr, proc.stderr
        assert lines[0].startswith(f"bench.run.rank: error: {old}: is a pickle job file")
        assert "re-run `python -m bench.run.rank make-job`" in lines[0]
        assert not out.exists()
