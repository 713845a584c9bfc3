"""The wheel folder a GPU host is given (``make gpu-wheels``, docs/gpu.md) installs there: its
wheels plus what the host already has (benchmarks/gpu_host_packages.txt) resolve for CPython
3.12 on manylinux x86-64, and nothing else is needed.

The host's packages cannot be in the folder, so each is stood for by an empty wheel of its least
possible version, and pip resolves the folder's wheels against those alone (``--no-index``, no
configuration or environment of this machine's pip): a wheel whose requirement the host cannot
meet fails here. The control case shows it does.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
FOLDER = ROOT / "gpu-wheels"
HOST = ROOT / "benchmarks" / "gpu_host_packages.txt"
#: What the folder is for: keras at constraints.txt's version and what it needs beyond the host.
WANTED = ("keras", "optree", "namex", "mnist1d")
MAX_FOLDER_BYTES = 60 * 2**20

needs_folder = pytest.mark.skipif(
    not (FOLDER / ".complete").exists(), reason="no gpu-wheels/ (make gpu-wheels builds it)"
)


def host_packages(path: Path = HOST) -> dict[str, str]:
    pins = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        line = line.split("#", 1)[0].strip()
        if line:
            name, version = line.split("==")
            pins[name] = version
    return pins


def stub_wheel(folder: Path, name: str, version: str) -> Path:
    """An installable wheel of ``name`` ``version`` with no files and no requirements."""
    dist = re.sub(r"[-_.]+", "_", name)
    info = f"{dist}-{version}.dist-info"
    files = {
        f"{info}/METADATA": f"Metadata-Version: 2.1\nName: {name}\nVersion: {version}\n",
        f"{info}/WHEEL": "Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\n"
        "Tag: py3-none-any\n",
    }
    files[f"{info}/RECORD"] = "".join(f"{f},,\n" for f in files) + f"{info}/RECORD,,\n"
    path = folder / f"{dist}-{version}-py3-none-any.whl"
    with zipfile.ZipFile(path, "w") as z:
        for f, text in files.items():
            z.writestr(f, text)
    return path


def pins() -> list[str]:
    """keras and mnist1d at constraints.txt's versions, optree and namex as the folder has."""
    constraints = (ROOT / "constraints.txt").read_text(encoding="utf-8")
    lines = constraints.splitlines()
    wanted = [ln.strip() for ln in lines if ln.startswith(("keras==", "mnist1d=="))]
    return [*wanted, "optree", "namex"]


def resolve(folder: Path, stubs: Path, target: Path) -> subprocess.CompletedProcess[str]:
    """pip's dry-run install for CPython 3.12 manylinux_2_28 x86-64 from the two folders only."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PIP_")}
    env["PIP_CONFIG_FILE"] = os.devnull  # this machine's index, find-links and constraints: off
    cmd = [
        sys.executable, "-m", "pip", "install", "--isolated", "--dry-run", "--ignore-installed",
        "--no-index", "--find-links", str(folder), "--find-links", str(stubs),
        "--python-version", "3.12", "--implementation", "cp", "--abi", "cp312",
        "--platform", "manylinux_2_28_x86_64", "--only-binary=:all:", "--target", str(target),
        "--report", str(target.parent / "report.json"), "--quiet", *pins(),
    ]  # fmt: skip
    return subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=120, check=False)


@needs_folder
def test_the_folder_is_small_and_holds_what_the_host_lacks() -> None:
    wheels = sorted(FOLDER.glob("*.whl"))
    assert sum(w.stat().st_size for w in wheels) <= MAX_FOLDER_BYTES
    names = {w.name.split("-")[0].lower() for w in wheels}
    assert names == set(WANTED)
    optree = next(w.name for w in wheels if w.name.startswith("optree"))
    assert "cp312-cp312" in optree and "manylinux_2_28_x86_64" in optree
    assert not set(WANTED) & set(host_packages()), "the host's own packages are not shipped"


@needs_folder
def test_the_folder_and_the_host_resolve_for_cpython_312(tmp_path: Path) -> None:
    stubs = tmp_path / "host"
    stubs.mkdir()
    for name, version in host_packages().items():
        stub_wheel(stubs, name, version)
    done = resolve(FOLDER, stubs, tmp_path / "target")
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads((tmp_path / "report.json").read_text())
    chosen = {i["metadata"]["name"].lower(): i["download_info"]["url"] for i in report["install"]}
    for name in WANTED:  # each from the folder, not stood in for by a stub
        assert name in chosen and str(FOLDER) in chosen[name], (name, chosen.get(name))
    assert all(str(FOLDER) in url or str(stubs) in url for url in chosen.values())


@needs_folder
def test_the_check_fails_when_the_host_lacks_a_requirement(tmp_path: Path) -> None:
    """The control: a host whose typing-extensions is older than optree needs (4.10) does not
    resolve, nor one without h5py (keras needs it)."""
    for change in ({"typing-extensions": "4.9.0"}, {"h5py": None}):
        stubs = tmp_path / f"host-{len(list(tmp_path.iterdir()))}"
        stubs.mkdir()
        for name, version in {**host_packages(), **change}.items():
            if version is not None:
                stub_wheel(stubs, name, version)
        done = resolve(FOLDER, stubs, stubs / "target")
        assert done.returncode != 0, change
        assert "typing" in done.stderr or "h5py" in done.stderr, done.stderr[-2000:]
