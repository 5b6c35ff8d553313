"""Parsing of LaunchDarkly's rate-limit headers, robust to absurd values.

A wait hint is usable when finite, non-negative and at most ``MAX_HINT_SECONDS``; one sent but
unusable (``inf``, a negative number, text) is recorded as a *problem*, reported, not guessed
at. A reset time already past asks for no wait (clocks drift); it is not a problem.
"""

from __future__ import annotations

import math
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC
from email.utils import parsedate_to_datetime

MAX_HINT_SECONDS = 86_400.0
"""The longest wait a rate-limit hint may ask for (one day); anything longer is absurd."""

_MAX_SHOWN = 40

_FIXED_SEGMENTS = frozenset(
    [
        "api",
        "v2",
        "engineering-insights",
        "insights",
        "groups",
        "group",
        "scores",
        "charts",
        "deployments",
        "frequency",
        "flags",
        "stale",
        "status",
        "lead-time",
        "releases",
        "repositories",
        "projects",
        "pull-requests",
        "flag-events",
        "metric-groups",
        "archived",
    ]
)
"""Path segments of LaunchDarkly's routes; any other segment is a key or id."""


def route_of(method: str, path: str) -> str:
    """The route a request counts against (LaunchDarkly limits per route): the method and the
    path with keys and ids as ``{}`` (``GET /api/v2/engineering-insights/insights/groups/{}``)."""
    parts = [p if p in _FIXED_SEGMENTS else "{}" for p in path.strip("/").split("/") if p]
    return f"{method} /{'/'.join(parts)}"


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    text = value.strip()
    if not text.isdigit() or len(text) > 18:
        return None
    return int(text)


def _shown(value: str) -> str:
    """The raw header value, shortened, for an error message."""
    text = value.strip()
    return repr(text if len(text) <= _MAX_SHOWN else text[:_MAX_SHOWN] + "…")


def _retry_after(value: str, now_ms: float) -> float | None:
    """``Retry-After`` in seconds (delay-seconds or an HTTP-date), or None if unusable."""
    text = value.strip()
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError, OverflowError):
            return None
        if when.tzinfo is None:
            when = when.replace(tzinfo=UTC)
        seconds = max(0.0, when.timestamp() - now_ms / 1000)
    if not math.isfinite(seconds) or not 0 <= seconds <= MAX_HINT_SECONDS:
        return None
    return seconds


def _reset_at_ms(value: str | None, now_ms: float) -> int | None:
    """``X-Ratelimit-Reset`` in epoch milliseconds, or None if unusable."""
    reset = _int_or_none(value)
    if reset is None or reset - now_ms > MAX_HINT_SECONDS * 1000:
        return None
    return reset


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """What LaunchDarkly said about rate limits; any field may be absent. ``reset_at_ms``
    (``X-Ratelimit-Reset``, epoch ms) and ``retry_after`` (``Retry-After``, seconds) hold usable
    values only; the ``..._problem`` fields describe a header sent but unusable."""

    global_remaining: int | None = None
    route_remaining: int | None = None
    token_remaining: int | None = None  # a limit per access token, in newer docs
    reset_at_ms: int | None = None
    retry_after: float | None = None
    retry_after_problem: str | None = None
    reset_problem: str | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str], now_ms: float | None = None) -> RateLimitInfo:
        now = time.time() * 1000 if now_ms is None else now_ms
        raw_retry = headers.get("retry-after")
        raw_reset = headers.get("x-ratelimit-reset")
        retry_after = None if raw_retry is None else _retry_after(raw_retry, now)
        reset_at_ms = _reset_at_ms(raw_reset, now)
        return cls(
            global_remaining=_int_or_none(headers.get("x-ratelimit-global-remaining")),
            route_remaining=_int_or_none(headers.get("x-ratelimit-route-remaining")),
            token_remaining=_int_or_none(headers.get("x-ratelimit-auth-token-remaining")),
            reset_at_ms=reset_at_ms,
            retry_after=retry_after,
            retry_after_problem=(
                f"Retry-After header {_shown(raw_retry)}"
                if raw_retry is not None and retry_after is None
                else None
            ),
            reset_problem=(
                f"X-Ratelimit-Reset header {_shown(raw_reset)}"
                if raw_reset is not None and reset_at_ms is None
                else None
            ),
        )

    @property
    def route_only(self) -> bool:
        """Whether a 429 says only its route's limit is exhausted: route remaining 0, and
        neither the global nor the token limit at 0. Anything else (no headers, an IP-based
        ``Retry-After``) may concern every route."""
        return self.route_remaining == 0 and 0 not in (self.global_remaining, self.token_remaining)

    def problem(self, *, rate_limited: bool) -> str | None:
        """The unusable wait hint, if any: ``Retry-After`` always (it takes precedence);
        ``X-Ratelimit-Reset`` only for a 429 that sent no ``Retry-After``."""
        if self.retry_after_problem is not None:
            return self.retry_after_problem
        if rate_limited and self.retry_after is None:
            return self.reset_problem
        return None

    def wait_seconds(self, now_ms: float | None = None) -> float | None:
        """Seconds to wait before retrying, from ``Retry-After`` or else the reset time;
        None when neither gives a usable wait (a reset already past asks for none)."""
        if self.retry_after is not None:
            return self.retry_after
        if self.reset_at_ms is None or self.retry_after_problem is not None:
            return None
        now = time.time() * 1000 if now_ms is None else now_ms
        wait = (self.reset_at_ms - now) / 1000
        return min(wait, MAX_HINT_SECONDS) if wait > 0 else None
