"""What the GPU check prints first: the GPU, its driver and CUDA, and every installed version
that differs from ``constraints.txt`` (the versions this suite is tested with), without importing
a framework (package metadata and nvidia-smi only, like :mod:`bench.measure.environment`).

A GPU host brings its own torch, JAX and NumPy; a figure from it is read against those, so the
check names each difference before it measures anything.
"""

from __future__ import annotations

import re
import subprocess
from importlib import metadata
from pathlib import Path

#: nvidia-smi's fields for one line per GPU.
SMI_FIELDS = "name,driver_version,memory.total,compute_cap,clocks.max.sm,power.limit"
#: Name prefixes of the CUDA libraries that arrive as pip packages with torch (cuda-toolkit,
#: nvidia-cudnn-cu13, triton, ...) and with JAX's CUDA plugin (jax-cuda13-plugin, -pjrt).
CUDA_PACKAGES = ("nvidia-", "cuda-", "jax-cuda", "triton")
#: What the wheel folder brings to a GPU host (docs/gpu.md): where each is imported from says
#: whether the folder's copy is the one in use.
FROM_WHEELS = ("keras", "optree", "namex", "mnist1d")


def smi(args: list[str], timeout: float = 15) -> str | None:
    """nvidia-smi's output, or None where it is missing or fails."""
    try:
        done = subprocess.run(["nvidia-smi", *args], capture_output=True, text=True,
                              timeout=timeout, check=True)  # fmt: skip
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout


def device_memory_bytes(index: int = 0) -> int | None:
    """Total memory of GPU ``index`` as nvidia-smi reports it (MiB → bytes); None without one.
    A sweep's default memory budget on a GPU (:mod:`bench.cli.sweep`)."""
    table = smi(["--query-gpu=memory.total", "--format=csv,noheader,nounits"])
    rows = [r.strip() for r in (table or "").splitlines() if r.strip()]
    if index >= len(rows) or not rows[index].isdigit():
        return None
    return int(rows[index]) * 2**20


def gpu_lines() -> list[str]:
    """One line per GPU (name, driver, memory, compute capability, clocks, power) and the CUDA
    version the driver supports; ["no NVIDIA GPU (nvidia-smi not found or failing)"] without."""
    table = smi([f"--query-gpu={SMI_FIELDS}", "--format=csv,noheader"])
    if not table:
        return ["no NVIDIA GPU (nvidia-smi not found or failing)"]
    lines = [f"GPU: {line.strip()}" for line in table.splitlines() if line.strip()]
    header = smi([]) or ""
    cuda = re.search(r"CUDA Version:\s*([\d.]+)", header)
    lines.append(f"driver's CUDA: {cuda.group(1) if cuda else 'unknown'}")
    return lines


def read_constraints(path: Path) -> dict[str, str]:
    """``name==version`` lines of a constraints file, names normalised (PEP 503)."""
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if "==" in line:
            name, version = line.split("==", 1)
            pins[normalise(name)] = version.strip()
    return pins


def normalise(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def installed(name: str) -> str | None:
    try:
        return metadata.version(name)
    except metadata.PackageNotFoundError:
        return None


def differences(constraints: Path) -> list[tuple[str, str, str]]:
    """(package, pinned, installed or "missing") for every pin the environment does not match:
    a different version, or not installed at all."""
    out = []
    for name, pinned in read_constraints(constraints).items():
        have = installed(name)
        if have != pinned:
            out.append((name, pinned, have or "missing"))
    return out


def imported_from(names: tuple[str, ...] = FROM_WHEELS) -> list[tuple[str, str, str]]:
    """(module, version, file it would be imported from) without importing it; "missing" where
    it cannot be found."""
    import importlib.util

    out = []
    for name in names:
        spec = importlib.util.find_spec(name)
        origin = (spec.origin or next(iter(spec.submodule_search_locations or []), "?")) if spec \
            else "missing"  # fmt: skip
        out.append((name, installed(name) or "?", str(origin)))
    return out


def cuda_packages() -> list[tuple[str, str]]:
    """The CUDA libraries installed as Python distributions (any ``-cu12``/``-cu13`` suffix)."""
    found = []
    for dist in metadata.distributions():
        name = normalise(dist.metadata["Name"] or "")
        if any(name.startswith(p) for p in CUDA_PACKAGES):
            found.append((name, dist.version))
    return sorted(set(found))
