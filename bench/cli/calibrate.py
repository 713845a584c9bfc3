"""``bench calibrate``: the machine's measured matmul peaks and memory bandwidth (cached per
machine)."""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from rich.console import Console

from bench.catalog.frameworks import DEFAULT_FRAMEWORKS, VARIANTS, get_variant
from bench.cli.args import UsageError, check_out_dir
from bench.measure import environment
from bench.run.plan import resolve_device
from bench.zoo.precision import canonical
from bench.zoo.precision import refusal as precision_refusal
from bench.zoo.specs import Settings


def run_calibration(
    frameworks: list[str],
    settings: Settings,
    fingerprint: str,
    path: Path,
    measure: bool,
    console: Console,
) -> dict[str, Any] | None:
    """This machine's cached peaks, measured now if missing (and allowed)."""
    from bench.measure import calibrate

    cached = calibrate.load_cached(path, fingerprint, settings.threads, settings.device)
    needed = {calibrate.library_of(f) for f in frameworks}
    if cached and needed <= set(cached["matmul_gflops"]):
        return cached
    if not measure:
        return cached
    console.print("measuring this machine's matmul peak (once per machine; see bench calibrate)",
                  markup=False)  # fmt: skip
    # the default libraries and the run's own (keras:jax needs JAX's peak, not TensorFlow's)
    every = list(dict.fromkeys([*(f for f in DEFAULT_FRAMEWORKS if VARIANTS[f].available()),
                                *frameworks]))  # fmt: skip
    result = calibrate.calibrate(every, settings.threads, settings.device)
    calibrate.save_cached(path, fingerprint, result)
    return result


def peak_table(result: dict[str, Any], threads: int, device: str) -> Any:
    """The measured peaks as a table: one row per library, one column per precision."""
    from rich.table import Table

    by_precision = result.get("matmul_gflops_by_precision") or {
        lib: {"fp32": value} for lib, value in result["matmul_gflops"].items()
    }
    for lib, value in result["matmul_gflops"].items():  # NumPy has only fp32
        by_precision.setdefault(lib, {"fp32": value})
    precisions = list(dict.fromkeys(p for peaks in by_precision.values() for p in peaks))
    table = Table(title=f"matmul peak (GFLOP/s), {threads} threads, {device}")
    table.add_column("library")
    for p in precisions:
        table.add_column(p, justify="right")
    for lib, peaks in by_precision.items():
        table.add_row(lib, *(f"{peaks[p]:,.1f}" if p in peaks else "—" for p in precisions))
    for lib, error in result["errors"].items():
        table.add_row(lib, f"failed: {error}")
    return table


def cmd_calibrate(args: argparse.Namespace, console: Console) -> int:
    from bench.measure import calibrate

    names = args.frameworks or [f for f in DEFAULT_FRAMEWORKS if VARIANTS[f].available()]
    for name in names:
        try:
            if not get_variant(name).available():
                raise UsageError(
                    f"{name} is not installed (install with: {VARIANTS[name].install})"
                )
        except ValueError as exc:
            raise UsageError(str(exc)) from None
    threads = args.threads or environment.usable_cores()
    device = resolve_device(args.device)
    path = args.out or Path("results/calibration.json")
    check_out_dir(path.parent, "--out")
    precisions = tuple(args.precision or ["fp32"])
    for p in precisions:
        try:
            refused = precision_refusal(canonical(p), device)
        except ValueError as exc:
            raise UsageError(f"--precision: {exc}") from None
        if refused:
            raise UsageError(refused)
    precisions = tuple(canonical(p) for p in precisions)
    result = calibrate.calibrate(names, threads, device, precisions)
    calibrate.save_cached(path, environment.capture()["fingerprint"], result)
    console.print(peak_table(result, threads, device))
    console.print(f"memory bandwidth (copy): {result['memory_bandwidth_gbs']:,.1f} GB/s",
                  markup=False)  # fmt: skip
    console.print(f"saved to {path}", markup=False)
    return 0
