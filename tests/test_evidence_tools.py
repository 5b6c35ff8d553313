"""The evidence tools (get_insight_chart, list_deployments, get_deployment, list_pull_requests,
list_flag_events) through a real MCP client against the emulator.

The emulator here is anchored at today (UTC midnight), so windows counted back from now hold
the seeded data.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from mcp import Client

from ld_insights_mcp.emulator.charts import EMPTY_METRICS
from ld_insights_mcp.emulator.evidence_params import FUTURE_TO
from ld_insights_mcp.launchdarkly.evidence_models import InsightsChart
from ld_insights_mcp.views.charts import chart_result, chart_text
from tests.support import Emulator

from .conftest import TOKEN
from .mcp_helpers import structured, text_of

pytestmark = pytest.mark.anyio

PROJECT, ENV = "checkout-web", "production"
SCOPE = {"project_key": PROJECT, "environment_key": ENV}
TODAY = datetime.now(UTC).date()


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(token=TOKEN)


def _next_call(text: str, tool: str) -> dict[str, Any] | None:
    """The arguments of the literal ``tool(name=<json>, ...)`` call the text ends with."""
    marker = f"call {tool}("
    if marker not in text:
        return None
    at = text.rindex(marker) + len(marker)
    decoder = json.JSONDecoder()
    arguments: dict[str, Any] = {}
    while text[at] != ")":
        name, _, _ = text[at:].partition("=")
        assert name.isidentifier(), text[at:]
        value, at = decoder.raw_decode(text, at + len(name) + 1)
        arguments[name] = value
        if text[at] == ",":
            at += 2
    return arguments


async def _raw_bytes(emulator: Emulator) -> int:
    """Bytes of the JSON the last recorded request got, asked again directly."""
    sent = emulator.requests[-1]
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app), base_url="https://ld.test"
    ) as http:
        answer = await http.get(
            sent.path,
            params=sent.query,
            headers={"Authorization": TOKEN, "LD-API-Version": "beta"},
        )
    assert answer.status_code == 200
    return len(answer.content)


# --- get_insight_chart ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "operation", "time_format", "metric"),
    [
        ("deployment_frequency", "getDeploymentFrequencyChart", "date-time", "deploymentFrequency"),
        ("lead_time", "getLeadTimeChart", "ms", "leadTime"),
        ("release_frequency", "getReleaseFrequencyChart", "date-time", "impactSize"),
        ("stale_flags", "getStaleFlagsChart", None, "flagHealth"),
        ("flag_status", "getFlagStatusChart", None, None),
    ],
)
async def test_each_chart_kind_calls_its_operation_with_its_time_unit(
    server_factory: Callable[..., Any],
    emulator: Emulator,
    client_mode: str,
    kind: str,
    operation: str,
    time_format: str | None,
    metric: str | None,
) -> None:
    async with Client(server_factory(), mode=client_mode) as client:
        result = await client.call_tool("get_insight_chart", {"kind": kind, **SCOPE})
    data = structured(result)
    text = text_of(result)
    (sent,) = emulator.requests
    assert sent.operation_id == operation
    query = dict(sent.query)
    assert "to" not in query  # the window runs to now, the API's default
    if time_format == "ms":
        assert query["from"].isdigit()
        assert int(query["from"]) % 60_000 == 0  # 30 days before the end of the minute
    elif time_format == "date-time":
        assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z", query["from"])
    else:
        assert "from" not in query
        assert " now (" in text
    assert data["series"]
    for series in data["series"]:
        assert series["name"] in text
    if metric is not None:
        (shown,) = [m for m in data["metrics"] if m["name"] == metric]
        assert f"{metric} {shown['value']:g}" in text
        assert shown["indicator"] in text
        assert shown["next_tier"] is None or shown["next_tier"] in text
    assert await _raw_bytes(emulator) * 0.4 >= len(text.encode())


async def test_lead_time_chart_gives_stage_averages_extremes_and_trend(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(server_factory()) as client:
        result = await client.call_tool("get_insight_chart", {"kind": "lead_time", **SCOPE})
    data = structured(result)
    assert [s["name"] for s in data["series"]] == ["coding", "review", "wait", "deploy"]
    for series in data["series"]:
        assert series["min"] <= series["average"] <= series["max"]
        assert series["min_at"] in text_of(result)
        assert series["trend"] in ("rising", "falling", "flat")
        assert series["points"] is None
    assert dict(emulator.requests[-1].query)["groupBy"] == "stage"


@pytest.mark.parametrize("empty_metrics", EMPTY_METRICS)
@pytest.mark.parametrize(
    ("kind", "ratios", "what"),
    [
        ("deployment_frequency", ["deploymentFailureRate"], "deployment"),
        ("lead_time", ["leadTime"], "deployed pull request"),
        ("release_frequency", ["impactSize", "experimentationCoverage"], "flag change"),
    ],
)
async def test_a_chart_over_nothing_states_no_value_for_its_ratios_and_means(
    server_factory: Callable[..., Any],
    emulator: Emulator,
    kind: str,
    ratios: list[str],
    what: str,
    empty_metrics: str,
) -> None:
    """Before the seeded data begins, whatever the chart's metrics say of a ratio over
    nothing: no value, and why; deployments per day stay a value, 0."""
    emulator.charts.empty_metrics = empty_metrics
    window = {
        "from_date": (TODAY - timedelta(days=200)).isoformat(),
        "to_date": (TODAY - timedelta(days=171)).isoformat(),
    }
    async with Client(server_factory()) as client:
        result = await client.call_tool("get_insight_chart", {"kind": kind, **SCOPE, **window})
    data, text = structured(result), text_of(result)
    assert data["no_value"] == {name: f"no {what} in this window" for name in ratios}
    for name in ratios:
        assert f"Metric {name}: no value (no {what} in this window)." in text
    shown = [m["name"] for m in data["metrics"]]
    assert shown == (["deploymentFrequency"] if kind == "deployment_frequency" else [])
    if shown:
        assert data["metrics"][0]["value"] == 0
        assert "Metric deploymentFrequency 0 " in text


async def test_a_chart_metric_launchdarkly_does_not_calculate_has_no_value() -> None:
    chart = InsightsChart.model_validate(
        {
            "metadata": {
                "name": "leadTime",
                "summary": {},
                "xAxis": {"unit": "timestamp"},
                "yAxis": {"unit": "milliseconds"},
                "metrics": {
                    "leadTime": {
                        "indicator": "unknown",
                        "value": 0,
                        "unit": "hours",
                        "modifier": "average",
                        "tiers": [],
                    }
                },
            },
            "series": [
                {"metadata": {"name": "coding"}, "data": [{"x": 0, "y": 3_600_000}]},
            ],
        }
    )
    result = chart_result(
        chart,
        kind="lead_time",
        project_key=PROJECT,
        environment_key=ENV,
        application_keys=[],
        window=(0, 86_400_000),
        bucket="day",
        group_by="stage",
        points=False,
        source="launchdarkly",
    )
    assert result.metrics == []
    assert result.no_value == {"leadTime": "LaunchDarkly states unknown"}
    assert "Metric leadTime: no value (LaunchDarkly states unknown)." in chart_text(result)


async def test_chart_points_only_on_request_and_iso_dates_convert_per_operation(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    start = (TODAY - timedelta(days=10)).isoformat()
    end = (TODAY - timedelta(days=1)).isoformat()
    arguments = {"kind": "deployment_frequency", "from_date": start, "to_date": end, **SCOPE}
    async with Client(server_factory()) as client:
        plain = await client.call_tool("get_insight_chart", arguments)
        detailed = await client.call_tool("get_insight_chart", {**arguments, "points": True})
    assert "points:" not in text_of(plain)
    assert "points:" in text_of(detailed)
    (series,) = structured(detailed)["series"]
    assert len(series["points"]) == 10
    assert sum(y for _, y in series["points"]) == series["total"]
    query = dict(emulator.requests[-1].query)
    assert query["from"] == f"{start}T00:00:00.000Z"
    assert query["to"] == f"{TODAY.isoformat()}T00:00:00.000Z"  # to_date is inclusive
    assert query["bucketType"] == "day"


@pytest.mark.parametrize(
    ("arguments", "named", "fix"),
    [
        ({"kind": "flag_status", "days": 7}, "days", "kind, project_key"),
        ({"kind": "stale_flags", "bucket": "week"}, "bucket", "group_by"),
        ({"kind": "lead_time", "has_experiments": True}, "has_experiments", "group_by"),
        ({"kind": "lead_time", "group_by": "impact"}, "group_by", "stage or application"),
        ({"kind": "deployment_trend"}, "kind", "deployment_frequency"),
        ({"kind": "lead_time", "days": 91}, "days", "90"),
        ({"kind": "lead_time", "days": "30"}, "days", "integer"),
        ({"kind": "lead_time", "days": 7, "from_date": "2025-01-01"}, "from_date", "not both"),
        ({"kind": "lead_time", "from_date": "2025-02-30"}, "from_date", "YYYY-MM-DD"),
        ({"kind": "lead_time", "from_date": "11/01/2025"}, "from_date", "pattern"),
        ({"kind": "lead_time", "bucket": "hour", "days": 30}, "bucket", "bucket=day"),
    ],
)
async def test_chart_arguments_are_checked_before_any_request(
    server_factory: Callable[..., Any],
    emulator: Emulator,
    arguments: dict[str, Any],
    named: str,
    fix: str,
) -> None:
    async with Client(server_factory()) as client:
        result = await client.call_tool("get_insight_chart", {**arguments, **SCOPE})
    assert result.is_error
    message = text_of(result)
    assert named in message
    assert fix in message
    assert "Traceback" not in message
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("from_days_ago", "to_days_ago", "named", "fix"),
    [
        (3, 10, "from_date", "swap"),  # inverted
        (-2, None, "from_date", "future"),
        (5, -1, "to_date", "future"),
        (120, 1, "window", "at most 90"),
    ],
)
@pytest.mark.parametrize("tool", ["get_insight_chart", "list_deployments", "list_flag_events"])
async def test_inverted_future_and_too_long_windows_never_reach_launchdarkly(
    server_factory: Callable[..., Any],
    emulator: Emulator,
    tool: str,
    from_days_ago: int,
    to_days_ago: int | None,
    named: str,
    fix: str,
) -> None:
    arguments: dict[str, Any] = {
        **SCOPE,
        "from_date": (TODAY - timedelta(days=from_days_ago)).isoformat(),
    }
    if to_days_ago is not None:
        arguments["to_date"] = (TODAY - timedelta(days=to_days_ago)).isoformat()
    if tool == "get_insight_chart":
        arguments["kind"] = "lead_time"
    async with Client(server_factory()) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    assert named in text_of(result)
    assert fix in text_of(result)
    assert emulator.requests == []


async def test_chart_uses_the_default_project_and_environment(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    server = server_factory(project="mobile-app", environment="staging")
    async with Client(server) as client:
        data = structured(await client.call_tool("get_insight_chart", {"kind": "flag_status"}))
    assert (data["project_key"], data["environment_key"]) == ("mobile-app", "staging")
    assert dict(emulator.requests[-1].query)["projectKey"] == "mobile-app"


# --- cursor lists ---------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "items", "filters", "query_filter"),
    [
        ("list_deployments", "deployments", {"status": "finished"}, ("status", "finished")),
        ("list_pull_requests", "pull_requests", {"sort": "slowest"}, ("sort", "-leadTime")),
        ("list_flag_events", "flag_events", {"impact": "small"}, ("impactSize", "small")),
    ],
)
async def test_following_the_literal_next_call_pages_through_with_the_filters_kept(
    server_factory: Callable[..., Any],
    emulator: Emulator,
    client_mode: str,
    tool: str,
    items: str,
    filters: dict[str, Any],
    query_filter: tuple[str, str],
) -> None:
    arguments: dict[str, Any] = {**SCOPE, **filters, "limit": 100}
    async with Client(server_factory(), mode=client_mode) as client:
        everything = structured(await client.call_tool(tool, arguments))
        seen: list[str] = []
        call: dict[str, Any] | None = {**SCOPE, **filters, "limit": 2}
        pages = 0
        while call is not None:
            result = await client.call_tool(tool, call)
            page = structured(result)
            seen += [item["id"] for item in page[items]]
            call = _next_call(text_of(result), tool)
            assert (call is None) == (page["next_cursor"] is None)
            if call is not None:
                assert call["cursor"] == page["next_cursor"]
                assert {k: call[k] for k in filters} == filters
            pages += 1
    assert seen == [item["id"] for item in everything[items]]
    assert len(seen) == everything["total_count"] > 2
    assert pages == -(-len(seen) // 2)
    for sent in emulator.requests:
        assert query_filter in sent.query  # every page was asked with the filter


async def test_a_cursor_from_another_query_is_refused_before_any_request(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(server_factory()) as client:
        first = structured(
            await client.call_tool("list_deployments", {**SCOPE, "status": "finished", "limit": 2})
        )
        emulator.clear_requests()
        cursor = first["next_cursor"]
        assert cursor
        other = await client.call_tool(
            "list_deployments", {**SCOPE, "status": "failed", "limit": 2, "cursor": cursor}
        )
        elsewhere = await client.call_tool(
            "list_flag_events", {**SCOPE, "limit": 2, "cursor": cursor}
        )
        forged = await client.call_tool("list_deployments", {**SCOPE, "cursor": "abc"})
        same = await client.call_tool(
            "list_deployments", {**SCOPE, "status": "finished", "limit": 5, "cursor": cursor}
        )
    for refused in (other, elsewhere):
        assert refused.is_error
        assert "cursor" in text_of(refused)
        assert "another query" in text_of(refused)
    assert forged.is_error
    assert "cursor" in text_of(forged)
    assert not same.is_error  # the page size may change; the filters may not
    assert len(emulator.requests) == 1


async def test_list_output_cap_keeps_paging_exact(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(server_factory()) as client:
        everything = structured(await client.call_tool("list_pull_requests", {**SCOPE}))
    async with Client(server_factory(max_output_chars=1_000)) as client:
        first = await client.call_tool("list_pull_requests", {**SCOPE})
        call = _next_call(text_of(first), "list_pull_requests")
        assert call is not None
        second = await client.call_tool("list_pull_requests", call)
    page = structured(first)
    assert page["truncated"] is True
    assert len(text_of(first)) <= 1_000
    ids = [p["id"] for p in everything["pull_requests"]]
    shown = page["returned"]
    assert [p["id"] for p in page["pull_requests"]] == ids[:shown]
    assert structured(second)["pull_requests"][0]["id"] == ids[shown]


async def test_list_deployments_text_keeps_every_number_and_stays_compact(
    server_factory: Callable[..., Any], emulator: Emulator, client_mode: str
) -> None:
    async with Client(server_factory(), mode=client_mode) as client:
        result = await client.call_tool("list_deployments", {**SCOPE, "limit": 20})
    text = text_of(result)
    data = structured(result)
    assert data["deployments"]
    for d in data["deployments"]:
        for value in (d["id"], d["version"], d["application"], d["status"], d["kind"]):
            assert f'"{value}"' in text
        assert f"+{d['lines_added']}/-{d['lines_deleted']}" in text
        prs = d["pull_request_count"]
        assert f"{prs} {'PR' if prs == 1 else 'PRs'} by {d['contributors']}" in text
    assert len(text.encode()) <= 0.4 * await _raw_bytes(emulator)


async def test_slowest_pull_requests_come_first_with_their_stages(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(server_factory()) as client:
        result = await client.call_tool(
            "list_pull_requests", {**SCOPE, "sort": "slowest", "limit": 5}
        )
    prs = structured(result)["pull_requests"]
    totals = [p["lead_time"]["total_ms"] for p in prs]
    assert totals == sorted(totals, reverse=True)
    text = text_of(result)
    for pr in prs:
        assert f'#{pr["number"]}" "{pr["title"]}" by "{pr["author"]}"' in text
        files = pr["files_changed"]
        assert f"{files} {'file' if files == 1 else 'files'} +" in text
    assert "review " in text
    query = dict(emulator.requests[-1].query)
    assert (query["sort"], query["expand"]) == ("-leadTime", "leadTime")
    assert len(text.encode()) <= 0.4 * await _raw_bytes(emulator)


async def test_sorting_pull_requests_without_an_environment_names_the_field(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(server_factory()) as client:
        result = await client.call_tool(
            "list_pull_requests", {"project_key": PROJECT, "sort": "slowest"}
        )
        unsorted = await client.call_tool("list_pull_requests", {"project_key": PROJECT})
    assert result.is_error
    assert "environment_key" in text_of(result)
    assert "LD_ENVIRONMENT" in text_of(result)
    assert not unsorted.is_error
    (sent,) = emulator.requests  # only the unsorted call went out
    assert "environmentKey" not in dict(sent.query)


async def test_flag_events_show_who_what_and_impact_with_evaluations(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(server_factory()) as client:
        result = await client.call_tool("list_flag_events", {**SCOPE, "impact": "large"})
    events = structured(result)["flag_events"]
    assert events
    text = text_of(result)
    for event in events:
        assert event["impact_size"] == "large"
        assert f'"{event["flag_key"]}" "{event["event_type"]}"' in text
        assert f'by "{event["by"]}"' in text
        assert f"{event['impact_percentage']:g}%" in text
        for _, before, after in event["evaluations"]:
            assert f"{before}->{after}" in text
    assert len(text.encode()) <= 0.4 * await _raw_bytes(emulator)


async def test_get_deployment_shows_stages_pull_requests_and_flag_references(
    server_factory: Callable[..., Any], emulator: Emulator, client_mode: str
) -> None:
    async with Client(server_factory(), mode=client_mode) as client:
        listed = structured(await client.call_tool("list_deployments", {**SCOPE, "limit": 5}))
        deployment_id = next(d["id"] for d in listed["deployments"] if d["pull_request_count"] > 0)
        result = await client.call_tool("get_deployment", {"deployment_id": deployment_id})
    deployment = structured(result)["deployment"]
    assert deployment["id"] == deployment_id
    assert len(deployment["pull_requests"]) == deployment["pull_request_count"] > 0
    text = text_of(result)
    for pr in deployment["pull_requests"]:
        assert f"#{pr['number']}" in text
    assert "coding " in text
    assert dict(emulator.requests[-1].query)["expand"] == "pullRequests,flagReferences"


async def test_deployment_ids_malformed_never_sent_unknown_names_the_list_tool(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(server_factory()) as client:
        malformed = await client.call_tool("get_deployment", {"deployment_id": "v1.2.3"})
        assert emulator.requests == []
        unknown = await client.call_tool(
            "get_deployment", {"deployment_id": "00000000-0000-4000-8000-000000000000"}
        )
    assert malformed.is_error
    assert "deployment_id" in text_of(malformed)
    assert "list_deployments" in text_of(malformed)
    assert unknown.is_error
    assert "list_deployments" in text_of(unknown)
    assert "404" in text_of(unknown)


# --- windows that end now: one request per minute ----------------------------------------------

MINUTE_MS = 60_000


@pytest.mark.parametrize("future_to", FUTURE_TO)
@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("list_deployments", {"days": 30}),
        ("list_pull_requests", {"days": 7}),
        ("list_flag_events", {}),
        ("get_insight_chart", {"kind": "deployment_frequency", "days": 14}),
        ("get_insight_chart", {"kind": "release_frequency", "days": 14}),
        ("get_insight_chart", {"kind": "lead_time", "to_date": TODAY.isoformat()}),
    ],
)
async def test_a_window_ending_now_is_sent_without_to_so_a_repeat_is_served_from_cache(
    server_factory: Callable[..., Any],
    emulator: Emulator,
    monkeypatch: pytest.MonkeyPatch,
    tool: str,
    arguments: dict[str, Any],
    future_to: str,
) -> None:
    """Nothing after now exists yet: the window runs to the end of the current minute, the
    result says so, and the same question within the minute is the same request. ``to`` is
    left to the API's default (now), so the request holds whether LaunchDarkly accepts a
    ``to`` in the future or refuses it."""
    now = int(datetime.now(UTC).timestamp() * 1000)
    minute_end = now - now % MINUTE_MS + MINUTE_MS
    instants = iter([minute_end - 59_000, minute_end - 1_000])
    current = next(instants)
    monkeypatch.setattr("ld_insights_mcp.tools.windows.now_ms", lambda: current)
    emulator.windows.clock = lambda: current  # LaunchDarkly's now is the server's
    emulator.windows.future_to = future_to
    async with Client(server_factory()) as client:
        first = await client.call_tool(tool, {**arguments, **SCOPE})
        current = next(instants)
        again = await client.call_tool(tool, {**arguments, **SCOPE})
    assert not first.is_error, text_of(first)
    (sent,) = emulator.requests
    assert "to" not in dict(sent.query)
    first_page, again_page = structured(first), structured(again)
    assert again_page.pop("cache_age_seconds") is not None  # answered from the read cache
    assert first_page == again_page
    end = datetime.fromtimestamp(minute_end / 1000, tz=UTC)
    assert first_page["window_to"] == end.isoformat().replace("+00:00", "Z")


async def test_a_window_ending_before_today_is_sent_with_its_to(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    """A window that ends on an earlier day is sent with ``to`` at the midnight after it."""
    yesterday = TODAY - timedelta(days=1)
    async with Client(server_factory()) as client:
        result = await client.call_tool(
            "list_deployments", {"to_date": yesterday.isoformat(), "days": 3, **SCOPE}
        )
    assert not result.is_error, text_of(result)
    (sent,) = emulator.requests
    midnight = datetime(TODAY.year, TODAY.month, TODAY.day, tzinfo=UTC)
    assert int(dict(sent.query)["to"]) == int(midnight.timestamp() * 1000)
