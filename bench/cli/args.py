"""The command line's shared pieces: the usage error (one line on stderr, exit 2), the parser
that raises it instead of printing usage, and the argument types every command uses.
"""

from __future__ import annotations

import argparse
import os
import tempfile
from pathlib import Path
from typing import NoReturn

EXIT_USAGE = 2


class UsageError(Exception):
    """Bad input: reported as one line, exit 2."""


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> NoReturn:  # one line, not usage + traceback
        raise UsageError(f"{self.prog}: {message} (see --help)")


def _whole_number(text: str, minimum: int) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a whole number") from None
    if value < minimum:
        bound = "greater than 0" if minimum == 1 else f"{minimum} or more"
        raise argparse.ArgumentTypeError(f"{text} must be {bound}")
    return value


def positive_int(text: str) -> int:
    return _whole_number(text, 1)


def non_negative_int(text: str) -> int:
    return _whole_number(text, 0)


def positive_float(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text} must be a positive number of seconds")
    return value


def fraction(text: str) -> float:
    try:
        value = float(text.rstrip("%")) / (100 if text.endswith("%") else 1)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r} is not a number") from None
    if not 0 <= value < 1:
        raise argparse.ArgumentTypeError(f"{text} must be a fraction in [0, 1), e.g. 0.05 or 5%")
    return value


def csv_list(text: str) -> list[str]:
    items = [t.strip() for t in text.split(",") if t.strip()]
    if not items:
        raise argparse.ArgumentTypeError("expected a comma-separated list")
    return items


def check_out_dir(path: Path, what: str) -> None:
    """Refuse an output root that is a file or cannot be written, before anything runs.

    Writability is tried, not inferred from permission bits (root passes every access check
    yet cannot write under /proc or on a read-only mount).
    """
    probe = path
    while not probe.exists():
        probe = probe.parent
    if not probe.is_dir():
        raise UsageError(f"{what} {path} is not a directory ({probe} is a file)")
    try:
        fd, name = tempfile.mkstemp(prefix=".bench-probe-", dir=probe)
    except OSError:
        raise UsageError(f"{what} {path} is not writable") from None
    os.close(fd)
    os.unlink(name)
