"""Introspection (RFC 7662) asked sparingly, as anyone can send made-up opaque tokens: answers
are remembered under a digest of the token (an active one until its ``exp`` or
``REMEMBER_ACTIVE``, a refusal for ``REMEMBER_REFUSED``), and the authorization server is asked
at most ``RATE`` times a second; beyond, ``IntrospectionBusy`` (503 with Retry-After).
"""

from __future__ import annotations

import hashlib
import math
import time
from collections import OrderedDict
from collections.abc import Callable

from mcp.server.auth.provider import AccessToken
from starlette.authentication import AuthenticationError

REMEMBER_ACTIVE = 60.0
REMEMBER_REFUSED = 10.0
MAX_REMEMBERED = 10_000
RATE = 5.0
BURST = 20

Answer = AccessToken | str
"""An accepted token's access, or why it was refused."""


class IntrospectionBusy(AuthenticationError):
    """The token could not be checked now: introspection is at its rate bound."""

    def __init__(self, retry_after: int) -> None:
        super().__init__(
            "the authorization server is asked about tokens as often as this server allows; "
            f"retry in {retry_after} s"
        )
        self.retry_after = retry_after


class Answers:
    """Introspection answers by token digest, each until its own moment (``clock`` time)."""

    def __init__(
        self, *, clock: Callable[[], float] = time.time, max_entries: int = MAX_REMEMBERED
    ) -> None:
        self._clock = clock
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, Answer]] = OrderedDict()

    def get(self, token: str) -> Answer | None:
        key = _digest(token)
        until, answer = self._entries.get(key, (0.0, None))
        if answer is not None and self._clock() >= until:
            del self._entries[key]
            return None
        return answer

    def remember(self, token: str, answer: Answer, until: float) -> None:
        key = _digest(token)
        self._entries.pop(key, None)
        self._entries[key] = (until, answer)
        while len(self._entries) > self.max_entries:
            self._entries.popitem(last=False)


class Budget:
    """A token bucket: ``burst`` calls at once, refilled at ``rate`` a second."""

    def __init__(
        self, rate: float = RATE, burst: int = BURST, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self.rate = rate
        self.burst = burst
        self._clock = clock
        self._left = float(burst)
        self._at = clock()
        self.refused_in_a_row = 0

    def take(self) -> bool:
        """One call, if the budget has one now."""
        now = self._clock()
        self._left = min(float(self.burst), self._left + (now - self._at) * self.rate)
        self._at = now
        if self._left >= 1:
            self._left -= 1
            self.refused_in_a_row = 0
            return True
        self.refused_in_a_row += 1
        return False

    def seconds_to_next(self) -> int:
        """Whole seconds until the budget has a call again (at least 1)."""
        return max(1, math.ceil((1 - self._left) / self.rate))


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()
