"""The operations the emulator answers, as Starlette routes matched on the raw path.

``RawPath`` makes the app route on the raw (still percent-encoded) path, so a key sent as
``a%2Fb`` stays one path parameter (decoded to the key ``a/b``) and can never change the route.
Every endpoint, the catch-all's included, hands the request and its ``Target`` to one pipeline,
which checks in the order the app documents (auth comes before 404 and 405).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from urllib.parse import unquote

from starlette.routing import Match, Route
from starlette.types import ASGIApp, Receive, Scope, Send

INSIGHTS = "/api/v2/engineering-insights/insights"
METRIC_GROUPS = "/api/v2/projects/{projectKey}/metric-groups"
EI = "/api/v2/engineering-insights"

EVIDENCE_OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("GET", f"{EI}/charts/deployments/frequency", "getDeploymentFrequencyChart"),
    ("GET", f"{EI}/charts/flags/stale", "getStaleFlagsChart"),
    ("GET", f"{EI}/charts/flags/status", "getFlagStatusChart"),
    ("GET", f"{EI}/charts/lead-time", "getLeadTimeChart"),
    ("GET", f"{EI}/charts/releases/frequency", "getReleaseFrequencyChart"),
    ("GET", f"{EI}/deployments", "getDeployments"),
    ("GET", f"{EI}/deployments/{{deploymentID}}", "getDeployment"),
    ("GET", f"{EI}/flag-events", "getFlagEvents"),
    ("GET", f"{EI}/pull-requests", "getPullRequests"),
    ("GET", f"{EI}/repositories", "getInsightsRepositories"),
)
"""The read-only evidence operations: charts, deployments, pull requests, flag events and
repositories (handlers in ``charts`` and ``deployments``)."""

CHANGE_OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("PATCH", f"{EI}/deployments/{{deploymentID}}", "updateDeployment"),
    ("PUT", f"{EI}/repositories/projects", "associateRepositoriesAndProjects"),
    (
        "DELETE",
        f"{EI}/repositories/{{repositoryKey}}/projects/{{projectKey}}",
        "deleteRepositoryProject",
    ),
)
"""Writes to the evidence: deployment PATCH and repository mappings (handlers in ``writes``)."""

OPERATIONS: tuple[tuple[str, str, str], ...] = (
    ("GET", f"{INSIGHTS}/groups", "getInsightGroups"),
    ("POST", f"{INSIGHTS}/group", "createInsightGroup"),
    ("GET", f"{INSIGHTS}/groups/{{insightGroupKey}}", "getInsightGroup"),
    ("PATCH", f"{INSIGHTS}/groups/{{insightGroupKey}}", "patchInsightGroup"),
    ("DELETE", f"{INSIGHTS}/groups/{{insightGroupKey}}", "deleteInsightGroup"),
    ("GET", f"{INSIGHTS}/scores", "getInsightsScores"),
    ("GET", METRIC_GROUPS, "getMetricGroups"),
    ("POST", METRIC_GROUPS, "createMetricGroup"),
    ("GET", f"{METRIC_GROUPS}/{{metricGroupKey}}", "getMetricGroup"),
    ("PATCH", f"{METRIC_GROUPS}/{{metricGroupKey}}", "patchMetricGroup"),
    ("DELETE", f"{METRIC_GROUPS}/{{metricGroupKey}}", "deleteMetricGroup"),
    *EVIDENCE_OPERATIONS,
    *CHANGE_OPERATIONS,
)
"""(method, path template, operation id) of every operation served."""


@dataclass(frozen=True, slots=True)
class Target:
    """What routing found: the operation (None: no route), its decoded path parameters, and
    the methods the path allows (empty for an unknown path)."""

    operation_id: str | None
    params: dict[str, str]
    allowed: tuple[str, ...]


Pipeline = Callable[[Scope, Receive, Send, Target], Awaitable[None]]


class RawPath:
    """Middleware: route on the raw path, so a percent-encoded '/' stays inside its key."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            raw = scope.get("raw_path") or scope["path"].encode()
            # httpx.ASGITransport puts the query string in raw_path; servers do not.
            scope = {**scope, "path": raw.decode("latin-1").split("?", 1)[0]}
        await self.app(scope, receive, send)


class _Operation:
    """The endpoint of one operation's route (an ASGI app: Starlette hands it the scope)."""

    def __init__(self, method: str, operation_id: str, pipeline: Pipeline, other: _Unrouted):
        self.method, self.operation_id = method, operation_id
        self._pipeline, self._other = pipeline, other

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["method"] != self.method:  # Starlette lets HEAD into GET routes: not an operation
            await self._other(scope, receive, send)
            return
        params = {k: unquote(v, errors="replace") for k, v in scope["path_params"].items()}
        await self._pipeline(scope, receive, send, Target(self.operation_id, params, ()))


class _Unrouted:
    """The catch-all route's endpoint: a 405 (with the methods the path allows) or a 404."""

    def __init__(self, pipeline: Pipeline) -> None:
        self._pipeline = pipeline
        self.routes: list[Route] = []

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        allowed = tuple(
            route.endpoint.method
            for route in self.routes
            if isinstance(route.endpoint, _Operation) and route.matches(scope)[0] != Match.NONE
        )
        await self._pipeline(scope, receive, send, Target(None, {}, allowed))


def routes(pipeline: Pipeline) -> list[Route]:
    """One route per operation, then a catch-all; every endpoint runs ``pipeline``."""
    unrouted = _Unrouted(pipeline)
    unrouted.routes = [
        Route(
            path,
            _Operation(method, operation_id, pipeline, unrouted),
            methods=[method],
            name=operation_id,
        )
        for method, path, operation_id in OPERATIONS
    ]
    return [*unrouted.routes, Route("/{path:path}", unrouted, name="unrouted")]
