"""The operations the emulator answers, routed on the raw (still percent-encoded) path.

Routing splits the raw path on ``/`` before decoding each segment, so a key sent as
``a%2Fb`` stays one segment (the key ``a/b``) and can never change the route.
"""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import unquote

INSIGHTS = "/api/v2/engineering-insights/insights"
METRIC_GROUPS = "/api/v2/projects/{projectKey}/metric-groups"


@dataclass(frozen=True, slots=True)
class Route:
    method: str
    template: str
    operation_id: str

    @property
    def segments(self) -> tuple[str, ...]:
        return tuple(self.template.split("/")[1:])

    def match(self, segments: list[str]) -> dict[str, str] | None:
        """Decoded path parameters if the decoded ``segments`` fit this route."""
        if len(segments) != len(self.segments):
            return None
        params: dict[str, str] = {}
        for template, actual in zip(self.segments, segments, strict=True):
            if template.startswith("{"):
                if not actual:
                    return None
                params[template[1:-1]] = actual
            elif template != actual:
                return None
        return params


ROUTES = (
    Route("GET", f"{INSIGHTS}/groups", "getInsightGroups"),
    Route("POST", f"{INSIGHTS}/group", "createInsightGroup"),
    Route("GET", f"{INSIGHTS}/groups/{{insightGroupKey}}", "getInsightGroup"),
    Route("PATCH", f"{INSIGHTS}/groups/{{insightGroupKey}}", "patchInsightGroup"),
    Route("DELETE", f"{INSIGHTS}/groups/{{insightGroupKey}}", "deleteInsightGroup"),
    Route("GET", f"{INSIGHTS}/scores", "getInsightsScores"),
    Route("GET", METRIC_GROUPS, "getMetricGroups"),
    Route("POST", METRIC_GROUPS, "createMetricGroup"),
    Route("GET", f"{METRIC_GROUPS}/{{metricGroupKey}}", "getMetricGroup"),
    Route("PATCH", f"{METRIC_GROUPS}/{{metricGroupKey}}", "patchMetricGroup"),
    Route("DELETE", f"{METRIC_GROUPS}/{{metricGroupKey}}", "deleteMetricGroup"),
)
OPERATION_IDS = frozenset(route.operation_id for route in ROUTES)


@dataclass(frozen=True, slots=True)
class Resolved:
    """The route for a request (None if none), its parameters, and the methods the path
    allows (empty for an unknown path: a 404; non-empty without a route: a 405)."""

    route: Route | None
    params: dict[str, str]
    allowed: tuple[str, ...]


def resolve(method: str, raw_path: str) -> Resolved:
    segments = [unquote(s, errors="replace") for s in raw_path.split("/")[1:]]
    allowed: list[str] = []
    for route in ROUTES:
        params = route.match(segments)
        if params is None:
            continue
        if route.method == method:
            return Resolved(route, params, (route.method,))
        allowed.append(route.method)
    return Resolved(None, {}, tuple(allowed))
