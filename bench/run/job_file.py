"""A data-parallel rank's job file: arrays in an ``.npz`` and a JSON description, never a pickle.

Why not a pickle: a job file travels between hosts (``make-job`` writes it on one node and people
copy it to the others, or the launcher hands it to its ranks), and loading a pickle runs whatever
code it names: a tampered or foreign file would run code on every node. bench never unpickles
data (docs/data.md), and the job holds the whole dataset, so it is read as data only.

The format (``FORMAT``, version ``VERSION``) is one zip archive that ``np.load(path,
allow_pickle=False)`` opens: its first member ``job.json`` (UTF-8 JSON, not an array; ``unzip -p
job.npz job.json`` shows it) is ``{"format": "bench-rank-job", "version": 1, "job": TREE}``, and
every other member is one ``.npy`` array. TREE is the job as plain JSON (dicts keep their key
order, ints stay ints, floats round-trip exactly), in which an array becomes
``{"__ndarray__": NAME}`` (the member ``NAME.npy``: the array's key path, such as ``x_train`` or
``weights/linear1.kernel``, or ``#<n>`` where a key is not a safe member name), a NumPy scalar
``{"__npscalar__": NAME}`` (a 0-d array), a tuple ``{"__tuple__": [...]}`` and a non-finite float
``{"__float__": "nan" | "inf" | "-inf"}``. Object arrays are refused on both sides.

The bytes are a function of the job alone: members stored uncompressed in a fixed order
(``job.json``, then the arrays in the job's key order) with a fixed time stamp, system and
permissions, so every node's ``make-job`` with the same arguments writes the same file
(``sha256sum`` tells whether two nodes agree).

:func:`read_job` checks everything before a rank uses it: a file that is not a job file, a damaged
one, an old pickle ``job.pkl``, another format version, a missing or mistyped field each raise
:class:`JobFileError`, one line that starts with the file's path.
"""

from __future__ import annotations

import json
import math
import numbers
import os
import re
import secrets
import zipfile
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import Any

import numpy as np

from bench.catalog.frameworks import VARIANTS
from bench.data.files import is_pickle
from bench.zoo.specs import ModelSpec, Recipe, Settings

FORMAT = "bench-rank-job"
VERSION = 1
DESCRIPTION = "job.json"
MAKE_JOB = "`python -m bench.run.rank make-job`"
REMAKE = f"re-run {MAKE_JOB}"

ARRAY, SCALAR, TUPLE, FLOAT = "__ndarray__", "__npscalar__", "__tuple__", "__float__"
_TAGS = frozenset({ARRAY, SCALAR, TUPLE, FLOAT})
_SEGMENT = re.compile(r"[A-Za-z0-9_][A-Za-z0-9_.\-]*")
_FIXED_TIME = (1980, 1, 1, 0, 0, 0)  # the zip format's earliest date: no clock in the bytes
_ZIP_MAGIC, _NPY_MAGIC = b"PK\x03\x04", b"\x93NUMPY"


class JobFileError(ValueError):
    """A job file that cannot be used; the message is one line starting with its path."""


# -- writing ---------------------------------------------------------------------------------


def _member(path: list[str | int], arrays: dict[str, np.ndarray]) -> str:
    """The member name for the array at ``path``: its key path where every key is a safe name."""
    parts = [str(p) for p in path]
    name = "/".join(parts)
    if not all(_SEGMENT.fullmatch(p) for p in parts) or name in arrays or name == DESCRIPTION:
        name = f"#{len(arrays)}"  # '#' is in no key path's name
    return name


def _encode(value: Any, path: list[str | int], arrays: dict[str, np.ndarray]) -> Any:
    where = "job" + "".join(f"[{p!r}]" for p in path)
    if isinstance(value, (np.ndarray, np.generic)):
        array = np.asarray(value)
        if array.dtype.hasobject:
            raise TypeError(f"{where}: an object array cannot go in a job file")
        name = _member(path, arrays)
        arrays[name] = array
        return {ARRAY if isinstance(value, np.ndarray) else SCALAR: name}
    if value is None or isinstance(value, (bool, int, str)):
        return value
    if isinstance(value, float):
        return value if math.isfinite(value) else {FLOAT: repr(value)}
    if isinstance(value, tuple):
        return {TUPLE: [_encode(v, [*path, i], arrays) for i, v in enumerate(value)]}
    if isinstance(value, list):
        return [_encode(v, [*path, i], arrays) for i, v in enumerate(value)]
    if isinstance(value, Mapping):
        out = {}
        for key, v in value.items():
            if not isinstance(key, str) or key in _TAGS:
                raise TypeError(f"{where}: key {key!r} cannot go in a job file (str keys only)")
            out[key] = _encode(v, [*path, key], arrays)
        return out
    raise TypeError(f"{where}: a {type(value).__name__} cannot go in a job file")


def _entry(name: str) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, date_time=_FIXED_TIME)
    info.compress_type = zipfile.ZIP_STORED  # float data barely compresses; stored is fast
    info.create_system = 3  # Unix, whichever system writes it
    info.external_attr = 0o644 << 16
    return info


def write_job(path: Path, job: Mapping[str, Any]) -> None:
    """Write ``job`` to ``path`` (whole or not at all: a temporary file, then renamed).

    Raises TypeError for a value a job file cannot hold (an object array, a non-str key)."""
    path = Path(path)
    arrays: dict[str, np.ndarray] = {}
    tree = _encode(job, [], arrays)
    text = json.dumps({"format": FORMAT, "version": VERSION, "job": tree}, indent=1)
    tmp = path.with_name(f".{path.name}.{os.getpid()}.{secrets.token_hex(4)}.tmp")
    try:
        with zipfile.ZipFile(tmp, "x") as zf:
            zf.writestr(_entry(DESCRIPTION), text.encode("utf-8"))
            for name, array in arrays.items():
                with zf.open(_entry(f"{name}.npy"), "w", force_zip64=True) as f:
                    np.lib.format.write_array(f, array, allow_pickle=False)
        os.replace(tmp, path)
    finally:
        tmp.unlink(missing_ok=True)


# -- reading ---------------------------------------------------------------------------------


def _describe(value: Any) -> str:
    if isinstance(value, np.ndarray):
        return f"a {value.ndim}-D {value.dtype} array"
    names = {dict: "a dict", list: "a list", str: "a string", bool: "a boolean", int: "an integer",
             float: "a number", tuple: "a tuple", type(None): "null"}  # fmt: skip
    return names.get(type(value), f"a {type(value).__name__}")


def _is_int(v: Any) -> bool:
    return isinstance(v, numbers.Integral) and not isinstance(v, (bool, np.bool_))


KINDS: dict[str, Callable[[Any], bool]] = {
    "a string": lambda v: isinstance(v, str),
    "a dict": lambda v: isinstance(v, dict),
    "null": lambda v: v is None,
    "a boolean": lambda v: isinstance(v, (bool, np.bool_)),
    "an integer": _is_int,
    "a number": lambda v: _is_int(v) or isinstance(v, (float, np.floating)),
    "an array (1-D or more)": lambda v: isinstance(v, np.ndarray) and v.ndim >= 1,
    "a 2-D integer array": lambda v: isinstance(v, np.ndarray) and v.ndim == 2
    and v.dtype.kind in "iu",
    "a dict of arrays": lambda v: isinstance(v, dict)
    and all(isinstance(a, np.ndarray) for a in v.values()),
}  # fmt: skip

#: every field a rank reads: name → (required, what it may be)
FIELDS: dict[str, tuple[bool, tuple[str, ...]]] = {
    "framework": (True, ("a string",)),
    "settings": (True, ("a dict",)),
    "spec": (True, ("a dict",)),
    "recipe": (True, ("a dict",)),
    "weights": (True, ("a dict of arrays",)),
    "lr": (True, ("an array (1-D or more)",)),
    "x_train": (True, ("an array (1-D or more)",)),
    "y_train": (True, ("an array (1-D or more)",)),
    "x_test": (True, ("an array (1-D or more)",)),
    "y_test": (True, ("an array (1-D or more)",)),
    "order": (True, ("a 2-D integer array",)),
    "rendezvous_timeout": (True, ("a number",)),
    "address": (False, ("a string",)),
    "augment": (False, ("a dict", "null")),
    "train_steps": (False, ("an integer",)),
    "eval_every": (False, ("an integer", "null")),
    "evaluate": (False, ("a boolean",)),
    "dump_weights": (False, ("a boolean",)),
    "timing": (False, ("a boolean",)),
    "window_seconds": (False, ("a number",)),
    "pass_seconds": (False, ("a number",)),
    "allreduce_floats": (False, ("an integer",)),
    "stack_dump_after": (False, ("a number", "null")),
}


def check_job(job: Any) -> str | None:
    """What is wrong with a decoded job (one phrase), or None when a rank can run it."""
    if not isinstance(job, dict):
        return f"its job is {_describe(job)}, not a dict"
    for name, (required, kinds) in FIELDS.items():
        if name not in job:
            if required:
                return f"field {name!r} is missing"
            continue
        if not any(KINDS[k](job[name]) for k in kinds):
            return f"field {name!r} is {_describe(job[name])}, not {' or '.join(kinds)}"
    if job.get("timing"):
        for name in ("window_seconds", "pass_seconds"):
            if name not in job:
                return f"field {name!r} is missing (the job asks for a timing pass)"
    for x, y in (("x_train", "y_train"), ("x_test", "y_test")):
        if len(job[x]) != len(job[y]):
            return f"{x} has {len(job[x])} samples but {y} {len(job[y])} labels"
    order = job["order"]
    if order.size and not 0 <= order.min() <= order.max() < len(job["x_train"]):
        return f"order indexes outside x_train's {len(job['x_train'])} samples"
    for name, cls in (("spec", ModelSpec), ("recipe", Recipe), ("settings", Settings)):
        try:
            cls.from_dict(job[name])
        except (KeyError, TypeError, ValueError, AttributeError) as exc:
            reason = (str(exc).splitlines() or [""])[0] or type(exc).__name__
            return f"field {name!r} does not describe a {name} ({type(exc).__name__}: {reason})"
    if job["framework"] not in VARIANTS:
        known = ", ".join(VARIANTS)
        return f"field 'framework' names {job['framework']!r}; this bench knows {known}"
    return None


def _decode(node: Any, npz: Any, where: str) -> Any:
    if isinstance(node, list):
        return [_decode(v, npz, f"{where}[{i}]") for i, v in enumerate(node)]
    if not isinstance(node, dict):
        return node
    tags = _TAGS & node.keys()
    if not tags:
        return {k: _decode(v, npz, f"{where}[{k!r}]") for k, v in node.items()}
    tag = min(tags)
    arg = node[tag]
    if len(node) != 1:
        raise JobFileError(f"{where}: {tag} has other keys beside it")
    if tag == TUPLE and isinstance(arg, list):
        return tuple(_decode(v, npz, f"{where}[{i}]") for i, v in enumerate(arg))
    if tag == FLOAT and arg in ("nan", "inf", "-inf"):
        return float(arg)
    if tag in (ARRAY, SCALAR) and isinstance(arg, str):
        if f"{arg}.npy" not in npz.zip.namelist():
            raise JobFileError(f"{where}: the archive has no array {arg!r}")
        array = npz[f"{arg}.npy"]  # allow_pickle=False: an object array raises ValueError
        if not isinstance(array, np.ndarray):
            raise JobFileError(f"{where}: member {arg + '.npy'!r} is not an array")
        if tag == SCALAR:
            if array.ndim:
                raise JobFileError(f"{where}: scalar {arg!r} is {_describe(array)}")
            return array[()]
        return array
    raise JobFileError(f"{where}: {tag} with {_describe(arg)}")


def _head(path: Path) -> bytes:
    try:
        with open(path, "rb") as f:
            return f.read(8)
    except IsADirectoryError:
        raise JobFileError(f"{path}: is a directory, not a job file") from None
    except FileNotFoundError:
        raise JobFileError(f"{path}: no such job file ({MAKE_JOB} writes one)") from None
    except OSError as exc:
        raise JobFileError(f"{path}: cannot read the job file: {exc.strerror or exc}") from None


def read_job(path: Path) -> dict[str, Any]:
    """The job in ``path``, checked (:func:`check_job`); every fault is a :class:`JobFileError`."""
    path = Path(path)
    head = _head(path)
    if is_pickle(head):
        raise JobFileError(
            f"{path}: is a pickle job file from an older version of bench; job files are .npz "
            f"now and bench never unpickles them (loading a pickle can run arbitrary code): "
            f"{REMAKE}"
        )
    if head.startswith(_NPY_MAGIC):
        raise JobFileError(f"{path}: is a single .npy array, not a job file (an .npz archive)")
    if not head.startswith(_ZIP_MAGIC):
        what = "is empty" if not head else "is not an .npz archive"
        raise JobFileError(f"{path}: {what}, so not a job file: {REMAKE}")
    try:
        with np.load(path, allow_pickle=False) as npz:
            if DESCRIPTION not in npz.zip.namelist():
                raise JobFileError(
                    f"{path}: is an .npz archive without {DESCRIPTION}, not a bench job file"
                )
            raw = npz[DESCRIPTION]
            try:
                described = json.loads(raw.decode("utf-8"), parse_constant=_no_constant)
            except (ValueError, TypeError, AttributeError, RecursionError) as exc:
                reason = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
                raise JobFileError(
                    f"{path}: damaged job file: {DESCRIPTION} is not JSON ({reason}): {REMAKE}"
                ) from None
            _check_format(path, described)
            job = _decode(described["job"], npz, "job")
    except JobFileError as exc:
        message = str(exc)
        if not message.startswith(str(path)):
            message = f"{path}: damaged job file: {message}; {REMAKE}"
        raise JobFileError(message) from None
    except (OSError, EOFError, ValueError, KeyError, RecursionError, zipfile.BadZipFile) as exc:
        reason = (str(exc).splitlines() or [""])[0] or type(exc).__name__
        raise JobFileError(f"{path}: damaged or truncated job file ({reason}): {REMAKE}") from None
    problem = check_job(job)
    if problem:
        raise JobFileError(f"{path}: {problem}: {REMAKE}")
    return job


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not JSON")


def _check_format(path: Path, described: Any) -> None:
    if not isinstance(described, dict) or described.get("format") != FORMAT:
        found = described.get("format") if isinstance(described, dict) else None
        named = f"names format {found!r}" if isinstance(found, str) else "names no format"
        raise JobFileError(f"{path}: its {DESCRIPTION} {named}, not {FORMAT!r}: not a job file")
    version = described.get("version")
    if version != VERSION or isinstance(version, bool):
        raise JobFileError(
            f"{path}: is a job file of format version {version!r}; this bench reads version "
            f"{VERSION}: {REMAKE} with this version of bench"
        )
    if "job" not in described:
        raise JobFileError(f"{path}: its {DESCRIPTION} has no job")
