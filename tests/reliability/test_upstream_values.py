"""Impossible upstream values and absurd waits become clear upstream-error texts, never data
and never "Error executing tool" with a crash inside."""

from __future__ import annotations

import json
import math
from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client

from ld_insights_mcp.launchdarkly import RateLimitedError, RateLimitInfo, ServerError
from ld_insights_mcp.tools.upstream import describe_failure
from tests.support import Emulator, Fault

from ..mcp_helpers import text_of

pytestmark = pytest.mark.anyio


async def test_a_negative_total_count_is_an_upstream_error_not_a_count(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    body = json.dumps({"totalCount": -5, "items": []}).encode()
    emulator.faults.push("getInsightGroups", *[Fault(status=200, body=body)] * 5)
    async with Client(network_server()) as client:
        result = await client.call_tool("list_insight_groups", {})
    text = text_of(result)
    assert result.is_error
    assert "-5 insight groups" not in text
    assert "totalCount" in text
    assert "upstream problem" in text


@pytest.mark.parametrize(
    "headers",
    [
        {"Retry-After": "inf"},
        {"Retry-After": "1e20"},
        {"X-Ratelimit-Reset": "99999999999999999999999"},
    ],
    ids=["retry-after-inf", "retry-after-1e20", "reset-far-future"],
)
@pytest.mark.parametrize("status", [429, 503])
async def test_absurd_waits_become_advice_not_a_crash(
    network_server: Callable[..., Any],
    emulator: Emulator,
    headers: dict[str, str],
    status: int,
) -> None:
    emulator.faults.push("getInsightGroups", *[Fault(status=status, headers=headers)] * 5)
    async with Client(network_server(max_retries=0)) as client:
        result = await client.call_tool("list_insight_groups", {})
    text = text_of(result)
    assert result.is_error
    assert f"({status})" in text
    assert "LaunchDarkly" in text
    assert "OverflowError" not in text
    assert "do not retry" in text.lower() or "wait a minute" in text.lower()


async def test_an_absurd_wait_on_a_create_is_advice_and_nothing_is_resent(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    project = emulator.store.projects[0]
    emulator.faults.push("createInsightGroup", Fault(status=429, headers={"Retry-After": "1e20"}))
    arguments = {
        "name": "Wait",
        "key": "absurd-wait",
        "project_key": project.key,
        "environment_key": project.environments[0],
    }
    async with Client(network_server()) as client:
        result = await client.call_tool("create_insight_group", arguments)
    text = text_of(result)
    assert result.is_error
    assert "(429)" in text
    assert "OverflowError" not in text
    assert [r.status for r in emulator.writes()] == [429]
    assert "absurd-wait" not in emulator.store.insight_groups


@pytest.mark.parametrize("wait", [math.inf, 1e20, 1e300, math.nan, -1.0, 86_401.0])
@pytest.mark.parametrize("error", [RateLimitedError, ServerError])
def test_retry_advice_never_raises_whatever_the_wait(
    wait: float, error: type[RateLimitedError | ServerError]
) -> None:
    """Whatever a parser lets through, the advice is a sentence (no OverflowError)."""
    exc = error(
        status=429 if error is RateLimitedError else 503,
        code="c",
        message="m",
        method="GET",
        path="/p",
        rate_limit=RateLimitInfo(retry_after=wait),
    )
    text = describe_failure(exc, not_found="")
    assert "Retry after" not in text
    assert "do not retry now" in text or "Wait a minute" in text


def test_retry_advice_names_a_sane_wait_and_its_clock_time() -> None:
    exc = RateLimitedError(
        status=429,
        code="rate_limited",
        message="m",
        method="GET",
        path="/p",
        rate_limit=RateLimitInfo(retry_after=90.0),
    )
    assert "Retry after 90 s (at " in describe_failure(exc, not_found="")
