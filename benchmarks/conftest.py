"""Set-up for the step benchmarks: framework import order, one configured adapter per framework.

``pytest benchmarks/`` runs every framework in this one process, unlike ``bench run`` (one
worker per framework). So the rules of the root test conftest apply here too: torch is imported
before TensorFlow (the other order can crash), and Keras is pinned to its TensorFlow backend
before anything imports it. Each adapter is configured once per process, with the thread count
``bench run`` would use, because a second configure with other settings is not allowed.

The machine fields the suite fingerprints (CPU, cores, GPUs, package versions) are added to
pytest-benchmark's ``machine_info``, so an imported file lands on the same machine as the suite's
own runs in the history.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable
from typing import Any

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if importlib.util.find_spec("torch") is not None:
    import torch  # noqa: F401  (import order: torch before tensorflow)

from bench.catalog.frameworks import get_variant
from bench.measure import environment
from bench.run.adapter import Adapter, load_adapter
from bench.zoo.specs import Settings

_ADAPTERS: dict[str, Adapter | str] = {}


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("bench steps")
    group.addoption("--step-rounds", type=int, default=30,
                    help="timed calls per benchmark (default 30)")  # fmt: skip
    group.addoption("--step-warmup", type=int, default=3,
                    help="untimed calls first: tracing, allocator growth (default 3)")  # fmt: skip
    group.addoption("--step-threads", type=int, default=None,
                    help="intra-op threads (default: the usable cores, as bench run)")  # fmt: skip


def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    """Our own fingerprint fields, read by ``bench.track.pytest_benchmark_import``."""
    threads = config.getoption("--step-threads") or environment.usable_cores()
    machine_info["bench"] = {
        "cpu_model": environment.cpu_model(),
        "logical_cores": os.cpu_count(),
        "gpus": environment.gpu_names(),
        "packages": environment.package_versions(),
        "threads": threads,
    }


def _adapter(name: str, config: pytest.Config) -> Adapter:
    """The configured adapter of ``name``; skips (with the reason) where it cannot be loaded."""
    if name not in _ADAPTERS:
        variant = get_variant(name)
        missing = variant.missing()
        if missing:
            _ADAPTERS[name] = f"{name}: not installed ({', '.join(missing)}); {variant.install}"
        else:
            threads = config.getoption("--step-threads") or environment.usable_cores()
            try:
                adapter = load_adapter(variant)
                adapter.configure(Settings(threads=threads, interop_threads=1))
                _ADAPTERS[name] = adapter
            except ImportError as exc:  # an adapter module not written yet, or a broken install
                _ADAPTERS[name] = f"{name}: adapter could not be imported: {exc}"
    found = _ADAPTERS[name]
    if isinstance(found, str):
        pytest.skip(found)
    return found


@pytest.fixture
def step_rounds(request: pytest.FixtureRequest) -> dict[str, Any]:
    """``benchmark.pedantic`` keyword arguments from the command line."""
    return {
        "rounds": request.config.getoption("--step-rounds"),
        "warmup_rounds": request.config.getoption("--step-warmup"),
        "iterations": 1,
    }


@pytest.fixture
def adapter_for(request: pytest.FixtureRequest) -> Callable[[str], Adapter]:
    """``adapter_for(name)``: the process's configured adapter of a framework variant."""
    return lambda name: _adapter(name, request.config)
