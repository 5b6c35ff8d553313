"""Time windows and cursors of the evidence tools, checked before any request is sent.

A window is ``days`` or ISO dates (UTC, inclusive), at most ``MAX_WINDOW_DAYS``, never before
``FLOOR``. One that runs to now ends at the end of the current minute (the same question within
the minute is the same, cacheable request) and is sent without ``to``: the contract does not say
whether a future ``to`` is accepted. A cursor carries the ``after`` id and a signature of its
query, so a cursor sent with other filters is refused.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from typing import Any

from mcp.server.mcpserver.exceptions import ToolError

from ld_insights_mcp.tools.params import MAX_WINDOW_DAYS

DAY_MS = 86_400_000
MINUTE_MS = 60_000
DEFAULT_DAYS = 30
FLOOR = date(2015, 1, 1)
"""No window starts before this day: Engineering Insights has no data from before it."""


@dataclass(frozen=True, slots=True)
class Window:
    """``[start_ms, end_ms]``, whether it runs to now, and the arguments that chose it (for
    the next-call hint)."""

    start_ms: int
    end_ms: int
    arguments: Mapping[str, Any]
    to_now: bool = False

    @property
    def sent_to_ms(self) -> int | None:
        """The ``to`` to send upstream: none for a window that runs to now."""
        return None if self.to_now else self.end_ms

    @property
    def days(self) -> float:
        return (self.end_ms - self.start_ms) / DAY_MS


def now_ms() -> int:
    return int(time.time() * 1000)


def _date(value: str, field: str) -> date:
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise ToolError(
            f"{field} {value!r} is not a calendar date: send YYYY-MM-DD, e.g. 2025-11-01."
        ) from None


def _midnight_ms(day: date) -> int:
    return int(datetime(day.year, day.month, day.day, tzinfo=UTC).timestamp() * 1000)


def resolve_window(
    days: int | None, from_date: str | None, to_date: str | None, *, now: int | None = None
) -> Window:
    """The window the arguments ask for, or a ToolError naming the field and the fix."""
    current = now_ms() if now is None else now
    today = datetime.fromtimestamp(current / 1000, tz=UTC).date()
    if days is not None and from_date is not None:
        raise ToolError(
            "days and from_date both set: give days (the last N days) or from_date "
            "(with an optional to_date), not both."
        )
    end_day = _date(to_date, "to_date") if to_date is not None else None
    if end_day is not None and end_day > today:
        raise ToolError(
            f"to_date {to_date} is in the future (today is {today.isoformat()} UTC): use "
            "today or an earlier date, or omit it."
        )
    end = -(-current // MINUTE_MS) * MINUTE_MS  # the end of the current minute
    if end_day is not None:
        end = min(end, _midnight_ms(end_day + timedelta(1)))
    if from_date is not None:
        start_day = _date(from_date, "from_date")
        if start_day > today:
            raise ToolError(
                f"from_date {from_date} is in the future (today is {today.isoformat()} UTC): "
                "use an earlier date."
            )
        if end_day is not None and start_day > end_day:
            raise ToolError(
                f"from_date {from_date} is after to_date {to_date}: swap them, or move "
                "from_date before to_date."
            )
        start = _midnight_ms(start_day)
    else:
        start = end - (days or DEFAULT_DAYS) * DAY_MS
    if start < _midnight_ms(FLOOR):
        raise ToolError(_before_floor(days, from_date, to_date))
    if end - start > MAX_WINDOW_DAYS * DAY_MS:
        raise ToolError(
            f"the window is {(end - start) / DAY_MS:.0f} days; at most {MAX_WINDOW_DAYS} are "
            "accepted (Engineering Insights keeps 90 days): move from_date later or use days."
        )
    arguments = {"days": days, "from_date": from_date, "to_date": to_date}
    return Window(start, end, arguments, to_now=end_day is None or end_day == today)


def _before_floor(days: int | None, from_date: str | None, to_date: str | None) -> str:
    """The error for a window that starts before ``FLOOR``, naming the argument to change."""
    floor = FLOOR.isoformat()
    why = f"Engineering Insights has no data from before {floor}"
    if from_date is not None:
        return f"from_date {from_date} is before {floor} ({why}): use {floor} or later."
    if to_date is not None and _date(to_date, "to_date") < FLOOR:
        return f"to_date {to_date} is before {floor} ({why}): use {floor} or later."
    span = f"days={days or DEFAULT_DAYS}" + (f" before to_date {to_date}" if to_date else "")
    return f"{span} starts before {floor} ({why}): ask for fewer days or a later to_date."


def query_signature(tool: str, arguments: Mapping[str, Any]) -> str:
    """A short digest of everything (but the cursor and page size) that shapes a list."""
    canonical = json.dumps([tool, dict(sorted(arguments.items()))], default=str)
    return hashlib.sha256(canonical.encode()).hexdigest()[:10]


def make_cursor(after: str, signature: str) -> str:
    return f"{after}~{signature}"


def read_cursor(cursor: str | None, signature: str) -> str | None:
    """The ``after`` id a cursor carries; a cursor from another query is a ToolError."""
    if cursor is None:
        return None
    after, _, signed = cursor.rpartition("~")
    if signed != signature:
        raise ToolError(
            "cursor comes from another query (its filters, window or sort differ): repeat "
            "the exact call the previous page ends with, or omit cursor to start over."
        )
    return after
