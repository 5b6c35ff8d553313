"""Parsing of LaunchDarkly's rate-limit headers."""

from __future__ import annotations

import time
from collections.abc import Mapping
from dataclasses import dataclass


def _int_or_none(value: str | None) -> int | None:
    if value is None:
        return None
    try:
        return int(value.strip())
    except ValueError:
        return None


def _float_or_none(value: str | None) -> float | None:
    if value is None:
        return None
    try:
        parsed = float(value.strip())
    except ValueError:
        return None
    return parsed if parsed >= 0 else None


@dataclass(frozen=True, slots=True)
class RateLimitInfo:
    """What LaunchDarkly said about rate limits; any field may be absent.

    ``reset_at_ms`` is ``X-Ratelimit-Reset`` (epoch milliseconds); ``retry_after`` is
    ``Retry-After`` (seconds), sent for IP-based limits.
    """

    global_remaining: int | None = None
    route_remaining: int | None = None
    reset_at_ms: int | None = None
    retry_after: float | None = None

    @classmethod
    def from_headers(cls, headers: Mapping[str, str]) -> RateLimitInfo:
        return cls(
            global_remaining=_int_or_none(headers.get("x-ratelimit-global-remaining")),
            route_remaining=_int_or_none(headers.get("x-ratelimit-route-remaining")),
            reset_at_ms=_int_or_none(headers.get("x-ratelimit-reset")),
            retry_after=_float_or_none(headers.get("retry-after")),
        )

    def wait_seconds(self, now_ms: float | None = None) -> float | None:
        """Seconds to wait before retrying, from ``Retry-After`` or else the reset time."""
        if self.retry_after is not None:
            return self.retry_after
        if self.reset_at_ms is None:
            return None
        now = time.time() * 1000 if now_ms is None else now_ms
        return max(0.0, (self.reset_at_ms - now) / 1000)
