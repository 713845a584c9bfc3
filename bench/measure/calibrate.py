"""The machine's measured matrix-multiply peak (per library and NumPy) and memory bandwidth, so
each cell's achieved GFLOP/s can be read as a fraction of what this machine does.

Each library is measured in its own child process with the run's thread count, like the cells.
The figure is the best of several sizes: the achievable peak, not a theoretical one. A variant's
cells are set against the library its arithmetic runs in (:func:`library_of`): ``keras:torch``
against torch, ``keras:jax`` against JAX, ``keras`` against TensorFlow. ``matmul_gflops`` is the
float32 peak (TF32 off); ``precisions`` adds the tf32 and bf16 peaks (tensor cores on a GPU)
under ``matmul_gflops_by_precision``, so a bf16 cell is read against a bf16 peak. Results are
cached per machine fingerprint in ``results/calibration.json`` and copied into each run's env.json.
"""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import time
from pathlib import Path
from typing import Any

import numpy as np

from bench.catalog.frameworks import framework_module, get_variant
from bench.measure.isolation import one_line, redirect_output

SIZES = (256, 512, 1024, 2048)
#: On a GPU the tensor cores reach their peak only on larger products.
GPU_SIZES = (1024, 2048, 4096, 8192)


def default_sizes(device: str) -> tuple[int, ...]:
    """The matmul sizes every library's calibrator tries on ``device`` ("cuda" or "cpu")."""
    return GPU_SIZES if device == "cuda" else SIZES


DEFAULT_PATH = Path("results/calibration.json")

#: Which library's matmul a family's cells run on (a Keras variant: its backend's; a reference
#: family on NumPy, whose BLAS every CPU calibration measures).
LIBRARY_OF_FAMILY = {
    "torch": "torch",
    "tf": "tensorflow",
    "keras": "tensorflow",
    "sklearn": "numpy",
}
#: The models/ package holding each library's calibration matmul.
FAMILY_OF_LIBRARY = {"torch": "torch", "tensorflow": "tf", "jax": "jax"}


def library_of(framework: str) -> str:
    """The library whose matmul the variant's cells run on: a Keras variant's backend."""
    variant = get_variant(framework)
    return str(variant.options.get("backend") or LIBRARY_OF_FAMILY[variant.family])


def best_gflops(matmul: Any, sizes: tuple[int, ...] = SIZES, seconds: float = 0.3) -> float:
    """Best float32 GFLOP/s of ``matmul(n)`` (which runs one synchronized n x n matmul)."""
    best = 0.0
    for n in sizes:
        matmul(n)  # warm-up: allocation, kernel selection
        reps, elapsed = 0, 0.0
        t0 = time.perf_counter()
        while elapsed < seconds or reps < 3:
            matmul(n)
            reps += 1
            elapsed = time.perf_counter() - t0
        best = max(best, 2 * n**3 * reps / elapsed / 1e9)
    return best


def numpy_matmul(n: int, _cache: dict[int, tuple[np.ndarray, np.ndarray]] = {}) -> None:  # noqa: B006
    if n not in _cache:
        rng = np.random.default_rng(0)
        _cache[n] = (rng.random((n, n), np.float32), rng.random((n, n), np.float32))
    a, b = _cache[n]
    a @ b


def memory_bandwidth_gbs(megabytes: int = 256, seconds: float = 0.5) -> float:
    """Copy bandwidth (bytes read + written per second), STREAM-copy style, with NumPy."""
    src = np.ones(megabytes * 2**20 // 8)
    dst = np.empty_like(src)
    np.copyto(dst, src)
    reps, t0 = 0, time.perf_counter()
    while time.perf_counter() - t0 < seconds or reps < 3:
        np.copyto(dst, src)
        reps += 1
    return 2 * src.nbytes * reps / (time.perf_counter() - t0) / 1e9


def _child(
    conn: Any, family: str, threads: int, device: str, precisions: tuple[str, ...],
    sizes: tuple[int, ...] | None, seconds: float,
) -> None:  # fmt: skip
    redirect_output(os.devnull)  # the framework's start-up chatter; errors come back by pipe
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        module = framework_module(family, "calibrate")
        out = {}
        for p in precisions:
            try:
                out[p] = {"gflops": module.matmul_gflops(threads, device, p, sizes, seconds)}
            except Exception as exc:  # one precision failing (no bf16 kernel) keeps the others
                out[p] = {"error": one_line(exc)}
        conn.send({"ok": True, "by_precision": out})
    except BaseException as exc:
        conn.send({"ok": False, "error": one_line(exc)})


def framework_peaks(
    library: str, threads: int, device: str, precisions: tuple[str, ...] = ("fp32",),
    timeout: float = 300, sizes: tuple[int, ...] | None = None, seconds: float = 0.3,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    """One library's peak per precision ({"gflops": ...} or {"error": ...}), measured in one
    spawned child process."""
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    args = (child, FAMILY_OF_LIBRARY[library], threads, device, precisions, sizes, seconds)
    proc = ctx.Process(target=_child, args=args, daemon=True)
    proc.start()
    child.close()
    try:
        if not parent.poll(timeout):
            raise RuntimeError(f"{library} calibration took over {timeout:.0f} s")
        reply = parent.recv()
    except EOFError:
        raise RuntimeError(f"{library} calibration process died") from None
    finally:
        proc.kill() if proc.is_alive() else None
        proc.join(5)
    if not reply["ok"]:
        raise RuntimeError(reply["error"])
    return dict(reply["by_precision"])


def framework_gflops(library: str, threads: int, device: str, timeout: float = 300) -> float:
    """float32 peak of one library, measured in a spawned child process."""
    peak = framework_peaks(library, threads, device, ("fp32",), timeout)["fp32"]
    if "error" in peak:
        raise RuntimeError(peak["error"])
    return float(peak["gflops"])


def calibrate(
    frameworks: list[str], threads: int, device: str, precisions: tuple[str, ...] = ("fp32",),
    sizes: tuple[int, ...] | None = None, seconds: float = 0.3, timeout: float = 300,
) -> dict[str, Any]:  # fmt: skip
    """Measure NumPy and every library the given variants run on, at each of ``precisions``
    (fp32 always; tf32 only on a GPU: no CPU has it). ``sizes`` and ``seconds``: the matmuls
    (None: each library's defaults, larger on a GPU)."""
    from bench.zoo.precision import refusal

    libraries = sorted({library_of(f) for f in frameworks} - {"numpy"})
    wanted = tuple(dict.fromkeys(("fp32", *precisions)))
    skipped = [p for p in wanted if refusal(p, device)]
    wanted = tuple(p for p in wanted if p not in skipped)
    gflops: dict[str, float] = {}
    by_precision: dict[str, dict[str, float]] = {}
    errors: dict[str, str] = {}
    if device == "cpu":
        gflops["numpy"] = best_gflops(numpy_matmul, sizes or SIZES, seconds)
    for library in libraries:
        try:
            peaks = framework_peaks(library, threads, device, wanted, timeout, sizes, seconds)
        except RuntimeError as exc:
            errors[library] = str(exc)
            continue
        for p, peak in peaks.items():
            if "error" in peak:
                errors[library if p == "fp32" else f"{library}@{p}"] = peak["error"]
            else:
                by_precision.setdefault(library, {})[p] = float(peak["gflops"])
        if "fp32" in by_precision.get(library, {}):
            gflops[library] = by_precision[library]["fp32"]
    result: dict[str, Any] = {
        "matmul_gflops": gflops,
        "memory_bandwidth_gbs": memory_bandwidth_gbs(),
        "threads": threads,
        "device": device,
        "sizes": list(sizes or SIZES),
        "errors": errors,
        "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if wanted != ("fp32",):
        result["matmul_gflops_by_precision"] = by_precision
        result["precisions_not_measured"] = {p: refusal(p, device) for p in skipped}
    return result


def load_cached(path: Path, fingerprint: str, threads: int, device: str) -> dict[str, Any] | None:
    try:
        cache = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        return None
    entry = cache.get(f"{fingerprint}/{device}/{threads}")
    return entry if isinstance(entry, dict) else None


def save_cached(path: Path, fingerprint: str, result: dict[str, Any]) -> None:
    try:
        cache = json.loads(path.read_text())
    except (OSError, json.JSONDecodeError):
        cache = {}
    cache[f"{fingerprint}/{result['device']}/{result['threads']}"] = result
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp")
    tmp.write_text(json.dumps(cache, indent=2) + "\n")
    os.replace(tmp, path)
