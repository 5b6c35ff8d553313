"""The client's evidence operations against the emulator over HTTP: wire names, time units per
operation, typed answers, and cursor paging that keeps the filters."""

from __future__ import annotations

import pytest

from ld_insights_mcp.launchdarkly import BadRequestError, LaunchDarklyClient, NotFoundError
from ld_insights_mcp.launchdarkly.evidence import iterate_cursor_pages, rfc3339
from ld_insights_mcp.launchdarkly.evidence_models import (
    Deployment,
    InsightsChart,
    next_cursor,
)
from ld_insights_mcp.launchdarkly.models import Link, Links
from tests.support import Emulator

from ..conftest import NOW_MS

pytestmark = pytest.mark.anyio

DAY_MS = 86_400_000
FROM = NOW_MS - 30 * DAY_MS
PROJECT, ENV = "checkout-web", "production"


def _query(emulator: Emulator) -> dict[str, str]:
    return dict(emulator.requests[-1].query)


def test_rfc3339_keeps_milliseconds() -> None:
    assert rfc3339(NOW_MS) == "2025-11-22T00:00:00.000Z"
    assert rfc3339(NOW_MS + 1) == "2025-11-22T00:00:00.001Z"


async def test_date_time_operations_send_rfc3339(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    chart = await ld.get_deployment_frequency_chart(
        PROJECT, ENV, from_ms=FROM, to_ms=NOW_MS, group_by="kind", metrics=True
    )
    sent = _query(emulator)
    assert sent["from"] == rfc3339(FROM)
    assert sent["to"] == rfc3339(NOW_MS)
    assert sent["groupBy"] == "kind"
    assert sent["expand"] == "metrics"
    assert isinstance(chart, InsightsChart)
    assert chart.metadata.summary["from"] == FROM  # the emulator read the same instant
    assert chart.metadata.metrics is not None
    assert set(chart.metadata.metrics) == {"deploymentFrequency", "deploymentFailureRate"}
    assert chart.metadata.metrics["deploymentFrequency"].tiers

    await ld.get_release_frequency_chart(
        PROJECT, ENV, from_ms=FROM, to_ms=NOW_MS, has_experiments=False, global_events="exclude"
    )
    sent = _query(emulator)
    assert sent["from"] == rfc3339(FROM)
    assert sent["hasExperiments"] == "false"
    assert sent["global"] == "exclude"

    await ld.get_pull_requests(PROJECT, ENV, from_ms=FROM, to_ms=NOW_MS)
    assert _query(emulator)["to"] == rfc3339(NOW_MS)


async def test_millisecond_operations_send_integers(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    chart = await ld.get_lead_time_chart(
        PROJECT,
        ENV,
        ["checkout-api"],
        from_ms=FROM,
        to_ms=NOW_MS,
        expand=["metrics", "percentiles"],
    )
    sent = _query(emulator)
    assert sent["from"] == str(FROM)
    assert sent["to"] == str(NOW_MS)
    assert sent["applicationKey"] == "checkout-api"
    assert sent["expand"] == "metrics,percentiles"
    assert [s.metadata.name for s in chart.series] == ["coding", "review", "wait", "deploy"]
    assert "p90Ms" in chart.metadata.summary

    await ld.get_deployments(PROJECT, ENV, from_ms=FROM, to_ms=NOW_MS)
    assert _query(emulator)["from"] == str(FROM)
    await ld.get_flag_events(PROJECT, ENV, from_ms=FROM, to_ms=NOW_MS)
    assert _query(emulator)["to"] == str(NOW_MS)


async def test_snapshot_charts_take_no_window(ld: LaunchDarklyClient, emulator: Emulator) -> None:
    stale = await ld.get_stale_flags_chart(PROJECT, ENV, group_by="maintainer", metrics=True)
    assert "from" not in _query(emulator)
    assert stale.metadata.metrics is not None
    assert "flagHealth" in stale.metadata.metrics
    assert sum(s.data[0].y for s in stale.series) == stale.metadata.summary["total"]
    status = await ld.get_flag_status_chart(PROJECT, ENV)
    assert [s.metadata.name for s in status.series] == ["new", "active", "launched", "inactive"]


async def test_deployments_filters_and_one_deployment(ld: LaunchDarklyClient) -> None:
    failed = await ld.get_deployments(
        PROJECT, ENV, from_ms=FROM, to_ms=NOW_MS, status="failed", limit=100
    )
    assert failed.total_count == len(failed.items) > 0
    assert all(d.status == "failed" for d in failed.items)
    one = await ld.get_deployment(failed.items[0].id, expand=["pullRequests", "flagReferences"])
    assert isinstance(one, Deployment)
    assert one.id == failed.items[0].id
    assert one.pull_requests is not None
    assert one.pull_requests.total_count == one.number_of_pull_requests
    assert one.lead_time_stages is not None


async def test_unknown_and_malformed_deployment_ids(ld: LaunchDarklyClient) -> None:
    with pytest.raises(NotFoundError):
        await ld.get_deployment("00000000-0000-4000-8000-000000000000")
    with pytest.raises(BadRequestError):
        await ld.get_deployment("not-a-uuid")


async def test_pull_requests_sorted_by_lead_time(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    page = await ld.get_pull_requests(
        PROJECT, ENV, from_ms=FROM, to_ms=NOW_MS, sort="-leadTime", expand=["leadTime"], limit=5
    )
    assert _query(emulator)["sort"] == "-leadTime"
    totals = [pr.lead_time.avg_total_lead_time_ms for pr in page.items if pr.lead_time]
    assert totals
    assert totals == sorted(totals, reverse=True)


async def test_flag_events_typed(ld: LaunchDarklyClient) -> None:
    page = await ld.get_flag_events(
        PROJECT, ENV, from_ms=FROM, to_ms=NOW_MS, impact_size="large", experiments=True
    )
    assert page.items
    assert all(e.impact.size == "large" for e in page.items)
    assert all(isinstance(e.event_time, int) for e in page.items)
    assert all(e.experiments is not None for e in page.items)


async def test_repositories(ld: LaunchDarklyClient, emulator: Emulator) -> None:
    repos = await ld.get_insights_repositories(projects=True)
    assert _query(emulator) == {"expand": "projects"}
    assert repos.total_count == len(repos.items) > 0
    assert all("/" in r.key and r.projects is not None for r in repos.items)


async def test_the_next_link_drops_filters_but_iteration_keeps_them(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    first = await ld.get_flag_events(
        PROJECT, ENV, from_ms=FROM, to_ms=NOW_MS, impact_size="small", limit=2
    )
    assert "impactSize" not in first.links["next"].href  # the API's link alone would lose it
    everything = await ld.get_flag_events(
        PROJECT, ENV, from_ms=FROM, to_ms=NOW_MS, impact_size="small", limit=100
    )
    emulator.clear_requests()
    walked = [
        e.id
        async for e in ld.iter_flag_events(
            PROJECT, ENV, from_ms=FROM, to_ms=NOW_MS, impact_size="small", page_size=2
        )
    ]
    assert walked == [e.id for e in everything.items]
    pages = emulator.requests
    assert len(pages) == -(-everything.total_count // 2)
    for request in pages:
        sent = dict(request.query)
        assert sent["impactSize"] == "small"
        assert sent["from"] == str(FROM)
    assert "after" in dict(pages[-1].query)


async def test_iteration_stops_at_max_items(ld: LaunchDarklyClient, emulator: Emulator) -> None:
    emulator.clear_requests()
    events = [e async for e in ld.iter_flag_events(PROJECT, ENV, from_ms=FROM, max_items=3)]
    assert len(events) == 3
    assert len(emulator.requests) == 1
    assert dict(emulator.requests[0].query)["limit"] == "3"


async def test_cursor_iteration_stops_on_a_repeated_cursor() -> None:
    calls: list[str | None] = []

    async def fetch(limit: int, after: str | None) -> tuple[list[int], Links]:
        calls.append(after)
        return [1], {"next": Link(href="/x?after=same")}

    got = [i async for i in iterate_cursor_pages(fetch, page_size=1)]
    assert got == [1, 1]
    assert calls == [None, "same"]


def test_next_cursor_reads_after() -> None:
    assert next_cursor({"next": Link(href="/d?after=abc")}) == "abc"
    assert next_cursor({}) is None
