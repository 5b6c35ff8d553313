"""The emulator: an ASGI app answering LaunchDarkly's insight-group, insight-score and
metric-group operations as the official contract describes them."""

from __future__ import annotations

import json
import re
import threading
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio
from starlette.types import Message, Receive, Scope, Send

from .faults import Fault, FaultQueues
from .handlers import ApiError, Handlers, Request
from .seed import SeedProject
from .store import Store

BETA = "beta"
DAY_MS = 86_400_000

# (method, path template, operationId, handler name); templates use {name} segments.
ROUTES: tuple[tuple[str, str, str, str], ...] = (
    ("GET", "/api/v2/engineering-insights/insights/groups", "getInsightGroups", "list_groups"),
    ("POST", "/api/v2/engineering-insights/insights/group", "createInsightGroup", "create_group"),
    (
        "GET",
        "/api/v2/engineering-insights/insights/groups/{insightGroupKey}",
        "getInsightGroup",
        "get_group",
    ),
    (
        "PATCH",
        "/api/v2/engineering-insights/insights/groups/{insightGroupKey}",
        "patchInsightGroup",
        "patch_group",
    ),
    (
        "DELETE",
        "/api/v2/engineering-insights/insights/groups/{insightGroupKey}",
        "deleteInsightGroup",
        "delete_group",
    ),
    ("GET", "/api/v2/engineering-insights/insights/scores", "getInsightsScores", "get_scores"),
    ("GET", "/api/v2/projects/{projectKey}/metric-groups", "getMetricGroups", "list_metric_groups"),
    (
        "POST",
        "/api/v2/projects/{projectKey}/metric-groups",
        "createMetricGroup",
        "create_metric_group",
    ),
    (
        "GET",
        "/api/v2/projects/{projectKey}/metric-groups/{metricGroupKey}",
        "getMetricGroup",
        "get_metric_group",
    ),
    (
        "PATCH",
        "/api/v2/projects/{projectKey}/metric-groups/{metricGroupKey}",
        "patchMetricGroup",
        "patch_metric_group",
    ),
    (
        "DELETE",
        "/api/v2/projects/{projectKey}/metric-groups/{metricGroupKey}",
        "deleteMetricGroup",
        "delete_metric_group",
    ),
)


@dataclass
class RecordedRequest:
    """One request as the emulator received it."""

    method: str
    path: str
    raw_path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes = b""
    operation_id: str | None = None
    status: int | None = None
    disconnected: bool = False


@dataclass
class _Route:
    method: str
    segments: tuple[str, ...]
    operation_id: str
    handler: str

    def match(self, parts: list[str]) -> dict[str, str] | None:
        if len(parts) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for template, actual in zip(self.segments, parts, strict=True):
            if template.startswith("{"):
                params[template[1:-1]] = actual
            elif template != actual:
                return None
        return params


_ROUTES = [_Route(m, tuple(t.strip("/").split("/")), o, h) for m, t, o, h in ROUTES]


def _midnight_utc_ms() -> int:
    now = int(time.time() * 1000)
    return now - now % DAY_MS


@dataclass
class _Counters:
    in_flight: int = 0
    max_in_flight: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)


class Emulator:
    """A contract-true LaunchDarkly API for the operations this project uses."""

    def __init__(self, token: str, now_ms: int | None = None) -> None:
        self._token = token
        self.store = Store(now_ms=_midnight_utc_ms() if now_ms is None else now_ms)
        self.faults = FaultQueues()
        self.requests: list[RecordedRequest] = []
        self.latency = 0.0
        self._counters = _Counters()
        self._handlers = Handlers(self.store)

    def __repr__(self) -> str:
        return f"Emulator(groups={len(self.store.insight_groups)})"

    # --- inspection -------------------------------------------------------------------------

    @property
    def app(self) -> Callable[[Scope, Receive, Send], Awaitable[None]]:
        return self._asgi

    @property
    def in_flight(self) -> int:
        return self._counters.in_flight

    @property
    def max_in_flight(self) -> int:
        return self._counters.max_in_flight

    def reset_max_in_flight(self) -> None:
        with self._counters.lock:
            self._counters.max_in_flight = self._counters.in_flight

    def clear_requests(self) -> None:
        self.requests.clear()

    def writes(self) -> list[RecordedRequest]:
        return [r for r in self.requests if r.method in ("POST", "PATCH", "PUT", "DELETE")]

    def projects(self) -> list[SeedProject]:
        """The seeded projects with their environments and applications."""
        return list(self.store.projects)

    # --- ASGI -------------------------------------------------------------------------------

    async def _asgi(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "lifespan":
            await _lifespan(receive, send)
            return
        if scope["type"] != "http":
            return
        raw_path = scope.get("raw_path") or scope["path"].encode()
        raw = raw_path.decode("latin-1").split("?", 1)[0]
        headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope["headers"]}
        record = RecordedRequest(
            method=scope["method"],
            path=unquote(raw),
            raw_path=raw,
            query=parse_qsl(
                scope.get("query_string", b"").decode("latin-1"), keep_blank_values=True
            ),
            headers=headers,
        )
        self.requests.append(record)
        with self._counters.lock:
            self._counters.in_flight += 1
            self._counters.max_in_flight = max(
                self._counters.max_in_flight, self._counters.in_flight
            )
        try:
            await self._serve(record, receive, send)
        finally:
            with self._counters.lock:
                self._counters.in_flight -= 1

    async def _serve(self, record: RecordedRequest, receive: Receive, send: Send) -> None:
        record.body = await _read_body(receive)
        parts = [unquote(p) for p in record.raw_path.strip("/").split("/")]
        route, params, known_path = _resolve(record.method, parts)
        record.operation_id = route.operation_id if route else None
        fault = self.faults.take(record.operation_id)

        wait = self.latency + (fault.delay if fault and not fault.after_handling else 0.0)
        if wait > 0 and await _wait_or_disconnect(receive, wait):
            record.disconnected = True
            return
        if fault is not None and not fault.after_handling and (fault.reset or fault.status):
            await self._apply(fault, record, send)
            return

        status, body = self._handle(record, route, params, known_path)

        if fault is not None and fault.after_handling:
            if fault.delay > 0 and await _wait_or_disconnect(receive, fault.delay):
                record.disconnected = True
                return
            if fault.reset or fault.status:
                await self._apply(fault, record, send)
                return
        await self._respond(record, send, status, _encode(body), "application/json", {})

    def _handle(
        self,
        record: RecordedRequest,
        route: _Route | None,
        params: dict[str, str],
        known_path: bool,
    ) -> tuple[int, Any]:
        if record.headers.get("authorization") != self._token:
            return 401, {"code": "unauthorized", "message": "Invalid access token"}
        if route is None:
            if known_path:
                return 405, {"code": "method_not_allowed", "message": "Method not allowed"}
            return 404, {"code": "not_found", "message": "Invalid resource identifier"}
        if record.headers.get("ld-api-version") != BETA:
            return 403, {
                "code": "forbidden",
                "message": "This operation is in beta: send the header LD-API-Version: beta",
            }
        request = Request(params=params, query=record.query, body=record.body)
        try:
            handler: Callable[[Request], tuple[int, Any]] = getattr(self._handlers, route.handler)
            return handler(request)
        except ApiError as error:
            return error.status, error.body()

    async def _apply(self, fault: Fault, record: RecordedRequest, send: Send) -> None:
        if fault.reset:
            record.status = None
            await send(
                {
                    "type": "http.response.start",
                    "status": 200,
                    "headers": [
                        (b"content-type", b"application/json"),
                        (b"content-length", b"4096"),
                    ],
                }
            )
            await send({"type": "http.response.body", "body": b'{"partial":', "more_body": True})
            raise ConnectionResetError("emulated connection reset")
        status = fault.status or 500
        body = fault.body if fault.body is not None else _encode(_error_for(status))
        await self._respond(record, send, status, body, fault.content_type, fault.headers)

    async def _respond(
        self,
        record: RecordedRequest,
        send: Send,
        status: int,
        body: bytes,
        content_type: str,
        extra_headers: dict[str, str],
    ) -> None:
        record.status = status
        reset_ms = (int(time.time() * 1000) // 10_000 + 1) * 10_000
        headers = {
            "content-type": content_type,
            "x-ratelimit-global-remaining": "4999",
            "x-ratelimit-route-remaining": "999",
            "x-ratelimit-reset": str(reset_ms),
        }
        headers.update({k.lower(): v for k, v in extra_headers.items()})
        if status == 204:
            body = b""
            headers.pop("content-type")
        headers["content-length"] = str(len(body))
        await send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [(k.encode(), v.encode()) for k, v in headers.items()],
            }
        )
        await send({"type": "http.response.body", "body": body})


def _resolve(method: str, parts: list[str]) -> tuple[_Route | None, dict[str, str], bool]:
    known_path = False
    for route in _ROUTES:
        params = route.match(parts)
        if params is None:
            continue
        known_path = True
        if route.method == method:
            return route, params, True
    return None, {}, known_path


_ERROR_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "invalid_patch",
    429: "rate_limited",
}


def _error_for(status: int) -> dict[str, Any]:
    code = _ERROR_CODES.get(status, "internal_server_error" if status >= 500 else f"http_{status}")
    body: dict[str, Any] = {"code": code, "message": f"emulated {status} ({code})"}
    if status == 400:
        body["errors"] = []
    if status == 429:
        body["message"] = "You have been rate limited"
    return body


def _encode(body: Any) -> bytes:
    return b"" if body is None else json.dumps(body, separators=(",", ":")).encode()


async def _read_body(receive: Receive) -> bytes:
    chunks: list[bytes] = []
    while True:
        message: Message = await receive()
        if message["type"] == "http.disconnect":
            break
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            break
    return b"".join(chunks)


async def _wait_or_disconnect(receive: Receive, seconds: float) -> bool:
    """Sleep ``seconds``; True if the client went away meanwhile."""
    with anyio.move_on_after(seconds):
        while True:
            message = await receive()
            if message["type"] == "http.disconnect":
                return True
    return False


async def _lifespan(receive: Receive, send: Send) -> None:
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


KEY_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
