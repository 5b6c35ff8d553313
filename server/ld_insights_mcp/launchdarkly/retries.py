"""When and how long to retry a LaunchDarkly call.

Reads retry on rate limits, server errors, broken connections and timeouts (backoff with
jitter, honouring a server's wait up to a cap; a longer or unreadable wait goes back to the
caller). Writes retry only where the request provably never reached LaunchDarkly.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import TypeVar

import anyio
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception, stop_after_attempt
from tenacity.wait import wait_exponential_jitter

from ld_insights_mcp.launchdarkly.errors import APIConnectionError, RateLimitedError, ServerError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Attempts in all, backoff bounds, the longest server-requested wait, and ``sleep``."""

    max_attempts: int = 4
    backoff_initial: float = 0.25
    backoff_max: float = 4.0
    max_wait: float = 10.0
    sleep: Callable[[float], Awaitable[None]] = field(default=anyio.sleep, compare=False)

    def hinted_wait(self, exc: BaseException | None) -> float | None:
        """The wait LaunchDarkly asked for, if the error carries one."""
        if isinstance(exc, RateLimitedError | ServerError):
            return exc.retry_after
        return None

    def read_is_retryable(self, exc: BaseException) -> bool:
        if isinstance(exc, APIConnectionError):
            return True
        if isinstance(exc, RateLimitedError | ServerError):
            if exc.rate_limit.problem(rate_limited=isinstance(exc, RateLimitedError)):
                return False
            hinted = self.hinted_wait(exc)
            return hinted is None or hinted <= self.max_wait
        return False

    def write_is_retryable(self, exc: BaseException) -> bool:
        """True only where the request cannot have reached LaunchDarkly."""
        if isinstance(exc, APIConnectionError):
            return not exc.sent
        if isinstance(exc, RateLimitedError):
            return self.read_is_retryable(exc)
        return False

    def _wait(self, state: RetryCallState) -> float:
        backoff = wait_exponential_jitter(
            multiplier=self.backoff_initial, jitter=self.backoff_initial, max=self.backoff_max
        )
        exc = state.outcome.exception() if state.outcome else None
        hinted = self.hinted_wait(exc)
        return min(max(float(backoff(state)), hinted or 0.0), self.max_wait)

    async def run(
        self, call: Callable[[], Awaitable[T]], *, retryable: Callable[[BaseException], bool]
    ) -> T:
        """Run ``call`` until it succeeds, fails for good, or attempts run out."""
        retrying = AsyncRetrying(
            retry=retry_if_exception(retryable),
            stop=stop_after_attempt(self.max_attempts),
            wait=self._wait,
            sleep=self.sleep,
            reraise=True,
        )
        async for attempt in retrying:
            with attempt:
                return await call()
        raise AssertionError("unreachable: tenacity reraises")  # pragma: no cover, no mutate
