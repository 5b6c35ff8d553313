"""``/healthz``, ``/readyz`` and ``/metrics`` in front of the MCP app, and a request id on
every HTTP answer. The three paths say nothing secret and are answered before auth, behind the
same Host/Origin check as the MCP endpoint (no DNS-rebinding page can read them). ``/readyz``
is 200 while this replica can serve (Redis down is ``degraded``), 503 once it is stopping.
"""

from __future__ import annotations

import json
import logging
import re
import time
import uuid
from contextvars import ContextVar

from mcp.server.transport_security import TransportSecurityMiddleware, TransportSecuritySettings
from starlette.requests import Request
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ld_insights_mcp.shared.metrics import CONTENT_TYPE
from ld_insights_mcp.shared.services import SharedServices

logger = logging.getLogger("ld_insights_mcp.http")

REQUEST_ID_HEADER = b"x-request-id"
_GOOD_ID = re.compile(rb"^[A-Za-z0-9._:-]{1,64}$")
_REQUEST_ID: ContextVar[str | None] = ContextVar("ld_insights_request_id", default=None)
OPS_PATHS = frozenset({"/healthz", "/readyz", "/metrics"})


def current_request_id() -> str | None:
    """The id of the HTTP request being handled in this task, if any."""
    return _REQUEST_ID.get()


class OpsApp:
    """Answers the operations paths; everything else goes to ``app`` with a request id."""

    def __init__(
        self, app: ASGIApp, services: SharedServices, security: TransportSecuritySettings
    ) -> None:
        self.app = app
        self.services = services
        self._checks = TransportSecurityMiddleware(security)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        request_id = _request_id(scope)
        token = _REQUEST_ID.set(request_id)
        started = time.perf_counter()
        status = 0

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
                message = {
                    **message,
                    "headers": [
                        *message.get("headers", []),
                        (REQUEST_ID_HEADER, request_id.encode()),
                    ],
                }
            await send(message)

        call = scope.get("method") == "POST"  # a request that may run a tool
        if call:
            self.services.calls_in_flight += 1
        try:
            if scope["path"] in OPS_PATHS:
                refused = await self._checks.validate_request(Request(scope))
                if refused is not None:
                    await refused(scope, receive, send_with_id)
                else:
                    await self._ops(scope, send_with_id)
            else:
                await self.app(scope, receive, send_with_id)
        finally:
            logger.info(
                "%s %s -> %s in %.1f ms",
                scope.get("method", "?"),
                scope.get("path", "?"),
                status or "no answer",
                (time.perf_counter() - started) * 1000,
                extra={"http_status": status, "http_path": scope.get("path")},
            )
            _REQUEST_ID.reset(token)
            if call:
                self.services.calls_in_flight -= 1

    async def _ops(self, scope: Scope, send: Send) -> None:
        path, method = scope["path"], scope.get("method", "GET")
        if method not in ("GET", "HEAD"):
            await _answer(send, 405, b'{"error":"use GET"}', "application/json", method)
            return
        if path == "/healthz":
            await _answer(send, 200, b'{"status":"alive"}', "application/json", method)
        elif path == "/readyz":
            ready, body = await self.services.readiness()
            await _answer(
                send, 200 if ready else 503, json.dumps(body).encode(), "application/json", method
            )
        else:
            await _answer(send, 200, self.services.metrics.render(), CONTENT_TYPE, method)


def _request_id(scope: Scope) -> str:
    """The client's (or the proxy's) ``X-Request-Id`` when it is short and plain, else new."""
    for name, value in scope.get("headers", []):
        if name == REQUEST_ID_HEADER and _GOOD_ID.match(value):
            return bytes(value).decode()
    return uuid.uuid4().hex


async def _answer(send: Send, status: int, body: bytes, content_type: str, method: str) -> None:
    await send(
        {
            "type": "http.response.start",
            "status": status,
            "headers": [
                (b"content-type", content_type.encode()),
                (b"content-length", str(len(body)).encode()),
                (b"cache-control", b"no-store"),
            ],
        }
    )
    await send({"type": "http.response.body", "body": b"" if method == "HEAD" else body})
