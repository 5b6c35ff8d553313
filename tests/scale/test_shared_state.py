"""Replicas sharing one Redis: the read cache, its single-flight, rate limits, confirmations,
Redis outages, and /metrics."""

from __future__ import annotations

import re
import time

import anyio
import httpx
import pytest
from mcp import Client
from mcp import types as t

from tests.support import Emulator, Fault

from .conftest import Redis, Replicas, metric_samples, text_of, upstream_requests

pytestmark = pytest.mark.anyio
GROUP = "ios-team"


async def _call(url: str, tool: str, arguments: dict[str, object]) -> t.CallToolResult:
    async with Client(url, cache=None) as client:
        return await client.call_tool(tool, arguments)


async def test_a_read_on_one_replica_answers_the_same_read_on_another(
    replicas: Replicas, upstream: tuple[Emulator, str]
) -> None:
    emulator, _ = upstream
    a, b = replicas.start(2)
    first = await _call(a.url, "get_insight_group", {"key": GROUP})
    second = await _call(b.url, "get_insight_group", {"key": GROUP})
    assert not first.is_error
    assert not second.is_error
    assert upstream_requests(emulator, "getInsightGroup") == 1
    assert text_of(second).startswith("(cached")


async def test_fifty_identical_concurrent_reads_over_three_replicas_send_one_request(
    replicas: Replicas, upstream: tuple[Emulator, str]
) -> None:
    emulator, _ = upstream
    group = replicas.start(3)
    emulator.faults.push("getInsightGroup", Fault(delay=1.0))  # the one request is slow
    results: list[t.CallToolResult] = []

    async def one(n: int) -> None:
        results.append(await _call(group[n % 3].url, "get_insight_group", {"key": GROUP}))

    with anyio.fail_after(90):
        async with anyio.create_task_group() as tasks:
            for n in range(50):
                tasks.start_soon(one, n)
    assert [r for r in results if r.is_error] == []
    assert len(results) == 50
    assert upstream_requests(emulator, "getInsightGroup") == 1


async def test_a_429_seen_by_one_replica_stops_the_others_from_sending(
    replicas: Replicas, upstream: tuple[Emulator, str]
) -> None:
    emulator, _ = upstream
    a, b = replicas.start(2, LD_INSIGHTS_MAX_RETRY_WAIT="1")
    emulator.faults.push("getInsightGroups", Fault(status=429, headers={"Retry-After": "5"}))
    on_a = await _call(a.url, "list_insight_groups", {})
    assert on_a.is_error
    assert "429" in text_of(on_a)
    sent = len(emulator.requests)
    on_b = await _call(b.url, "get_insight_group", {"key": GROUP})
    assert on_b.is_error
    assert "rate limit" in text_of(on_b).lower()
    assert "Retry after" in text_of(on_b)
    assert len(emulator.requests) == sent  # nothing sent by B
    refusals = metric_samples(b.get("/metrics").text)[("ld_insights_rate_limit_refusals_total", ())]
    assert refusals >= 1


async def test_a_confirmation_started_on_one_replica_is_completed_on_another(
    replicas: Replicas, upstream: tuple[Emulator, str]
) -> None:
    emulator, _ = upstream
    a, b = replicas.start(2)
    key = "android-team"

    async def answer(context: object, params: t.ElicitRequestParams) -> t.ElicitResult:
        return t.ElicitResult(action="accept", content={"confirm": True})

    async with Client(a.url, cache=None, elicitation_callback=answer) as client:
        round_one = await client.session.call_tool(
            "delete_insight_group", {"key": key}, allow_input_required=True
        )
    assert isinstance(round_one, t.InputRequiredResult)
    responses = {
        k: t.ElicitResult(action="accept", content={"confirm": True})
        for k in round_one.input_requests
    }
    assert key in emulator.store.insight_groups
    async with Client(b.url, cache=None, elicitation_callback=answer) as client:
        done = await client.session.call_tool(
            "delete_insight_group",
            {"key": key},
            input_responses=responses,  # type: ignore[arg-type]
            request_state=round_one.request_state,
            allow_input_required=True,
        )
    assert isinstance(done, t.CallToolResult), done
    assert not done.is_error, text_of(done)
    assert key not in emulator.store.insight_groups
    assert upstream_requests(emulator, "deleteInsightGroup") == 1


async def test_calls_go_on_while_redis_is_down_and_sharing_resumes_when_it_is_back(
    replicas: Replicas, redis: Redis, upstream: tuple[Emulator, str]
) -> None:
    emulator, _ = upstream
    a, b = replicas.start(2)
    assert (await _call(a.url, "get_insight_group", {"key": GROUP})).is_error is False
    redis.stop()
    for replica in (a, b):
        for _ in range(3):
            result = await _call(replica.url, "list_insight_groups", {"limit": 3})
            assert not result.is_error, text_of(result)
    ready = a.get("/readyz")
    assert ready.status_code == 200
    assert ready.json()["status"] == "degraded"
    assert ready.json()["checks"]["redis"]["status"] == "down"
    samples = metric_samples(a.get("/metrics").text)
    assert samples[("ld_insights_redis_up", ())] == 0.0
    redis.start()
    deadline = time.monotonic() + 30
    while not all(r.get("/readyz").json()["status"] == "ready" for r in (a, b)):
        assert time.monotonic() < deadline, "the replicas did not see Redis come back"
        await anyio.sleep(0.2)
    before = upstream_requests(emulator, "getInsightGroup")
    assert not (await _call(a.url, "get_insight_group", {"key": "android-team"})).is_error
    assert not (await _call(b.url, "get_insight_group", {"key": "android-team"})).is_error
    assert upstream_requests(emulator, "getInsightGroup") == before + 1


async def test_metrics_parse_and_count_the_calls_made(
    replicas: Replicas, upstream: tuple[Emulator, str]
) -> None:
    emulator, _ = upstream
    (a,) = replicas.start(1)
    for _ in range(3):
        assert not (await _call(a.url, "get_insight_group", {"key": GROUP})).is_error
    failed = await _call(a.url, "get_insight_group", {"key": "no-such-group"})
    assert failed.is_error
    answer = a.get("/metrics")
    assert answer.headers["content-type"].startswith("text/plain")
    samples = metric_samples(answer.text)
    calls = "ld_insights_tool_calls_total"
    assert samples[(calls, (("outcome", "ok"), ("tool", "get_insight_group")))] == 3
    assert samples[(calls, (("outcome", "error"), ("tool", "get_insight_group")))] == 1
    hist = "ld_insights_tool_call_duration_seconds_count"
    assert samples[(hist, (("tool", "get_insight_group"),))] == 4
    upstream_total = sum(
        v for (name, _), v in samples.items() if name == "ld_insights_upstream_requests_total"
    )
    assert upstream_total == len(emulator.requests)
    ok = (
        "ld_insights_upstream_requests_total",
        (
            ("operation", "GET /api/v2/engineering-insights/insights/groups/{}"),
            ("status", "200"),
        ),
    )
    assert samples[ok] == 1
    reads = {
        label: samples[("ld_insights_cache_reads_total", (("result", label),))]
        for label in ("hit", "coalesced", "miss")
    }
    assert reads == {"hit": 2, "coalesced": 0, "miss": 2}  # the 404 went upstream: a miss
    not_found = (ok[0], (ok[1][0], ("status", "404")))
    assert samples[not_found] == 1
    assert "api-demo" not in answer.text  # never the token
    health = a.get("/healthz")
    assert health.status_code == 200
    assert health.json() == {"status": "alive"}
    assert "x-request-id" in health.headers
    assert httpx.post(f"http://127.0.0.1:{a.port}/metrics").status_code == 405  # noqa: ASYNC210


async def test_a_429_for_one_route_gates_that_route_only_on_every_replica(
    replicas: Replicas, upstream: tuple[Emulator, str]
) -> None:
    """getPullRequests answers 429 with its route's budget spent (global 900 left) and
    Retry-After 3600: the other tools go on, on every replica; diagnose_data_coverage returns
    what it could read and names the pull requests as missing; pull requests are not asked for
    again on the other replica while the gate is closed."""
    emulator, _ = upstream
    a, b = replicas.start(2, LD_INSIGHTS_MAX_RETRY_WAIT="1")
    emulator.faults.push(
        "getPullRequests",
        Fault(status=429, limit="route", headers={"Retry-After": "3600"}),
    )
    prs = {"project_key": "mobile-app", "environment_key": "production"}
    refused = await _call(a.url, "list_pull_requests", prs)
    assert refused.is_error
    assert "429" in text_of(refused) or "rate limit" in text_of(refused).lower()
    assert not (await _call(b.url, "get_insight_group", {"key": GROUP})).is_error
    sent = upstream_requests(emulator, "getPullRequests")
    coverage = await _call(b.url, "diagnose_data_coverage", {"group_key": GROUP})
    assert not coverage.is_error, text_of(coverage)
    missing = coverage.structured_content["calls"]["missing"]  # type: ignore[index]
    assert list(missing) == [next(k for k in missing if k.startswith("getPullRequests"))]
    assert "rate limit" in next(iter(missing.values())).lower()
    assert upstream_requests(emulator, "getPullRequests") == sent  # the gate held, not sent
    assert upstream_requests(emulator, "getDeployments") >= 1


@pytest.mark.parametrize("limit", ["both", "global", "token", "ip"])
async def test_a_429_that_may_concern_every_route_gates_every_route_for_a_minute_at_most(
    replicas: Replicas, upstream: tuple[Emulator, str], limit: str
) -> None:
    """The global or per-token budget spent, or an IP-based limit (Retry-After only): every
    route waits, on every replica, for at most a minute of a one-hour hint."""
    emulator, _ = upstream
    a, b = replicas.start(2, LD_INSIGHTS_MAX_RETRY_WAIT="1")
    emulator.faults.push(
        "getPullRequests",
        Fault(status=429, limit=limit, headers={"Retry-After": "3600"}),  # type: ignore[arg-type]
    )
    prs = {"project_key": "mobile-app", "environment_key": "production"}
    assert (await _call(a.url, "list_pull_requests", prs)).is_error
    sent = len(emulator.requests)
    other = await _call(b.url, "get_insight_group", {"key": GROUP})
    assert other.is_error
    assert "not sent" in text_of(other) or "rate limit" in text_of(other).lower()
    assert len(emulator.requests) == sent
    waits = [int(w) for w in re.findall(r"(\d+) s are left", text_of(other))]
    assert waits, text_of(other)
    assert max(waits) <= 60
