"""Rate-limit state shared by every replica (and every client of this process).

When LaunchDarkly answers 429 with a usable wait (``Retry-After`` or ``X-Ratelimit-Reset``),
``RateLimitGate.note`` records "blocked until T" for the token's identity: in this process,
and in Redis when configured. Before any request, ``RateLimitGate.check`` raises a
``RateLimitedError`` carrying the time left, without sending anything: the retry policy then
waits it out (within its cap) or reports when to retry, exactly as for a 429 LaunchDarkly sent.
Redis down: each process keeps its own record.
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextvars import ContextVar
from typing import Protocol

from .errors import APIStatusError, RateLimitedError
from .rate_limits import MAX_HINT_SECONDS, RateLimitInfo
from .redis_link import PREFIX, RedisLink, SharedStateUnavailable

_RAISE_UNTIL = """
local current = tonumber(redis.call('get', KEYS[1]) or '0') or 0
if tonumber(ARGV[1]) > current then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1
"""

_RATE_LIMITED: ContextVar[bool] = ContextVar("ld_insights_last_rate_limited", default=False)


def last_failure_was_rate_limit() -> bool:
    """Whether the most recent request of this task ended in a 429 (real or from the gate)."""
    return _RATE_LIMITED.get()


class ExchangeHooks(Protocol):
    """Called around every request the client sends (``Exchange.send``)."""

    async def before(self, method: str, path: str) -> None:
        """May raise (e.g. ``RateLimitedError``) to send nothing."""
        ...

    async def after(
        self, method: str, path: str, outcome: int | str, seconds: float, error: Exception | None
    ) -> None:
        """``outcome``: the HTTP status, or the error's kind when no status came back."""
        ...


class RateLimitGate:
    """The time until which ``identity`` must not send, shared through ``link``."""

    def __init__(
        self,
        identity: str,
        link: RedisLink | None = None,
        *,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.identity = identity
        self.link = link
        self.clock = clock
        self._until = 0.0
        self.refused = 0
        """Requests not sent because the gate was closed."""
        self.noted = 0
        """429s with a usable wait recorded."""

    @property
    def _key(self) -> str:
        return f"{PREFIX}ratelimit:{self.identity}"

    async def blocked_for(self) -> float:
        """Seconds left before requests may be sent again (0: open)."""
        until = self._until
        if self.link is not None:
            try:
                raw = await self.link.run(lambda r: r.get(self._key))
            except SharedStateUnavailable:
                raw = None
            if raw is not None:
                with contextlib.suppress(ValueError):
                    until = max(until, float(raw))
        left = until - self.clock()
        return left if left > 0 else 0.0

    async def check(self, method: str, path: str) -> None:
        """Raise a ``RateLimitedError`` (nothing sent) while the gate is closed."""
        left = await self.blocked_for()
        if left <= 0:
            return
        self.refused += 1
        _RATE_LIMITED.set(True)
        raise RateLimitedError(
            status=429,
            code="rate_limited",
            message=(
                f"rate limited: LaunchDarkly asked this token to wait, {left:.0f} s are left "
                "(not sent)"
            ),
            method=method,
            path=path,
            rate_limit=RateLimitInfo(retry_after=min(left, MAX_HINT_SECONDS)),
        )

    async def note(self, error: APIStatusError) -> None:
        """Record the wait a 429 asked for (ignored when it gave no usable one)."""
        if not isinstance(error, RateLimitedError):
            return
        wait = error.retry_after
        if wait is None or wait <= 0:
            return
        until = self.clock() + wait
        self.noted += 1
        self._until = max(self._until, until)
        if self.link is None:
            return
        ms = max(1, int(wait * 1000))
        with contextlib.suppress(SharedStateUnavailable):
            await self.link.run(lambda r: r.eval(_RAISE_UNTIL, 1, self._key, repr(until), ms))


def mark_outcome(rate_limited: bool) -> None:
    """Remember whether this task's last request was rate limited (for wait metrics)."""
    _RATE_LIMITED.set(rate_limited)
