"""Jinja2 rendering with autoescaping on for everything.

Record and env.json text (run tags, model names, error messages) is untrusted: a cell's error
may quote any input. The environment escapes every value; only the figures' SVG, which this
package draws itself, arrives pre-marked safe. Undefined names fail loudly, so a template typo
is a test failure rather than a silently empty column.
"""

from __future__ import annotations

from typing import Any

from jinja2 import Environment, PackageLoader, StrictUndefined


def environment() -> Environment:
    return Environment(
        loader=PackageLoader("bench.report", "templates"),
        autoescape=True,
        undefined=StrictUndefined,
        trim_blocks=True,
        lstrip_blocks=True,
        keep_trailing_newline=True,
    )


def render(template: str, context: dict[str, Any]) -> str:
    return environment().get_template(template).render(**context)
