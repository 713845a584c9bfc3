"""Shared test set-up, and the fast tier's guard.

Frameworks are imported lazily by the tests that need them, torch before TensorFlow (importing
TF first and torch second can crash in one process, as keras's own conftest notes), so torch is
imported first here unless the run is the framework-free tier. Keras runs on its TensorFlow
backend in this process; other backends are tested in subprocesses.

Tiers (markers in pyproject.toml): ``framework`` marks a test that starts a framework (every test
under ``tests/models/`` is marked so here), ``slow`` one that trains end to end, ``browser`` one
that needs Chromium. ``make check`` runs what is none of those; a test there that imports a
framework after all fails, naming the framework, so the tier cannot grow slow unnoticed.
"""

from __future__ import annotations

import importlib.util
import os
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

FRAMEWORK_MODULES = ("torch", "tensorflow", "keras", "jax")
MODELS_TESTS = Path(__file__).resolve().parent / "models"


def installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def requires(*modules: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not installed(*modules), reason=f"needs {', '.join(modules)}")


def child_pytest_env(**extra: str) -> dict[str, str]:
    """The environment of a pytest run started by a test: this one's, less what marks it as an
    xdist worker (pytest-benchmark disables itself inside one), plus ``extra``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PYTEST_XDIST")}
    return {**env, **extra}


def framework_free(config: pytest.Config) -> bool:
    """Whether this run selects only tests that start no framework (``-m "... not framework"``)."""
    return "not framework" in (config.getoption("markexpr") or "")


def pytest_configure(config: pytest.Config) -> None:
    if not framework_free(config) and installed("torch"):
        import torch  # noqa: F401  (import order: torch before tensorflow)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        if MODELS_TESTS in Path(item.path).parents:
            item.add_marker(pytest.mark.framework)


def _loaded() -> set[str]:
    return {m for m in FRAMEWORK_MODULES if m in sys.modules}


@pytest.fixture(autouse=True)
def _framework_guard(request: pytest.FixtureRequest) -> Iterator[None]:
    """Fails a test that imports a framework without saying so (the fast tier's promise)."""
    before = _loaded()
    yield
    started = {"framework", "slow"} & {m.name for m in request.node.iter_markers()}
    new = _loaded() - before
    if new and not started:
        names = ", ".join(sorted(new))
        pytest.fail(f"{request.node.nodeid} imported {names}: mark it @pytest.mark.framework "
                    "(make check runs framework-free tests only)")  # fmt: skip
