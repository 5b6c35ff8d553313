"""Fault injection: per-operation queues of faults, one consumed per matching request, and
the answers and rate-limit headers faults send."""

from __future__ import annotations

import threading
from collections import deque
from collections.abc import Callable, Collection
from dataclasses import dataclass, field
from typing import Any, Literal

import httpx

from ld_insights_mcp.emulator.app import JSON, Answer, encode
from ld_insights_mcp.emulator.errors import ERROR_CODES, Body

TOKEN_LIMIT = 2_000
"""The per-token limit a ``token`` 429 reports (the one newer documentation names)."""

Exhausted = Literal["both", "route", "global", "token", "ip"]

DEFAULT_MESSAGES = {
    400: "Invalid request",
    401: "Invalid access token",
    403: "Forbidden. Access to the requested resource was denied.",
    404: "Invalid resource identifier",
    405: "Method not allowed",
    409: "Conflict",
    422: "Unprocessable entity. Could not apply patch.",
    429: "You've exceeded the API rate limit. Try again later.",
    500: "An internal error occurred. Try again later.",
    502: "Bad gateway",
    503: "Service unavailable. Try again later.",
    504: "Gateway timeout",
}
"""The message of the error body a fault sends when it names only a status."""


@dataclass
class Fault:
    """What to do to one request instead of (or after) answering it normally.

    - ``status``: answer with this status. The body is ``body`` if given, else LaunchDarkly's
      error shape for the status (``{"code", "message"}``; 429 is ``rate_limited``; a 2xx or
      3xx status without a body sends an empty body). Without ``status`` the real status is
      kept and ``body``/``headers`` (if any) replace or extend the real answer.
    - ``headers``: extra answer headers, e.g. ``{"Retry-After": "1"}``; they override the
      emulator's rate-limit headers.
    - ``limit``: for a 429, which limit its headers report exhausted (LaunchDarkly documents
      the headers but not which of them a 429 carries): ``both`` (default: global and route
      remaining 0), ``route`` or ``global`` (that one 0, the other as counted), ``token``
      (both as counted, ``X-Ratelimit-Auth-Token-Remaining: 0`` with its limit and reset) or
      ``ip`` (no ``X-Ratelimit-*`` header at all: IP-based limits send ``Retry-After`` only,
      so put it in ``headers``).
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


def exhaust(headers: dict[str, str], limit: Exhausted) -> None:
    """Make an answer's rate-limit headers report ``limit`` exhausted (see ``Fault.limit``)."""
    if limit == "ip":
        for name in [name for name in headers if name.startswith("x-ratelimit-")]:
            del headers[name]
    if limit in ("both", "global"):
        headers["x-ratelimit-global-remaining"] = "0"
    if limit in ("both", "route"):
        headers["x-ratelimit-route-remaining"] = "0"
    if limit == "token":
        headers |= {
            "x-ratelimit-auth-token-limit": str(TOKEN_LIMIT),
            "x-ratelimit-auth-token-remaining": "0",
            "x-ratelimit-auth-token-reset": headers["x-ratelimit-reset"],
        }


def fault_answer(fault: Fault, status: int) -> Answer:
    """The answer a fault with a ``status`` sends instead of the real one."""
    if fault.body is not None:
        body, content_type = fault.body, fault.content_type
    elif status >= 400:
        body, content_type = encode(default_error_body(status)), JSON
    else:
        body, content_type = b"", fault.content_type
    return Answer(status, body, dict(fault.headers), content_type)


def default_error_body(status: int) -> Body:
    """The body a fault sends when it names only a status."""
    code = ERROR_CODES.get(status, "internal_server_error" if status >= 500 else f"http_{status}")
    body: Body = {"code": code, "message": DEFAULT_MESSAGES.get(status, f"HTTP {status}")}
    if status == 400:
        body["errors"] = []
    return body
