"""The page header's facts and env.json laid out as a table.

A reader judging a speed comparison first needs to know what machine and software produced it,
and whether any number came from synthetic data; both come from env.json and the records.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone
from typing import Any

from bench.report import fmt
from bench.report.cells import Run, get, is_synthetic

#: env.json fields shown first in the environment table, in this order, with their labels.
_FIRST = (
    ("run_id", "run id"),
    ("tag", "tag"),
    ("suite", "suite"),
    ("created", "created"),
    ("hostname", "host"),
    ("cpu_model", "CPU"),
    ("physical_cores", "physical cores"),
    ("logical_cores", "logical cores"),
    ("usable_cores", "usable cores"),
    ("memory_bytes", "memory"),
    ("gpus", "GPUs"),
    ("python", "Python"),
    ("os", "OS"),
    ("platform", "platform"),
    ("fingerprint", "machine fingerprint"),
)
#: Shown elsewhere (the plan repeats every cell's recipe, which the fairness section shows).
_SKIP = {"plan"}


@dataclass(frozen=True)
class Header:
    run_id: str
    tag: str
    suite: str
    date: str
    commit: str
    dirty: bool
    branch: str
    cpu: str
    cores: str
    device: str
    synthetic: list[str]  # keys of the cells that used synthetic data
    busy: list[str]  # other processes that were using the CPU when the run started


def header(run: Run) -> Header:
    env = run.env
    suites = sorted({str(r.get("suite")) for r in run.records if r.get("suite")})
    started = sorted(str(r["started_at"]) for r in run.records if r.get("started_at"))
    commit = get(env, "git", "commit")
    cores = [
        f"{env[k]} {label}"
        for k, label in (
            ("physical_cores", "physical"),
            ("logical_cores", "logical"),
            ("usable_cores", "usable"),
        )
        if fmt.number(env.get(k)) is not None
    ]
    devices = sorted({str(r.get("device")) for r in run.records if r.get("device")})
    return Header(
        run_id=run.run_id or fmt.DASH,
        tag=fmt.text(env.get("tag")) if env.get("tag") else "",
        suite=fmt.text(env.get("suite")) if env.get("suite") else ", ".join(suites) or fmt.DASH,
        date=_date(env.get("created") or (started[0] if started else None)),
        commit=str(commit)[:12] if commit else fmt.DASH,
        dirty=get(env, "git", "dirty") is True,
        branch=fmt.text(get(env, "git", "branch")) if get(env, "git", "branch") else "",
        cpu=fmt.text(env.get("cpu_model")),
        cores=", ".join(cores) or fmt.DASH,
        device=", ".join(devices) or fmt.DASH,
        synthetic=[str(r["key"]) for r in run.records if is_synthetic(r)],
        busy=[
            f"{b.get('name')} (pid {b.get('pid')}, {b.get('cpu_percent')}% CPU)"
            for b in env.get("busy_processes") or []
            if isinstance(b, dict)
        ],
    )


def environment_rows(env: dict[str, Any]) -> list[tuple[str, str]]:
    """Every env.json value as (name, text): the familiar fields first, nested ones flattened."""
    rows = []
    for key, label in _FIRST:
        if key in env:
            value = env[key]
            text = _gib(value) if key == "memory_bytes" else fmt.text(value)
            rows.append((label, text))
    shown = {k for k, _ in _FIRST} | _SKIP
    for key in sorted(k for k in env if k not in shown):
        if key == "argv" and isinstance(env[key], list):
            rows.append(("command", " ".join(["bench", *map(str, env[key])])))
        else:
            rows += _flatten(key, env[key])
    if isinstance(env.get("plan"), list):
        rows.append(("plan", f"{len(env['plan'])} cells (recipes under Fairness settings)"))
    return rows


def _flatten(prefix: str, value: Any) -> list[tuple[str, str]]:
    if isinstance(value, dict) and value:
        out = []
        for k, v in value.items():
            out += _flatten(f"{prefix}.{k}", v)
        return out
    return [(prefix, fmt.text(value))]


def _date(value: Any) -> str:
    """An ISO 8601 time as "2026-01-01 12:00 UTC"; anything else as it is."""
    if not isinstance(value, str):
        return fmt.text(value)
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return value
    if when.tzinfo is not None:
        when = when.astimezone(timezone.utc)
        return when.strftime("%Y-%m-%d %H:%M UTC")
    return when.strftime("%Y-%m-%d %H:%M")


def _gib(value: Any) -> str:
    x = fmt.number(value)
    return fmt.DASH if x is None else f"{x / 2**30:,.1f} GiB"
