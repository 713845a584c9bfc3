"""The layout the docs describe is the layout on disk: every package of ``bench/`` is named in
``docs/design.md``'s module map and the README's layout section, and nothing named there is
missing; no module sits loose under ``bench/``; a module past 400 lines says in its docstring
why it is one concern."""

from __future__ import annotations

import ast
import re
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
BENCH = ROOT / "bench"
#: The only modules directly under bench/: the package, ``python -m bench`` and the rank entry
#: point's old name (a shim for commands written before the move).
LOOSE_ALLOWED = {"__init__.py", "__main__.py", "distributed_rank.py"}
MAX_LINES = 400


def packages_on_disk() -> set[str]:
    return {p.parent.name for p in BENCH.glob("*/__init__.py")}


def section(path: Path, heading: str) -> str:
    """The text under ``heading`` up to the next heading of the same or a higher level."""
    text = path.read_text("utf-8")
    level = heading.split(" ", 1)[0]
    start = text.index(heading + "\n")
    end = re.search(rf"^#{{1,{len(level)}}} ", text[start + len(heading) :], re.M)
    return text[start : start + len(heading) + (end.start() if end else len(text))]


def packages_named(text: str) -> set[str]:
    return set(re.findall(r"`bench/([a-z_]+)/`", text))


def test_the_module_map_names_every_package_and_only_those() -> None:
    named = packages_named(section(ROOT / "docs" / "design.md", "### Module map"))
    assert named == packages_on_disk()


def test_the_readme_layout_names_every_package_and_only_those() -> None:
    named = packages_named(section(ROOT / "README.md", "## Layout"))
    assert named == packages_on_disk()


def test_no_module_sits_loose_under_bench() -> None:
    loose = {p.name for p in BENCH.glob("*.py")} - LOOSE_ALLOWED
    assert not loose, f"put {sorted(loose)} in the package of its job (docs/design.md)"


def test_a_long_module_says_why_it_is_one_concern() -> None:
    long_and_silent = []
    for path in sorted(BENCH.rglob("*.py")):
        source = path.read_text("utf-8")
        if source.count("\n") <= MAX_LINES:
            continue
        doc = ast.get_docstring(ast.parse(source)) or ""
        if "One concern" not in doc:
            long_and_silent.append(str(path.relative_to(ROOT)))
    assert not long_and_silent, long_and_silent


def test_the_checks_can_fail() -> None:
    """The helpers above see a package that is missing from a text, and a heading's end."""
    assert packages_named("`bench/run/` and `bench/zoo/`") == {"run", "zoo"}
    assert packages_on_disk() >= {"cli", "run", "zoo", "data"}
    assert "## Next" not in section(ROOT / "README.md", "## Layout")
