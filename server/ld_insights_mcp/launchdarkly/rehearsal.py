"""A network that never leaves the process: canned answers of the documented shape for the
score and group reads (404 otherwise), so a client runs its whole read path sending nothing."""

from __future__ import annotations

import json
from typing import Any

import httpx

from ld_insights_mcp.launchdarkly.vocabulary import BASE_CATEGORIES, CATEGORY_PARTS, band_for

_INSIGHTS = "/api/v2/engineering-insights/insights"
_BAND = band_for(50)
_FAIR = {
    "score": 50,
    "indicator": _BAND.indicator,
    "indicatorRange": {"min": _BAND.low, "max": _BAND.high},
}


def _score(aggregate_of: tuple[str, ...] = ()) -> dict[str, Any]:
    extra = {"aggregateOf": list(aggregate_of)} if aggregate_of else {}
    return {**_FAIR, **extra, "diffVsLastPeriod": 0, "lastPeriod": {**_FAIR, **extra}}


def _scores() -> dict[str, Any]:
    scores = {name: _score() for name in (*BASE_CATEGORIES, "creationRatio")}
    scores.update({name: _score(parts) for name, parts in CATEGORY_PARTS.items()})
    day = 86_400_000
    return {
        "period": {"startTime": 1_700_000_000_000, "endTime": 1_700_000_000_000 + 30 * day},
        "lastPeriod": {"startTime": 1_700_000_000_000 - 30 * day, "endTime": 1_700_000_000_000},
        "scores": scores,
        "_links": {},
    }


def _groups() -> dict[str, Any]:
    group = {
        "key": "rehearsal",
        "name": "Rehearsal",
        "projectKey": "rehearsal",
        "environmentKey": "rehearsal",
        "applicationKeys": [],
        "createdAt": 1_700_000_000_000,
    }
    return {"totalCount": 1, "items": [group], "_links": {}}


_BODIES = {f"{_INSIGHTS}/scores": _scores(), f"{_INSIGHTS}/groups": _groups()}


class RehearsalTransport(httpx.AsyncBaseTransport):
    """Canned answers for ``GET`` of the scores and the insight-group list; 404 otherwise."""

    def __init__(self) -> None:
        self.requests = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests += 1
        body = _BODIES.get(request.url.path) if request.method == "GET" else None
        if body is None:
            return httpx.Response(404, json={"code": "not_found", "message": "not rehearsed"})
        return httpx.Response(
            200,
            content=json.dumps(body).encode(),
            headers={"Content-Type": "application/json"},
        )
