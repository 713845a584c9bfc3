"""A rank that dies, a rendezvous that never completes, ranks started as two "machines".

Loopback only; every launch is bounded by its timeout, and each test checks with psutil that no
rank outlived it.
"""

from __future__ import annotations

import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import psutil
import pytest

from bench.run.distributed import rank_job
from bench.run.launch import free_ports, launch
from bench.zoo.specs import Cell, Recipe, Settings
from tests.conftest import requires

pytestmark = [requires("torch"), pytest.mark.framework]  # every launch starts torch ranks


def torch_job(steps: int) -> dict[str, Any]:
    """A logreg job training ``steps`` steps (the 50-step batch order repeats past its end)."""
    recipe = Recipe(optimizer="sgd", lr=0.05, batch_size=32, steps=50)
    job = rank_job(Cell("torch", "logreg", "mnist1d", "quick", recipe), Settings(threads=1))
    return {**job, "train_steps": steps, "eval_every": steps, "evaluate": False}


def assert_no_ranks_left(pids: list[int]) -> None:
    alive = [p for p in pids if psutil.pid_exists(p) and psutil.Process(p).status() != "zombie"]
    assert alive == [], f"ranks still running: {alive}"
    assert psutil.Process().children(recursive=True) == []


def wait_for(path: Path, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while not path.exists():
        assert time.monotonic() < deadline, f"{path.name} never appeared"
        time.sleep(0.05)


def test_a_killed_rank_fails_the_launch_naming_it_and_the_others_are_stopped(
    tmp_path: Path,
) -> None:
    killed: list[int] = []

    def kill_rank_1(pids: list[int]) -> None:  # once both joined: mid-training
        wait_for(tmp_path / "rank1.ready", 120)
        wait_for(tmp_path / "rank0.ready", 120)
        time.sleep(0.5)
        os.kill(pids[1], signal.SIGKILL)
        killed.append(pids[1])

    t0 = time.monotonic()
    result = launch(torch_job(10_000_000), 2, tmp_path, 180, on_started=kill_rank_1)
    assert result.status == "failed"
    assert result.error is not None
    assert f"rank 1 (pid {killed[0]}) was killed by SIGKILL" in result.error
    assert "ranks [0] terminated" in result.error
    assert time.monotonic() - t0 < 180
    assert_no_ranks_left(result.pids)


def test_a_rendezvous_that_never_completes_ends_within_the_timeout(tmp_path: Path) -> None:
    t0 = time.monotonic()
    result = launch(torch_job(5), 2, tmp_path, 8.0, ranks=[0])  # rank 1 never starts
    elapsed = time.monotonic() - t0
    assert result.status == "timeout"
    assert result.error == (
        "rendezvous never completed within 8 s: ranks [0] still waiting for ranks [1] "
        "(started elsewhere)"
    )
    assert 8.0 <= elapsed < 8.0 + 10.0  # the limit, plus the SIGTERM grace at most
    assert_no_ranks_left(result.pids)


@pytest.mark.slow
def test_two_launches_meet_as_two_machines_would(tmp_path: Path) -> None:
    """Node A starts rank 0, node B rank 1, the same job, address and ports (loopback here)."""
    job, ports = torch_job(5), free_ports(2)
    job["dump_weights"] = True
    results: dict[int, Any] = {}

    def node(rank: int) -> None:
        results[rank] = launch(job, 2, tmp_path / f"node{rank}", 120, ranks=[rank], ports=ports)

    threads = [threading.Thread(target=node, args=(k,)) for k in (0, 1)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert [results[k].status for k in (0, 1)] == ["ok", "ok"], [results[k].error for k in (0, 1)]
    assert [results[k].ranks[0]["rank"] for k in (0, 1)] == [0, 1]
    w0 = np.load(tmp_path / "node0" / "rank0.weights.npz")
    w1 = np.load(tmp_path / "node1" / "rank1.weights.npz")
    for name in w0.files:
        np.testing.assert_array_equal(w0[name], w1[name])
    assert_no_ranks_left(results[0].pids + results[1].pids)
