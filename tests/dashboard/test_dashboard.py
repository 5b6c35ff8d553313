"""The dashboard as a person sees it, in headless Chromium, inside a host built on the
official MCP Apps SDK (``AppBridge``), talking to the real server on the demo backend.

Screenshots go to tests/dashboard/artifacts/; ``UPDATE_DASHBOARD_SCREENSHOT=1`` also writes
docs/dashboard.png (``make dashboard-screenshot``).
"""

from __future__ import annotations

import itertools
import os
import random
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from ld_insights_mcp.analysis.categories import EXPLAINABLE
from ld_insights_mcp.analysis.units import number
from ld_insights_mcp.emulator import DEMO_TOKEN, Emulator
from ld_insights_mcp.emulator.charts import EMPTY_METRICS
from ld_insights_mcp.emulator.seed import DAY_MS
from ld_insights_mcp.knowledge import load_knowledge
from ld_insights_mcp.launchdarkly.vocabulary import BANDS, SPECIAL_INDICATORS, band_for
from ld_insights_mcp.ui.dashboard import CHART_PLAN

from .harness import (
    Host,
    Opened,
    browser_host,
    chromium_path,
    contrast,
    host_sdk_missing,
    luminance,
)

CHROMIUM = chromium_path()
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium: install Debian's `chromium` package (or set CHROMIUM_PATH)",
    ),
    pytest.mark.skipif(host_sdk_missing() is not None, reason=str(host_sdk_missing())),
]
SCOPE = {"project_key": "checkout-web", "environment_key": "production"}
SCOPES = [
    SCOPE,
    {"project_key": "mobile-app", "environment_key": "production"},
    {"project_key": "data-platform", "environment_key": "production"},  # a notCalculated one
]
TOP = ("overall", "velocity", "risk", "efficiency")
TITLES = {c.key: c.title for c in load_knowledge().categories}
README_SHOT = Path(__file__).parents[2] / "docs" / "dashboard.png"

OWN_SERIES: dict[str, tuple[str, str, dict[str, Any], str | None]] = {
    "deploymentFrequency": (
        "Deployments per week",
        "get_insight_chart",
        {"kind": "deployment_frequency"},
        None,
    ),
    "deploymentFailureRate": (
        "Failed deployments per week",
        "list_deployments",
        {"status": "failed"},
        None,
    ),
    "leadTime": (
        "Lead time (stage averages summed) per week",
        "get_insight_chart",
        {"kind": "lead_time", "group_by": "stage"},
        None,
    ),
    "impactSize": (
        "Large-impact flag changes per week",
        "get_insight_chart",
        {"kind": "release_frequency", "group_by": "impact"},
        "large",
    ),
    "experimentationCoverage": (
        "Flag changes with an experiment per week",
        "get_insight_chart",
        {"kind": "release_frequency", "has_experiments": True},
        None,
    ),
}
"""What each category's card must draw: (label, tool, the arguments that select the data,
the one series to draw or None for all). Flag health is a snapshot, drawn on its own."""

METRIC_CHART: dict[str, dict[str, Any]] = {
    "deploymentFrequency": {"kind": "deployment_frequency"},
    "deploymentFailureRate": {"kind": "deployment_frequency"},
    "leadTime": {"kind": "lead_time", "group_by": "stage"},
    "impactSize": {"kind": "release_frequency", "group_by": "impact"},
    "experimentationCoverage": {"kind": "release_frequency", "group_by": "impact"},
    "flagHealth": {"kind": "stale_flags"},
}
"""The unfiltered chart whose metrics carry each category's raw value."""


@pytest.fixture
async def host() -> AsyncIterator[Host]:
    assert CHROMIUM is not None
    async with browser_host(CHROMIUM) as opened:
        yield opened


# --- what the page should say, written out independently of its script (numbers: the
# server's own rule, analysis/units.number) -------------------------------------------------


def with_unit(value: float, unit: str) -> str:
    units = {"percent": "\u00a0%", "hours": "\u00a0h", "count": ""}
    if unit == "milliseconds":
        return number(value / 3_600_000) + "\u00a0h"
    return number(value) + units[unit]


def band_label(indicator: str) -> str:
    return {
        "excellent": "Excellent",
        "good": "Good",
        "fair": "Fair",
        "needsAttention": "Needs attention",
        "notCalculated": "Not calculated",
        "unknown": "Unknown",
    }[indicator]


def _when(iso: str) -> datetime:
    """An ISO instant or date (its midnight), UTC."""
    return datetime.fromisoformat(iso.replace("Z", "+00:00")).replace(tzinfo=UTC)


def _iso(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


def expected_columns(
    tool: str, result: dict[str, Any], series: str | None
) -> list[tuple[str, float | None]]:
    """(bucket start, value) per bucket, from what the tool returned."""
    data = result["structuredContent"]
    if tool == "list_deployments":
        start, end = _when(data["window_from"]), _when(data["window_to"])
        starts = []
        while start < end:
            starts.append(start)
            start += timedelta(days=7)
        counts = [0.0] * len(starts)
        for deployment in data["deployments"]:
            index = (_when(deployment["started"]) - starts[0]) // timedelta(days=7)
            if 0 <= index < len(starts):
                counts[index] += 1
        return [(_iso(s), c) for s, c in zip(starts, counts, strict=True)]
    chosen = [s for s in data["series"] if series in (None, s["name"])]
    assert chosen, f"no {series} series in {data['kind']}"
    columns: list[tuple[str, float | None]] = []
    for i, (x, _) in enumerate(chosen[0]["points"]):
        y = sum(s["points"][i][1] for s in chosen)
        columns.append((x, None if data["y_unit"] == "milliseconds" and y == 0 else y))
    return columns


def _js(value: float) -> str:
    """A number as JavaScript's String() writes it (integers without a fraction)."""
    return str(int(value)) if float(value).is_integer() else repr(value)


def _matches(arguments: dict[str, Any], wanted: dict[str, Any]) -> bool:
    keys = ("kind", "group_by", "has_experiments", "status")
    return all(arguments.get(k) == wanted.get(k) for k in keys)


def _call(opened: Opened, tool: str, wanted: dict[str, Any]) -> tuple[dict[str, Any], Any]:
    found = [(a, r) for a, r in opened.bridge.tool_calls(tool) if _matches(a, wanted)]
    assert found, f"no {tool} call with {wanted}: {opened.bridge.tool_calls(tool)}"
    return found[0]


# --- page helpers -------------------------------------------------------------------------------


async def _style(opened: Opened, selector: str, prop: str) -> str:
    value: str = await opened.view.locator(selector).first.evaluate(
        f"e => getComputedStyle(e).getPropertyValue('{prop}')"
    )
    return value


async def _legend_colours(opened: Opened) -> dict[str, str]:
    colours = {}
    for band in [b.indicator for b in BANDS] + list(SPECIAL_INDICATORS):
        colours[band] = await _style(
            opened, f'.legend [data-band="{band}"] .swatch', "border-top-color"
        )
    return colours


def _scores(opened: Opened) -> dict[str, dict[str, Any]]:
    return {s["category"]: s for s in opened.result["structuredContent"]["scores"]}


def _change(score: dict[str, Any]) -> str:
    change = score["change"]
    return f"{change:+d} vs\u00a0{score['last_period_score']}" if change else "0 vs"


def _shown_score(score: dict[str, Any]) -> str:
    return {"notCalculated": "–", "unknown": "?"}.get(score["indicator"], str(score["score"]))


INK_ON_BACKGROUND = """e => {
  let node = e, bg = 'rgba(0, 0, 0, 0)';
  while (node && (bg === 'rgba(0, 0, 0, 0)' || bg === 'transparent')) {
    bg = getComputedStyle(node).backgroundColor;
    node = node.parentElement;
  }
  return [getComputedStyle(e).color, bg];
}"""
"""A badge's text colour and the background it is seen on (its own, or the nearest
painted ancestor's for an outline badge)."""

BROKEN_WORDS = """() => {
  const broken = [];
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  let node;
  while ((node = walker.nextNode())) {
    const word = /\\S+/g;
    let m;
    while ((m = word.exec(node.textContent))) {
      const range = document.createRange();
      range.setStart(node, m.index);
      range.setEnd(node, m.index + m[0].length);
      const tops = new Set([...range.getClientRects()].filter(r => r.width > 0)
        .map(r => Math.round(r.top)));
      if (tops.size > 1) broken.push(m[0]);
    }
  }
  for (const e of document.querySelectorAll('.date, .range, .amount, .badge, .change')) {
    const tops = new Set([...e.getClientRects()].map(r => Math.round(r.top)));
    if (tops.size > 1) broken.push(e.textContent);
  }
  return broken;
}"""
"""Words (and dates, values, badges) the layout split over two lines."""


# --- the tests ----------------------------------------------------------------------------------


async def test_the_view_initializes_with_the_official_host_and_reports_its_size(
    host: Host,
) -> None:
    opened = await host.open("get_insight_scores", SCOPE)
    await host.all_trends_drawn(opened)
    state = await opened.host_state()
    assert state["initialized"] is True
    assert state["appInfo"] == {"name": "ld-insights-dashboard", "version": "1"}
    assert state["appCapabilities"] == {"availableDisplayModes": ["inline"]}
    assert await opened.view.evaluate("document.documentElement.dataset.theme") == "light"
    assert state["sizes"], "the view reported no size"
    assert {s["width"] for s in state["sizes"]} == {720}
    document_height = await opened.view.evaluate(
        "Math.ceil(document.documentElement.getBoundingClientRect().height)"
    )
    await expect(opened.page.locator("iframe#view")).to_have_css("height", f"{document_height}px")
    assert (await opened.host_state())["sizes"][-1]["height"] == document_height
    assert await opened.violations() == []
    assert opened.bridge.refused == []


async def test_tiles_show_the_tool_scores_coloured_by_band_with_human_names(
    host: Host,
) -> None:
    opened = await host.open("get_insight_scores", SCOPE)
    own = await host.client.call_tool("get_insight_scores", SCOPE)
    scores = _scores(opened)
    assert {s["category"]: s["score"] for s in own.structured_content["scores"]} == {
        name: s["score"] for name, s in scores.items()
    }
    legend = await _legend_colours(opened)
    assert len(set(legend.values())) == len(legend), legend
    legend_text = await opened.text(".legend")
    for band in BANDS:
        assert f"{band_label(band.indicator)} {band.low}–{band.high}" in legend_text
    for name in TOP:
        tile = f'#tiles [data-category="{name}"]'
        score = scores[name]
        assert await opened.text(f"{tile} .name") == TITLES[name]
        assert await opened.text(f"{tile} .score") == str(score["score"])
        assert await opened.text(f"{tile} .badge") == band_label(score["indicator"])
        assert _change(score) in await opened.text(f"{tile} .change")
        band = band_for(score["score"]).indicator
        assert band == score["indicator"]
        assert await _style(opened, tile, "border-top-color") == legend[band], name
        assert await _style(opened, f"{tile} .badge", "background-color") == legend[band]
    for name, score in scores.items():
        if name in TOP:
            continue
        card = f'.cat[data-category="{name}"]'
        assert await opened.text(f"{card} .head button") == TITLES[name]
        assert await opened.text(f"{card} .value") == str(score["score"])
        assert _change(score) in await opened.text(f"{card} .change")
        assert await _style(opened, card, "border-left-color") == legend[score["indicator"]]
    page_text = await opened.text("#app")
    for key in scores:
        assert key not in page_text.split(), f"raw key {key} shown"
    await opened.screenshot("scores-light")
    assert await opened.violations() == []
    assert opened.bridge.refused == []


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: s["project_key"])
async def test_each_category_card_draws_its_own_metric(host: Host, scope: dict[str, str]) -> None:
    opened = await host.open("get_insight_scores", scope)
    await host.all_trends_drawn(opened)
    scores = _scores(opened)
    cards = await opened.view.locator(".cat[data-category]").evaluate_all(
        "cs => cs.map(c => c.dataset.category)"
    )
    assert sorted(cards) == sorted(c for c in scores if c not in TOP)
    for category in cards:
        trend = f'.cat[data-category="{category}"] .trend'
        if category == "creationRatio":
            await _drawn_from_explain_score(opened, trend, category)
            continue
        metric_args, metric_result = _call(opened, "get_insight_chart", METRIC_CHART[category])
        for key in ("project_key", "environment_key"):
            assert metric_args[key] == scope[key]
        line = f"{trend} .metric"
        metrics = metric_result["structuredContent"]["metrics"]
        if category not in {m["name"] for m in metrics}:
            assert scores[category]["indicator"] in SPECIAL_INDICATORS, category
            assert await opened.text(line) == (
                f"The chart carries no {TITLES[category].lower()} metric."
            )
        (metric,) = [m for m in metrics if m["name"] == category] or [None]
        if metric is not None:
            amount = with_unit(metric["value"], metric["unit"])
            assert await opened.text(f"{line} .amount") == amount
            assert metric["modifier"] in await opened.text(line)
            assert await opened.text(f"{line} .badge") == band_label(metric["indicator"])
        if category == "flagHealth":
            assert metric is not None
            _, stale = _call(opened, "get_insight_chart", {"kind": "stale_flags"})
            count = sum(s["total"] for s in stale["structuredContent"]["series"])
            assert await opened.text(f"{trend} .series-label") == f"Stale flags now: {count}"
            bar = opened.view.locator(f"{trend} .bar")
            assert await bar.get_attribute("aria-label") == (
                f"{with_unit(metric['value'], 'percent')} {metric['modifier']}"
            )
            continue
        label, tool, wanted, series = OWN_SERIES[category]
        arguments, result = _call(opened, tool, wanted)
        assert {k: arguments[k] for k in scope} == scope
        assert arguments["from_date"] == opened.result["structuredContent"]["period"]["start"]
        assert await opened.text(f"{trend} .series-label") == label
        expected = expected_columns(tool, result, series)
        columns = opened.view.locator(f"{trend} .bars .col")
        drawn = await columns.evaluate_all(
            "cs => cs.map(c => [c.dataset.start, c.dataset.value,"
            " c.querySelector('.v').textContent, c.querySelector('.fill').style.height])"
        )
        assert [(start, value) for start, value, _, _ in drawn] == [
            (x, "" if y is None else _js(y)) for x, y in expected
        ], category
        unit = "milliseconds" if category == "leadTime" else "count"
        highest = max((y for _, y in expected if y is not None), default=0)
        for (_, _, text, height), (_, y) in zip(drawn, expected, strict=True):
            assert text == ("–" if y is None else with_unit(y, unit)), category
            share = 0 if not y or not highest else 100 * y / highest
            assert float(height.rstrip("%")) == pytest.approx(share, abs=0.01), category
        await _partial_weeks_said(opened, trend, [x for x, _ in expected], result)
    await opened.screenshot(f"cards-{scope['project_key']}")
    if scope == SCOPE and os.environ.get("UPDATE_DASHBOARD_SCREENSHOT") == "1":
        await opened.screenshot("readme", README_SHOT)


async def _drawn_from_explain_score(opened: Opened, trend: str, category: str) -> None:
    """A category LaunchDarkly charts nothing for: its card draws the metric explain_score
    counts, last period and this, or says why there is none."""
    ((arguments, result),) = [
        (a, r) for a, r in opened.bridge.tool_calls("explain_score") if a["category"] == category
    ]
    scope = opened.result["structuredContent"]
    assert arguments == {
        "category": category,
        "project_key": scope["project_key"],
        "environment_key": scope["environment_key"],
    }
    data = result["structuredContent"]
    (leaf,) = [leaf for leaf in data["explained"] if leaf["category"] == category]
    measure = leaf["metric_value"]
    if measure is None:
        assert await opened.text(trend) == f"No chart: {leaf['metric'] or leaf['caveat']}"
        return
    label = CHART_PLAN[category]["label"]
    assert await opened.text(f"{trend} .series-label") == f"{label}, last period and this"
    drawn = await opened.view.locator(f"{trend} .bars .col").evaluate_all(
        "cs => cs.map(c => [c.dataset.start, c.querySelector('.v').textContent])"
    )
    assert drawn == [
        [data["last_period"]["start"], _shown(measure["last_value"])],
        [data["period"]["start"], number(measure["value"])],
    ]
    assert await opened.text(f"{trend} .metric .amount") == number(measure["value"])
    assert CHART_PLAN[category]["source"] in await opened.text(f"{trend} .metric")


async def _partial_weeks_said(
    opened: Opened, trend: str, starts: list[str], result: dict[str, Any]
) -> None:
    """A bucket shorter than the others (the period's last week, mostly) is marked partial
    and said so, with its days; the full ones are not."""
    end = _when(result["structuredContent"]["window_to"])
    bounds = [*map(_when, starts), end]
    short = [
        (start, (until - start).days)
        for start, until in itertools.pairwise(bounds)
        if until - start < timedelta(days=7)
    ]
    marked = await opened.view.locator(f"{trend} .bars .col.partial").evaluate_all(
        "cs => cs.map(c => [c.dataset.start, Number(c.dataset.days)])"
    )
    assert marked == [[_iso(start), days] for start, days in short]
    notes = await opened.view.locator(f"{trend} .partial-note").all_inner_texts()
    assert notes == [
        f"Dashed: a partial week, {_day(start)}\u00a0–\u00a0"
        f"{_day(start + timedelta(days=days - 1), year=True)} ({days} of 7\u00a0days)."
        for start, days in short
    ]


def _explain_call(opened: Opened, category: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The last explain_score call the page made for ``category`` (a click's)."""
    calls = [
        (a, r) for a, r in opened.bridge.tool_calls("explain_score") if a["category"] == category
    ]
    assert calls, f"no explain_score call for {category}"
    return calls[-1]


def _shown(value: float | None) -> str:
    return "–" if value is None else number(value)


def _day(moment: datetime, *, year: bool = False) -> str:
    """``Nov 7`` / ``Dec 6, 2026``: the page's dates, written out here."""
    return f"{moment:%b} {moment.day}" + (f", {moment.year}" if year else "")


def _range(start: str, end: str) -> str:
    """A period as the page must show it: its first and its last day (``end`` is exclusive)."""
    first, last = _when(start), _when(end) - timedelta(milliseconds=1)
    return f"{_day(first)}\u00a0–\u00a0{_day(last, year=True)}"


OVER: dict[str, str] = {
    "deploymentFailureRate": "deployment",
    "leadTime": "deployed pull request",
    "impactSize": "flag change",
    "experimentationCoverage": "flag change",
}
"""Each card's ratio or mean metric and what it is computed over."""


@pytest.mark.parametrize("empty_metrics", EMPTY_METRICS)
async def test_a_card_over_nothing_says_no_data_in_this_period(empty_metrics: str) -> None:
    """Score periods ending today over data that ends 100 days ago: whatever the charts'
    metrics say of a ratio over nothing, its card, the Why panel and a chart say there is
    no value; deployments per day stay a value, 0."""
    assert CHROMIUM is not None
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    midnight = int(today.timestamp() * 1000)
    emulator = Emulator(DEMO_TOKEN, midnight - 100 * DAY_MS, clock=lambda: midnight + 60_000)
    emulator.insights.period_alignment = "midnight"
    emulator.charts.empty_metrics = empty_metrics
    async with browser_host(CHROMIUM, emulator) as host:
        opened = await host.open("get_insight_scores", SCOPE)
        await host.all_trends_drawn(opened)
        for category, what in OVER.items():
            line = f'.cat[data-category="{category}"] .trend .metric'
            assert await opened.text(line) == f"No data in this period: no {what}.", category
        frequency = '.cat[data-category="deploymentFrequency"] .trend .metric'
        assert await opened.text(f"{frequency} .amount") == "0"
        await opened.screenshot(f"cards-over-nothing-{empty_metrics}")

        await opened.view.click('.cat[data-category="leadTime"] .head button')
        await opened.view.wait_for_selector('#explain[data-state="done"]')
        (_, result) = _explain_call(opened, "leadTime")
        (leaf,) = result["structuredContent"]["explained"]
        assert leaf["metric_value"] is None
        shown = await opened.text('#explain .leaf[data-category="leadTime"] .metric')
        assert shown == leaf["metric"]
        assert shown == "lead time: no value (no deployed pull request in this period)"

        chart = await host.open("get_insight_chart", {**SCOPE, "kind": "lead_time", "days": 30})
        assert chart.result["structuredContent"]["metrics"] == []
        assert await chart.text('.metric[data-name="leadTime"]') == (
            "Lead time: no value (no deployed pull request in this window)"
        )


async def test_failed_deployments_card_counts_every_failed_deployment_of_the_period(
    host: Host,
) -> None:
    opened = await host.open("get_insight_scores", SCOPE)
    await host.all_trends_drawn(opened)
    (_, result), *_ = opened.bridge.tool_calls("list_deployments")
    listed = result["structuredContent"]
    assert listed["next_cursor"] is None
    assert {d["status"] for d in listed["deployments"]} == {"failed"}
    values = await opened.view.locator(
        '.cat[data-category="deploymentFailureRate"] .bars .col'
    ).evaluate_all("cs => cs.map(c => Number(c.dataset.value))")
    assert sum(values) == listed["total_count"] > 0


@pytest.mark.parametrize("category", ["leadTime", "overall", "deploymentFailureRate"])
async def test_clicking_a_category_draws_explain_scores_structured_answer(
    host: Host, category: str
) -> None:
    opened = await host.open("get_insight_scores", SCOPE)
    await host.all_trends_drawn(opened)
    target = (
        f'#tiles [data-category="{category}"]'
        if category in TOP
        else f'.cat[data-category="{category}"] .head button'
    )
    await opened.view.click(target)
    await opened.view.wait_for_selector('#explain[data-state="done"]')
    (arguments, result) = _explain_call(opened, category)
    assert arguments == {"category": category, **SCOPE}
    data = result["structuredContent"]
    panel = "#explain"
    assert await opened.text(f"{panel} h2") == f"Why {TITLES[category]}"
    head = f'{panel} .explain-body > .score-line[data-category="{category}"]'
    assert await opened.text(f"{head} strong") == f"{TITLES[category]} {data['category']['score']}"
    assert data["explained"], "nothing explained"
    for leaf in data["explained"]:
        box = f'{panel} .leaf[data-category="{leaf["category"]}"]'
        measure = leaf["metric_value"]["stated"]
        assert await opened.text(f"{box} .metric .amount") == with_unit(
            measure["value"], measure["unit"]
        )
        assert await opened.text(f"{box} .driver") == leaf["driver"]
        items = await opened.view.locator(f"{box} .evidence li .text").all_inner_texts()
        assert items == [e["text"] for e in leaf["evidence"]]
        card = f'.cat[data-category="{leaf["category"]}"] .trend .metric .amount'
        assert await opened.text(card) == await opened.text(f"{box} .metric .amount"), (
            "one rounding for the same value on the card and in the panel"
        )
    linked = [e for leaf in data["explained"] for e in leaf["evidence"] if e["url"]]
    if linked:  # evidence with a URL opens through the host (ui/open-link)
        await opened.view.locator(f"{panel} .evidence li button.link").first.click()
        await opened.page.wait_for_function("window.hostState.links.length > 0")
        assert (await opened.host_state())["links"] == [linked[0]["url"]]
    shown = await opened.text(panel)
    assert "(cached" not in shown
    assert "Calls (" not in shown
    assert await opened.view.locator(f"{panel} pre").count() == 0
    await opened.screenshot(f"explain-{category}")


async def test_a_category_explain_score_refuses_shows_a_readable_message(host: Host) -> None:
    """creationRatio: explained when explain_score takes it, else its refusal, readable."""
    opened = await host.open("get_insight_scores", SCOPE)
    await opened.view.click('.cat[data-category="creationRatio"] .head button')
    await opened.view.wait_for_selector('#explain:is([data-state="done"], [data-state="error"])')
    (arguments, result) = _explain_call(opened, "creationRatio")
    assert arguments == {"category": "creationRatio", **SCOPE}
    state = await opened.view.locator("#explain").get_attribute("data-state")
    if "creationRatio" in EXPLAINABLE:
        assert state == "done"
        return
    assert state == "error"
    assert result["isError"] is True
    lines = await opened.view.locator("#explain .explain-body p").all_inner_texts()
    assert lines[0] == "explain_score could not explain Flag creation ratio:"
    error = [line for line in result["content"][0]["text"].splitlines() if line.strip()]
    assert lines[1:] == error
    await opened.screenshot("explain-refused")


async def test_digest_table_keeps_the_rank_order_and_resorts_on_header_click(host: Host) -> None:
    opened = await host.open("insights_digest", {})
    digest = opened.result["structuredContent"]
    groups = digest["groups"]
    rows = opened.view.locator("#groups tbody tr")

    async def order() -> list[str]:
        return [k for k in await rows.evaluate_all("rs => rs.map(r => r.dataset.key)")]

    assert await order() == [g["key"] for g in groups]
    for band, count in digest["band_counts"].items():
        tile = f'#band-counts [data-band="{band}"]'
        assert await opened.text(f"{tile} .score") == str(count)
        assert await opened.text(f"{tile} .name") == band_label(band)
    legend = await _legend_colours(opened)
    for i, group in enumerate(groups):
        badge = f"#groups tbody tr:nth-child({i + 1}) .badge"
        assert await _style(opened, badge, "border-top-color") == legend[group["indicator"]]
        weakest = f"#groups tbody tr:nth-child({i + 1}) button.link"
        if group["weakest"]:
            assert (await opened.text(weakest)).startswith(TITLES[group["weakest"]])

    def by(key: str, descending: bool) -> list[str]:
        present = [g for g in groups if g[key] is not None]
        missing = [g for g in groups if g[key] is None]
        present.sort(key=lambda g: ((-g[key] if descending else g[key]), g["rank"]))
        return [g["key"] for g in present + missing]

    header = opened.view.locator("#groups th")
    await header.filter(has_text="Change").locator("button").click()
    assert await order() == by("change", descending=True)
    assert await header.filter(has_text="Change").get_attribute("aria-sort") == "descending"
    await opened.screenshot("digest-by-change")
    await header.filter(has_text="Change").locator("button").click()
    assert await order() == by("change", descending=False)
    await header.filter(has_text="Weakest").locator("button").click()
    assert await order() == by("weakest_score", descending=True)
    await header.filter(has_text="#").locator("button").click()
    assert await order() == [g["key"] for g in groups]

    first = groups[0]
    await opened.view.locator(f'#groups tr[data-key="{first["key"]}"] button.link').click()
    await opened.view.wait_for_selector('#explain[data-state="done"]')
    ((arguments, result),) = opened.bridge.tool_calls("explain_score")
    assert arguments == {"category": first["weakest"], "group_key": first["key"]}
    (leaf,) = result["structuredContent"]["explained"]
    assert await opened.text("#explain .leaf .driver") == leaf["driver"]
    await opened.screenshot("digest-explain")


async def test_theme_changes_from_the_host_apply_and_stay_readable(host: Host) -> None:
    light = await host.open("get_insight_scores", SCOPE)
    light_colours = await _legend_colours(light)
    opened = await host.open("get_insight_scores", SCOPE, theme="dark")
    assert await opened.view.evaluate("document.documentElement.dataset.theme") == "dark"
    background = await _style(opened, "body", "background-color")
    text = await _style(opened, "body", "color")
    assert luminance(background) < 0.05 < 0.6 < luminance(text)
    dark_colours = await _legend_colours(opened)
    assert dark_colours != light_colours
    scores = _scores(opened)
    for name in TOP:
        band = scores[name]["indicator"]
        tile = f'#tiles [data-category="{name}"]'
        assert await _style(opened, tile, "border-top-color") == dark_colours[band]
    for theme, page in (("light", light), ("dark", opened)):
        for badge in await page.view.locator(".badge").all():
            colours = await badge.evaluate(INK_ON_BACKGROUND)
            assert contrast(*colours) >= 4.5, (theme, await badge.inner_text(), colours)
    await opened.screenshot("scores-dark")
    await opened.page.evaluate("window.setTheme('light')")  # AppBridge.setHostContext
    await expect(opened.view.locator("html")).to_have_attribute("data-theme", "light")
    assert luminance(await _style(opened, "body", "background-color")) > 0.9
    await opened.page.evaluate("window.setTheme('dark')")
    await expect(opened.view.locator("html")).to_have_attribute("data-theme", "dark")


async def test_not_calculated_and_unknown_look_unlike_each_other_and_every_band(
    host: Host,
) -> None:
    scope = {"project_key": "data-platform", "environment_key": "production"}
    for theme in ("light", "dark"):
        opened = await host.open("get_insight_scores", scope, theme=theme)
        scores = _scores(opened)
        missing = [n for n, s in scores.items() if s["indicator"] == "notCalculated"]
        assert missing, "the demo scope has no notCalculated category"
        for name in missing:
            card = f'.cat[data-category="{name}"]'
            assert await opened.text(f"{card} .value") == "–"
            assert await opened.text(f"{card} .badge") == "Not calculated"
        swatch = '.legend [data-band="{}"] .swatch'
        looks = {}
        for band in [b.indicator for b in BANDS] + list(SPECIAL_INDICATORS):
            looks[band] = await opened.view.locator(swatch.format(band)).evaluate(
                "e => { const s = getComputedStyle(e);"
                " return [s.backgroundColor, s.borderTopColor, s.borderTopStyle].join(' '); }"
            )
        assert len(set(looks.values())) == len(looks), looks
        nc = await _style(opened, swatch.format("notCalculated"), "border-top-style")
        unknown = await _style(opened, swatch.format("unknown"), "border-top-style")
        assert (nc, unknown) == ("dashed", "solid")
        page = await _style(opened, "body", "background-color")
        for indicator in SPECIAL_INDICATORS:  # non-text contrast: 3:1 against the page
            edge = await _style(opened, swatch.format(indicator), "border-top-color")
            assert contrast(edge, page) >= 3, (theme, indicator, edge)
        for badge in await opened.view.locator('.badge[data-indicator="notCalculated"]').all():
            colours = await badge.evaluate(INK_ON_BACKGROUND)
            assert contrast(*colours) >= 4.5, (theme, colours)
        await opened.screenshot(f"not-calculated-{theme}")


@pytest.mark.parametrize("tool", ["get_insight_scores", "insights_digest"])
async def test_readable_at_400_px_without_words_split(host: Host, tool: str) -> None:
    arguments = SCOPE if tool == "get_insight_scores" else {}
    opened = await host.open(tool, arguments, width=400)
    if tool == "get_insight_scores":
        await host.all_trends_drawn(opened)
    width = await opened.view.evaluate("document.documentElement.clientWidth")
    assert width == 400
    assert await opened.view.evaluate("document.documentElement.scrollWidth") <= width
    for box in await opened.view.locator(".tile, .cat, #groups").all():
        bounds = await box.bounding_box()
        assert bounds is not None
        assert bounds["width"] <= width
    smallest = await opened.view.evaluate(
        "Math.min(...[...document.querySelectorAll('body *')].filter(e => e.childNodes.length"
        " && [...e.childNodes].some(n => n.nodeType === 3 && n.textContent.trim()))"
        ".map(e => parseFloat(getComputedStyle(e).fontSize)))"
    )
    assert smallest >= 11
    assert await opened.view.evaluate(BROKEN_WORDS) == []
    if tool == "get_insight_scores":
        await opened.view.click('#tiles [data-category="overall"]')
        await opened.view.wait_for_selector('#explain[data-state="done"]')
        assert await opened.view.evaluate(BROKEN_WORDS) == []
    await opened.screenshot(f"narrow-{tool}")


async def test_a_narrower_host_reflows_the_view_and_gets_its_new_height(host: Host) -> None:
    opened = await host.open("get_insight_scores", SCOPE)
    await host.all_trends_drawn(opened)
    wide = (await opened.host_state())["sizes"][-1]
    await opened.page.evaluate("window.setWidth(400)")  # and containerDimensions
    await expect(opened.page.locator("iframe#view")).not_to_have_css(
        "height", f"{wide['height']}px"
    )
    await opened.view.wait_for_function("document.documentElement.clientWidth === 400")
    narrow = (await opened.host_state())["sizes"][-1]
    assert narrow["width"] == 400
    assert narrow["height"] > wide["height"]
    document_height = await opened.view.evaluate(
        "Math.ceil(document.documentElement.getBoundingClientRect().height)"
    )
    assert narrow["height"] == document_height
    await expect(opened.page.locator("iframe#view")).to_have_css("height", f"{document_height}px")
    assert await opened.view.evaluate(BROKEN_WORDS) == []


async def test_the_view_loads_nothing_and_its_csp_is_enforced(host: Host) -> None:
    opened = await host.open("get_insight_scores", SCOPE)
    await host.all_trends_drawn(opened)
    assert opened.bridge.refused == []
    assert await opened.violations() == []
    fetched, violated = await opened.view.evaluate(
        """() => {
          const violation = new Promise(resolve => document.addEventListener(
            'securitypolicyviolation', e => resolve(e.effectiveDirective), {once: true}));
          const fetched = fetch('http://elsewhere.test/x').then(() => 'fetched', () => 'blocked');
          return Promise.all([fetched, violation]);
        }"""
    )
    assert (fetched, violated) == ("blocked", "connect-src")
    assert opened.bridge.refused == []


async def test_a_chart_result_renders_each_series(host: Host) -> None:
    arguments = {**SCOPE, "kind": "lead_time", "points": True}
    opened = await host.open("get_insight_chart", arguments)
    chart = opened.result["structuredContent"]
    cards = opened.view.locator(".cat[data-series]")
    assert await cards.evaluate_all("cs => cs.map(c => c.dataset.series)") == [
        s["name"] for s in chart["series"]
    ]
    assert await opened.text("h1") == "Lead time demo data"
    for metric in chart["metrics"]:
        line = f'.metric[data-name="{metric["name"]}"]'
        assert (await opened.text(f"{line} strong")).startswith(TITLES[metric["name"]])
        assert await opened.text(f"{line} .amount") == with_unit(metric["value"], metric["unit"])
        assert await opened.text(f"{line} .badge") == band_label(metric["indicator"])
    await opened.screenshot("chart-lead-time")


TIES = [0.125, 0.375, 0.625, 0.875, 2.5, 1.005, 2.675, 10.25, 10.75, 99.95, 99.995, 9.995]
"""Values on or near a rounding tie: Python rounds the exact binary value, a tie to even."""


async def test_the_page_rounds_every_number_as_the_server_does(host: Host) -> None:
    """One rounding: the page's number rule is analysis/units.number, over many values (every
    magnitude, ties, negatives, whole numbers, past a quadrillion)."""
    chance = random.Random(17)
    values = [0.0, -0.0, 1.0, 0.33, 141.47, 1e15, 1.125e15, 1.5e15, 9.995e17, 123456789.0]
    values += TIES + [-v for v in TIES] + [v / 3_600_000 for v in (36_900_000, 531_000)]
    for _ in range(3000):
        size = 10 ** chance.uniform(-4, 18)
        value = chance.choice([size, round(size, chance.randint(0, 4)), float(int(size))])
        values.append(value if chance.random() < 0.9 else -value)
    opened = await host.open("get_insight_scores", SCOPE)
    shown = await opened.view.evaluate("vs => vs.map(v => window.ldInsightsNumber(v))", values)
    wrong = [(v, s, number(v)) for v, s in zip(values, shown, strict=True) if s != number(v)]
    assert wrong == []


async def test_periods_show_their_last_day_not_the_exclusive_end(host: Host) -> None:
    opened = await host.open("get_insight_scores", SCOPE)
    data = opened.result["structuredContent"]
    ranges = await opened.view.locator("#app > .small .range").all_inner_texts()
    assert ranges == [
        _range(data["period"]["start"], data["period"]["end"]),
        _range(data["last_period"]["start"], data["last_period"]["end"]),
    ]
    assert _when(data["period"]["end"]) - _when(data["period"]["start"]) == timedelta(days=30)
    await opened.view.click('#tiles [data-category="velocity"]')
    await opened.view.wait_for_selector('#explain[data-state="done"]')
    explained = await opened.view.locator("#explain .explain-body > p .range").all_inner_texts()
    assert explained == ranges
    digest = await host.open("insights_digest", {})
    period = digest.result["structuredContent"]["period"]
    assert await digest.text("#app > .small .range") == _range(period["start"], period["end"])
    chart = await host.open("get_insight_chart", {**SCOPE, "kind": "lead_time", "days": 30})
    window = chart.result["structuredContent"]
    assert await chart.text("#app > .small .range") == _range(
        window["window_from"], window["window_to"]
    )


async def test_a_period_ending_mid_day_shows_that_day_as_its_last() -> None:
    """LaunchDarkly may end a score period at the moment it answers (period_alignment "now"):
    a period ending at 14:30Z today has today as its last day, not yesterday."""
    assert CHROMIUM is not None
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    midnight = int(today.timestamp() * 1000)
    end = midnight + 14 * 3_600_000 + 30 * 60_000
    emulator = Emulator(DEMO_TOKEN, midnight, clock=lambda: end)
    emulator.insights.period_alignment = "now"
    async with browser_host(CHROMIUM, emulator) as host:
        opened = await host.open("get_insight_scores", SCOPE)
        ranges = await opened.view.locator("#app > .small .range").all_inner_texts()
    start = today - timedelta(days=30)
    assert ranges[0] == f"{_day(start)}\u00a0–\u00a0{_day(today, year=True)}"


@pytest.mark.parametrize("category", ["overall", "velocity", "risk"])
async def test_a_composite_shows_its_driver_then_its_weakest_parts(
    host: Host, category: str
) -> None:
    """The part explain_score names as the driver (and the base category within it), the
    move against it, and which explained parts are the driver's and which the weakest."""
    opened = await host.open("get_insight_scores", SCOPE)
    await opened.view.click(f'#tiles [data-category="{category}"]')
    await opened.view.wait_for_selector('#explain[data-state="done"]')
    (_, result) = _explain_call(opened, category)
    data = result["structuredContent"]
    parts = {p["category"]: p for p in data["parts"]}
    leaves = {leaf["category"]: leaf for leaf in data["explained"]}
    driven = data["driven_by"]
    facts = "#explain .composite-driver"
    driver = f"{facts} dd.driver"

    def moved(score: dict[str, Any]) -> str:
        return (
            f"{TITLES[score['category']]} {score['last_period_score']}\u00a0→\u00a0{score['score']}"
        )

    if driven["part"] is None:
        assert driven["direction"] == "unchanged"
        assert await opened.text(driver) == "none: the score did not change"
    else:
        better = {"improved": "better", "worsened": "worse"}[driven["direction"]]
        expected = f"{moved(parts[driven['part']])} ({better})"
        if driven["leaf"] != driven["part"]:
            expected += f", within it {moved(leaves[driven['leaf']])}"
        assert await opened.text(driver) == expected
        assert await opened.view.locator(driver).get_attribute("data-part") == driven["part"]
        counter = opened.view.locator(f"{facts} dd.counter")
        if driven["counter"]:
            assert await counter.inner_text() == moved(parts[driven["counter"]])
        else:
            assert await counter.count() == 0
    roles = await opened.view.locator("#explain .leaf").evaluate_all(
        "ls => ls.map(l => [l.dataset.category, l.dataset.role])"
    )
    first = driven["leaf"] if driven["part"] else None
    assert roles == [
        [leaf["category"], "driver" if leaf["category"] == first else "weakest"]
        for leaf in data["explained"]
    ]
    labels = await opened.view.locator("#explain p.role").all_inner_texts()
    weakest = "Its weakest other parts" if first else "Its weakest parts"
    assert labels == (["What drove it, explained:"] if first else []) + (
        [f"{weakest}, explained:"] if len(data["explained"]) > (1 if first else 0) else []
    )
    assert "Its weakest parts, explained:" not in labels or not first
    await opened.screenshot(f"explain-composite-{category}")


async def test_explain_scores_caveat_is_shown_in_the_why_panel(host: Host) -> None:
    """A note explain_score adds to a category (here: its score and metric moved opposite
    ways) reaches the panel, as the structured content says it."""
    opened = await host.open("insights_digest", {})
    caveats = {}
    for group in opened.result["structuredContent"]["groups"]:
        if not group["weakest"]:
            continue
        answer = await host.client.call_tool(
            "explain_score", {"group_key": group["key"], "category": group["weakest"]}
        )
        (leaf,) = answer.structured_content["explained"]
        if leaf["caveat"]:
            caveats[group["key"]] = leaf
    assert caveats, "no demo group's weakest category carries a caveat"
    key, leaf = next(iter(caveats.items()))
    await opened.view.locator(f'#groups tr[data-key="{key}"] button.link').click()
    await opened.view.wait_for_selector('#explain[data-state="done"]')
    box = f'#explain .leaf[data-category="{leaf["category"]}"]'
    assert await opened.text(f"{box} dd.caveat") == leaf["caveat"]
    await opened.screenshot("explain-caveat")
