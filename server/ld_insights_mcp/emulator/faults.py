"""Fault injection: per-operation queues of faults, one consumed per matching request."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any

import httpx

from ld_insights_mcp.emulator.rate_limits import Exhausted


@dataclass
class Fault:
    """What to do to one request instead of (or after) answering it normally.

    - ``status``: answer with this status. The body is ``body`` if given, else LaunchDarkly's
      error shape for the status (``{"code", "message"}``; 429 is ``rate_limited``; a 2xx or
      3xx status without a body sends an empty body). Without ``status`` the real status is
      kept and ``body``/``headers`` (if any) replace or extend the real answer.
    - ``headers``: extra answer headers, e.g. ``{"Retry-After": "1"}``; they override the
      emulator's rate-limit headers.
    - ``limit``: for a 429, which limit its headers report exhausted: ``both`` (default),
      ``route``, ``global``, ``token`` or ``ip`` (no ``X-Ratelimit-*`` headers); see
      ``rate_limits.py``.
    - ``body`` and ``content_type``: a raw body (invalid JSON, HTML, empty, huge).
    - ``edit``: change the real answer's JSON: it gets the decoded body and returns the body
      to send, encoded as Python's ``json`` does (``NaN``, ``Infinity``, ``1e+308`` pass).
    - ``delay``: seconds to wait before acting (a stall is a long delay). A client that goes
      away meanwhile is recorded as ``disconnected`` and gets no answer.
    - ``after_handling``: run the real handler first (a write happens), then wait ``delay``
      and apply ``status``/``body``/``reset`` instead of the real answer.
    - ``reset``: break the connection without a complete answer: the response starts with a
      Content-Length it never delivers, then the app raises ``EmulatedConnectionReset``. On a
      loopback server the client sees a protocol error (the server drops the connection);
      under ``httpx.ASGITransport`` the exception reaches the client directly, and since it
      is an ``httpx.RemoteProtocolError`` the client sees the same error type. The request
      is recorded with ``status=None``.
    """

    status: int | None = None
    headers: dict[str, str] = field(default_factory=dict)
    body: bytes | None = None
    content_type: str = "application/json"
    delay: float = 0.0
    after_handling: bool = False
    reset: bool = False
    edit: Callable[[Any], Any] | None = None
    limit: Exhausted = "both"


class EmulatedConnectionReset(httpx.RemoteProtocolError):
    """Raised by the app for a ``reset`` fault, after a partial answer."""

    def __init__(self) -> None:
        super().__init__("connection reset by the emulator (fault)")


class FaultQueues:
    """Faults queued per operationId; thread-safe (a loopback server runs in a thread).

    Faults act before auth: the next request routed to the operation takes the next fault,
    whatever its headers. Requests to unknown routes take none."""

    def __init__(self, operation_ids: Collection[str]) -> None:
        self._known = frozenset(operation_ids)
        self._queues: dict[str, deque[Fault]] = {}
        self._lock = threading.Lock()

    def push(self, operation_id: str, *faults: Fault) -> None:
        """Queue ``faults`` for the next requests to ``operation_id``, in order."""
        if operation_id not in self._known:
            raise ValueError(
                f"unknown operationId {operation_id!r}; known: {', '.join(sorted(self._known))}"
            )
        with self._lock:
            self._queues.setdefault(operation_id, deque()).extend(faults)

    def take(self, operation_id: str | None) -> Fault | None:
        """The next fault for ``operation_id``, removed from its queue (None if none)."""
        if operation_id is None:
            return None
        with self._lock:
            queue = self._queues.get(operation_id)
            return queue.popleft() if queue else None

    def pending(self, operation_id: str | None = None) -> int:
        """Faults still queued for one operation, or for all of them."""
        with self._lock:
            if operation_id is not None:
                return len(self._queues.get(operation_id, ()))
            return sum(len(q) for q in self._queues.values())

    def clear(self) -> None:
        with self._lock:
            self._queues.clear()
