"""Worker processes seen from the parent: start, ask, time out, notice death, kill.

Workers are started with the "spawn" method (never fork: a forked copy of a parent that touched
a framework's thread pool can deadlock, and spawn keeps every framework's import in its child).
"""

from __future__ import annotations

import contextlib
import multiprocessing as mp
import signal
from multiprocessing.connection import Connection
from pathlib import Path
from typing import Any

from bench.run.worker import worker_main


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
    ) -> None:
        self.variant = variant
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
        hello = self._receive(start_timeout, "starting")
        if not hello.get("ok"):
            self.kill()
            raise WorkerError(hello.get("error", "worker failed to start"))
        self.hello = hello
        self.cell_key: str | None = None  # the cell this worker holds (set by the runner)

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
