"""Keras on its JAX and torch backends against the same float64 reference, each backend in ONE
subprocess: KERAS_BACKEND must be set before keras is first imported, and this pytest process
has imported keras on the tensorflow backend already.

The subprocess runs the zoo parity module (every registered model: logits in eval and train
mode, gradients, running statistics, one SGD-momentum step, fp32 tolerances) and the precision
module (bf16 and fp16 logits and one step within the derived tolerance) with
``BENCH_TEST_FRAMEWORKS`` naming the variant, and this test reads its exit status and summary.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

from bench.catalog.frameworks import get_variant
from tests.conftest import child_pytest_env

ROOT = Path(__file__).resolve().parents[2]
MODULES = ["tests/models/test_zoo.py", "tests/models/test_precision.py"]


@pytest.mark.slow
@pytest.mark.parametrize("variant", ["keras:jax", "keras:torch"])
def test_keras_backend_parity_in_its_own_process(variant: str) -> None:
    missing = get_variant(variant).missing()
    if missing:
        pytest.fail(f"{variant} is not installed ({', '.join(missing)}): `make test` installs "
                    "the `all` extra, which has jax")  # fmt: skip
    env = child_pytest_env(
        **get_variant(variant).env,  # KERAS_BACKEND
        BENCH_TEST_FRAMEWORKS=variant,
        PYTHONPATH=os.pathsep.join([str(ROOT), os.environ.get("PYTHONPATH", "")]),
    )
    proc = subprocess.run(
        [sys.executable, "-m", "pytest", *MODULES, "-q", "-p", "no:cacheprovider",
         "-k", "not flops and not param_count and not channels_last"],
        cwd=ROOT, env=env, capture_output=True, text=True, timeout=900,
    )  # fmt: skip
    tail = proc.stdout[-3000:] + proc.stderr[-2000:]
    assert proc.returncode == 0, tail
    summary = re.search(r"(\d+) passed", proc.stdout)
    assert summary and int(summary.group(1)) >= 40, tail  # the parity cases really ran
    assert " failed" not in proc.stdout and " error" not in proc.stdout.lower(), tail
