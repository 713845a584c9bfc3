"""Reading a user's data files safely: one error type, one line naming the file and the fault.

A data file can be truncated by an interrupted download, be another format's file with the
right name, or be a pickle. Each reader turns every such fault into :class:`DataFileError`,
whose message is one line that starts with the file's path, so the command line can print it
as is (exit 2, no traceback). Nothing here ever unpickles: :func:`refuse_pickle` rejects a
pickle stream by its first bytes, because loading a pickle runs whatever code it names.
"""

from __future__ import annotations

import gzip
import zlib
from pathlib import Path


class DataFileError(ValueError):
    """A data file or directory that cannot be used; the message is one line naming it."""


#: Pickle protocols 2-5 start with the PROTO opcode 0x80 followed by the protocol number.
_PICKLE_PROTOCOLS = range(2, 6)


def is_pickle(head: bytes) -> bool:
    """Whether ``head`` (a file's first bytes) starts a pickle stream of protocol 2 or later."""
    return len(head) >= 2 and head[0] == 0x80 and head[1] in _PICKLE_PROTOCOLS


def refuse_pickle(path: Path, head: bytes, instead: str) -> None:
    """Raise if ``head`` is a pickle: unpickling runs arbitrary code, so it is never done."""
    if is_pickle(head):
        raise DataFileError(
            f"{path}: is a Python pickle; bench never unpickles data (loading a pickle can run "
            f"arbitrary code): {instead}"
        )


def read_bytes(path: Path) -> bytes:
    """The file's bytes, gunzipped when its name ends in .gz; faults become DataFileError."""
    try:
        if path.suffix == ".gz":
            with gzip.open(path, "rb") as f:
                return f.read()
        return path.read_bytes()
    except (gzip.BadGzipFile, EOFError, zlib.error) as exc:
        raise DataFileError(f"{path}: not a complete gzip file ({exc})") from None
    except IsADirectoryError:
        raise DataFileError(f"{path}: is a directory, expected a file") from None
    except OSError as exc:
        raise DataFileError(f"{path}: cannot be read ({exc.strerror or exc})") from None


def check_directory(path: Path) -> None:
    """Refuse a --data-dir that does not exist or is not a directory."""
    if not path.exists():
        raise DataFileError(f"{path}: no such directory (--data-dir)")
    if not path.is_dir():
        raise DataFileError(f"{path}: is not a directory (--data-dir)")


def first_with(candidates: list[Path], marker: str) -> Path | None:
    """The first existing directory of ``candidates`` that holds a file named ``marker``."""
    for directory in candidates:
        if (directory / marker).exists():
            return directory
    return None
