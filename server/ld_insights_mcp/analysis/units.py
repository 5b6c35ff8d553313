"""Short human units for durations and shares."""

from __future__ import annotations

from ld_insights_mcp.text import quoted

HOUR_MS = 3_600_000
DAY_MS = 24 * HOUR_MS
UNITS = ("count", "percent", "milliseconds", "seconds", "minutes", "hours", "days", "timestamp")
"""Units shown as they are; any other unit LaunchDarkly names is shown quoted."""


def duration(ms: float | None) -> str:
    """``45 min``, ``9 h``, ``3.1 d``; ``n/a`` when unknown."""
    if ms is None:
        return "n/a"
    if ms < HOUR_MS:
        return f"{max(ms, 0) / 60_000:.0f} min"
    if ms < 48 * HOUR_MS:
        return f"{ms / HOUR_MS:.0f} h"
    return f"{ms / DAY_MS:.1f} d"


def share(part: int, whole: int) -> str:
    """``9 of 24 (38%)``."""
    if whole <= 0:
        return f"{part} of 0"
    return f"{part} of {whole} ({100 * part / whole:.0f}%)"


def number(value: float) -> str:
    """A raw metric value without noise: ``0.53``, ``12``, ``41.5`` (``1.2e+15`` past a
    quadrillion: never hundreds of digits)."""
    if abs(value) >= 1e15:
        return f"{value:.3g}"
    if value == int(value):
        return str(int(value))
    digits = 1 if abs(value) >= 10 else 2
    return f"{value:.{digits}f}".rstrip("0").rstrip(".")


def with_unit(value: float, unit: str) -> str:
    """``12%``, ``41.5 hours``, ``0.53`` (counts carry no unit)."""
    if unit == "percent":
        return f"{number(value)}%"
    if unit in ("count", ""):
        return number(value)
    return f"{number(value)} {quoted(unit, bare=UNITS)}"


def show(value: float, unit: str) -> str:
    """A metric value in its unit, short: ``19%``, ``141.5 h``, ``0.53 per day``, ``2.67``."""
    if unit == "hours":
        return f"{number(value)} h"
    if unit == "ratio":
        return number(value)
    return with_unit(value, unit)
