"""Upstream faults over a real loopback socket: retried, reported, never a traceback."""

from __future__ import annotations

import email.utils
import re
import time
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp import Client
from pydantic import SecretStr

from ld_insights_mcp.launchdarkly import ClientOptions, LaunchDarklyClient, RetryPolicy
from tests.support import Emulator, Fault

from ..conftest import TOKEN
from ..mcp_helpers import structured, text_of

pytestmark = pytest.mark.anyio


def _scores_args(emulator: Emulator) -> dict[str, str]:
    project = emulator.store.projects[0]
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


class _RecordedSleeps:
    """A retry policy's ``sleep``: records each wait the policy decided, sleeps none."""

    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def _waits_before_retry(
    emulator_url: str, emulator: Emulator, headers: dict[str, str]
) -> list[float]:
    """Answer one scores read with 429 + ``headers``; return the waits the policy chose."""
    sleeps = _RecordedSleeps()
    policy = RetryPolicy(
        max_attempts=2, backoff_initial=0.25, backoff_max=4.0, max_wait=10.0, sleep=sleeps
    )
    emulator.faults.push("getInsightsScores", Fault(status=429, headers=headers))
    project = emulator.store.projects[0]
    client = LaunchDarklyClient.create(
        base_url=emulator_url, token=SecretStr(TOKEN), options=ClientOptions(retry=policy)
    )
    async with client:
        await client.get_insight_scores(project.key, project.environments[0])
    assert [r.status for r in emulator.requests] == [429, 200]
    return sleeps.waits


async def test_rate_limit_reset_in_epoch_millis_sets_the_wait_before_the_retry(
    emulator_url: str, emulator: Emulator
) -> None:
    """A 429 whose X-Ratelimit-Reset is 2 s ahead (no Retry-After) waits until the reset,
    not the 0.25 s backoff."""
    reset_ms = int(time.time() * 1000) + 2_000
    waits = await _waits_before_retry(emulator_url, emulator, {"X-Ratelimit-Reset": str(reset_ms)})
    assert len(waits) == 1
    assert 1.0 < waits[0] <= 2.0


async def test_retry_after_takes_precedence_over_the_reset_time(
    emulator_url: str, emulator: Emulator
) -> None:
    reset_ms = int(time.time() * 1000) + 1_000
    waits = await _waits_before_retry(
        emulator_url, emulator, {"Retry-After": "3", "X-Ratelimit-Reset": str(reset_ms)}
    )
    assert waits == [3.0]


async def test_rate_limit_reset_already_past_leaves_the_backoff(
    emulator_url: str, emulator: Emulator
) -> None:
    waits = await _waits_before_retry(emulator_url, emulator, {"X-Ratelimit-Reset": "1000"})
    assert len(waits) == 1
    assert 0 < waits[0] <= 0.5


async def test_retry_after_as_an_http_date_sets_the_wait(
    emulator_url: str, emulator: Emulator
) -> None:
    when = email.utils.formatdate(time.time() + 4, usegmt=True)
    waits = await _waits_before_retry(emulator_url, emulator, {"Retry-After": when})
    assert len(waits) == 1
    assert 2.0 < waits[0] <= 4.0


async def test_absurd_rate_limit_headers_on_a_success_are_ignored(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    absurd = {"Retry-After": "inf", "X-Ratelimit-Reset": "9" * 40}
    emulator.faults.push("getInsightsScores", Fault(headers=absurd))
    async with Client(network_server()) as client:
        structured(await client.call_tool("get_insight_scores", _scores_args(emulator)))
    assert [r.status for r in emulator.requests] == [200]


async def test_rate_limit_reset_beyond_the_cap_is_reported_not_retried(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    """Through the server: a reset 30 s ahead is over the 2 s cap, so the 429 is final and
    the model is told when to retry (ignoring the header would retry and succeed)."""
    started = time.time()
    reset_ms = str(int(started * 1000) + 30_000)
    emulator.faults.push(
        "getInsightsScores", Fault(status=429, headers={"X-Ratelimit-Reset": reset_ms})
    )
    async with Client(network_server(max_retry_wait=2.0)) as client:
        result = await client.call_tool("get_insight_scores", _scores_args(emulator))
    elapsed = time.time() - started  # a loaded machine may take seconds to get here
    assert result.is_error
    said = re.search(r"Retry after (\d+) s", text_of(result))
    assert said, text_of(result)
    assert 30 - elapsed - 1 <= int(said[1]) <= 30, (said[1], elapsed)
    assert [r.status for r in emulator.requests] == [429]


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
    """The client's own bound (a semaphore in the exchange) is the only one: the connection
    pool does not limit, so removing the semaphore lets all 24 calls through at once."""
    emulator.latency = 0.2
    server = network_server(max_concurrency=3, cache_ttl=0)  # identical calls: cache off
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
    assert 1 < emulator.max_in_flight <= 3


# --- absurd upstream values (issue 8, defect 9) ---------------------------------------------

GENERIC_CRASH = "Error executing tool {}"
"""What the SDK shows when a tool raises something it did not expect: no explanation."""

NESTED_BODY = b"[" * 100_000 + b"]" * 100_000

ABSURD_HINTS = [
    ({"Retry-After": "inf"}, "Retry-After"),
    ({"Retry-After": "1e20"}, "Retry-After"),
    ({"Retry-After": "nan"}, "Retry-After"),
    ({"Retry-After": "-5"}, "Retry-After"),
    ({"X-Ratelimit-Reset": "99999999999999999999999"}, "X-Ratelimit-Reset"),
    ({"X-Ratelimit-Reset": "1e30"}, "X-Ratelimit-Reset"),
]
ABSURD_IDS = ["retry-after-inf", "retry-after-1e20", "nan", "negative", "reset-1e23", "reset-float"]


def _assert_clear_upstream_error(result: Any, tool: str, *needles: str) -> str:
    text = text_of(result)
    assert result.is_error
    assert text.strip() != GENERIC_CRASH.format(tool), "the tool crashed without an explanation"
    assert "Traceback" not in text
    for needle in needles:
        assert needle in text, text
    return text


@pytest.mark.parametrize(("headers", "header"), ABSURD_HINTS, ids=ABSURD_IDS)
async def test_absurd_rate_limit_hint_on_a_read_is_a_clear_upstream_error(
    network_server: Callable[..., Any], emulator: Emulator, headers: dict[str, str], header: str
) -> None:
    """A wait that cannot be honoured is not guessed at: one request, a clear error."""
    emulator.faults.push("getInsightsScores", *[Fault(status=429, headers=headers)] * 5)
    async with Client(network_server()) as client:
        result = await client.call_tool("get_insight_scores", _scores_args(emulator))
    text = _assert_clear_upstream_error(result, "get_insight_scores", "429", "unusable", header)
    assert "LaunchDarkly answered an unusable" in text
    assert [r.status for r in emulator.requests] == [429]


@pytest.mark.parametrize("value", ["inf", "1e20", "nan", "-1"])
async def test_absurd_retry_after_on_a_5xx_read_is_a_clear_upstream_error(
    network_server: Callable[..., Any], emulator: Emulator, value: str
) -> None:
    emulator.faults.push(
        "getInsightGroups", *[Fault(status=503, headers={"Retry-After": value})] * 5
    )
    async with Client(network_server()) as client:
        result = await client.call_tool("list_insight_groups", {})
    _assert_clear_upstream_error(result, "list_insight_groups", "503", "unusable", "Retry-After")
    assert [r.status for r in emulator.requests] == [503]


async def test_rate_limit_reset_far_in_the_past_means_no_wait_and_the_read_is_retried(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    """A reset already past (clock skew, or nonsense) asks for no wait: the usual backoff."""
    emulator.faults.push(
        "getInsightsScores", Fault(status=429, headers={"X-Ratelimit-Reset": "1000"})
    )
    async with Client(network_server()) as client:
        structured(await client.call_tool("get_insight_scores", _scores_args(emulator)))
    assert [r.status for r in emulator.requests] == [429, 200]


async def test_deeply_nested_body_is_a_clear_upstream_error(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.faults.push("getInsightGroups", Fault(status=200, body=NESTED_BODY))
    async with Client(network_server()) as client:
        result = await client.call_tool("list_insight_groups", {})
    _assert_clear_upstream_error(result, "list_insight_groups", "200", "unusable", "nested")


def _new_group(emulator: Emulator, key: str) -> dict[str, str]:
    return {"name": "Absurd hints", "key": key, **_scores_args(emulator)}


@pytest.mark.parametrize(("headers", "header"), ABSURD_HINTS, ids=ABSURD_IDS)
async def test_absurd_rate_limit_hint_on_a_create_is_a_clear_error_and_creates_nothing(
    network_server: Callable[..., Any], emulator: Emulator, headers: dict[str, str], header: str
) -> None:
    emulator.faults.push("createInsightGroup", *[Fault(status=429, headers=headers)] * 5)
    async with Client(network_server()) as client:
        result = await client.call_tool("create_insight_group", _new_group(emulator, "absurd"))
    _assert_clear_upstream_error(result, "create_insight_group", "429", "unusable", header)
    assert [r.status for r in emulator.writes()] == [429]
    assert "absurd" not in emulator.store.insight_groups


async def test_deeply_nested_answer_to_a_create_is_read_back_not_a_crash(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    """The group was made, the answer is unreadable: the read-back confirms it, once."""
    emulator.faults.push(
        "createInsightGroup", Fault(status=201, body=NESTED_BODY, after_handling=True)
    )
    async with Client(network_server()) as client:
        result = await client.call_tool("create_insight_group", _new_group(emulator, "nested"))
    assert text_of(result).strip() != GENERIC_CRASH.format("create_insight_group")
    assert not result.is_error, text_of(result)
    assert [r.method for r in emulator.writes()] == ["POST"]
    assert "nested" in emulator.store.insight_groups
