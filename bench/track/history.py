"""The history database: every run and every cell, keyed by commit and time, in SQLite.

Regression charts and ``bench compare main HEAD`` read it. Concurrent writers are expected (two
CI jobs, or two suites on one machine): the database runs in WAL mode with a busy timeout, and
every write is one short transaction retried on "database is locked".

A cell row keeps its headline figures as columns (for pandas and charts) and the whole record as
JSON (so compare can test raw step times). Nothing is ever unpickled.

Each cell row also stores its series key (:mod:`bench.track.series`): the settings that make
two figures comparable, and their hash in ``series``. Charts draw one line per series. A
database written before the key existed (``PRAGMA user_version`` 0) is migrated when opened:
the columns are added and filled from the stored records and run environments. Version 2 adds
the gated memory figure (:func:`bench.measure.memory.gated_figure`: its value, interval, sample
count and label), filled the same way from a version 1 database's stored records.
"""

from __future__ import annotations

import json
import random
import sqlite3
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any, TypeVar

from bench.measure.memory import gated_figure
from bench.run.results import SchemaError, validate
from bench.track.series import FIELDS as SERIES_FIELDS
from bench.track.series import series_fields, series_id

DEFAULT_PATH = Path("results/history.sqlite")
SCHEMA = """
CREATE TABLE IF NOT EXISTS runs (
    run_id TEXT PRIMARY KEY,
    created TEXT,
    git_commit TEXT,
    git_branch TEXT,
    git_dirty INTEGER,
    fingerprint TEXT,
    cpu_model TEXT,
    logical_cores INTEGER,
    gpus TEXT,
    suite TEXT,
    tag TEXT,
    source TEXT,
    env_json TEXT NOT NULL
);
CREATE TABLE IF NOT EXISTS cells (
    run_id TEXT NOT NULL REFERENCES runs(run_id),
    key TEXT NOT NULL,
    framework TEXT, model TEXT, dataset TEXT, status TEXT,
    test_accuracy REAL,
    throughput REAL, throughput_ci_low REAL, throughput_ci_high REAL,
    latency_p50_ms REAL, latency_p99_ms REAL,
    peak_rss_bytes INTEGER, peak_device_memory_bytes INTEGER,
    time_to_accuracy_s REAL, time_to_first_step_s REAL,
    record_json TEXT NOT NULL,
    PRIMARY KEY (run_id, key)
);
CREATE INDEX IF NOT EXISTS runs_by_created ON runs(created);
"""
#: ``PRAGMA user_version`` of the current layout; 0 is the layout without series columns, 1
#: the layout without the gated memory figure's columns.
VERSION = 2
#: Series columns added by version 1 (framework, model and dataset were columns already).
SERIES_COLUMNS = {
    "series": "TEXT", "machine": "TEXT", "recipe_hash": "TEXT", "precision": "TEXT",
    "memory_format": "TEXT", "threads": "INTEGER", "device": "TEXT", "workers": "INTEGER",
    "scaling": "TEXT", "scope": "TEXT",
}  # fmt: skip
_SERIES_ONLY = [c for c in SERIES_FIELDS if c not in ("framework", "model", "dataset")]
#: The gated memory figure's columns, added by version 2 (NULL where a record has no figure).
MEMORY_COLUMNS = {
    "memory_bytes": "REAL", "memory_ci_low_bytes": "REAL", "memory_ci_high_bytes": "REAL",
    "memory_n": "INTEGER", "memory_label": "TEXT",
}  # fmt: skip

#: Columns :meth:`History.add_record` writes, in order.
CELL_COLUMNS = (
    "run_id", "key", "framework", "model", "dataset", "status", "test_accuracy", "throughput",
    "throughput_ci_low", "throughput_ci_high", "latency_p50_ms", "latency_p99_ms",
    "peak_rss_bytes", "peak_device_memory_bytes", "time_to_accuracy_s", "time_to_first_step_s",
    "record_json", *SERIES_COLUMNS, *MEMORY_COLUMNS,
)  # fmt: skip

T = TypeVar("T")


def _series_values(record: dict[str, Any], env: dict[str, Any] | None) -> tuple[Any, ...]:
    """The series columns of one record, in :data:`SERIES_COLUMNS` order."""
    fields = series_fields(record, env)
    return (series_id(fields), *(fields[c] for c in _SERIES_ONLY))


def _memory_values(record: dict[str, Any]) -> tuple[Any, ...]:
    """The memory columns of one record, in :data:`MEMORY_COLUMNS` order: the figure a reader
    is shown and ``bench compare`` gates on, with its interval (None with one sample)."""
    figure = gated_figure(record)
    if figure is None:
        return (None,) * len(MEMORY_COLUMNS)
    return figure["bytes"], figure["low"], figure["high"], figure["n"], figure["label"]


class History:
    def __init__(self, path: Path = DEFAULT_PATH, retries: int = 50) -> None:
        self.path = Path(path)
        self.retries = retries
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._retry(self._create, transaction=False)

    @contextmanager
    def _connect(self) -> Iterator[sqlite3.Connection]:
        conn = sqlite3.connect(self.path, timeout=30, isolation_level=None)
        try:
            conn.execute("PRAGMA busy_timeout = 30000")
            yield conn
        finally:
            conn.close()

    def _retry(self, fn: Callable[[sqlite3.Connection], T], transaction: bool = True) -> T:
        """Run ``fn`` in one transaction, retrying while another writer holds the lock."""
        for attempt in range(self.retries):
            try:
                with self._connect() as conn:
                    if not transaction:
                        return fn(conn)
                    conn.execute("BEGIN IMMEDIATE")
                    try:
                        result = fn(conn)
                    except BaseException:
                        conn.execute("ROLLBACK")
                        raise
                    conn.execute("COMMIT")
                    return result
            except sqlite3.OperationalError as exc:
                if "locked" not in str(exc) and "busy" not in str(exc):
                    raise
                time.sleep(min(0.05 * (attempt + 1), 1.0) * random.uniform(0.5, 1.5))
        raise sqlite3.OperationalError(f"{self.path}: still locked after {self.retries} tries")

    def _create(self, conn: sqlite3.Connection) -> None:
        conn.execute("PRAGMA journal_mode = WAL")  # persistent; readers never block the writer
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > VERSION:
            raise SchemaError(
                f"{self.path}: history layout version {version} is newer than this bench's "
                f"({VERSION}); use a newer bench, or another --history file"
            )
        conn.executescript(SCHEMA)
        if version < VERSION:
            conn.execute("BEGIN IMMEDIATE")
            try:
                if version < 1:
                    self._migrate(conn)
                self._add_memory(conn)
                conn.execute(f"PRAGMA user_version = {VERSION}")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
            conn.execute("COMMIT")

    @staticmethod
    def _migrate(conn: sqlite3.Connection) -> None:
        """Version 0 to 1: add the series columns and fill them from the stored JSON.

        Idempotent (a second process migrating at the same time finds the columns there).
        """
        have = {row[1] for row in conn.execute("PRAGMA table_info(cells)")}
        for name, kind in SERIES_COLUMNS.items():
            if name not in have:
                conn.execute(f"ALTER TABLE cells ADD COLUMN {name} {kind}")
        conn.execute("CREATE INDEX IF NOT EXISTS cells_by_series ON cells(series)")
        envs = {r[0]: json.loads(r[1]) for r in conn.execute("SELECT run_id, env_json FROM runs")}
        rows = conn.execute("SELECT rowid, run_id, record_json FROM cells WHERE series IS NULL")
        for rowid, run_id, record_json in rows.fetchall():
            values = _series_values(json.loads(record_json), envs.get(run_id))
            sets = ", ".join(f"{c} = ?" for c in SERIES_COLUMNS)
            conn.execute(f"UPDATE cells SET {sets} WHERE rowid = ?", (*values, rowid))

    @staticmethod
    def _add_memory(conn: sqlite3.Connection) -> None:
        """Version 1 to 2: add the gated memory figure's columns and fill them from the stored
        records. Idempotent, as :meth:`_migrate`."""
        have = {row[1] for row in conn.execute("PRAGMA table_info(cells)")}
        for name, kind in MEMORY_COLUMNS.items():
            if name not in have:
                conn.execute(f"ALTER TABLE cells ADD COLUMN {name} {kind}")
        rows = conn.execute("SELECT rowid, record_json FROM cells WHERE memory_label IS NULL")
        sets = ", ".join(f"{c} = ?" for c in MEMORY_COLUMNS)
        for rowid, record_json in rows.fetchall():
            values = _memory_values(json.loads(record_json))
            if values[-1] is not None:
                conn.execute(f"UPDATE cells SET {sets} WHERE rowid = ?", (*values, rowid))

    # -- writing ---------------------------------------------------------------------------

    def add_run(self, env: dict[str, Any], source: str = "bench run") -> None:
        git = env.get("git") or {}
        row = (
            env["run_id"], env.get("created"), git.get("commit"), git.get("branch"),
            None if git.get("dirty") is None else int(git["dirty"]), env.get("fingerprint"),
            env.get("cpu_model"), env.get("logical_cores"), ",".join(env.get("gpus") or []),
            env.get("suite"), env.get("tag"), source, json.dumps(env),
        )  # fmt: skip
        self._retry(
            lambda c: c.execute(
                "INSERT OR REPLACE INTO runs VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?)", row
            )
        )

    def add_record(self, record: dict[str, Any]) -> None:
        """Store one cell record, with its series key (read against its run's environment)."""
        validate(record)
        tp = record.get("throughput") or {}
        lat = record.get("step_latency_ms") or {}
        row = (
            record["run_id"], record["key"], record["framework"], record["model"],
            record["dataset"], record["status"], record.get("test_accuracy"), tp.get("median"),
            tp.get("ci_low"), tp.get("ci_high"), lat.get("p50"), lat.get("p99"),
            record.get("peak_rss_bytes"), record.get("peak_device_memory_bytes"),
            record.get("time_to_accuracy_s"), record.get("time_to_first_step_s"),
            json.dumps(record),
        )  # fmt: skip

        def insert(conn: sqlite3.Connection) -> None:
            env = conn.execute("SELECT env_json FROM runs WHERE run_id = ?", (record["run_id"],))
            found = env.fetchone()
            series = _series_values(record, json.loads(found[0]) if found else None)
            columns = ", ".join(CELL_COLUMNS)
            marks = ", ".join("?" * len(CELL_COLUMNS))
            conn.execute(f"INSERT OR REPLACE INTO cells ({columns}) VALUES ({marks})",
                         (*row, *series, *_memory_values(record)))  # fmt: skip

        self._retry(insert)

    def import_run(self, run_dir: Path) -> int:
        """Add a run directory written earlier; returns the number of cells imported."""
        from bench.run.store import RunDir

        run = RunDir.open(run_dir)
        records = run.records()
        env = run.env()
        env.setdefault("run_id", run.run_id)
        self.add_run(env, source="import")
        for record in records:
            self.add_record(record)
        return len(records)

    # -- reading ---------------------------------------------------------------------------

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[sqlite3.Row]:
        with self._connect() as conn:
            conn.row_factory = sqlite3.Row
            return conn.execute(sql, params).fetchall()

    def run_env(self, run_id: str) -> dict[str, Any]:
        rows = self._query("SELECT env_json FROM runs WHERE run_id = ?", (run_id,))
        if not rows:
            raise SchemaError(f"no run {run_id!r} in {self.path}")
        return json.loads(rows[0]["env_json"])

    def records(self, run_id: str) -> list[dict[str, Any]]:
        rows = self._query("SELECT record_json FROM cells WHERE run_id = ? ORDER BY rowid",
                           (run_id,))  # fmt: skip
        return [json.loads(r["record_json"]) for r in rows]

    def resolve(self, ref: str) -> str:
        """A run id from a run id (or unique prefix), a branch name or a commit (prefix): the
        newest run that matches. ``HEAD`` is the commit checked out here."""
        if ref == "HEAD":
            from bench.measure.environment import git_info

            ref = git_info().get("commit") or ref
        rows = self._query(
            "SELECT run_id FROM runs WHERE run_id = ? OR run_id LIKE ? OR git_branch = ? "
            "OR git_commit LIKE ? ORDER BY created DESC, run_id DESC",
            (ref, f"{ref}%", ref, f"{ref}%"),
        )
        if not rows:
            raise SchemaError(f"no run matches {ref!r} in {self.path}")
        return rows[0]["run_id"]

    def runs(self) -> Any:
        """Every run as a pandas DataFrame, oldest first."""
        import pandas as pd

        with self._connect() as conn:
            return pd.read_sql_query(
                "SELECT run_id, created, git_commit, git_branch, git_dirty, fingerprint, "
                "cpu_model, logical_cores, gpus, suite, tag, source FROM runs "
                "ORDER BY created, run_id",
                conn,
            )

    def cells(self, run_id: str | None = None) -> Any:
        """Cells (one row each, headline figures and series key as columns) as a DataFrame,
        oldest run first."""
        import pandas as pd

        where, params = ("WHERE c.run_id = ?", (run_id,)) if run_id else ("", ())
        with self._connect() as conn:
            return pd.read_sql_query(
                "SELECT r.created, r.git_commit, r.git_branch, r.fingerprint, c.run_id, c.key, "
                "c.framework, c.model, c.dataset, c.status, c.test_accuracy, c.throughput, "
                "c.throughput_ci_low, c.throughput_ci_high, c.latency_p50_ms, c.latency_p99_ms, "
                "c.peak_rss_bytes, c.peak_device_memory_bytes, c.time_to_accuracy_s, "
                "c.time_to_first_step_s, r.suite, r.tag, "
                + ", ".join(f"c.{c}" for c in (*SERIES_COLUMNS, *MEMORY_COLUMNS))
                + " FROM cells c JOIN runs r USING (run_id) "
                f"{where} ORDER BY r.created, c.run_id, c.rowid",
                conn,
                params=params,
            )
