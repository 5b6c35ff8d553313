"""The dashboard as a person sees it, in headless Chromium, inside a test host that runs the
host side of the MCP Apps bridge against the real server on the demo backend.

Screenshots go to tests/dashboard/artifacts/; ``UPDATE_DASHBOARD_SCREENSHOT=1`` also writes
docs/dashboard.png (``make dashboard-screenshot``).
"""

from __future__ import annotations

import os
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import expect

from ld_insights_mcp.analysis.categories import EXPLAINABLE
from ld_insights_mcp.launchdarkly.vocabulary import BANDS, SPECIAL_INDICATORS, band_for
from ld_insights_mcp.ui.dashboard import CHART_PLAN

from .harness import (
    Host,
    Opened,
    browser_host,
    chromium_path,
    contrast,
    luminance,
    text_of,
    without_cache_line,
)

CHROMIUM = chromium_path()
pytestmark = [
    pytest.mark.anyio,
    pytest.mark.skipif(
        CHROMIUM is None,
        reason="no Chromium: install Debian's `chromium` package (or set CHROMIUM_PATH)",
    ),
]
SCOPE = {"project_key": "checkout-web", "environment_key": "production"}
TOP = ("overall", "velocity", "risk", "efficiency")
README_SHOT = Path(__file__).parents[2] / "docs" / "dashboard.png"


@pytest.fixture
async def host() -> AsyncIterator[Host]:
    assert CHROMIUM is not None
    async with browser_host(CHROMIUM) as opened:
        yield opened


async def _style(opened: Opened, selector: str, prop: str) -> str:
    value: str = await opened.view.locator(selector).first.evaluate(
        f"e => getComputedStyle(e).getPropertyValue('{prop}')"
    )
    return value


async def _legend_colours(opened: Opened) -> dict[str, str]:
    colours = {}
    for band in [b.indicator for b in BANDS] + list(SPECIAL_INDICATORS):
        colours[band] = await _style(
            opened, f'.legend [data-band="{band}"] .swatch', "background-color"
        )
    return colours


async def _scores(opened: Opened) -> dict[str, dict[str, Any]]:
    return {s["category"]: s for s in opened.result["structuredContent"]["scores"]}


def _change(score: dict[str, Any]) -> str:
    change = score["change"]
    return f"{change:+d} vs {score['last_period_score']}" if change else "0 vs"


async def test_tiles_show_the_tool_scores_coloured_by_band(host: Host) -> None:
    opened = await host.open("get_insight_scores", SCOPE)
    own = await host.client.call_tool("get_insight_scores", SCOPE)
    scores = await _scores(opened)
    assert {s["category"]: s["score"] for s in own.structured_content["scores"]} == {
        name: s["score"] for name, s in scores.items()
    }
    legend = await _legend_colours(opened)
    assert len(set(legend[b.indicator] for b in BANDS)) == len(BANDS), legend
    legend_text = await opened.text(".legend")
    for band in BANDS:
        assert f"{band.indicator} {band.low}–{band.high}" in legend_text
    for name in TOP:
        tile = f'#tiles [data-category="{name}"]'
        score = scores[name]
        assert await opened.text(f"{tile} .score") == str(score["score"])
        assert await opened.text(f"{tile} .badge") == score["indicator"]
        assert _change(score) in await opened.text(f"{tile} .change")
        band = band_for(score["score"]).indicator
        assert band == score["indicator"]
        assert await _style(opened, tile, "border-top-color") == legend[band], name
        assert await _style(opened, f"{tile} .badge", "background-color") == legend[band]
    for name, score in scores.items():
        if name in TOP:
            continue
        card = f'.cat[data-category="{name}"]'
        assert await opened.text(f"{card} .value") == str(score["score"])
        assert _change(score) in await opened.text(f"{card} .change")
        assert await _style(opened, card, "border-left-color") == legend[score["indicator"]]
    await opened.screenshot("scores-light")
    assert await opened.violations() == []
    assert opened.bridge.refused == []


async def test_each_category_draws_its_trend_from_get_insight_chart(host: Host) -> None:
    opened = await host.open("get_insight_scores", SCOPE)
    await expect(opened.view.locator(".trend", has_text="Loading the trend")).to_have_count(0)
    charts = opened.bridge.tool_calls("get_insight_chart")
    asked = {(a["kind"], a.get("group_by")) for a, _ in charts}
    assert asked == {(p["call"]["kind"], p["call"].get("group_by")) for p in CHART_PLAN.values()}
    assert len(charts) == len(asked), "one call per distinct chart"
    for arguments, _ in charts:
        assert {k: arguments[k] for k in SCOPE} == SCOPE
    for category, plan in CHART_PLAN.items():
        arguments, result = next(
            (a, r)
            for a, r in charts
            if a["kind"] == plan["call"]["kind"]
            and a.get("group_by") == plan["call"].get("group_by")
        )
        chart = result["structuredContent"]
        card = f'.cat[data-category="{category}"] .trend'
        metric = next(m for m in chart["metrics"] if m["name"] == category)
        assert f"{metric['value']:g} {metric['unit']}" in await opened.text(f"{card} .metric")
        if chart["window_from"] is None:
            (series,) = [s for s in chart["series"] if s["name"] == plan["series"]]
            said = f"{series['total']} of {chart['summary']['flags']} flags stale now"
            bar = opened.view.locator(f"{card} .bar")
            assert await bar.get_attribute("aria-label") == said
            continue
        chosen = [s for s in chart["series"] if plan["series"] in (None, s["name"])]
        points = [
            (x, sum(s["points"][i][1] for s in chosen))
            for i, (x, _) in enumerate(chosen[0]["points"])
        ]
        if chart["y_unit"] == "milliseconds":
            points = [p for p in points if p[1] > 0]
        drawn = await opened.view.locator(f"{card} polyline").get_attribute("points")
        assert drawn is not None
        xy = [tuple(float(v) for v in pair.split(",")) for pair in drawn.split()]
        assert len(xy) == len(points), category
        peak = max(points, key=lambda p: p[1])
        highest = min(range(len(xy)), key=lambda i: (xy[i][1], i))
        assert points[highest][1] == peak[1], category
        summary = await opened.view.locator(f"{card} svg").get_attribute("aria-label")
        assert f"on {peak[0][:10]}" in (summary or "")
    assert (
        await opened.text('.cat[data-category="creationRatio"] .trend')
        == "No chart for this category."
    )
    await opened.screenshot("scores-trends")
    if os.environ.get("UPDATE_DASHBOARD_SCREENSHOT") == "1":
        await opened.screenshot("readme", README_SHOT)


@pytest.mark.parametrize("category", ["leadTime", "overall"])
async def test_clicking_a_category_shows_explain_scores_answer(host: Host, category: str) -> None:
    opened = await host.open("get_insight_scores", SCOPE)
    target = (
        f'#tiles [data-category="{category}"]'
        if category in TOP
        else f'.cat[data-category="{category}"] .head button'
    )
    await opened.view.click(target)
    await opened.view.wait_for_selector('#explain[data-state="done"]')
    ((arguments, result),) = opened.bridge.tool_calls("explain_score")
    assert arguments == {"category": category, **SCOPE}
    shown = await opened.text("#explain pre")
    assert shown == text_of(result).strip()
    own = await host.client.call_tool("explain_score", {"category": category, **SCOPE})
    assert without_cache_line(shown) == without_cache_line(text_of(own.model_dump()).strip())
    assert f"{category} {(await _scores(opened))[category]['score']}" in shown
    await opened.screenshot(f"explain-{category}")


async def test_categories_without_an_explanation_are_not_clickable(host: Host) -> None:
    opened = await host.open("get_insight_scores", SCOPE)
    scores = await _scores(opened)
    for name in scores:
        if name in TOP:
            continue
        button = opened.view.locator(f'.cat[data-category="{name}"] .head button')
        assert await button.is_disabled() == (name not in EXPLAINABLE), name


async def test_digest_table_keeps_the_rank_order_and_resorts_on_header_click(host: Host) -> None:
    opened = await host.open("insights_digest", {})
    digest = opened.result["structuredContent"]
    groups = digest["groups"]
    rows = opened.view.locator("#groups tbody tr")

    async def order() -> list[str]:
        return [k for k in await rows.evaluate_all("rs => rs.map(r => r.dataset.key)")]

    assert await order() == [g["key"] for g in groups]
    for band, count in digest["band_counts"].items():
        assert await opened.text(f'#band-counts [data-band="{band}"] .score') == str(count)
    legend = await _legend_colours(opened)
    for i, group in enumerate(groups):
        badge = f"#groups tbody tr:nth-child({i + 1}) .badge"
        assert await _style(opened, badge, "background-color") == legend[group["indicator"]]

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
    assert await opened.text("#explain pre") == text_of(result).strip()
    await opened.screenshot("digest-explain")


async def test_dark_theme_is_applied_and_readable(host: Host) -> None:
    light = await host.open("get_insight_scores", SCOPE)
    light_colours = await _legend_colours(light)
    opened = await host.open("get_insight_scores", SCOPE, theme="dark")
    assert await opened.view.evaluate("document.documentElement.dataset.theme") == "dark"
    background = await _style(opened, "body", "background-color")
    text = await _style(opened, "body", "color")
    assert luminance(background) < 0.05 < 0.6 < luminance(text)
    dark_colours = await _legend_colours(opened)
    assert dark_colours != light_colours
    scores = await _scores(opened)
    for name in TOP:
        band = scores[name]["indicator"]
        tile = f'#tiles [data-category="{name}"]'
        assert await _style(opened, tile, "border-top-color") == dark_colours[band]
    for theme, page in (("light", light), ("dark", opened)):
        for badge in await page.view.locator(".badge").all():
            colours = await badge.evaluate(
                "e => [getComputedStyle(e).color, getComputedStyle(e).backgroundColor]"
            )
            assert contrast(*colours) >= 4.5, (theme, await badge.inner_text(), colours)
    await opened.screenshot("scores-dark")
    await opened.page.evaluate("window.setTheme('light')")
    await expect(opened.view.locator("html")).to_have_attribute("data-theme", "light")
    assert luminance(await _style(opened, "body", "background-color")) > 0.9


@pytest.mark.parametrize("tool", ["get_insight_scores", "insights_digest"])
async def test_readable_at_400_px(host: Host, tool: str) -> None:
    arguments = SCOPE if tool == "get_insight_scores" else {}
    opened = await host.open(tool, arguments, width=400)
    if tool == "get_insight_scores":
        await expect(opened.view.locator(".trend", has_text="Loading the trend")).to_have_count(0)
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
    await opened.screenshot(f"narrow-{tool}")


async def test_the_view_loads_nothing_and_its_csp_is_enforced(host: Host) -> None:
    opened = await host.open("get_insight_scores", SCOPE)
    await expect(opened.view.locator(".trend", has_text="Loading the trend")).to_have_count(0)
    assert opened.bridge.refused == []
    assert await opened.violations() == []
    blocked = await opened.view.evaluate(
        "fetch('http://elsewhere.test/x').then(() => 'fetched', () => 'blocked')"
    )
    assert blocked == "blocked"
    assert any("connect-src" in v for v in await opened.violations())
    assert opened.bridge.refused == []


async def test_a_chart_result_renders_each_series(host: Host) -> None:
    arguments = {**SCOPE, "kind": "lead_time", "points": True}
    opened = await host.open("get_insight_chart", arguments)
    chart = opened.result["structuredContent"]
    cards = opened.view.locator(".cat[data-series]")
    assert await cards.evaluate_all("cs => cs.map(c => c.dataset.series)") == [
        s["name"] for s in chart["series"]
    ]
    for metric in chart["metrics"]:
        line = opened.view.locator(".metric", has_text=metric["name"])
        assert metric["indicator"] in await line.inner_text()
    await opened.screenshot("chart-lead-time")
