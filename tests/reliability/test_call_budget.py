"""The per-call time budget: a stalled upstream ends the call, and an interrupted create is
reported as an unknown outcome with the one safe next step.

The upstream stalls for far longer than the budget and the read timeout is far longer too, so
only the budget can end these calls; each test bounds itself so a missing budget fails fast.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.support import Emulator, Fault, RecordedRequest

from ..mcp_helpers import text_of

pytestmark = pytest.mark.anyio

STALL = Fault(delay=60.0)
STALL_AFTER_WRITE = Fault(delay=60.0, after_handling=True)
TEST_BOUND = 15.0
"""Seconds a test may run before it fails: far above the 1 s budget, far below the stall."""


def _budgeted(network_server: Callable[..., Any]) -> Any:
    return network_server(call_budget=1.0, read_timeout=90.0, max_retries=0)


async def _wait_until_abandoned(emulator: Emulator, operation_id: str) -> RecordedRequest:
    """The request the server gave up on, once the emulator has seen the client go away."""
    with anyio.fail_after(5):
        while True:
            stalled = [r for r in emulator.requests if r.operation_id == operation_id]
            if stalled and stalled[-1].disconnected:
                return stalled[-1]
            await anyio.sleep(0.02)


def _create_arguments(emulator: Emulator, key: str) -> dict[str, Any]:
    project = emulator.store.projects[0]
    return {
        "name": "Budget squad",
        "key": key,
        "project_key": project.key,
        "environment_key": project.environments[0],
    }


async def test_a_stalled_read_ends_when_the_budget_runs_out(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.faults.push("getInsightGroups", STALL)
    async with Client(_budgeted(network_server)) as client:
        with anyio.fail_after(TEST_BOUND):
            result = await client.call_tool("list_insight_groups", {})
    assert result.is_error
    text = text_of(result)
    assert "1 s budget" in text
    abandoned = await _wait_until_abandoned(emulator, "getInsightGroups")
    assert abandoned.status is None
    assert len(emulator.requests) == 1


async def test_a_budget_that_runs_out_during_the_post_is_an_unknown_outcome(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    """The write happens upstream, then the answer stalls past the budget: the model must hear
    that the outcome is unknown and to read the group back, not to try again."""
    emulator.faults.push("createInsightGroup", STALL_AFTER_WRITE)
    arguments = _create_arguments(emulator, "budget-squad")
    async with Client(_budgeted(network_server)) as client:
        with anyio.fail_after(TEST_BOUND):
            result = await client.call_tool("create_insight_group", arguments)
        assert result.is_error
        text = text_of(result)
        assert "unknown" in text.lower()
        assert "get_insight_group with key='budget-squad'" in text
        assert "try again" not in text.lower()
        assert "choose another key" not in text.lower()
        await _wait_until_abandoned(emulator, "createInsightGroup")
        assert "budget-squad" in emulator.store.insight_groups

        # The model retries the same create: the group is there, and this server may have
        # made it a moment ago, so the answer must not deny it or push towards a new key.
        with anyio.fail_after(TEST_BOUND):
            again = await client.call_tool("create_insight_group", arguments)
    retry_text = text_of(again)
    assert again.is_error
    assert "already exists" in retry_text
    assert "earlier" in retry_text
    assert "Nothing was created" not in retry_text
    assert "get_insight_group with key='budget-squad'" in retry_text
    advice = retry_text.index("get_insight_group")
    assert "another key" not in retry_text[:advice]
    assert sum(1 for r in emulator.writes() if r.operation_id == "createInsightGroup") == 1


async def test_a_budget_that_runs_out_during_the_read_back_is_an_unknown_outcome(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    """The POST's answer is lost (500 after the write) and the read-back stalls."""
    emulator.faults.push("createInsightGroup", Fault(status=500, after_handling=True))
    emulator.faults.push("getInsightGroup", Fault(), STALL)  # the check before, the read-back
    arguments = _create_arguments(emulator, "read-back-squad")
    async with Client(_budgeted(network_server)) as client:
        with anyio.fail_after(TEST_BOUND):
            result = await client.call_tool("create_insight_group", arguments)
    text = text_of(result)
    assert result.is_error
    assert "unknown" in text.lower()
    assert "get_insight_group with key='read-back-squad'" in text
    assert "try again" not in text.lower()
    await _wait_until_abandoned(emulator, "getInsightGroup")


async def test_a_budget_that_runs_out_before_the_post_says_nothing_was_sent(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    """The check of the key stalls: no POST was sent, so a plain retry is safe."""
    emulator.faults.push("getInsightGroup", STALL)
    arguments = _create_arguments(emulator, "never-sent")
    async with Client(_budgeted(network_server)) as client:
        with anyio.fail_after(TEST_BOUND):
            result = await client.call_tool("create_insight_group", arguments)
    text = text_of(result)
    assert result.is_error
    assert "1 s budget" in text
    assert "nothing was created" in text.lower()
    await _wait_until_abandoned(emulator, "getInsightGroup")
    assert emulator.writes() == []


READ_BUDGET_SPENT = (
    "LaunchDarkly did not finish within this call's 1 s budget (retries included). It may be "
    "slow or degraded: try again in a minute, or ask for less data (a smaller limit)."
)


@pytest.mark.parametrize(
    ("tool", "operation_id"),
    [
        ("explain_score", "getInsightGroup"),
        ("diagnose_data_coverage", "getInsightGroup"),
        ("insights_digest", "getInsightGroups"),
    ],
)
async def test_an_analysis_tool_whose_first_read_stalls_ends_with_the_budget_text_of_every_read(
    network_server: Callable[..., Any], emulator: Emulator, tool: str, operation_id: str
) -> None:
    """The analysis tools share ``call_launchdarkly``'s budget and its words."""
    emulator.faults.push(operation_id, STALL)
    arguments = (
        {"max_groups": 1} if tool == "insights_digest" else {"group_key": _a_group(emulator)}
    )
    if tool == "explain_score":
        arguments["category"] = "leadTime"
    async with Client(_budgeted(network_server)) as client:
        with anyio.fail_after(TEST_BOUND):
            result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert text_of(result).endswith(READ_BUDGET_SPENT)
    await _wait_until_abandoned(emulator, operation_id)


async def test_an_analysis_read_that_stalls_after_the_first_is_named_missing_within_the_budget(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.faults.push("getDeployments", *[STALL] * 2)  # lead time's evidence read
    arguments = {"group_key": _a_group(emulator), "category": "leadTime"}
    async with Client(_budgeted(network_server)) as client:
        with anyio.fail_after(TEST_BOUND):
            result = await client.call_tool("explain_score", arguments)
    assert not result.is_error
    missing = result.structured_content["calls"]["missing"]  # type: ignore[index]
    assert list(missing.values()) == ["no answer within the call's time budget"]


def _a_group(emulator: Emulator) -> str:
    return next(iter(emulator.store.insight_groups))
