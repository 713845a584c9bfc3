"""Shared test set-up.

Frameworks are imported lazily by the tests that need them, torch before TensorFlow (importing
TF first and torch second can crash in one process, as keras's own conftest notes). Keras runs on
its TensorFlow backend in this process; other backends are tested in subprocesses.
"""

from __future__ import annotations

import importlib.util
import os

import pytest

os.environ.setdefault("KERAS_BACKEND", "tensorflow")
os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")

if importlib.util.find_spec("torch") is not None:
    import torch  # noqa: F401  (import order: torch before tensorflow)


def installed(*modules: str) -> bool:
    return all(importlib.util.find_spec(m) is not None for m in modules)


def requires(*modules: str) -> pytest.MarkDecorator:
    return pytest.mark.skipif(not installed(*modules), reason=f"needs {', '.join(modules)}")
