"""``bench env``: the machine, the frameworks and the settings a run would record."""

from __future__ import annotations

import argparse
from typing import Any

from rich.console import Console

from bench.measure import environment


def cmd_env(args: argparse.Namespace, console: Console) -> int:
    import json

    env: dict[str, Any] = environment.capture()
    console.print_json(json.dumps(env))
    return 0
