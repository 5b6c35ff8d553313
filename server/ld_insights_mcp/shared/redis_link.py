"""One connection to the shared Redis, with short timeouts and a circuit: when Redis is down,
slow or refuses writes, callers get ``SharedStateUnavailable`` at once until the next probe.
The probe is a write, so a Redis that answers reads but refuses writes (full) is down, not
flapping. Logged at most once per ``log_every`` seconds, never with the URL (a password).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable
from typing import Any, TypeVar

import anyio

logger = logging.getLogger(__name__)

T = TypeVar("T")
PREFIX = "ld-insights:"
"""Every key this server writes starts with it."""
PROBE_KEY = f"{PREFIX}probe"
PROBE_TTL_MS = 5_000


class SharedStateUnavailable(Exception):
    """Redis did not answer (down, slow, refused): use the in-process fallback."""


class RedisLink:
    """A ``redis.asyncio`` client, its health, and the circuit around it."""

    def __init__(
        self,
        url: str,
        *,
        timeout: float = 0.25,
        retry_every: float = 2.0,
        log_every: float = 60.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        from redis.asyncio import Redis
        from redis.backoff import NoBackoff
        from redis.retry import Retry

        self.client: Any = Redis.from_url(
            url,
            socket_timeout=timeout,
            socket_connect_timeout=timeout,
            retry=Retry(NoBackoff(), 0),
            health_check_interval=0,
        )
        self.timeout = timeout
        self.retry_every = retry_every
        self.log_every = log_every
        self._clock = clock
        self.up = True
        self.errors = 0
        self.last_error: str | None = None
        self.down_since: float | None = None
        self._next_probe = 0.0
        self._last_logged = -float("inf")

    async def run(
        self, operation: Callable[[Any], Awaitable[T]], *, even_if_down: bool = False
    ) -> T:
        """``operation(client)``, or ``SharedStateUnavailable`` when Redis fails or the circuit
        is open (a probe first when one is due). ``even_if_down``: try it anyway (releasing a
        lock); its success does not close the circuit."""
        closed = self.up or even_if_down
        if not closed and (self._clock() < self._next_probe or not await self.probe()):
            raise SharedStateUnavailable
        return await self._attempt(operation)

    async def probe(self) -> bool:
        """Write a short-lived key now: True (and the circuit closed) when Redis took it."""
        self._next_probe = self._clock() + self.retry_every  # one probe at a time
        try:
            await self._attempt(lambda r: r.set(PROBE_KEY, b"1", px=PROBE_TTL_MS))
        except SharedStateUnavailable:
            return False
        if not self.up:
            logger.warning("shared state (Redis) reachable again: shared cache and limits resume")
            self.up, self.down_since = True, None
        return True

    async def _attempt(self, operation: Callable[[Any], Awaitable[T]]) -> T:
        try:
            with anyio.fail_after(self.timeout * 2 + 0.05):
                return await operation(self.client)
        except Exception as exc:  # redis errors, OSError, TimeoutError: all mean "not now"
            self._failed(exc)
            raise SharedStateUnavailable from None

    def _failed(self, exc: BaseException) -> None:
        now = self._clock()
        self.errors += 1
        self.last_error = type(exc).__name__
        if self.up:
            self.up, self.down_since = False, now
        self._next_probe = now + self.retry_every
        if now - self._last_logged >= self.log_every:
            self._last_logged = now
            logger.warning(
                "shared state (Redis) unavailable (%s): serving from LaunchDarkly with the "
                "in-process cache; retrying every %.0f s",
                self.last_error,
                self.retry_every,
            )

    async def aclose(self) -> None:
        try:
            await self.client.aclose()
        except Exception:  # closing a broken connection: nothing to do
            logger.debug("closing the Redis client failed", exc_info=True)
