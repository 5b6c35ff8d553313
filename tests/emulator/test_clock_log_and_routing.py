"""The emulator's injected clock, its bounded request log and its Starlette routing."""

from __future__ import annotations

import httpx
import pytest
from starlette.routing import Route

from tests.support import Emulator
from tests.support.emulator import DEFAULT_REQUEST_LOG_LIMIT

from .conftest import NOW_MS, TOKEN, Contract, checked_client

pytestmark = pytest.mark.anyio

IG = "/api/v2/engineering-insights/insights"
MG = "/api/v2/projects/checkout-web/metric-groups"
WINDOW_MS = 10_000
NEW_GROUP = {
    "key": "clock-squad",
    "name": "Clock squad",
    "projectKey": "checkout-web",
    "environmentKey": "production",
}


class _Clock:
    """A clock the test moves by hand."""

    def __init__(self, now_ms: int) -> None:
        self.now_ms = now_ms

    def __call__(self) -> int:
        return self.now_ms


async def test_writes_and_rate_limit_reset_read_the_injected_clock(contract: Contract) -> None:
    clock = _Clock(NOW_MS + 12_345)
    emu = Emulator(token=TOKEN, now_ms=NOW_MS, clock=clock)
    async with checked_client(emu, contract) as api:
        created = await api.post(f"{IG}/group", json=NEW_GROUP)
        member = next(iter(emu.store.members))
        clock.now_ms += 61_000
        metric_group = await api.post(
            MG,
            json={
                "key": "clock-funnel",
                "name": "Clock funnel",
                "kind": "standard",
                "maintainerId": member,
                "tags": [],
                "metrics": [
                    {"key": next(iter(emu.store.metrics["checkout-web"])), "nameInGroup": "1"}
                ],
            },
        )
        clock.now_ms += 5 * 60_000
        patched = await api.patch(
            f"{MG}/clock-funnel", json=[{"op": "replace", "path": "/name", "value": "Renamed"}]
        )
    assert created.status_code == 201, created.text
    assert created.json()["createdAt"] == NOW_MS + 12_345
    assert int(created.headers["x-ratelimit-reset"]) == NOW_MS + 2 * WINDOW_MS
    assert metric_group.status_code == 201, metric_group.text
    assert metric_group.json()["_creationDate"] == NOW_MS + 73_345
    assert metric_group.json()["_lastModified"] == NOW_MS + 73_345
    assert patched.json()["_lastModified"] == NOW_MS + 373_345
    assert int(patched.headers["x-ratelimit-reset"]) == NOW_MS + 380_000


async def test_a_fixed_anchor_drives_timestamps_and_the_rate_limit_reset(
    contract: Contract,
) -> None:
    """Without an explicit clock, time starts at ``now_ms`` and moves on from there."""
    emu = Emulator(token=TOKEN, now_ms=NOW_MS)
    async with checked_client(emu, contract) as api:
        created = await api.post(f"{IG}/group", json=NEW_GROUP)
    later = emu.clock()
    assert NOW_MS <= created.json()["createdAt"] <= later
    reset = int(created.headers["x-ratelimit-reset"])
    assert reset % WINDOW_MS == 0
    assert NOW_MS < reset <= later + WINDOW_MS


async def test_the_request_log_keeps_the_most_recent_requests(contract: Contract) -> None:
    emu = Emulator(token=TOKEN, now_ms=NOW_MS, request_log_limit=5)
    async with checked_client(emu, contract) as api:
        for offset in range(12):
            await api.get(f"{IG}/groups", params={"offset": offset, "limit": 1})
    assert len(emu.requests) == 5
    assert [dict(r.query)["offset"] for r in emu.requests] == ["7", "8", "9", "10", "11"]
    assert all(r.status == 200 for r in emu.requests)


def test_the_request_log_is_bounded_by_default() -> None:
    """The demo and ``python -m ld_insights_mcp.emulator`` run for days: never keep all."""
    emu = Emulator(token=TOKEN)
    assert emu.request_log_limit == DEFAULT_REQUEST_LOG_LIMIT
    assert 1_000 <= DEFAULT_REQUEST_LOG_LIMIT <= 100_000
    assert Emulator(token=TOKEN, request_log_limit=None).request_log_limit is None


# --- routing -----------------------------------------------------------------------------------

OPERATIONS = {
    ("GET", f"{IG}/groups"): "getInsightGroups",
    ("POST", f"{IG}/group"): "createInsightGroup",
    ("GET", f"{IG}/groups/{{insightGroupKey}}"): "getInsightGroup",
    ("PATCH", f"{IG}/groups/{{insightGroupKey}}"): "patchInsightGroup",
    ("DELETE", f"{IG}/groups/{{insightGroupKey}}"): "deleteInsightGroup",
    ("GET", f"{IG}/scores"): "getInsightsScores",
    ("GET", "/api/v2/projects/{projectKey}/metric-groups"): "getMetricGroups",
    ("POST", "/api/v2/projects/{projectKey}/metric-groups"): "createMetricGroup",
    ("GET", "/api/v2/projects/{projectKey}/metric-groups/{metricGroupKey}"): "getMetricGroup",
    ("PATCH", "/api/v2/projects/{projectKey}/metric-groups/{metricGroupKey}"): "patchMetricGroup",
    ("DELETE", "/api/v2/projects/{projectKey}/metric-groups/{metricGroupKey}"): (
        "deleteMetricGroup"
    ),
}


def test_every_operation_is_a_starlette_route_with_its_method_and_path_parameters() -> None:
    emu = Emulator(token=TOKEN, now_ms=NOW_MS)
    routes = [r for r in emu.app.routes if isinstance(r, Route) and r.name in OPERATIONS.values()]
    served = {
        (method, route.path): route.name
        for route in routes
        for method in (route.methods or set()) - {"HEAD"}
    }
    assert served == OPERATIONS


@pytest.mark.parametrize(
    ("method", "path", "allowed"),
    [
        ("PUT", f"{IG}/groups/checkout-squad", {"GET", "PATCH", "DELETE"}),
        ("POST", f"{IG}/groups", {"GET"}),
        ("GET", f"{IG}/group", {"POST"}),
        ("PUT", MG, {"GET", "POST"}),
        ("POST", f"{MG}/checkout-funnel", {"GET", "PATCH", "DELETE"}),
    ],
)
async def test_another_method_on_a_known_path_is_a_405_listing_the_allowed_ones(
    contract: Contract, method: str, path: str, allowed: set[str]
) -> None:
    emu = Emulator(token=TOKEN, now_ms=NOW_MS)
    async with checked_client(emu, contract) as api:
        response = await api.request(method, path)
    assert response.status_code == 405
    assert {m.strip() for m in response.headers["allow"].split(",")} == allowed
    assert response.json() == {"code": "method_not_allowed", "message": "Method not allowed"}
    assert emu.requests[-1].operation_id is None


async def test_auth_is_checked_before_the_route(contract: Contract) -> None:
    emu = Emulator(token=TOKEN, now_ms=NOW_MS)
    async with checked_client(emu, contract, headers={"Authorization": "wrong"}) as api:
        unknown = await api.get("/api/v2/flags/checkout-web")
        wrong_method = await api.put(f"{IG}/groups/checkout-squad")
    assert (unknown.status_code, wrong_method.status_code) == (401, 401)


async def test_an_unknown_path_is_a_404_over_real_http() -> None:
    from tests.support import aserve_on_loopback

    emu = Emulator(token=TOKEN, now_ms=NOW_MS)
    async with aserve_on_loopback(emu) as base, httpx.AsyncClient(base_url=base) as http:
        headers = {"Authorization": TOKEN, "LD-API-Version": "beta"}
        missing = await http.get("/api/v2/nothing/here", headers=headers)
        slash = await http.get(f"{IG}/groups/checkout-squad%2Fscores", headers=headers)
        head = await http.head(f"{IG}/groups", headers=headers)
    assert missing.status_code == 404
    assert missing.json()["code"] == "not_found"
    assert slash.status_code == 404
    assert "checkout-squad/scores" in slash.json()["message"]
    assert head.status_code == 405
