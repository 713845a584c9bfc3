"""One configured adapter per framework for the scope tests (2 threads, CPU), skipped where the
framework is not installed."""

from __future__ import annotations

import importlib
import importlib.util
from typing import Any

import pytest

from bench.zoo.specs import Settings

#: The library each framework's adapter needs (Keras also needs its tensorflow backend here).
LIBRARY = {"torch": "torch", "tf": "tensorflow", "keras": "keras"}


def configured_adapter(framework: str) -> Any:
    needed = {LIBRARY[framework]} | ({"tensorflow"} if framework == "keras" else set())
    for module in needed:
        if importlib.util.find_spec(module) is None:
            pytest.skip(f"needs {module}")
    adapter = importlib.import_module(f"models.{framework}.adapter").create(framework)
    adapter.configure(Settings(device="cpu", threads=2, interop_threads=1))
    return adapter
