"""Numbers to display strings, with one rule: anything missing or not finite shows as "—".

Records from older or failed cells lack fields or hold None; every formatter here accepts
anything and never raises, so the report renders whatever a run left behind.
"""

from __future__ import annotations

import math
from typing import Any

DASH = "—"
MIB = 2**20


def number(value: Any) -> float | None:
    """``value`` as a finite float, or None (missing, None, NaN, a string, a bool)."""
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    value = float(value)
    return value if math.isfinite(value) else None


def fixed(value: Any, digits: int = 2) -> str:
    x = number(value)
    return DASH if x is None else f"{x:,.{digits}f}"


def sig(value: Any, digits: int = 3) -> str:
    """About ``digits`` significant figures, thousands separated: 123,456 / 12.3 / 0.0123."""
    x = number(value)
    if x is None:
        return DASH
    if x == 0:
        return "0"
    decimals = max(0, digits - 1 - math.floor(math.log10(abs(x))))
    return f"{x:,.{decimals}f}"


def integer(value: Any) -> str:
    x = number(value)
    return DASH if x is None else f"{round(x):,}"


def percent(value: Any, digits: int = 1) -> str:
    """A fraction in [0, 1] as a percentage."""
    x = number(value)
    return DASH if x is None else f"{100 * x:.{digits}f}%"


def mib(value: Any, digits: int = 0) -> str:
    """Bytes as MiB."""
    x = number(value)
    return DASH if x is None else f"{x / MIB:,.{digits}f}"


def seconds(value: Any) -> str:
    """A duration: ms below one second, seconds above."""
    x = number(value)
    if x is None:
        return DASH
    return f"{x * 1e3:.1f} ms" if abs(x) < 1 else f"{x:,.2f} s"


def times(value: Any) -> str:
    """A speed ratio: 1.00×."""
    x = number(value)
    return DASH if x is None else f"{x:.2f}×"


def interval(low: Any, high: Any, formatter: Any = sig) -> str:
    """ "[low – high]" or "" when either end is missing (the caller shows the point value)."""
    if number(low) is None or number(high) is None:
        return ""
    return f"[{formatter(low)} – {formatter(high)}]"


def text(value: Any) -> str:
    """Any value as text for a table cell: None → "—", bools → yes/no, lists joined."""
    if value is None or value == "" or value == [] or value == {}:
        return DASH
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        return format(value, ".6g") if number(value) is not None else DASH
    if isinstance(value, list | tuple):
        return ", ".join(text(v) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {text(v)}" for k, v in value.items())
    return str(value)
