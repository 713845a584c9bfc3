"""The overheads the GPU check's plan adds to its cells' work (bench/run/gpu_costs.py): per
variant, a worker's framework import and set-up, and per (variant, model) the first training
step's extra time over a steady step (tracing, torch.compile's or XLA's compilation), measured
on this machine's CPU.

Compilation cost follows the graph (how many ops, how many layers), not the tensors' sizes, so
each of the GPU check's models is built at its full depth (ResNet-50's 3/4/6/3 bottlenecks,
BERT-base's and GPT-2's 12 blocks) with narrow widths and short sequences, which a 2-core CPU
steps through in well under a second. Every (variant, model) runs in a fresh process, as a
worker of the suite does, twice: "cold" with empty compilation caches (a cell's training
worker in the check) and "warm" reusing them (its timing-pass worker: the check keeps XLA's,
inductor's and Triton's caches in its scratch folder, bench/cli/gpu_check.py).

    PYTHONPATH=. python benchmarks/gpu_overheads.py [--precision bf16] [--variants torch,...]

prints one JSON line per (variant, model) and a summary; docs/gpu.md quotes its output.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from dataclasses import replace

VARIANTS = ("torch", "torch:compile", "keras:torch", "keras:jax")
MODELS = ("resnet50", "transformer", "gpt")
#: Full depth, narrow: the compiled graph of the real model at a size a CPU steps through.
NARROW = {
    "resnet50": ({"widths": [8, 16, 32, 64], "stem": 8}, None),
    "transformer": ({"dim": 64, "heads": 2, "mlp": 128}, (64,)),
    "gpt": ({"dim": 64, "heads": 2, "mlp": 128, "positions": 64}, (64,)),
}
STEPS = 4
BATCH = 2


def one(variant_name: str, model: str, precision: str) -> dict:
    """In this (fresh) process: import, build, and time ``STEPS`` training steps."""
    import numpy as np

    from bench.catalog import suites, weights
    from bench.catalog.frameworks import get_variant
    from bench.catalog.schedules import lr_table
    from bench.run.adapter import load_adapter
    from bench.zoo.specs import ModelSpec, Settings

    dataset = next(e.dataset for e in suites.SUITES["gpu-check"].entries if e.model == model)
    entry = suites.SUITES["gpu-check"].entry(model, dataset)
    spec = suites.model_spec(model, dataset, suite="gpu-check")
    params, shape = NARROW[model]
    spec = ModelSpec(spec.name, tuple(shape or spec.input_shape), spec.num_classes,
                     {**spec.params, **params})  # fmt: skip
    recipe = replace(entry.recipe, batch_size=BATCH, steps=STEPS)
    t0 = time.perf_counter()
    adapter = load_adapter(get_variant(variant_name))
    adapter.configure(Settings(device="cpu", threads=os.cpu_count() or 1, precision=precision))
    import_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    model_obj = adapter.build(spec, weights.init_weights(spec, 0), recipe, lr_table(recipe))
    build_s = time.perf_counter() - t0
    rng = np.random.default_rng(0)
    if "vocab_size" in spec.params:
        x = rng.integers(1, int(spec.params["vocab_size"]), (STEPS, BATCH, *spec.input_shape))
        x = x.astype(np.int32)
        if spec.params.get("task") == "lm":  # next-token labels, int32 (N, T) as the data's
            y = rng.integers(0, spec.num_classes, (STEPS, BATCH, *spec.input_shape)).astype(
                np.int32
            )
        else:
            y = rng.integers(0, spec.num_classes, (STEPS, BATCH)).astype(np.int64)
    else:
        x = rng.standard_normal((STEPS, BATCH, *spec.input_shape)).astype(np.float32)
        y = rng.integers(0, spec.num_classes, (STEPS, BATCH)).astype(np.int64)
    times, _ = adapter.train_round(model_obj, x, y)
    steady = float(np.median(times[1:]))
    return {
        "variant": variant_name, "model": model, "precision": precision,
        "import_s": round(import_s, 2), "build_s": round(build_s, 2),
        "first_step_s": round(float(times[0]), 2), "steady_step_s": round(steady, 3),
        "first_step_extra_s": round(float(times[0]) - steady, 2),
    }  # fmt: skip


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--precision", default="bf16")
    parser.add_argument("--variants", default=",".join(VARIANTS))
    parser.add_argument("--models", default=",".join(MODELS))
    parser.add_argument("--one", nargs=2, metavar=("VARIANT", "MODEL"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.one:
        print(json.dumps(one(*args.one, args.precision)))
        return 0
    import tempfile

    for model in args.models.split(","):
        for variant in args.variants.split(","):
            cache = tempfile.mkdtemp(prefix="gpu-overheads-")
            env = {**os.environ, "TF_CPP_MIN_LOG_LEVEL": "2",
                   "JAX_COMPILATION_CACHE_DIR": f"{cache}/jax",
                   "TORCHINDUCTOR_CACHE_DIR": f"{cache}/inductor"}  # fmt: skip
            for run in ("cold", "warm"):
                cmd = [sys.executable, __file__, "--one", variant, model, "--precision",
                       args.precision]  # fmt: skip
                done = subprocess.run(cmd, capture_output=True, text=True, env=env, check=False)
                lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
                if done.returncode or not lines:
                    print(json.dumps({"variant": variant, "model": model, "run": run,
                                      "error": done.stderr.strip().splitlines()[-1:]}))  # fmt: skip
                    break
                print(json.dumps({**json.loads(lines[-1]), "run": run,
                                  "load_average": os.getloadavg()[0]}), flush=True)  # fmt: skip
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
