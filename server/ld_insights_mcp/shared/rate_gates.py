"""Rate-limit state shared by every replica (and every client of this process).

A 429 with a usable wait closes the token's gate until then, for its route alone when only
the route's limit is exhausted, else for every route; while it is closed, ``check`` raises the
``RateLimitedError`` LaunchDarkly would have sent, without sending anything. A gate closes for
at most ``MAX_GATE_SECONDS``: a longer hint is re-checked by one request a minute instead of
silencing every replica for hours (limits are counted per 10 s).
"""

from __future__ import annotations

import contextlib
import time
from collections.abc import Callable
from contextvars import ContextVar

from ld_insights_mcp.launchdarkly.errors import APIStatusError, RateLimitedError
from ld_insights_mcp.launchdarkly.rate_limits import MAX_HINT_SECONDS, RateLimitInfo, route_of
from ld_insights_mcp.shared.redis_link import PREFIX, RedisLink, SharedStateUnavailable

_RAISE_UNTIL = """
local current = tonumber(redis.call('get', KEYS[1]) or '0') or 0
if tonumber(ARGV[1]) > current then redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2]) end
return 1
"""

MAX_GATE_SECONDS = 60.0
EVERY_ROUTE = "*"

_RATE_LIMITED: ContextVar[bool] = ContextVar("ld_insights_last_rate_limited", default=False)


def last_failure_was_rate_limit() -> bool:
    """Whether the most recent request of this task ended in a 429 (real or from the gate)."""
    return _RATE_LIMITED.get()


class RateLimitGate:
    """The times until which ``identity`` must not send, for every route (``*``) and for
    single routes, shared through ``link``."""

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
        self._until: dict[str, float] = {}
        """Scope (``*`` or one of the client's own routes) -> until when."""
        self.refused = 0
        self.noted = 0

    def _key(self, scope: str) -> str:
        return f"{PREFIX}ratelimit:{self.identity}:{scope}"

    async def blocked_for(self, route: str) -> float:
        """Seconds left before ``route`` may be sent again (0: open)."""
        scopes = (EVERY_ROUTE, route)
        until = max(self._until.get(s, 0.0) for s in scopes)
        if self.link is not None:
            keys = [self._key(s) for s in scopes]
            try:
                shared = await self.link.run(lambda r: r.mget(keys))
            except SharedStateUnavailable:
                shared = []
            for raw in shared:
                if raw is not None:
                    with contextlib.suppress(ValueError):
                        until = max(until, float(raw))
        left = until - self.clock()
        return left if left > 0 else 0.0

    async def check(self, method: str, path: str) -> None:
        """Raise a ``RateLimitedError`` while the gate is closed for this request's route."""
        left = await self.blocked_for(route_of(method, path))
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
        """Record the wait a 429 asked for, if it gave a usable one."""
        if not isinstance(error, RateLimitedError):
            return
        wait = error.retry_after
        if wait is None or wait <= 0:
            return
        wait = min(wait, MAX_GATE_SECONDS)
        scope = route_of(error.method, error.path) if error.rate_limit.route_only else EVERY_ROUTE
        until = self.clock() + wait
        self.noted += 1
        self._until[scope] = max(self._until.get(scope, 0.0), until)
        if self.link is None:
            return
        key, ms = self._key(scope), max(1, int(wait * 1000))
        with contextlib.suppress(SharedStateUnavailable):
            await self.link.run(lambda r: r.eval(_RAISE_UNTIL, 1, key, repr(until), ms))


def mark_outcome(rate_limited: bool) -> None:
    """Remember whether this task's last request was rate limited (for wait metrics)."""
    _RATE_LIMITED.set(rate_limited)
