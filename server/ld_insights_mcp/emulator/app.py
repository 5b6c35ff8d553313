"""The emulator: a Starlette app answering LaunchDarkly's insight-group, insight-score and
metric-group operations as the contract describes them, with a request log, fault
injection, added latency and a concurrency gauge.

Order of checks for every request: faults and latency, then auth (401: ``Authorization``
must be the raw token; ``Bearer <token>`` is refused), then the route (404 unknown path, 405
known path with another method), then ``LD-API-Version: beta`` (403), then the operation.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio
from starlette.applications import Starlette
from starlette.routing import Mount
from starlette.types import Receive, Scope, Send

from .errors import ApiError, default_error_body
from .faults import EmulatedConnectionReset, Fault, FaultQueues
from .insights import InsightHandlers
from .metric_groups import MetricGroupHandlers
from .rate_limits import RateLimitWindow
from .recording import RecordedRequest
from .request import ApiRequest
from .routes import OPERATION_IDS, Resolved, resolve
from .seed import DAY_MS, SeedProject
from .store import Store

JSON = "application/json"
BETA = "beta"
Handler = Callable[[ApiRequest], tuple[int, Any]]


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON


def _encode(payload: Any) -> bytes:
    return b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()


def _error(status: int, message: str, **headers: str) -> Answer:
    return Answer(status, _encode(ApiError(status, message).body()), headers)


def _midnight_utc_ms() -> int:
    now = int(time.time() * 1000)
    return now - now % DAY_MS


class Emulator:
    """A contract-true LaunchDarkly API for the operations this project uses.

    ``Emulator(token, now_ms=None)``: every request must send ``Authorization: <token>``.
    ``now_ms`` anchors the seeded data and score periods (default: today, UTC midnight); the
    seed is deterministic given ``now_ms``. Timestamps of writes come from ``clock()``:
    ``now_ms`` plus the time elapsed since construction, or the wall clock when ``now_ms``
    was not given.
    """

    def __init__(self, token: str, now_ms: int | None = None) -> None:
        if not token:
            raise ValueError("the emulator needs a non-empty token")
        self._token = token.encode()
        self._anchored = now_ms is not None
        self._started = time.monotonic()
        self.store = Store(now_ms=_midnight_utc_ms() if now_ms is None else now_ms)
        self.faults = FaultQueues(OPERATION_IDS)
        self.requests: list[RecordedRequest] = []
        self.latency = 0.0
        self.request_log_limit: int | None = None
        """Keep only about this many recent requests (None: all); for long-running servers."""
        self._in_flight = 0
        self._max_in_flight = 0
        self._lock = threading.Lock()
        self._rate_limits = RateLimitWindow()
        insights = InsightHandlers(self.store, self.clock)
        metric_groups = MetricGroupHandlers(self.store, self.clock)
        self._handlers: dict[str, Handler] = {
            "getInsightGroups": insights.get_insight_groups,
            "createInsightGroup": insights.create_insight_group,
            "getInsightGroup": insights.get_insight_group,
            "patchInsightGroup": insights.patch_insight_group,
            "deleteInsightGroup": insights.delete_insight_group,
            "getInsightsScores": insights.get_insights_scores,
            "getMetricGroups": metric_groups.get_metric_groups,
            "createMetricGroup": metric_groups.create_metric_group,
            "getMetricGroup": metric_groups.get_metric_group,
            "patchMetricGroup": metric_groups.patch_metric_group,
            "deleteMetricGroup": metric_groups.delete_metric_group,
        }
        self.app = Starlette(routes=[Mount("/", app=self._asgi)])
        """The ASGI app; serve it with uvicorn or use ``httpx.ASGITransport(app=emu.app)``."""

    def __repr__(self) -> str:
        return (
            f"Emulator(now_ms={self.store.now_ms}, groups={len(self.store.insight_groups)}, "
            f"requests={len(self.requests)})"
        )

    # --- inspection -----------------------------------------------------------------------

    def clock(self) -> int:
        """Epoch ms for timestamps of writes (see the class docstring)."""
        if not self._anchored:
            return int(time.time() * 1000)
        return self.store.now_ms + int((time.monotonic() - self._started) * 1000)

    @property
    def in_flight(self) -> int:
        """Requests being handled right now."""
        return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """The most requests handled at once since creation or ``reset_max_in_flight()``."""
        return self._max_in_flight

    def reset_max_in_flight(self) -> None:
        with self._lock:
            self._max_in_flight = self._in_flight

    def clear_requests(self) -> None:
        self.requests.clear()

    def writes(self) -> list[RecordedRequest]:
        """Recorded POST, PATCH, PUT and DELETE requests, in order."""
        return [r for r in self.requests if r.is_write]

    def projects(self) -> list[SeedProject]:
        """The seeded projects (key, name, environments, applications, has_experiments)."""
        return list(self.store.projects)

    # --- ASGI -----------------------------------------------------------------------------

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            await self._serve(scope, receive, send)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _record(
        self, scope: Scope, raw_path: str, body: bytes, resolved: Resolved
    ) -> RecordedRequest:
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key, text = name.decode("latin-1").lower(), value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        query = scope.get("query_string", b"").decode("utf-8", errors="replace")
        record = RecordedRequest(
            method=scope["method"],
            path=unquote(raw_path, errors="replace"),
            raw_path=raw_path,
            query=parse_qsl(query, keep_blank_values=True, errors="replace"),
            headers=headers,
            body=body,
            operation_id=resolved.route.operation_id if resolved.route else None,
        )
        self.requests.append(record)
        limit = self.request_log_limit
        if limit is not None and len(self.requests) > 2 * limit:
            del self.requests[:-limit]
        return record

    async def _serve(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, gone = await _read_body(receive)
        raw = scope.get("raw_path") or scope["path"].encode()
        # httpx.ASGITransport puts the query string in raw_path; servers do not.
        raw_path = raw.decode("latin-1").split("?", 1)[0]
        resolved = resolve(scope["method"], raw_path)
        record = self._record(scope, raw_path, body, resolved)
        if gone:
            record.disconnected = True
            return
        exchange = _Exchange(record, receive, send, self._rate_limits)
        fault = self.faults.take(record.operation_id)
        try:
            await self._run(exchange, fault, resolved)
        except anyio.get_cancelled_exc_class():
            if record.status is None:
                record.disconnected = True
            raise

    async def _run(self, exchange: _Exchange, fault: Fault | None, resolved: Resolved) -> None:
        if not await exchange.pause(self.latency):
            return
        if fault is not None and not fault.after_handling:
            if not await exchange.pause(fault.delay):
                return
            if fault.reset:
                await exchange.reset(fault.status or 200, b'{"items":[')
            if fault.status is not None:
                await exchange.answer(_fault_answer(fault, fault.status))
                return
        answer = self._handle(exchange.record, resolved)
        if fault is not None and fault.after_handling:
            if not await exchange.pause(fault.delay):
                return
            if fault.reset:
                await exchange.reset(fault.status or answer.status, answer.body[:16])
            if fault.status is not None:
                await exchange.answer(_fault_answer(fault, fault.status))
                return
        if fault is not None:
            if fault.body is not None:
                answer.body, answer.content_type = fault.body, fault.content_type
            answer.headers.update(fault.headers)
        await exchange.answer(answer)

    def _handle(self, record: RecordedRequest, resolved: Resolved) -> Answer:
        sent = record.headers.get("authorization", "").encode("latin-1", errors="replace")
        if not hmac.compare_digest(sent, self._token):
            return _error(401, "Invalid access token")
        if resolved.route is None:
            if resolved.allowed:
                return _error(405, "Method not allowed", allow=", ".join(resolved.allowed))
            return _error(404, "Invalid resource identifier")
        if record.headers.get("ld-api-version") != BETA:
            return _error(
                403,
                "This operation is in beta: send the header 'LD-API-Version: beta' to use it",
            )
        request = ApiRequest(params=resolved.params, query=record.query, body=record.body)
        try:
            status, payload = self._handlers[resolved.route.operation_id](request)
        except ApiError as error:
            return Answer(error.status, _encode(error.body()))
        return Answer(status, _encode(payload))


def _fault_answer(fault: Fault, status: int) -> Answer:
    if fault.body is not None:
        body, content_type = fault.body, fault.content_type
    elif status >= 400:
        body, content_type = _encode(default_error_body(status)), JSON
    else:
        body, content_type = b"", fault.content_type
    return Answer(status, body, dict(fault.headers), content_type)


class _Exchange:
    """One request's conversation with the client: waits, the answer, or a reset."""

    def __init__(
        self, record: RecordedRequest, receive: Receive, send: Send, limits: RateLimitWindow
    ) -> None:
        self.record, self._receive, self._send, self._limits = record, receive, send, limits

    async def pause(self, seconds: float) -> bool:
        """Wait ``seconds``; False (and the request marked disconnected) if the client left."""
        if seconds <= 0:
            return True
        with anyio.move_on_after(seconds):
            while True:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    self.record.disconnected = True
                    return False
        return True

    async def answer(self, answer: Answer) -> None:
        route = self.record.operation_id or "unknown"
        headers = self._limits.headers(route, exhausted=answer.status == 429)
        body = answer.body
        if answer.status == 204:
            body = b""
        else:
            headers["content-type"] = answer.content_type
        headers.update({k.lower(): v for k, v in answer.headers.items()})
        headers["content-length"] = str(len(body))
        self.record.status = answer.status
        await self._send(
            {
                "type": "http.response.start",
                "status": answer.status,
                "headers": [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()],
            }
        )
        await self._send({"type": "http.response.body", "body": body})

    async def reset(self, status: int, partial: bytes) -> None:
        """Start an answer that promises more than it sends, then break the connection."""
        await self._send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", JSON.encode()),
                    (b"content-length", str(len(partial) + 4096).encode()),
                ],
            }
        )
        await self._send({"type": "http.response.body", "body": partial, "more_body": True})
        raise EmulatedConnectionReset()


async def _read_body(receive: Receive) -> tuple[bytes, bool]:
    """The request body, and whether the client went away while sending it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks), False
