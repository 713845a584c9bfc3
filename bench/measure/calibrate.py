"""The machine's measured float32 matrix-multiply peak (per framework and NumPy) and memory
bandwidth, so each cell's achieved GFLOP/s can be read as a fraction of what this machine does.

Each framework is measured in its own child process with the run's thread count, like the
cells. The figure is the best of several sizes: the achievable peak, not a theoretical one.
Results are cached per machine fingerprint in ``results/calibration.json`` and copied into each
run's env.json.
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
DEFAULT_PATH = Path("results/calibration.json")

#: Which library's matmul a variant's cells run on (scikit-learn's is NumPy's BLAS, measured on
#: every CPU calibration).
LIBRARY_OF_FAMILY = {
    "torch": "torch",
    "tf": "tensorflow",
    "keras": "tensorflow",
    "sklearn": "numpy",
}


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


def _child(conn: Any, family: str, threads: int, device: str) -> None:
    redirect_output(os.devnull)  # the framework's start-up chatter; errors come back by pipe
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    try:
        module = framework_module(family, "calibrate")
        conn.send({"ok": True, "gflops": module.matmul_gflops(threads, device)})
    except BaseException as exc:
        conn.send({"ok": False, "error": one_line(exc)})


def framework_gflops(library: str, threads: int, device: str, timeout: float = 300) -> float:
    """Peak of one library, measured in a spawned child process."""
    family = {"torch": "torch", "tensorflow": "tf"}[library]
    ctx = mp.get_context("spawn")
    parent, child = ctx.Pipe()
    proc = ctx.Process(target=_child, args=(child, family, threads, device), daemon=True)
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
    return float(reply["gflops"])


def calibrate(frameworks: list[str], threads: int, device: str) -> dict[str, Any]:
    """Measure NumPy and every library the given variants run on."""
    libraries = sorted({LIBRARY_OF_FAMILY[get_variant(f).family] for f in frameworks} - {"numpy"})
    gflops: dict[str, float] = {}
    errors: dict[str, str] = {}
    if device == "cpu":
        gflops["numpy"] = best_gflops(numpy_matmul)
    for library in libraries:
        try:
            gflops[library] = framework_gflops(library, threads, device)
        except RuntimeError as exc:
            errors[library] = str(exc)
    return {
        "matmul_gflops": gflops,
        "memory_bandwidth_gbs": memory_bandwidth_gbs(),
        "threads": threads,
        "device": device,
        "sizes": list(SIZES),
        "errors": errors,
        "measured": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }


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
