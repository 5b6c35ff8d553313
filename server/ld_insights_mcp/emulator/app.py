"""The emulator: a Starlette app answering LaunchDarkly's insight-group, insight-score,
metric-group and read-only evidence (charts, deployments, pull requests, flag events,
repositories) operations as the contract describes them, with a request log, fault
injection, added latency and a concurrency gauge.

Routing is Starlette's: one ``Route`` per operation (path parameters, method), matched on
the raw path, and a catch-all route for everything else. Every route's endpoint runs the same
pipeline, so the order of checks is the same for every request: faults and latency, then auth
(401: ``Authorization`` must be the raw token; ``Bearer <token>`` is refused), then the route
(404 unknown path, 405 known path with another method), then ``LD-API-Version: beta`` (403),
then the operation.
"""

from __future__ import annotations

import hmac
import json
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from email.utils import formatdate
from typing import Any
from urllib.parse import parse_qsl, unquote

import anyio
from starlette.applications import Starlette
from starlette.middleware import Middleware
from starlette.types import Receive, Scope, Send

from .charts import ChartHandlers
from .deployments import EvidenceListHandlers
from .errors import ApiError, default_error_body
from .faults import EmulatedConnectionReset, Fault, FaultQueues
from .insights import InsightHandlers
from .metric_groups import MetricGroupHandlers
from .rate_limits import Exhausted, RateLimitWindow
from .recording import RecordedRequest
from .request import ApiRequest
from .routes import OPERATION_IDS, RawPath, Target, routes
from .seed import DAY_MS, SeedProject
from .store import Store
from .writes import WriteHandlers

JSON = "application/json"
BETA = "beta"
Handler = Callable[[ApiRequest], tuple[int, Any]]
DEFAULT_REQUEST_LOG_LIMIT = 10_000
"""Requests the log keeps by default (the most recent): enough for any test, bounded for a
demo that runs for days."""


@dataclass
class Answer:
    status: int
    body: bytes = b""
    headers: dict[str, str] = field(default_factory=dict)
    content_type: str = JSON
    limit: Exhausted = "both"
    """For a 429: which limit its headers report exhausted."""


def _encode(payload: Any) -> bytes:
    return b"" if payload is None else json.dumps(payload, separators=(",", ":")).encode()


def _error(status: int, message: str, **headers: str) -> Answer:
    return Answer(status, _encode(ApiError(status, message).body()), headers)


def _wall_clock_ms() -> int:
    return int(time.time() * 1000)


def _elapsed_since(now_ms: int) -> Callable[[], int]:
    """A clock that starts at ``now_ms`` and moves with the time elapsed since."""
    started = time.monotonic()
    return lambda: now_ms + int((time.monotonic() - started) * 1000)


class Emulator:
    """A contract-true LaunchDarkly API for the operations this project uses.

    ``Emulator(token, now_ms=None, *, clock=None, request_log_limit=DEFAULT_REQUEST_LOG_LIMIT)``:
    every request must send ``Authorization: <token>``. ``now_ms`` anchors the seeded data and
    score periods (default: the clock's day, UTC midnight); the seed is deterministic given
    ``now_ms``. ``clock()`` (epoch ms) stamps writes (``createdAt``, ``_creationDate``,
    ``_lastModified``) and the rate-limit window: the ``clock`` given, else ``now_ms`` plus the
    time elapsed since construction, else the wall clock. The request log keeps the
    ``request_log_limit`` most recent requests (None: all).
    """

    def __init__(
        self,
        token: str,
        now_ms: int | None = None,
        *,
        clock: Callable[[], int] | None = None,
        request_log_limit: int | None = DEFAULT_REQUEST_LOG_LIMIT,
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
        self.faults = FaultQueues(OPERATION_IDS)
        self._log: deque[RecordedRequest] = deque(maxlen=request_log_limit)
        self.latency = 0.0
        self.rewrite_text: Callable[[str, str], str] | None = None
        """``(field name, value) -> value`` applied to every string of every JSON answer the
        handlers make, errors included (e.g. ``hostile.hostile_text``); None: as seeded."""
        self._in_flight = 0
        self._max_in_flight = 0
        self._lock = threading.Lock()
        self._rate_limits = RateLimitWindow(self.clock)
        insights = self.insights = InsightHandlers(self.store, self.clock)
        """Insight groups and scores: ``insights.fill_omitted_applications`` (a create without
        applicationKeys gets the project's applications); ``insights.period_alignment`` sets
        where score periods end (one of ``scores.PERIOD_ALIGNMENTS``: anchor, now, midnight,
        unaligned)."""
        self.scores = insights
        self.charts = ChartHandlers(self.store)
        """The charts: ``charts.empty_metrics`` says how a metric over nothing is answered
        (one of ``charts.EMPTY_METRICS``: omitted, notCalculated, unknown, banded)."""
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
            **_evidence_handlers(self.store, self.charts),
        }
        self.changes = WriteHandlers(self.store, EvidenceListHandlers(self.store))
        """Deployment and repository-mapping writes (``put_replaces``: PUT replaces all)."""
        self._handlers.update(self.changes.handlers())
        self.app = Starlette(routes=routes(self._serve), middleware=[Middleware(RawPath)])
        """The ASGI app; serve it with uvicorn or use ``httpx.ASGITransport(app=emu.app)``."""

    def __repr__(self) -> str:
        return (
            f"Emulator(now_ms={self.store.now_ms}, groups={len(self.store.insight_groups)}, "
            f"requests={len(self._log)})"
        )

    # --- inspection -----------------------------------------------------------------------

    def clock(self) -> int:
        """Epoch ms now, for timestamps of writes and rate limits (see the class docstring)."""
        return self._clock()

    @property
    def requests(self) -> list[RecordedRequest]:
        """The recorded requests, oldest first (the most recent ``request_log_limit``)."""
        with self._lock:
            return list(self._log)

    @property
    def request_log_limit(self) -> int | None:
        return self._log.maxlen

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
        with self._lock:
            self._log.clear()

    def writes(self) -> list[RecordedRequest]:
        """Recorded POST, PATCH, PUT and DELETE requests, in order."""
        return [r for r in self.requests if r.is_write]

    def projects(self) -> list[SeedProject]:
        """The seeded projects (key, name, environments, applications, has_experiments)."""
        return list(self.store.projects)

    # --- ASGI -----------------------------------------------------------------------------

    async def _serve(self, scope: Scope, receive: Receive, send: Send, target: Target) -> None:
        """The pipeline every route's endpoint runs (see the module docstring)."""
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            await self._answer(scope, receive, send, target)
        finally:
            with self._lock:
                self._in_flight -= 1

    def _record(self, scope: Scope, raw_path: str, body: bytes, target: Target) -> RecordedRequest:
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
            operation_id=target.operation_id,
        )
        with self._lock:
            self._log.append(record)
        return record

    async def _answer(self, scope: Scope, receive: Receive, send: Send, target: Target) -> None:
        body, gone = await _read_body(receive)
        record = self._record(scope, scope["path"], body, target)
        if gone:
            record.disconnected = True
            return
        exchange = _Exchange(record, receive, send, self._rate_limits, self.clock)
        fault = self.faults.take(record.operation_id)
        try:
            await self._run(exchange, fault, target)
        except anyio.get_cancelled_exc_class():
            if record.status is None:
                record.disconnected = True
            raise

    async def _run(self, exchange: _Exchange, fault: Fault | None, target: Target) -> None:
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
        answer = self._handle(exchange.record, target)
        if fault is not None and fault.after_handling:
            if not await exchange.pause(fault.delay):
                return
            if fault.reset:
                await exchange.reset(fault.status or answer.status, answer.body[:16])
            if fault.status is not None:
                await exchange.answer(_fault_answer(fault, fault.status))
                return
        if fault is not None:
            if fault.edit is not None and answer.body:
                answer.body = json.dumps(fault.edit(json.loads(answer.body))).encode()
            if fault.body is not None:
                answer.body, answer.content_type = fault.body, fault.content_type
            answer.headers.update(fault.headers)
        await exchange.answer(answer)

    def _handle(self, record: RecordedRequest, target: Target) -> Answer:
        answer = self._handled(record, target)
        if self.rewrite_text is not None and answer.body:
            payload = rewrite_strings(json.loads(answer.body), self.rewrite_text)
            answer.body = _encode(payload)
        return answer

    def _handled(self, record: RecordedRequest, target: Target) -> Answer:
        sent = record.headers.get("authorization", "").encode("latin-1", errors="replace")
        if not hmac.compare_digest(sent, self._token):
            return _error(401, "Invalid access token")
        if target.operation_id is None:
            if target.allowed:
                return _error(405, "Method not allowed", allow=", ".join(target.allowed))
            return _error(404, "Invalid resource identifier")
        if record.headers.get("ld-api-version") != BETA:
            return _error(
                403,
                "This operation is in beta: send the header 'LD-API-Version: beta' to use it",
            )
        request = ApiRequest(params=target.params, query=record.query, body=record.body)
        try:
            status, payload = self._handlers[target.operation_id](request)
        except ApiError as error:
            return Answer(error.status, _encode(error.body()))
        return Answer(status, _encode(payload))


def rewrite_strings(payload: Any, rewrite: Callable[[str, str], str], field: str = "") -> Any:
    """``payload`` with every string value ``v`` of field ``f`` replaced by ``rewrite(f, v)``
    (list items take their list's field name; object keys are kept)."""
    if isinstance(payload, str):
        return rewrite(field, payload)
    if isinstance(payload, list):
        return [rewrite_strings(item, rewrite, field) for item in payload]
    if isinstance(payload, dict):
        return {key: rewrite_strings(value, rewrite, key) for key, value in payload.items()}
    return payload


def _evidence_handlers(store: Store, charts: ChartHandlers) -> dict[str, Handler]:
    """The read-only evidence operations (charts, deployments, pull requests, flag events,
    repositories)."""
    lists = EvidenceListHandlers(store)
    return {
        "getDeploymentFrequencyChart": charts.get_deployment_frequency_chart,
        "getLeadTimeChart": charts.get_lead_time_chart,
        "getReleaseFrequencyChart": charts.get_release_frequency_chart,
        "getFlagStatusChart": charts.get_flag_status_chart,
        "getStaleFlagsChart": charts.get_stale_flags_chart,
        "getDeployments": lists.get_deployments,
        "getDeployment": lists.get_deployment,
        "getPullRequests": lists.get_pull_requests,
        "getFlagEvents": lists.get_flag_events,
        "getInsightsRepositories": lists.get_insights_repositories,
    }


def _fault_answer(fault: Fault, status: int) -> Answer:
    if fault.body is not None:
        body, content_type = fault.body, fault.content_type
    elif status >= 400:
        body, content_type = _encode(default_error_body(status)), JSON
    else:
        body, content_type = b"", fault.content_type
    return Answer(status, body, dict(fault.headers), content_type, fault.limit)


class _Exchange:
    """One request's conversation with the client: waits, the answer, or a reset.

    Every answer carries ``Date`` from the emulator's clock (as ``X-Ratelimit-Reset`` does),
    so a skewed clock is seen as LaunchDarkly's would be; a fault's headers may replace it.
    """

    def __init__(
        self,
        record: RecordedRequest,
        receive: Receive,
        send: Send,
        limits: RateLimitWindow,
        clock: Callable[[], int],
    ) -> None:
        self.record, self._receive, self._send, self._limits = record, receive, send, limits
        self._clock = clock

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
        headers = self._limits.headers(
            route, exhausted=answer.limit if answer.status == 429 else None
        )
        headers["date"] = formatdate(self._clock() / 1000, usegmt=True)
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
