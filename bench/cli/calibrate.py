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
    needed = {calibrate.LIBRARY_OF_FAMILY[VARIANTS[f].family] for f in frameworks}
    if cached and needed <= set(cached["matmul_gflops"]):
        return cached
    if not measure:
        return cached
    console.print("measuring this machine's matmul peak (once per machine; see bench calibrate)",
                  markup=False)  # fmt: skip
    every = [f for f in DEFAULT_FRAMEWORKS if VARIANTS[f].available()]
    result = calibrate.calibrate(every, settings.threads, settings.device)
    calibrate.save_cached(path, fingerprint, result)
    return result


def cmd_calibrate(args: argparse.Namespace, console: Console) -> int:
    from rich.table import Table

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
    result = calibrate.calibrate(names, threads, device)
    calibrate.save_cached(path, environment.capture()["fingerprint"], result)
    table = Table(title=f"float32 matmul peak, {threads} threads, {device}")
    table.add_column("library")
    table.add_column("GFLOP/s", justify="right")
    for lib, value in result["matmul_gflops"].items():
        table.add_row(lib, f"{value:,.1f}")
    for lib, error in result["errors"].items():
        table.add_row(lib, f"failed: {error}")
    console.print(table)
    console.print(f"memory bandwidth (copy): {result['memory_bandwidth_gbs']:,.1f} GB/s",
                  markup=False)  # fmt: skip
    console.print(f"saved to {path}", markup=False)
    return 0
