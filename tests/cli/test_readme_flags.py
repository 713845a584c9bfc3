"""README's ``run`` flag list and ``bench run --help`` name the same flags (issue 29).

The list is the paragraph of README.md that starts with "`run` flags:". Every flag it names must
exist, and every flag of ``bench run`` must be in it or in :data:`INTERNAL` with the reason it is
left out; the values a flag accepts (its choices, the suites) must be in it too. The parser is
built in-process: nothing runs. ``bench compare`` is left out: README describes it in prose, with
no flag list to check.
"""

from __future__ import annotations

import argparse
import re
from pathlib import Path

import pytest

from bench.catalog.suites import SUITES
from bench.cli.parser import build_parser

README = Path(__file__).resolve().parents[2] / "README.md"

#: ``bench run`` flags README's list may leave out, each with the reason. Empty: every flag is
#: for users.
INTERNAL: dict[str, str] = {}


def flag_list() -> str:
    """README's ``run`` flag paragraph (up to the next blank line)."""
    text = README.read_text(encoding="utf-8")
    start = text.index("`run` flags:")
    end = text.find("\n\n", start)
    return text[start : end if end != -1 else len(text)]


def readme_flags() -> set[str]:
    """The flags the paragraph names: each ``--flag`` at the start of a code span."""
    return set(re.findall(r"`(--[a-z0-9][a-z0-9-]*)", flag_list()))


def run_actions() -> list[argparse.Action]:
    """``bench run``'s options, ``--help`` aside."""
    parser = build_parser()
    sub = next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))
    return [
        a
        for a in sub.choices["run"]._actions
        if a.option_strings and not isinstance(a, argparse._HelpAction)
    ]


def help_flags() -> set[str]:
    return {s for a in run_actions() for s in a.option_strings if s.startswith("--")}


def test_every_flag_in_readme_exists() -> None:
    unknown = readme_flags() - help_flags()
    assert not unknown, f"README's run flag list names flags bench run lacks: {sorted(unknown)}"


def test_every_run_flag_is_in_readme_or_marked_internal() -> None:
    missing = help_flags() - readme_flags() - set(INTERNAL)
    assert not missing, (
        f"bench run flags missing from README's flag list: {sorted(missing)} (add them there, "
        "or to INTERNAL in this test with the reason)"
    )
    stale = set(INTERNAL) - help_flags()
    assert not stale, f"INTERNAL names flags bench run lacks: {sorted(stale)}"


@pytest.mark.parametrize(
    "action", [a for a in run_actions() if a.choices], ids=lambda a: a.option_strings[0]
)
def test_every_choice_of_a_flag_is_in_readme(action: argparse.Action) -> None:
    text = flag_list()
    missing = [c for c in action.choices or () if not re.search(rf"\b{re.escape(c)}\b", text)]
    assert not missing, f"README's flag list lacks {action.option_strings[0]} {missing}"


def test_every_suite_is_in_readme() -> None:
    text = flag_list()
    assert not [s for s in SUITES if not re.search(rf"\b{s}\b", text)]
