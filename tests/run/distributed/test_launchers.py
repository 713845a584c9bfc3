"""The frameworks' own launch conventions, as on two machines but on the loopback address:
``torchrun`` (RANK / WORLD_SIZE / MASTER_ADDR / MASTER_PORT) and TF_CONFIG (tf.distribute),
each rank running ``python -m bench.run.rank JOB OUT`` with a job file written by
``make-job`` (the same on every machine: everything in it comes from the seed)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path

import psutil
import pytest

from bench.run.launch import free_ports
from tests.conftest import requires

ROOT = Path(__file__).resolve().parents[3]
LIMIT = 180


def env() -> dict[str, str]:
    return {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}


def make_job(tmp_path: Path, framework: str) -> Path:
    job = tmp_path / "job.npz"
    subprocess.run(
        [sys.executable, "-m", "bench.run.rank", "make-job", "--framework", framework,
         "--model", "mlp", "--dataset", "mnist1d", "--workers", "2", "--steps", "10",
         "--pass-seconds", "0", str(job)],
        check=True, env=env(), cwd=ROOT, timeout=LIMIT,
    )  # fmt: skip
    return job


def finish(procs: list[subprocess.Popen]) -> list[int]:
    """Wait for every process (bounded); on the limit, kill each one's process group."""
    codes = []
    for p in procs:
        try:
            codes.append(p.wait(LIMIT))
        except subprocess.TimeoutExpired:
            for q in procs:
                os.killpg(q.pid, signal.SIGKILL)
            pytest.fail("a launcher did not finish within its limit")
    return codes


def check_ranks(out: Path) -> None:
    ranks = [json.loads((out / f"rank{k}.json").read_text()) for k in (0, 1)]
    assert [r["world"] for r in ranks] == [2, 2]
    assert ranks[0]["curve"][-1]["step"] == 10
    # one model: the same test loss on both ranks after the same averaged updates
    assert ranks[0]["curve"][-1]["test_loss"] == ranks[1]["curve"][-1]["test_loss"]
    assert psutil.Process().children(recursive=True) == []


@pytest.mark.slow
@requires("torch")
def test_torchrun_starts_the_ranks(tmp_path: Path) -> None:
    job, (port,) = make_job(tmp_path, "torch"), free_ports(1)
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nnodes", "1", "--nproc-per-node",
           "2", "--master-addr", "127.0.0.1", "--master-port", str(port),
           "-m", "bench.run.rank", str(job), str(tmp_path / "out")]  # fmt: skip
    proc = subprocess.Popen(cmd, env=env(), cwd=ROOT, start_new_session=True,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
    assert finish([proc]) == [0]
    check_ranks(tmp_path / "out")


@pytest.mark.slow
@requires("tensorflow")
def test_tf_config_starts_the_ranks(tmp_path: Path) -> None:
    job, ports = make_job(tmp_path, "tf"), free_ports(2)
    workers = [f"127.0.0.1:{p}" for p in ports]
    procs = []
    for k in (0, 1):
        config = {"cluster": {"worker": workers}, "task": {"type": "worker", "index": k}}
        cmd = [sys.executable, "-m", "bench.run.rank", str(job), str(tmp_path / "out")]
        rank_env = {**env(), "TF_CONFIG": json.dumps(config)}
        proc = subprocess.Popen(cmd, env=rank_env, cwd=ROOT, start_new_session=True,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)  # fmt: skip
        procs.append(proc)
    assert finish(procs) == [0, 0]
    check_ranks(tmp_path / "out")
