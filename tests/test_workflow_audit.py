"""The CI workflows pass zizmor's offline audit, and every action is pinned to a commit.

zizmor (a dev dependency) reads ``.github/workflows/`` as GitHub would and reports supply-chain
and injection risks; a finding of medium severity or more fails this test, so a workflow edit
that brings back a tag reference or a persisted token fails ``make test``, not a later audit.
Offline: no request to GitHub is made (the online audits need a token and the network).
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parents[1]
WORKFLOWS = ROOT / ".github" / "workflows"
#: zizmor's severities, lowest first.
SEVERITIES = ("unknown", "informational", "low", "medium", "high")
FAIL_FROM = SEVERITIES.index("medium")
USES = re.compile(r"^\s*(?:-\s+)?uses:\s*(\S+)\s*(#.*)?$", re.M)
PINNED = re.compile(r"[^@\s]+@[0-9a-f]{40}\Z")


def zizmor() -> str:
    """The zizmor of this environment (next to the interpreter), else the one on PATH."""
    here = Path(sys.executable).parent / "zizmor"
    found = str(here) if here.is_file() else shutil.which("zizmor")
    if found is None:
        pytest.fail("zizmor not found: it is in the dev extra (pip install -e '.[dev]')")
    return found


def findings(path: Path) -> list[dict[str, Any]]:
    """zizmor's findings for ``path`` (a workflow directory), offline, as parsed JSON."""
    result = subprocess.run(
        [zizmor(), "--offline", "--format", "json", str(path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    try:
        out = json.loads(result.stdout)
    except json.JSONDecodeError:
        raise AssertionError(
            f"zizmor gave no JSON (exit {result.returncode}):\n{result.stderr[-2000:]}"
        ) from None
    assert isinstance(out, list), out
    return out


def _where(location: dict[str, Any]) -> str:
    """``path:line`` of one finding location (a tolerant read: the JSON is zizmor's "v1")."""
    local = location.get("symbolic", {}).get("key", {}).get("Local", {})
    row = location.get("concrete", {}).get("location", {}).get("start_point", {}).get("row")
    return f"{local.get('verbatim_path', '?')}:{'?' if row is None else row + 1}"


def serious(found: list[dict[str, Any]]) -> list[str]:
    """One line per finding of medium severity or more, not ignored by a comment."""
    lines = []
    for f in found:
        severity = str(f["determinations"]["severity"]).lower()
        if f.get("ignored") or SEVERITIES.index(severity) < FAIL_FROM:
            continue
        where = [_where(loc) for loc in f.get("locations", [])]
        lines.append(f"{severity} {f['ident']}: {f['desc']} at {', '.join(where) or '?'}")
    return lines


def test_workflows_have_no_medium_or_high_finding() -> None:
    assert list(WORKFLOWS.glob("*.yml")), f"no workflow under {WORKFLOWS}"
    bad = serious(findings(WORKFLOWS))
    assert not bad, "zizmor --offline findings:\n" + "\n".join(bad)


def test_every_action_is_pinned_to_a_commit_with_its_tag() -> None:
    for workflow in WORKFLOWS.glob("*.yml"):
        uses = USES.findall(workflow.read_text(encoding="utf-8"))
        assert uses, f"{workflow.name}: no action used?"
        for ref, comment in uses:
            if ref.startswith(("./", "docker://")):
                continue
            assert PINNED.match(ref), f"{workflow.name}: {ref} is not pinned to a full commit"
            assert re.match(r"#\s*v\d", comment), f"{workflow.name}: {ref} has no tag comment"


def test_checkout_keeps_no_credentials() -> None:
    for workflow in WORKFLOWS.glob("*.yml"):
        text = workflow.read_text(encoding="utf-8")
        checkouts = text.count("actions/checkout@")
        assert text.count("persist-credentials: false") >= checkouts, workflow.name


def test_the_audit_would_catch_a_tag_reference(tmp_path: Path) -> None:
    """The check above can fail: a movable tag and a persisted token are reported."""
    flows = tmp_path / ".github" / "workflows"
    flows.mkdir(parents=True)
    (flows / "bad.yml").write_text(
        "name: bad\non: push\npermissions: {}\njobs:\n  a:\n    runs-on: ubuntu-latest\n"
        "    steps:\n      - uses: actions/checkout@v4\n"
        "      - uses: actions/upload-artifact@v4\n        with:\n          path: .\n",
        encoding="utf-8",
    )
    bad = serious(findings(flows))
    assert any(line.startswith("high unpinned-uses") for line in bad), bad
    assert any("artipacked" in line for line in bad), bad
