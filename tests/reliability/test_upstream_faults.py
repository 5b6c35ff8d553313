"""Upstream faults over a real loopback socket: retried, reported, never a traceback."""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp import Client

from ld_insights_mcp.emulator import Emulator, Fault

from ..mcp_helpers import structured, text_of

pytestmark = pytest.mark.anyio


def _scores_args(emulator: Emulator) -> dict[str, str]:
    project = emulator.projects()[0]
    return {"project_key": project.key, "environment_key": project.environments[0]}


async def test_rate_limit_with_retry_after_is_waited_out(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.faults.push(
        "getInsightsScores",
        Fault(status=429, headers={"Retry-After": "0"}),
        Fault(status=429, headers={"Retry-After": "0"}),
    )
    async with Client(network_server()) as client:
        result = await client.call_tool("get_insight_scores", _scores_args(emulator))
    structured(result)
    assert [r.status for r in emulator.requests] == [429, 429, 200]


async def test_rate_limit_reset_header_in_epoch_millis_is_honoured(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    reset_ms = str(int(time.time() * 1000) + 300)
    emulator.faults.push(
        "getInsightsScores", Fault(status=429, headers={"X-Ratelimit-Reset": reset_ms})
    )
    async with Client(network_server()) as client:
        structured(await client.call_tool("get_insight_scores", _scores_args(emulator)))
    first, second = emulator.requests
    assert first.status == 429
    assert second.status == 200


async def test_rate_limit_beyond_the_cap_is_reported_with_when_to_retry(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.faults.push("getInsightsScores", Fault(status=429, headers={"Retry-After": "600"}))
    async with Client(network_server()) as client:
        result = await client.call_tool("get_insight_scores", _scores_args(emulator))
    assert result.is_error
    assert "429" in text_of(result)
    assert "Retry after 600 s" in text_of(result)
    assert len(emulator.requests) == 1


@pytest.mark.parametrize(
    "faults",
    [
        [Fault(status=500), Fault(status=502), Fault(status=503)],
        [Fault(reset=True), Fault(reset=True)],
        [Fault(delay=5.0)],
    ],
    ids=["5xx", "connection-reset", "stall"],
)
async def test_reads_survive_transient_faults(
    network_server: Callable[..., Any], emulator: Emulator, faults: list[Fault]
) -> None:
    emulator.faults.push("getInsightGroups", *faults)
    async with Client(network_server(read_timeout=0.5)) as client:
        with anyio.fail_after(20):
            result = await client.call_tool("list_insight_groups", {"limit": 2})
    assert structured(result)["returned"] == 2
    assert len(emulator.requests) == len(faults) + 1


async def test_stalled_upstream_ends_in_a_clear_error_within_the_budget(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.faults.push("getInsightGroups", *[Fault(delay=30.0)] * 10)
    server = network_server(read_timeout=0.5, call_budget=1.5, max_retries=5)
    async with Client(server) as client:
        with anyio.fail_after(10):
            result = await client.call_tool("list_insight_groups", {})
    assert result.is_error
    assert "budget" in text_of(result) or "did not answer in time" in text_of(result)


@pytest.mark.parametrize(
    ("fault", "expected"),
    [
        (Fault(status=200, body=b"{oops"), "not JSON"),
        (Fault(status=200, body=b""), "empty body"),
        (Fault(status=200, body=b'{"totalCount": "many"}'), "schema"),
        (
            Fault(status=502, body=b"<html>Bad gateway</html>", content_type="text/html"),
            "502",
        ),
    ],
    ids=["invalid-json", "empty-200", "schema-mismatch", "html-502"],
)
async def test_malformed_upstream_bodies_become_clear_tool_errors(
    network_server: Callable[..., Any], emulator: Emulator, fault: Fault, expected: str
) -> None:
    emulator.faults.push("getInsightGroups", *[fault] * 5)
    async with Client(network_server()) as client:
        result = await client.call_tool("list_insight_groups", {})
    assert result.is_error
    text = text_of(result)
    assert expected in text
    assert "Traceback" not in text
    assert 'File "' not in text


async def test_oversized_answer_is_refused_at_the_byte_cap(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    huge = b'{"totalCount":0,"items":[],"x":"' + b"y" * 200_000 + b'"}'
    emulator.faults.push("getInsightGroups", Fault(status=200, body=huge))
    async with Client(network_server(max_response_bytes=50_000)) as client:
        result = await client.call_tool("list_insight_groups", {})
    assert result.is_error
    assert "50000-byte cap" in text_of(result)


async def test_long_output_is_cut_with_the_exact_next_call(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(network_server(max_output_chars=1_000)) as client:
        result = await client.call_tool("list_insight_groups", {"include_scores": True})
    data = structured(result)
    text = text_of(result)
    assert len(text) <= 1_000
    assert data["truncated"] is True
    assert "output truncated" in text
    assert f"offset=0+{data['returned']}" in text or f"offset={data['next_offset']}" in text
    assert data["next_offset"] == data["returned"]


async def test_cancelled_call_drops_its_upstream_request_and_the_server_keeps_serving(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.faults.push("getInsightsScores", Fault(delay=10.0))
    async with Client(network_server(read_timeout=20.0), mode="legacy") as client:
        with anyio.move_on_after(0.5):
            await client.call_tool("get_insight_scores", _scores_args(emulator))
        with anyio.fail_after(5):
            while not emulator.requests or not emulator.requests[0].disconnected:  # noqa: ASYNC110 - polls a thread
                await anyio.sleep(0.05)
        after = await client.call_tool("list_insight_groups", {"limit": 1})
    assert emulator.requests[0].disconnected
    assert structured(after)["returned"] == 1


async def test_parallel_calls_stay_within_the_upstream_concurrency_bound(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.latency = 0.1
    server = network_server(max_concurrency=3)
    results: list[Any] = []
    async with Client(server) as client:

        async def one() -> None:
            results.append(await client.call_tool("list_insight_groups", {"limit": 1}))

        with anyio.fail_after(30):
            async with anyio.create_task_group() as tg:
                for _ in range(24):
                    tg.start_soon(one)
    assert all(not r.is_error for r in results)
    assert len(results) == 24
    assert emulator.max_in_flight <= 3
