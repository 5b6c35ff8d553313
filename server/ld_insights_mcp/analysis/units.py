"""Short human units for durations and shares."""

from __future__ import annotations

from collections.abc import Callable

from ld_insights_mcp.text import quoted

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
UNITS = ("count", "percent", "milliseconds", "seconds", "minutes", "hours", "days", "timestamp")
"""Units shown as they are; any other unit LaunchDarkly names is shown quoted."""
RATES = ("per day", "per week", "per hour")
"""Rate modifiers shown as they are (``0.4 per day``); any other modifier is quoted."""
MAX_DIGITS = 3
"""The most decimals ``moved`` adds to tell two values apart."""


def duration(ms: float | None, extra: int = 0) -> str:
    """``45 min``, ``9 h``, ``3.1 d``; ``n/a`` when unknown; ``extra`` more decimals."""
    if ms is None:
        return "n/a"
    if ms < HOUR_MS:
        return f"{max(ms, 0) / 60_000:.{extra}f} min"
    if ms < 48 * HOUR_MS:
        return f"{ms / HOUR_MS:.{extra}f} h"
    return f"{ms / DAY_MS:.{1 + extra}f} d"


def moved(before: float, after: float, render: Callable[[float, int], str]) -> str | None:
    """``before → after`` with the fewest extra decimals (``render(value, extra)``) that show
    them apart; the same text for equal values; None when ``MAX_DIGITS`` more cannot."""
    for extra in range(MAX_DIGITS + 1):
        was, now = render(before, extra), render(after, extra)
        if was != now or before == after:
            return f"{was} → {now}"
    return None


def share(part: int, whole: int) -> str:
    """``9 of 24 (38%)``."""
    if whole <= 0:
        return f"{part} of 0"
    return f"{part} of {whole} ({100 * part / whole:.0f}%)"


def number(value: float, extra: int = 0) -> str:
    """A raw metric value without noise: ``0.53``, ``12``, ``41.5`` (``1.2e+15`` past a
    quadrillion: never hundreds of digits); ``extra`` more decimals."""
    if abs(value) >= 1e15:
        return f"{value:.3g}"
    if value == int(value):
        return str(int(value))
    digits = (1 if abs(value) >= 10 else 2) + extra
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def with_unit(value: float, unit: str, extra: int = 0) -> str:
    """``12%``, ``41.5 hours``, ``0.53``, ``0.4 per day`` (counts carry no unit)."""
    if unit == "percent":
        return f"{number(value, extra)}%"
    if unit in ("count", ""):
        return number(value, extra)
    return f"{number(value, extra)} {quoted(unit, bare=(*UNITS, *RATES))}"


def show(value: float, unit: str, extra: int = 0) -> str:
    """A metric value in its unit, short: ``19%``, ``141.5 h``, ``0.53 per day``, ``2.67``."""
    if unit == "hours":
        return f"{number(value, extra)} h"
    if unit == "ratio":
        return number(value, extra)
    return with_unit(value, unit, extra)
