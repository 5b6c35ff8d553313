"""Emulator behaviour beyond shapes: pagination links, determinism, score consistency, faults."""

from __future__ import annotations

import threading
from typing import Any

import anyio
import httpx
import pytest

from ld_insights_mcp.emulator import Emulator, Fault, serve_on_loopback

from ..conftest import NOW_MS, TOKEN

HEADERS = {"Authorization": TOKEN, "LD-API-Version": "beta"}
GROUPS = "/api/v2/engineering-insights/insights/groups"
BANDS = {"excellent": (90, 100), "good": (70, 89), "fair": (40, 69), "needsAttention": (0, 39)}


def get(emulator: Emulator, path: str, **params: Any) -> httpx.Response:
    async def run() -> httpx.Response:
        transport = httpx.ASGITransport(app=emulator.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
            return await http.get(path, params=params or None, headers=HEADERS)

    return anyio.run(run)


def test_links_next_walk_reaches_every_group_exactly_once(emulator: Emulator) -> None:
    first = get(emulator, GROUPS, limit=4).json()
    keys = [g["key"] for g in first["items"]]
    link = first["_links"].get("next")
    while link:
        page = get(emulator, link["href"]).json()
        keys += [g["key"] for g in page["items"]]
        link = page["_links"].get("next")
    assert len(keys) == first["totalCount"] == len(set(keys)) == len(emulator.store.insight_groups)


def test_query_filters_by_name_case_insensitively(emulator: Emulator) -> None:
    page = get(emulator, GROUPS, query="TEAM").json()
    assert page["items"]
    assert all("team" in g["name"].lower() for g in page["items"])
    assert page["totalCount"] == len(page["items"])


def test_seeding_is_deterministic_for_the_same_anchor() -> None:
    one, two = Emulator(token=TOKEN, now_ms=NOW_MS), Emulator(token=TOKEN, now_ms=NOW_MS)
    params = {"expand": "scores", "limit": 20}
    assert get(one, GROUPS, **params).json() == get(two, GROUPS, **params).json()


def _check_score(score: dict[str, Any]) -> None:
    if score["indicator"] == "notCalculated":
        return
    low, high = BANDS[score["indicator"]]
    assert low <= score["score"] <= high
    assert score["indicatorRange"] == {"min": low, "max": high}
    assert score["diffVsLastPeriod"] == score["score"] - score["lastPeriod"]["score"]


def test_scores_follow_bands_aggregates_and_diffs(emulator: Emulator) -> None:
    for project in emulator.projects():
        for environment in project.environments:
            body = get(
                emulator,
                "/api/v2/engineering-insights/insights/scores",
                projectKey=project.key,
                environmentKey=environment,
            ).json()
            scores = body["scores"]
            for score in scores.values():
                _check_score(score)
            for composite in ("velocity", "risk", "efficiency", "overall"):
                parts = [
                    scores[p]["score"]
                    for p in scores[composite]["aggregateOf"]
                    if scores[p]["indicator"] != "notCalculated"
                ]
                assert scores[composite]["score"] == round(sum(parts) / len(parts))
            calculated = scores["experimentationCoverage"]["indicator"] != "notCalculated"
            assert calculated is project.has_experiments
            assert body["period"]["startTime"] == body["lastPeriod"]["endTime"]
            assert body["period"]["endTime"] == NOW_MS


def test_environment_expansion_carries_sdk_keys_like_the_real_api(emulator: Emulator) -> None:
    group = get(emulator, f"{GROUPS}/checkout-squad", expand="environment").json()
    assert group["environment"]["apiKey"].startswith("sdk-")


def test_request_log_records_rejected_requests_with_status(emulator: Emulator) -> None:
    async def run() -> None:
        transport = httpx.ASGITransport(app=emulator.app)
        async with httpx.AsyncClient(transport=transport, base_url="http://emulator") as http:
            await http.get(GROUPS, headers={"Authorization": "nope"})
            await http.get("/api/v2/unknown", headers=HEADERS)

    anyio.run(run)
    assert [(r.status, r.operation_id) for r in emulator.requests] == [
        (401, "getInsightGroups"),
        (404, None),
    ]


def test_faults_over_loopback(emulator: Emulator) -> None:
    emulator.faults.push(
        "getInsightGroups",
        Fault(status=503, headers={"Retry-After": "1"}),
        Fault(reset=True),
        Fault(status=200, body=b"<html>", content_type="text/html"),
    )
    with serve_on_loopback(emulator) as url, httpx.Client(base_url=url, headers=HEADERS) as http:
        first = http.get(GROUPS)
        with pytest.raises(httpx.RemoteProtocolError):
            http.get(GROUPS)
        third = http.get(GROUPS)
        fourth = http.get(GROUPS)
    assert (first.status_code, first.headers["retry-after"]) == (503, "1")
    assert first.json()["code"] == "internal_server_error"
    assert third.headers["content-type"] == "text/html"
    assert fourth.status_code == 200


def test_fault_after_handling_lets_the_write_happen(emulator: Emulator) -> None:
    emulator.faults.push("createInsightGroup", Fault(status=500, after_handling=True))
    body = {"name": "N", "key": "after", "projectKey": "checkout-web", "environmentKey": "test"}
    with serve_on_loopback(emulator) as url, httpx.Client(base_url=url, headers=HEADERS) as http:
        answer = http.post("/api/v2/engineering-insights/insights/group", json=body)
    assert answer.status_code == 500
    assert "after" in emulator.store.insight_groups


def test_client_that_gives_up_during_a_delay_is_recorded_as_disconnected(
    emulator: Emulator,
) -> None:
    emulator.faults.push("getInsightGroups", Fault(delay=5.0))
    with serve_on_loopback(emulator) as url:
        with pytest.raises(httpx.ReadTimeout):
            httpx.get(f"{url}{GROUPS}", headers=HEADERS, timeout=0.3)
        deadline = threading.Event()
        for _ in range(100):
            if emulator.requests[0].disconnected:
                break
            deadline.wait(0.05)
    assert emulator.requests[0].disconnected
    assert emulator.requests[0].status is None


def test_latency_and_peak_concurrency_are_observable(emulator: Emulator) -> None:
    emulator.latency = 0.2

    async def burst(url: str) -> None:
        async with (
            httpx.AsyncClient(base_url=url, headers=HEADERS) as http,
            anyio.create_task_group() as tg,
        ):
            for _ in range(20):
                tg.start_soon(http.get, GROUPS)

    with serve_on_loopback(emulator) as url:
        anyio.run(burst, url)
    assert emulator.max_in_flight > 1
    assert emulator.in_flight == 0
    assert all(r.status == 200 for r in emulator.requests)
