"""Results on disk: one directory per run holding ``results.jsonl`` and ``env.json``.

Each finished cell is appended as one line and flushed and fsynced before the runner moves on,
so a crash (or SIGKILL) of anything later loses nothing already finished. Readers tolerate a
cut-off last line (see :func:`bench.run.results.read_records`).
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

from bench.run.results import SchemaError, clean, read_records

RESULTS = "results.jsonl"
ENV = "env.json"


def new_run_id() -> str:
    """Sortable by time, unique across concurrent runs."""
    stamp = datetime.now(timezone.utc).strftime("%Y%m%d-%H%M%S")
    return f"{stamp}-{secrets.token_hex(3)}"


def _json_default(value: Any) -> Any:
    # NumPy scalars and arrays sneak into records; store them as plain JSON.
    if hasattr(value, "tolist"):
        return value.tolist()
    raise TypeError(f"cannot store {type(value).__name__} in a result record")


class RunDir:
    """A run's directory. Creating one writes env.json; appending writes results durably."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)

    @property
    def run_id(self) -> str:
        return self.env().get("run_id", self.path.name)

    @property
    def results_path(self) -> Path:
        return self.path / RESULTS

    @classmethod
    def create(cls, path: Path, env: dict[str, Any]) -> RunDir:
        path.mkdir(parents=True, exist_ok=False)
        run = cls(path)
        run._write_atomic(ENV, json.dumps(env, indent=2, default=_json_default) + "\n")
        run.results_path.touch()
        return run

    @classmethod
    def open(cls, path: Path) -> RunDir:
        """An existing run directory, or a :class:`SchemaError` saying why it is not one."""
        path = Path(path)
        if not path.exists():
            raise SchemaError(f"{path}: no such run directory")
        if not path.is_dir():
            raise SchemaError(f"{path}: not a directory (a run directory holds {RESULTS})")
        if not (path / RESULTS).is_file():
            raise SchemaError(f"{path}: not a run directory (no {RESULTS} in it)")
        return cls(path)

    def env(self) -> dict[str, Any]:
        try:
            data = json.loads((self.path / ENV).read_text(encoding="utf-8"))
        except FileNotFoundError:
            return {}
        except (json.JSONDecodeError, UnicodeDecodeError):
            raise SchemaError(f"{self.path / ENV}: corrupt (not valid JSON)") from None
        if not isinstance(data, dict):
            raise SchemaError(f"{self.path / ENV}: corrupt (not a JSON object)")
        return data

    def update_env(self, **fields: Any) -> None:
        env = self.env()
        env.update(fields)
        self._write_atomic(ENV, json.dumps(env, indent=2, default=_json_default) + "\n")

    def records(self) -> list[dict[str, Any]]:
        return read_records(self.results_path)

    def latest_by_key(self) -> dict[str, dict[str, Any]]:
        """The last record of every cell key (a resumed cell supersedes its failed attempt)."""
        return {r["key"]: r for r in self.records()}

    def drop_records(self, keep: set[str]) -> None:
        """Rewrite results.jsonl with only the records of cells in ``keep`` (atomically), so a
        resumed cell ends up in the file once."""
        kept = [r for r in self.records() if r["key"] in keep]
        text = "".join(json.dumps(r, default=_json_default) + "\n" for r in kept)
        self._write_atomic(RESULTS, text)

    def compact(self) -> None:
        """Rewrite results.jsonl with only the last record of each cell (atomically): the
        timing passes append a superseding record per cell and pass."""
        kept = list(self.latest_by_key().values())
        text = "".join(json.dumps(r, default=_json_default) + "\n" for r in kept)
        self._write_atomic(RESULTS, text)

    def append(self, record: dict[str, Any]) -> None:
        """Append one record durably: written, flushed and fsynced before returning.

        A cut-off line left by a crashed writer is removed first (it holds no complete record),
        so it can never end up in the middle of the file.
        """
        line = json.dumps(clean(record), default=_json_default, allow_nan=False)
        with open(self.results_path, "r+b") as f:
            f.seek(0, os.SEEK_END)
            size = f.tell()
            if size:
                f.seek(max(size - 1, 0))
                if f.read(1) != b"\n":
                    f.seek(0)
                    keep = f.read().rfind(b"\n") + 1
                    f.truncate(keep)
            f.seek(0, os.SEEK_END)
            f.write((line + "\n").encode("utf-8"))
            f.flush()
            os.fsync(f.fileno())

    def _write_atomic(self, name: str, text: str) -> None:
        tmp = self.path / f".{name}.tmp"
        tmp.write_text(text, encoding="utf-8")
        with open(tmp, "rb") as f:
            os.fsync(f.fileno())
        os.replace(tmp, self.path / name)
