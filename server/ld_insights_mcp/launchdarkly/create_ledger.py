"""What one client remembers about its creates: one create per key at a time, and which keys
it sent a create for lately."""

from __future__ import annotations

import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field

import anyio


@dataclass
class _KeyLock:
    lock: anyio.Lock = field(default_factory=anyio.Lock)
    users: int = 0


class CreateLedger:
    """Per-key serialisation of creates, and a memory of the last ``capacity`` keys sent within
    ``remember_for`` seconds."""

    def __init__(
        self,
        *,
        remember_for: float = 900.0,
        capacity: int = 1024,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._remember_for = remember_for
        self._capacity = capacity
        self._clock = clock
        self._locks: dict[str, _KeyLock] = {}
        self._sent: OrderedDict[str, float] = OrderedDict()

    @asynccontextmanager
    async def exclusive(self, key: str) -> AsyncIterator[None]:
        """Hold the key: other creates of it from this client wait until this one ends."""
        entry = self._locks.setdefault(key, _KeyLock())
        entry.users += 1
        try:
            async with entry.lock:
                yield
        finally:
            entry.users -= 1
            if entry.users == 0:
                del self._locks[key]

    def mark_sent(self, key: str) -> None:
        """Record that a create of ``key`` is being sent now."""
        self._sent[key] = self._clock()
        self._sent.move_to_end(key)
        while len(self._sent) > self._capacity:
            self._sent.popitem(last=False)

    def sent_recently(self, key: str) -> bool:
        """Whether a create of ``key`` was sent within ``remember_for`` seconds."""
        sent_at = self._sent.get(key)
        return sent_at is not None and self._clock() - sent_at <= self._remember_for
