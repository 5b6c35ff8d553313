"""Dependent upstream rounds per question, counted without timing: a transport holds every
request and, whenever everything else waits, releases all the held ones at once as one round.

explain_score and diagnose_data_coverage start their reads with the scores read when the
score periods can be guessed, so a cold answer takes one round; a wrong guess costs a second
round and never a wrong answer (each period alignment the emulator offers). insights_digest
reads 500 groups (25 pages of 20) in at most three rounds within the concurrency limit.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from mcp.types import CallToolResult

from ld_insights_mcp.emulator.seed import DAY_MS
from ld_insights_mcp.surface.server import create_server
from ld_insights_mcp.tools import analysis
from tests.support import Emulator

from .conftest import NOW_MS, TOKEN, make_settings
from .mcp_helpers import structured

pytestmark = pytest.mark.anyio

HOUR_MS = 3_600_000
SCOPE = {"project_key": "checkout-web", "environment_key": "production"}


class Rounds(httpx.AsyncBaseTransport):
    """Holds each request until ``run`` releases every held one together (a round)."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.held: list[anyio.Event] = []
        self.sizes: list[int] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        gate = anyio.Event()
        self.held.append(gate)
        await gate.wait()
        return await self.inner.handle_async_request(request)

    async def run(self, call: Callable[[], Awaitable[CallToolResult]]) -> CallToolResult:
        """Make ``call``, releasing held requests round by round until it returns."""
        self.sizes.clear()
        answer: list[CallToolResult] = []

        async def make() -> None:
            answer.append(await call())

        with anyio.fail_after(30):
            async with anyio.create_task_group() as group:
                group.start_soon(make)
                while True:
                    await anyio.wait_all_tasks_blocked()
                    if answer:
                        break
                    assert self.held, "the call waits on something other than LaunchDarkly"
                    released, self.held = self.held, []
                    self.sizes.append(len(released))
                    for gate in released:
                        gate.set()
        return answer[0]


def server(emulator: Emulator, **settings: Any) -> tuple[Any, Rounds]:
    rounds = Rounds(httpx.ASGITransport(app=emulator.app))
    return create_server(make_settings(**settings), transport=rounds), rounds


@pytest.fixture
def clock_at_anchor(monkeypatch: pytest.MonkeyPatch) -> None:
    """The server's wall clock on the emulator's day, some hours after its anchor."""
    monkeypatch.setattr(analysis, "wall_clock_ms", lambda: NOW_MS + 9 * HOUR_MS)


@pytest.mark.parametrize(
    "category",
    [
        "leadTime",
        "deploymentFrequency",
        "deploymentFailureRate",
        "impactSize",
        "experimentationCoverage",
        "flagHealth",
        "creationRatio",
        "velocity",
        "risk",
        "efficiency",
    ],
)
async def test_a_cold_explanation_takes_one_round_when_the_periods_are_as_guessed(
    clock_at_anchor: None, category: str
) -> None:
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS)
    built, rounds = server(emulator)
    async with Client(built) as client:
        result = await rounds.run(
            lambda: client.call_tool("explain_score", {"category": category, **SCOPE})
        )
    data = structured(result)
    assert rounds.sizes == [len(data["calls"]["made"])]
    assert data["calls"]["rounds"] == 1
    assert data["calls"]["discarded"] == []
    assert max(rounds.sizes) <= make_settings().max_concurrency


async def test_overall_takes_two_rounds_its_parts_chosen_by_the_scores(
    clock_at_anchor: None,
) -> None:
    built, rounds = server(Emulator(token=TOKEN, now_ms=NOW_MS))
    async with Client(built) as client:
        result = await rounds.run(
            lambda: client.call_tool("explain_score", {"category": "overall", **SCOPE})
        )
    assert len(rounds.sizes) == 2
    assert structured(result)["calls"]["rounds"] == 2


async def test_a_group_takes_one_round_once_its_slice_is_known(clock_at_anchor: None) -> None:
    built, rounds = server(Emulator(token=TOKEN, now_ms=NOW_MS))
    call = {"category": "leadTime", "group_key": "checkout-squad"}
    async with Client(built) as client:
        await rounds.run(lambda: client.call_tool("insights_digest", {}))
        result = await rounds.run(lambda: client.call_tool("explain_score", call))
    assert len(rounds.sizes) == 1
    assert structured(result)["calls"]["rounds"] == 1


async def test_a_group_s_first_explanation_takes_two_rounds_its_slice_read_first(
    clock_at_anchor: None,
) -> None:
    """Until a group's slice is known, the reads of its scores and evidence wait for the
    group's own read (the figure README.md and docs/performance.md state)."""
    built, rounds = server(Emulator(token=TOKEN, now_ms=NOW_MS))
    call = {"category": "leadTime", "group_key": "checkout-squad"}
    async with Client(built) as client:
        result = await rounds.run(lambda: client.call_tool("explain_score", call))
    assert rounds.sizes == [1, 3]
    assert structured(result)["calls"]["rounds"] == 2


@pytest.mark.parametrize(
    ("alignment", "expected_rounds"),
    [("anchor", 1), ("midnight", 1), ("now", 2), ("unaligned", 2)],
)
async def test_each_period_alignment_gets_the_reads_of_the_periods_the_scores_state(
    clock_at_anchor: None, alignment: str, expected_rounds: int
) -> None:
    clock = NOW_MS + 9 * HOUR_MS
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS, clock=lambda: clock)
    emulator.insights.period_alignment = alignment
    built, rounds = server(emulator)
    async with Client(built) as client:
        result = await rounds.run(
            lambda: client.call_tool("explain_score", {"category": "leadTime", **SCOPE})
        )
    data = structured(result)
    assert len(rounds.sizes) == expected_rounds
    assert data["calls"]["rounds"] == expected_rounds
    ends = {
        "anchor": NOW_MS,
        "midnight": NOW_MS,
        "now": clock,
        "unaligned": NOW_MS - HOUR_MS - 7_919,
    }
    end = ends[alignment]
    month = 30 * DAY_MS
    charts = [r for r in emulator.requests if r.path.endswith("/charts/lead-time")]
    windows = [(int(dict(r.query)["from"]), int(dict(r.query)["to"])) for r in charts]
    # The charts for the stated periods were read, and the last reads are those.
    assert sorted(windows[-2:]) == sorted([(end - month, end), (end - 2 * month, end - month)])
    assert len(data["calls"]["discarded"]) == (0 if expected_rounds == 1 else 3)
    assert data["explained"][0]["metric_value"] is not None


async def test_coverage_takes_one_round_when_the_periods_are_as_guessed(
    clock_at_anchor: None,
) -> None:
    built, rounds = server(Emulator(token=TOKEN, now_ms=NOW_MS))
    async with Client(built) as client:
        result = await rounds.run(lambda: client.call_tool("diagnose_data_coverage", SCOPE))
    assert rounds.sizes == [5]
    assert structured(result)["calls"]["rounds"] == 1


def _add_groups(emulator: Emulator, total: int) -> None:
    projects = emulator.store.projects
    for i in range(total - len(emulator.store.insight_groups)):
        project = projects[i % len(projects)]
        emulator.store.insight_groups[f"extra-{i:03d}"] = {
            "key": f"extra-{i:03d}",
            "name": f"Extra {i:03d}",
            "projectKey": project.key,
            "environmentKey": project.environments[i % len(project.environments)],
            "applicationKeys": [project.applications[i % len(project.applications)]],
            "createdAt": NOW_MS - DAY_MS,
        }


async def test_a_digest_of_500_groups_takes_at_most_three_rounds_within_the_limit() -> None:
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS)
    _add_groups(emulator, 500)
    built, rounds = server(emulator, cache_ttl=0)  # the second digest reads again, with hints
    limit = make_settings().max_concurrency
    async with Client(built) as client:
        cold = await rounds.run(lambda: client.call_tool("insights_digest", {"max_groups": 500}))
        cold_sizes = list(rounds.sizes)
        warm = await rounds.run(lambda: client.call_tool("insights_digest", {"max_groups": 500}))
    for result, sizes in ((cold, cold_sizes), (warm, rounds.sizes)):
        data = structured(result)
        assert len(data["groups"]) == 500
        assert data["calls"]["missing"] == {}
        assert len(sizes) <= 3, sizes
        assert max(sizes) <= limit
        assert sum(sizes) == 25  # no page read twice, none past the last


async def test_periods_that_move_with_every_answer_stop_being_guessed(
    clock_at_anchor: None,
) -> None:
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS)
    emulator.insights.period_alignment = "unaligned"
    built, rounds = server(emulator, cache_ttl=0)
    call = {"category": "leadTime", **SCOPE}
    async with Client(built) as client:
        calls = [
            structured(await rounds.run(lambda: client.call_tool("explain_score", call)))["calls"]
            for _ in range(3)
        ]
    assert [len(c["discarded"]) for c in calls] == [3, 3, 0]  # guessed twice, then not
    assert [c["rounds"] for c in calls] == [2, 2, 2]


async def test_a_small_digest_reads_one_page_and_guesses_none() -> None:
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS)
    built, rounds = server(emulator)
    async with Client(built) as client:
        result = await rounds.run(lambda: client.call_tool("insights_digest", {}))
    assert rounds.sizes == [1]
    assert structured(result)["calls"]["discarded"] == []
