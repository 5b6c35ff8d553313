"""Fault injection: per-operation queues of faults, consumed one per matching request."""

from __future__ import annotations

import threading
from collections import deque
from dataclasses import dataclass, field


@dataclass
class Fault:
    """What to do to one request instead of (or after) handling it normally.

    - ``status`` (+ ``headers``, ``body``, ``content_type``): answer with this instead; the body
      defaults to LaunchDarkly's error shape for the status.
    - ``delay``: wait this long first (a stall is a long delay); a client that goes away
      meanwhile is recorded as ``disconnected``.
    - ``after_handling``: run the real handler first (the write happens), then apply the fault.
    - ``reset``: break the connection without a complete answer. On a loopback server the
      client sees a protocol error; under ``httpx.ASGITransport`` the app raises
      ``ConnectionResetError`` into the client instead, so use a loopback server for resets.
    """

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str = "application/json"
    delay: float = 0.0
    after_handling: bool = False
    reset: bool = False


class FaultQueues:
    """Faults queued per operationId; thread-safe (loopback servers run in a thread)."""

    def __init__(self) -> None:
        self._queues: dict[str, deque[Fault]] = {}
        self._lock = threading.Lock()

    def push(self, operation_id: str, *faults: Fault) -> None:
        with self._lock:
            self._queues.setdefault(operation_id, deque()).extend(faults)

    def take(self, operation_id: str | None) -> Fault | None:
        if operation_id is None:
            return None
        with self._lock:
            queue = self._queues.get(operation_id)
            return queue.popleft() if queue else None

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()

    def pending(self, operation_id: str) -> int:
        with self._lock:
            return len(self._queues.get(operation_id, ()))
