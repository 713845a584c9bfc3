"""Which runs and cells the history page charts: ``--suite``, ``--since``, ``--branch``,
``--models``, ``--frameworks``.

A name that neither this bench nor the history knows is refused (a typo should not give an
empty page that looks like "no regressions"); a name this bench knows but the history has no run
of is accepted and the page says nothing matched.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any


@dataclass(frozen=True)
class Filters:
    suite: str | None = None
    since: datetime | None = None  # aware, UTC
    branch: str | None = None
    models: tuple[str, ...] = ()
    frameworks: tuple[str, ...] = ()

    def active(self) -> bool:
        return any((self.suite, self.since, self.branch, self.models, self.frameworks))

    def describe(self) -> str:
        """The filters in force, for the page ("suite quick, since 2026-01-01")."""
        parts = []
        if self.suite:
            parts.append(f"suite {self.suite}")
        if self.since:
            parts.append(f"since {self.since.isoformat(timespec='minutes')}")
        if self.branch:
            parts.append(f"branch {self.branch}")
        if self.models:
            parts.append(f"models {', '.join(self.models)}")
        if self.frameworks:
            parts.append(f"frameworks {', '.join(self.frameworks)}")
        return "; ".join(parts)

    def keep_runs(self, runs: Any) -> Any:
        """The rows of a runs DataFrame (``History.runs()``) these filters keep."""
        import pandas as pd

        keep = pd.Series(True, index=runs.index)
        if self.suite:
            keep &= runs["suite"] == self.suite
        if self.branch:
            keep &= runs["git_branch"] == self.branch
        if self.since:
            created = pd.to_datetime(runs["created"], utc=True, errors="coerce", format="ISO8601")
            keep &= created >= pd.Timestamp(self.since)
        return runs[keep]

    def keep_cells(self, cells: Any) -> Any:
        """The rows of a cells DataFrame (``History.cells()``) these filters keep."""
        keep = cells["framework"].notna()
        if self.models:
            keep &= cells["model"].isin(self.models)
        if self.frameworks:
            keep &= cells["framework"].isin(self.frameworks)
        return cells[keep]


def since_date(text: str) -> datetime:
    """``--since``: a date (``2026-01-31``, midnight UTC) or an ISO 8601 time; argparse type."""
    try:
        if len(text) == 10:
            day = date.fromisoformat(text)
            return datetime(day.year, day.month, day.day, tzinfo=UTC)
        moment = datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r} is not a date (YYYY-MM-DD) or ISO 8601 time"
        ) from None
    return (moment if moment.tzinfo else moment.replace(tzinfo=UTC)).astimezone(UTC)


def filter_problem(filters: Filters, known: dict[str, set[str]]) -> str | None:
    """What is wrong with ``filters``, as one line, or ``None``.

    ``known`` maps "suite", "branch", "model", "framework" to the names that exist: this bench's
    catalogue and variants together with what the history holds (branches: the history only).
    A kind missing from ``known`` is not checked.
    """
    asked = [("suite", "--suite", [filters.suite] if filters.suite else [])]
    asked += [("branch", "--branch", [filters.branch] if filters.branch else [])]
    asked += [("model", "--models", list(filters.models))]
    asked += [("framework", "--frameworks", list(filters.frameworks))]
    for kind, flag, names in asked:
        for name in names:
            if kind in known and name not in known[kind]:
                choices = ", ".join(sorted(known.get(kind, set()))) or "none"
                return f"{flag}: unknown {kind} {name!r}; known: {choices}"
    return None


def known_names(history: Any | None) -> dict[str, set[str]]:
    """The names :func:`filter_problem` accepts: this bench's suites, models and variants, and
    what ``history`` (a :class:`bench.track.history.History`, or ``None`` when there is none)
    holds."""
    from bench.catalog.frameworks import VARIANTS
    from bench.catalog.suites import MODEL_NAMES, SUITES

    known = {"suite": set(SUITES), "model": set(MODEL_NAMES), "framework": set(VARIANTS)}
    if history is not None:  # without one, branches are not checked: the missing file is news
        known["branch"] = set()
        runs, cells = history.runs(), history.cells()
        known["suite"] |= set(runs["suite"].dropna().astype(str))
        known["branch"] |= set(runs["git_branch"].dropna().astype(str))
        known["model"] |= set(cells["model"].dropna().astype(str))
        known["framework"] |= set(cells["framework"].dropna().astype(str))
    return known


__all__ = ["Filters", "filter_problem", "known_names", "since_date"]
