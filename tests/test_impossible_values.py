"""Values no LaunchDarkly answer can truly hold are refused where they are read, as
LaunchDarkly's problem (not the caller's): NaN and Infinity (which Python's JSON readers
accept), magnitudes past any metric, negative durations and counts. Windows before
Engineering Insights' first data are refused before any request. Every result the SDK's
client receives validates against the tool's output schema (the client checks it)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client

from ld_insights_mcp.launchdarkly.transport import non_finite
from tests.support import Emulator, Fault

from .mcp_helpers import structured, text_of

pytestmark = pytest.mark.anyio

LEAD_TIME = {
    "kind": "lead_time",
    "project_key": "checkout-web",
    "environment_key": "production",
    "to_date": "2025-11-21",
}
UPSTREAM = "This is an upstream problem, not your input"
IN_THE_DATA = {"to_date": "2025-11-21"}
"""A window that holds the emulator's seeded data (anchored at the fixtures' NOW_MS)."""


def metric_value(value: float) -> Callable[[Any], Any]:
    def edit(body: Any) -> Any:
        body["metadata"]["metrics"]["leadTime"]["value"] = value
        return body

    return edit


def first_point(y: int) -> Callable[[Any], Any]:
    def edit(body: Any) -> Any:
        body["series"][0]["data"][0]["y"] = y
        return body

    return edit


def summary(name: str, value: float) -> Callable[[Any], Any]:
    def edit(body: Any) -> Any:
        body["metadata"]["summary"][name] = value
        return body

    return edit


@pytest.mark.parametrize(
    ("edit", "said"),
    [
        (metric_value(float("nan")), "NaN or Infinity, which JSON does not allow"),
        (metric_value(float("inf")), "NaN or Infinity, which JSON does not allow"),
        (metric_value(float("-inf")), "NaN or Infinity, which JSON does not allow"),
        (summary("averageMs", float("nan")), "NaN or Infinity, which JSON does not allow"),
        (first_point(10**400), "less than or equal to 9223372036854775807"),
        (metric_value(1e308), "leadTime.value"),
        (summary("averageMs", 10**300), "summary.averageMs"),
        (first_point(-90_000), "series.0.data.0.y"),
        (summary("averageMs", -1), "summary.averageMs is negative"),
    ],
    ids=["nan", "inf", "-inf", "nan-summary", "10**400", "1e308", "1e300", "negative-y", "-1ms"],
)
async def test_a_chart_with_an_impossible_value_is_refused_as_launchdarklys_problem(
    server_factory: Callable[..., Any],
    emulator: Emulator,
    client_mode: str,
    edit: Callable[[Any], Any],
    said: str,
) -> None:
    emulator.faults.push("getLeadTimeChart", Fault(edit=edit))
    async with Client(server_factory(cache_ttl=0), mode=client_mode) as client:
        result = await client.call_tool("get_insight_chart", LEAD_TIME)
    text = text_of(result)
    assert result.is_error, text
    assert said in text
    assert UPSTREAM in text
    assert len(text) < 800  # never hundreds of digits
    for shown in ("nan hours", "-0s", "inf"):
        assert shown not in text.replace("Infinity", "")


async def test_explain_score_names_an_impossible_chart_missing_and_still_answers(
    server_factory: Callable[..., Any], emulator: Emulator, client_mode: str
) -> None:
    nan = Fault(edit=metric_value(float("nan")))
    emulator.faults.push("getLeadTimeChart", nan, nan)
    async with Client(server_factory(cache_ttl=0), mode=client_mode) as client:
        result = await client.call_tool(
            "explain_score", {"category": "leadTime", "group_key": "checkout-squad"}
        )
    data = structured(result)  # the SDK client validated it against the output schema
    (leaf,) = data["explained"]
    assert sorted(leaf["missing"]) == [
        "getLeadTimeChart(last period, groupBy=stage)",
        "getLeadTimeChart(this period, groupBy=stage)",
    ]
    assert leaf["metric_value"] is None
    assert all("NaN or Infinity" in why for why in data["calls"]["missing"].values())
    assert "nan" not in text_of(result).lower().replace("nan or infinity", "")


async def test_a_flag_event_with_an_impossible_impact_is_refused(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    def share(value: float) -> Callable[[Any], Any]:
        def edit(body: Any) -> Any:
            body["items"][0]["impact"]["percentage"] = value
            return body

        return edit

    emulator.faults.push("getFlagEvents", Fault(edit=share(float("nan"))), Fault(edit=share(180)))
    scope = {"project_key": "checkout-web", "environment_key": "production", **IN_THE_DATA}
    async with Client(server_factory(cache_ttl=0)) as client:
        for said in ("NaN or Infinity", "impact.percentage"):
            result = await client.call_tool("list_flag_events", scope)
            assert result.is_error
            assert said in text_of(result)


async def test_a_negative_deployment_duration_is_refused(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    def negative(body: Any) -> Any:
        body["items"][0]["durationMs"] = -60_000
        return body

    emulator.faults.push("getDeployments", Fault(edit=negative))
    scope = {"project_key": "checkout-web", "environment_key": "production", **IN_THE_DATA}
    async with Client(server_factory(cache_ttl=0)) as client:
        result = await client.call_tool("list_deployments", scope)
    assert result.is_error
    assert "durationMs" in text_of(result)
    assert "-0s" not in text_of(result)
    assert "-1m" not in text_of(result)


@pytest.mark.parametrize(
    ("tool", "arguments", "named"),
    [
        ("list_pull_requests", {"to_date": "0001-01-05", "days": 90}, "to_date 0001-01-05"),
        ("list_deployments", {"from_date": "2014-12-31"}, "from_date 2014-12-31"),
        ("list_flag_events", {"to_date": "2015-01-20", "days": 30}, "days=30"),
        ("get_insight_chart", {"kind": "release_frequency", "to_date": "0001-01-05"}, "to_date"),
        (
            "get_insight_chart",
            {"kind": "deployment_frequency", "from_date": "0001-01-01"},
            "from_date",
        ),
        ("get_insight_chart", {"kind": "lead_time", "to_date": "1970-01-02"}, "to_date"),
    ],
)
async def test_a_window_before_the_first_data_is_refused_without_a_request(
    server_factory: Callable[..., Any],
    emulator: Emulator,
    tool: str,
    arguments: dict[str, Any],
    named: str,
) -> None:
    scope = {"project_key": "checkout-web", "environment_key": "production"}
    async with Client(server_factory()) as client:
        result = await client.call_tool(tool, {**scope, **arguments})
    assert result.is_error
    text = text_of(result)
    assert named in text
    assert "2015-01-01" in text
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("body", "found"),
    [
        (b'{"v": NaN}', "NaN or Infinity, which JSON does not allow"),
        (b'{"v": [1, -Infinity]}', "NaN or Infinity, which JSON does not allow"),
        (b'{"v": 1.5E+309}', "a number too large for a float"),
        (b'{"v": [1, {"w": [2e400]}]}', "a number too large for a float"),
        (b'{"v": 1e308}', None),
        (b'{"title": "NaN Infinity 1e999"}', None),
        (b"not JSON, NaN", None),
    ],
)
def test_non_finite_numbers_are_found_outside_strings_only(body: bytes, found: str | None) -> None:
    assert non_finite(body) == found


# --- values that parse but cannot be true: the tools answer with what is sound -----------------

SCOPE = {"project_key": "checkout-web", "environment_key": "production"}
IMPOSSIBLE = "Impossible in LaunchDarkly's data (not used): "


def edit_scores(change: Callable[[Any], None]) -> Fault:
    def edit(body: Any) -> Any:
        change(body)
        return body

    return Fault(edit=edit)


def failed_count(value: int) -> Callable[[Any], Any]:
    def edit(body: Any) -> Any:
        for point in [p for s in body["series"] for p in s["data"] if p["y"]][:1]:
            point["values"]["failed"] = value if value >= 0 else -point["y"] - 2
        return body

    return edit


def failure_rate(value: float) -> Callable[[Any], Any]:
    def edit(body: Any) -> Any:
        metrics = body["metadata"].get("metrics", {})
        if "deploymentFailureRate" in metrics:
            metrics["deploymentFailureRate"]["value"] = value
        return body

    return edit


def more_stale_than_flags(body: Any) -> Any:
    body["series"][0]["data"][0]["y"] = 1000
    return body


def assert_named_once(text: str, value: str) -> None:
    """The impossible value is named, quoted, as LaunchDarkly's, once per value (a chart of
    each period may hold one), and nowhere else: never as a fact."""
    named = [line for line in text.splitlines() if IMPOSSIBLE in line]
    assert len(named) == 1, text
    assert named[0].count(f'"{value}"') == named[0].count(value) >= 1, text
    assert value not in text.replace(named[0], ""), text


@pytest.mark.parametrize(
    ("edit", "value"),
    [(failed_count(999), "999"), (failed_count(-1), "-"), (failure_rate(141.5), "141.5")],
    ids=["failed>deployments", "negative-failed", "rate>100%"],
)
async def test_an_impossible_failure_count_or_rate_is_named_and_not_used(
    server_factory: Callable[..., Any],
    emulator: Emulator,
    client_mode: str,
    edit: Callable[[Any], Any],
    value: str,
) -> None:
    emulator.faults.push(
        "getDeploymentFrequencyChart", *[Fault(edit=edit)] * 5
    )  # guessed reads too
    async with Client(server_factory(cache_ttl=0), mode=client_mode) as client:
        chart = await client.call_tool(
            "get_insight_chart", {**SCOPE, **IN_THE_DATA, "kind": "deployment_frequency"}
        )
        explained = await client.call_tool(
            "explain_score", {**SCOPE, "category": "deploymentFailureRate"}
        )
    for result in (chart, explained):
        text = text_of(result)
        assert not result.is_error, text
        assert IMPOSSIBLE in text, text
        if value != "-":
            assert_named_once(text, value)
    (leaf,) = structured(explained)["explained"]
    assert leaf["impossible"]
    rate = leaf["metric_value"]
    assert rate is None or 0 <= rate["value"] <= 100
    if "values.failed" in leaf["impossible"][0]:
        assert leaf["driven_by"] is None or leaf["driven_by"]["part"] is None


@pytest.mark.parametrize("value", [-12.5, 250.0])
async def test_a_percent_metric_outside_0_to_100_is_no_value_in_the_chart(
    server_factory: Callable[..., Any], emulator: Emulator, value: float
) -> None:
    emulator.faults.push("getDeploymentFrequencyChart", Fault(edit=failure_rate(value)))
    async with Client(server_factory(cache_ttl=0)) as client:
        result = await client.call_tool(
            "get_insight_chart", {**SCOPE, **IN_THE_DATA, "kind": "deployment_frequency"}
        )
    data = structured(result)
    assert "deploymentFailureRate" in data["no_value"]
    assert all(m["name"] != "deploymentFailureRate" for m in data["metrics"])
    assert_named_once(text_of(result), f"{value:g}")


async def test_more_stale_flags_than_flags_is_named_and_no_share_is_counted(
    server_factory: Callable[..., Any], emulator: Emulator, client_mode: str
) -> None:
    emulator.faults.push("getStaleFlagsChart", *[Fault(edit=more_stale_than_flags)] * 2)
    async with Client(server_factory(cache_ttl=0), mode=client_mode) as client:
        chart = await client.call_tool("get_insight_chart", {**SCOPE, "kind": "stale_flags"})
        explained = await client.call_tool("explain_score", {**SCOPE, "category": "flagHealth"})
    assert_named_once(text_of(chart), "1000")
    assert not explained.is_error
    text = text_of(explained)
    assert text.count(IMPOSSIBLE) == 1, text
    assert "1000" not in text  # 1003 stale flags in all, of 24 flags: named once
    assert text.count('stale flags "1003" of "24" flags') == 1, text
    (leaf,) = structured(explained)["explained"]
    value = leaf["metric_value"]
    assert value is None or value["source"] == "launchdarkly"  # never 1000 of 24 counted here


@pytest.mark.parametrize(
    ("cycle", "category"),
    [({"overall": ["velocity"], "velocity": ["overall"]}, "overall"), ({"risk": ["risk"]}, "risk")],
)
async def test_an_aggregate_of_cycle_is_named_not_followed(
    server_factory: Callable[..., Any],
    emulator: Emulator,
    client_mode: str,
    cycle: dict[str, list[str]],
    category: str,
) -> None:
    def change(body: Any) -> None:
        for name, parts in cycle.items():
            body["scores"][name]["aggregateOf"] = parts
            body["scores"][name]["score"] = body["scores"][name]["lastPeriod"]["score"] + 9
            body["scores"][name].pop("diffVsLastPeriod", None)

    emulator.faults.push("getInsightsScores", edit_scores(change))
    async with Client(server_factory(cache_ttl=0), mode=client_mode) as client:
        result = await client.call_tool("explain_score", {**SCOPE, "category": category})
    text = text_of(result)
    assert not result.is_error, text
    assert "aggregateOf cycle" in text
    assert text.count("aggregateOf cycle") == 1
    assert category in structured(result)["impossible"][0]


async def test_a_score_period_ending_at_0_reads_nothing_over_it_and_is_named(
    server_factory: Callable[..., Any], emulator: Emulator, client_mode: str
) -> None:
    def change(body: Any) -> None:
        body["period"]["endTime"] = 0

    emulator.faults.push("getInsightsScores", edit_scores(change))
    async with Client(server_factory(cache_ttl=0), mode=client_mode) as client:
        result = await client.call_tool("explain_score", {**SCOPE, "category": "velocity"})
    text = text_of(result)
    assert not result.is_error, text
    assert text.count('endTime "0"') == 1, text
    assert "read again" not in text  # nothing is read over a period that cannot be
    assert "1970" not in text
    assert "periods unknown" in text
    sent = [v for r in emulator.requests for k, v in r.query if k in ("from", "to")]
    assert not [v for v in sent if v == "0" or v.startswith("1970")]


async def test_a_diff_vs_last_period_that_disagrees_with_the_scores_is_named(
    server_factory: Callable[..., Any], emulator: Emulator, client_mode: str
) -> None:
    def change(body: Any) -> None:
        body["scores"]["leadTime"]["diffVsLastPeriod"] = -88

    emulator.faults.push("getInsightsScores", edit_scores(change))
    async with Client(server_factory(cache_ttl=0), mode=client_mode) as client:
        result = await client.call_tool("explain_score", {**SCOPE, "category": "velocity"})
    text = text_of(result)
    data = structured(result)
    assert not result.is_error, text
    assert_named_once(text, "-88")
    lead = next(p for p in data["parts"] if p["category"] == "leadTime")
    assert lead["change"] == lead["score"] - lead["last_period_score"]


async def test_the_scores_and_the_digest_state_the_change_their_two_scores_make(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    """A ``diffVsLastPeriod`` that disagrees with the two scores is never stated as the
    change: the scores' difference is (recomputable from the same answer)."""

    def scores(body: Any) -> None:
        body["scores"]["leadTime"]["diffVsLastPeriod"] = -88

    def groups(body: Any) -> Any:
        for group in body["items"]:
            if group.get("scores"):
                group["scores"]["overall"]["diffVsLastPeriod"] = -77
        return body

    emulator.faults.push("getInsightsScores", edit_scores(scores))
    emulator.faults.push("getInsightGroups", *[Fault(edit=groups)] * 30)
    async with Client(server_factory(cache_ttl=0)) as client:
        found = await client.call_tool("get_insight_scores", SCOPE)
        digest = await client.call_tool("insights_digest", {})
    lead = next(c for c in structured(found)["scores"] if c["category"] == "leadTime")
    assert lead["change"] == lead["score"] - lead["last_period_score"] != -88
    assert "-88" not in text_of(found)
    assert "-77" not in text_of(digest), text_of(digest)
