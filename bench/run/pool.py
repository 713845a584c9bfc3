"""Worker processes seen from the parent: start, ask, time out, notice death, kill; and which
worker serves a cell's request (:class:`CellWorkers`).

Workers are started with the "spawn" method (never fork: a forked copy of a parent that touched
a framework's thread pool can deadlock, and spawn keeps every framework's import in its child).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import signal
import time
from collections.abc import Callable
from dataclasses import replace
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.catalog.frameworks import get_variant
from bench.run.cells import CellProgress
from bench.run.options import RunOptions
from bench.run.worker import worker_main
from bench.zoo.specs import Settings


class WorkerError(RuntimeError):
    """A worker could not do what was asked; ``str()`` is one line for the user."""


class WorkerDied(WorkerError):
    pass


class RequestTimeout(WorkerError):
    pass


class RequestFailed(WorkerError):
    pass


def describe_exit(code: int | None) -> str:
    if code is None:
        return "worker stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = f"signal {-code}"
        hint = " (out of memory?)" if name == "SIGKILL" else ""
        return f"worker was killed by {name}{hint}"
    return f"worker exited with code {code}"


class WorkerHandle:
    """One framework's child process."""

    def __init__(
        self,
        variant: str,
        settings: dict[str, Any],
        start_timeout: float,
        log_path: Path | None = None,
        wait: bool = True,
    ) -> None:
        self.variant = variant
        self.start_timeout = start_timeout
        ctx = mp.get_context("spawn")
        self.conn: Connection
        self.conn, child = ctx.Pipe()
        self.process = ctx.Process(
            target=worker_main,
            args=(child, variant, settings, None if log_path is None else str(log_path)),
            name=f"bench-{variant}",
            daemon=True,
        )  # fmt: skip
        self.process.start()
        child.close()
        self.hello: dict[str, Any] = {}  # the worker's first message, once it has imported
        self.cell_key: str | None = None  # the cell this worker holds (set by the runner)
        if wait:
            self.wait_ready()

    def wait_ready(self) -> None:
        """Wait for the worker's hello (its framework imported); raise if it could not start."""
        if self.hello:
            return
        hello = self._receive(self.start_timeout, "starting")
        if not hello.get("ok"):
            self.kill()
            raise WorkerError(hello.get("error", "worker failed to start"))
        self.hello = hello

    @property
    def pid(self) -> int | None:
        return self.process.pid

    def request(self, msg: dict[str, Any], timeout: float | None) -> dict[str, Any]:
        """Send one request and wait for its reply (``timeout`` seconds; None waits forever)."""
        try:
            self.conn.send(msg)
        except (BrokenPipeError, OSError):
            self.process.join(1)
            raise WorkerDied(describe_exit(self.process.exitcode)) from None
        reply = self._receive(timeout, msg["op"])
        if not reply.get("ok"):
            raise RequestFailed(reply.get("error", "request failed"))
        return reply

    def _receive(self, timeout: float | None, what: str) -> dict[str, Any]:
        try:
            ready = self.conn.poll(timeout)
        except (EOFError, OSError):
            ready = True
        if not ready:
            self.kill()
            raise RequestTimeout(f"no answer within {timeout:.0f} s while {what}")
        try:
            return self.conn.recv()
        except (EOFError, OSError):
            self.process.join(5)
            raise WorkerDied(describe_exit(self.process.exitcode)) from None

    def alive(self) -> bool:
        return self.process.is_alive()

    def exit_description(self) -> str:
        """How a dead worker ended (e.g. "worker was killed by SIGKILL"), for a worker that
        died between two requests: the next request must say that, not fail on the state the
        dead process took with it."""
        self.process.join(5)
        return describe_exit(self.process.exitcode)

    def kill(self) -> None:
        if self.process.is_alive():
            self.process.kill()
        self.process.join(10)
        self.conn.close()

    def close(self) -> None:
        """Ask the worker to exit; kill it if it does not."""
        if self.process.is_alive():
            with contextlib.suppress(BrokenPipeError, OSError):
                self.conn.send({"op": "exit"})
            self.process.join(10)
        self.kill()


class CellWorkers:
    """The runner's workers, one per variant and precision, seen from the cells: which process
    serves a cell's request, and what a failed request does to the cell (timeout, death and a
    framework that cannot start each mark the cell, never the run)."""

    def __init__(
        self,
        logs: Path,
        settings: Settings,
        options: RunOptions,
        on_started: Callable[[str, int], None] | None = None,
    ) -> None:
        self.logs = logs  # each worker's own log file, in the run directory
        self.settings = settings
        self.options = options
        self.on_started = on_started
        self.handles: dict[str, WorkerHandle] = {}
        self.broken: dict[str, str] = {}  # worker key → why its worker cannot start

    def handle_for(self, p: CellProgress, what: str = "build") -> WorkerHandle:
        """The worker that serves cell ``p``'s request ``what``: the running one of its variant
        and precision, or a new one (a dead one is dropped; the training build gets a fresh one
        when the options ask for it)."""
        variant, key = p.cell.framework, p.cell.worker_key  # one worker per variant+precision
        if key in self.broken:
            raise WorkerError(self.broken[key])
        handle = self.handles.get(key)
        if handle is not None and not handle.alive():
            self.drop(key)  # died between two requests
            if what != "build" and handle.cell_key == p.cell.key:  # and took this cell with it
                raise WorkerDied(handle.exit_description())
            handle = None
        if handle is not None and what == "build" and self.options.fresh_worker and handle.cell_key:
            self.drop(key, close=True)  # the training build gets a fresh worker
            handle = None
        if handle is None:
            handle = self._start(p, wait=False)
        try:
            handle.wait_ready()
        except WorkerDied as exc:  # killed while starting (a signal): the next cell retries
            self.handles.pop(key, None)
            raise WorkerDied(f"{variant} could not start: {exc}") from None
        except WorkerError as exc:  # the framework itself cannot start: not retried
            self.handles.pop(key, None)
            self.broken[key] = f"{key} could not start: {exc}"
            raise WorkerError(self.broken[key]) from None
        p.manifest = handle.hello["manifest"]
        p.baseline_rss_bytes = handle.hello["baseline_rss_bytes"]
        if p.import_seconds is None:  # the worker that trains the cell; timing passes' are alike
            p.import_seconds = handle.hello.get("import_seconds")
        p.worker_pid = handle.pid
        return handle

    def _start(self, p: CellProgress, wait: bool) -> WorkerHandle:
        get_variant(p.cell.framework)  # unknown names were refused before the run; a guard
        self.logs.mkdir(exist_ok=True)
        key = p.cell.worker_key
        handle = WorkerHandle(
            p.cell.framework,
            replace(self.settings, precision=p.cell.precision).to_dict(),
            self.options.start_timeout,
            self.logs / f"{key.replace(':', '-')}.log",
            wait=wait,
        )
        self.handles[key] = handle
        if self.on_started is not None and handle.pid is not None:
            self.on_started(p.cell.framework, handle.pid)
        return handle

    def prestart(self, cells: list[CellProgress]) -> None:
        """Start, all at once, the fresh workers these cells' builds will need (a group's
        frameworks, one each): their imports overlap on the cores instead of queueing, which
        pays for a fresh worker per cell in every timing pass (:mod:`bench.measure.memory`).
        A worker that cannot start says so at its cell's build, as if started there."""
        for p in cells:
            key = p.cell.worker_key
            handle = self.handles.get(key)
            if p.status != "ok" or key in self.broken:
                continue
            reusable = not (self.options.fresh_worker and handle and handle.cell_key)
            if handle is not None and handle.alive() and reusable:
                continue  # it serves this build as it is
            if handle is not None:
                self.drop(key, close=True)
            self._start(p, wait=False)

    def call(self, p: CellProgress, msg: dict[str, Any], what: str) -> dict[str, Any] | None:
        """One request for cell ``p``; on any failure, mark the cell and return None."""
        if p.status != "ok":
            return None
        t0 = time.perf_counter()
        try:
            handle = self.handle_for(p, what)
            reply = handle.request(msg, p.remaining(self.options.cell_timeout))
            if msg["op"] == "build":
                handle.cell_key = p.cell.key
        except RequestTimeout:
            self.drop(p.cell.worker_key)
            p.status = "timeout"
            p.error = f"stopped after the {self.options.cell_timeout:g} s cell time limit ({what})"
            return None
        except WorkerDied as exc:
            self.drop(p.cell.worker_key)
            p.status, p.error = "failed", f"{exc} during {what}"
            return None
        except WorkerError as exc:
            p.status, p.error = "failed", str(exc)
            return None
        finally:
            p.busy_seconds += time.perf_counter() - t0
        if what == "build":
            p.build_seconds = reply["build_seconds"]
        return reply

    def drop(self, variant: str, close: bool = False) -> None:
        handle = self.handles.pop(variant, None)
        if handle is not None:
            handle.close() if close else handle.kill()

    def close_all(self) -> None:
        for handle in self.handles.values():
            handle.close()
        self.handles.clear()
