"""The emulator: a Starlette app answering LaunchDarkly's insight, metric-group and evidence
operations as the contract describes them.

Every route (one per operation, matched on the raw path, and a catch-all) runs
``Emulator.serve``, so every request is checked in one order: auth (401: ``Authorization`` must
be the raw token, not ``Bearer <token>``), the route (404 unknown path, 405 other method),
``LD-API-Version: beta`` (403), then the operation. Every answer carries rate-limit headers
and ``Date`` from the emulator's clock.
"""

from __future__ import annotations

import hmac
import json
import re
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any

from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import Receive, Scope, Send

from ld_insights_mcp.emulator.charts import ChartHandlers
from ld_insights_mcp.emulator.deployments import EvidenceListHandlers
from ld_insights_mcp.emulator.errors import ApiError
from ld_insights_mcp.emulator.evidence_params import Windows
from ld_insights_mcp.emulator.insights import InsightHandlers
from ld_insights_mcp.emulator.metric_groups import MetricGroupHandlers
from ld_insights_mcp.emulator.rate_limits import RateLimitWindow
from ld_insights_mcp.emulator.request import ApiRequest, IncomingRequest, read_body
from ld_insights_mcp.emulator.routes import OPERATIONS, RawPath, Target, routes
from ld_insights_mcp.emulator.seed import DAY_MS
from ld_insights_mcp.emulator.store import Store
from ld_insights_mcp.emulator.writes import WriteHandlers

JSON = "application/json"
BETA = "beta"
Handler = Callable[[ApiRequest], tuple[int, Any]]


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON


def encode(payload: Any) -> bytes:
    """A JSON body (compact); empty for None."""
    return b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()


def _error(status: int, message: str, **headers: str) -> Answer:
    return Answer(status, encode(ApiError(status, message).body()), headers)


def _method_name(operation_id: str) -> str:
    """The handler method of an operation: ``getInsightGroups`` -> ``get_insight_groups``."""
    return re.sub("(?=[A-Z])", "_", operation_id).lower()


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


def _elapsed_since(now_ms: int) -> Callable[[], int]:
    """A clock that starts at ``now_ms`` and moves with the time elapsed since."""
    started = time.monotonic()
    return lambda: now_ms + int((time.monotonic() - started) * 1000)


class Emulator:
    """A contract-true LaunchDarkly API for the operations this project uses.

    ``now_ms`` anchors the seeded data and score periods (default: the clock's UTC midnight).
    ``clock()`` (epoch ms) stamps writes, ``Date`` and the rate-limit window: the ``clock``
    given, else ``now_ms`` plus the time elapsed since construction, else the wall clock.
    """

    def __init__(
        self, token: str, now_ms: int | None = None, *, clock: Callable[[], int] | None = None
    ) -> None:
        if not token:
            raise ValueError("the emulator needs a non-empty token")
        self._token = token.encode()
        if clock is None:
            clock = _wall_clock_ms if now_ms is None else _elapsed_since(now_ms)
        self._clock = clock
        if now_ms is None:
            today = clock()
            now_ms = today - today % DAY_MS
        self.store = Store(now_ms=now_ms)
        self.rate_limits = RateLimitWindow(self.clock)
        insights = self.insights = InsightHandlers(self.store, self.clock)
        """Options: ``fill_omitted_applications``, ``period_alignment`` (``PERIOD_ALIGNMENTS``)."""
        self.windows = windows = Windows(self.clock)
        """Option: ``future_to`` (``evidence_params.FUTURE_TO``)."""
        self.charts = ChartHandlers(self.store, windows)
        """Option: ``empty_metrics`` (``charts.EMPTY_METRICS``)."""
        self.changes = WriteHandlers(self.store, EvidenceListHandlers(self.store, windows))
        """Option: ``put_replaces`` (a PUT of repository mappings replaces them all)."""
        owners = (
            insights,
            MetricGroupHandlers(self.store, self.clock),
            self.charts,
            EvidenceListHandlers(self.store, windows),
            self.changes,
        )
        methods = {name: getattr(o, name) for o in owners for name in dir(o) if name[0] != "_"}
        self._handlers: dict[str, Handler] = {
            operation: methods[_method_name(operation)] for _, _, operation in OPERATIONS
        }
        self.app = Starlette(routes=routes(self.serve), middleware=[Middleware(RawPath)])
        """The ASGI app; serve it with uvicorn or use ``httpx.ASGITransport(app=emu.app)``."""

    def __repr__(self) -> str:
        return f"Emulator(now_ms={self.store.now_ms}, groups={len(self.store.insight_groups)})"

    def clock(self) -> int:
        """Epoch ms now (see the class docstring)."""
        return self._clock()

    async def serve(self, scope: Scope, receive: Receive, send: Send, target: Target) -> None:
        """What every route runs; the one method a subclass wraps around every request."""
        body, gone = await read_body(receive)
        if not gone:
            answer = self.answer(IncomingRequest.of(scope, body, target.operation_id), target)
            await send_answer(send, answer, self.headers(target.operation_id, answer))

    def answer(self, request: IncomingRequest, target: Target) -> Answer:
        """Auth, the route, the beta header, then the operation (see the module docstring)."""
        sent = request.headers.get("authorization", "").encode("latin-1", errors="replace")
        if not hmac.compare_digest(sent, self._token):
            return _error(401, "Invalid access token")
        if target.operation_id is None:
            if target.allowed:
                return _error(405, "Method not allowed", allow=", ".join(target.allowed))
            return _error(404, "Invalid resource identifier")
        if request.headers.get("ld-api-version") != BETA:
            return _error(
                403,
                "This operation is in beta: send the header 'LD-API-Version: beta' to use it",
            )
        api_request = ApiRequest(params=target.params, query=request.query, body=request.body)
        try:
            status, payload = self._handlers[target.operation_id](api_request)
        except ApiError as error:
            return Answer(error.status, encode(error.body()))
        return Answer(status, encode(payload))

    def headers(self, operation_id: str | None, answer: Answer) -> dict[str, str]:
        """Rate-limit counts, ``Date`` from the clock (a skewed clock shows as LaunchDarkly's
        would) and the content type (none for a 204); the answer's own headers go over these."""
        headers = self.rate_limits.headers(operation_id or "unknown")
        headers["date"] = formatdate(self.clock() / 1000, usegmt=True)
        if answer.status != 204:
            headers["content-type"] = answer.content_type
        return headers


async def send_answer(send: Send, answer: Answer, headers: dict[str, str]) -> None:
    """Send ``answer`` with ``headers`` and its own headers over them (a 204 has no body)."""
    body = b"" if answer.status == 204 else answer.body
    headers = {**headers, **{k.lower(): v for k, v in answer.headers.items()}}
    headers["content-length"] = str(len(body))
    raw = [(k.encode("latin-1"), v.encode("latin-1")) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": answer.status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
