"""The dashboard resource without a browser: linked from the three tools, served as an MCP App
with a CSP that allows nothing outside the page, built from the vocabulary, self-contained."""

from __future__ import annotations

import base64
import hashlib
import json
import re
from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client

from ld_insights_mcp.analysis.categories import PARTS
from ld_insights_mcp.knowledge import load_knowledge
from ld_insights_mcp.launchdarkly.vocabulary import BANDS, SPECIAL_INDICATORS
from ld_insights_mcp.ui import DASHBOARD_URI

pytestmark = pytest.mark.anyio
LINKED = {"get_insight_scores", "insights_digest", "get_insight_chart"}


async def test_three_tools_link_the_dashboard_resource(
    server_factory: Callable[..., Any],
) -> None:
    async with Client(server_factory(read_only=True)) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        listed = {str(r.uri): r for r in (await client.list_resources()).resources}
        read = await client.read_resource(DASHBOARD_URI)
    linked = {name for name, t in tools.items() if t.meta and "ui" in t.meta}
    assert linked == LINKED
    for name in LINKED:
        assert tools[name].meta == {"ui": {"resourceUri": DASHBOARD_URI}}
    (item,) = read.contents
    assert item.mime_type == "text/html;profile=mcp-app"
    assert listed[DASHBOARD_URI].mime_type == "text/html;profile=mcp-app"
    csp = {"connectDomains": [], "resourceDomains": [], "frameDomains": []}
    assert (item.meta or {})["ui"]["csp"] == csp
    assert (listed[DASHBOARD_URI].meta or {})["ui"]["csp"] == csp


async def test_tool_text_is_complete_without_apps(server_factory: Callable[..., Any]) -> None:
    """A host that renders no view reads the same full text: every category with its score."""
    async with Client(server_factory()) as client:
        result = await client.call_tool(
            "get_insight_scores", {"project_key": "checkout-web", "environment_key": "production"}
        )
    (content,) = result.content
    text = getattr(content, "text", "")
    for score in (result.structured_content or {})["scores"]:
        assert f"{score['category']} {score['score']}" in text


async def test_page_is_self_contained_with_the_vocabulary_passed_in(
    server_factory: Callable[..., Any],
) -> None:
    async with Client(server_factory()) as client:
        (item,) = (await client.read_resource(DASHBOARD_URI)).contents
    html = getattr(item, "text", "")
    assert not re.search(r"\b(?:src|href)\s*=", html), "nothing is loaded from elsewhere"
    assert "@import" not in html
    assert "url(" not in html
    assert set(re.findall(r"https?://[^\s\"')]+", html)) <= {"http://www.w3.org/2000/svg"}
    block = re.search(r'id="ld-config">(.*?)</script>', html, re.S)
    assert block is not None
    config = json.loads(block.group(1))
    assert [(b["indicator"], b["low"], b["high"]) for b in config["bands"]] == list(BANDS)
    assert [s["indicator"] for s in config["special"]] == list(SPECIAL_INDICATORS)
    assert config["parts"] == {k: list(v) for k, v in PARTS.items()}
    knowledge = load_knowledge()
    assert config["titles"] == {c.key: c.title for c in knowledge.categories}
    meanings = {i.key: i.meaning for i in knowledge.indicators}
    meanings |= {s.key: s.meaning for s in knowledge.special_indicators}
    for entry in config["bands"] + config["special"]:
        assert entry["meaning"] == meanings[entry["indicator"]]
    (script,) = re.findall(r"<script>(.*?)</script>", html, re.S)
    (style,) = re.findall(r"<style>(.*?)</style>", html, re.S)
    policy = re.search(r'http-equiv="Content-Security-Policy" content="([^"]+)"', html)
    assert policy is not None
    for text, directive in ((script, "script-src"), (style, "style-src")):
        digest = base64.b64encode(hashlib.sha256(text.encode()).digest()).decode()
        assert f"{directive} 'sha256-{digest}'" in policy.group(1)
    assert "default-src 'none'" in policy.group(1)
    assert "connect-src 'none'" in policy.group(1)
    # the vocabulary is data, not restated in the page's code ("overall" is also a field of
    # the digest's rows)
    categories = [name for name in config["titles"] if name != "overall"]
    for name in [b.indicator for b in BANDS] + list(SPECIAL_INDICATORS) + categories:
        assert not re.search(rf"\b{name}\b", script + style), name
    for band in BANDS:
        assert not re.search(rf"\b{band.low}\b\D{{1,3}}\b{band.high}\b", script + style)
