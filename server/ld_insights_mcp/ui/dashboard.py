"""The dashboard page: this folder's HTML, CSS and script in one document, the contract's
vocabulary passed in as data, and a Content-Security-Policy that allows nothing else (hosts
without MCP Apps ignore it: every tool's text stays complete).
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
from functools import cache
from importlib.resources import files
from typing import Any

from mcp.server.apps import Apps, ResourceCsp

from ld_insights_mcp.analysis.categories import PARTS
from ld_insights_mcp.knowledge import load_knowledge
from ld_insights_mcp.launchdarkly.vocabulary import BANDS, SPECIAL_INDICATORS

DASHBOARD_URI = "ui://ld-insights/dashboard.html"
"""The one view the score, digest and chart tools render in."""

DASHBOARD_META: dict[str, Any] = {"ui": {"resourceUri": DASHBOARD_URI}}
"""A tool's ``_meta`` linking it to the dashboard (the MCP Apps ``_meta.ui`` entry)."""

NO_DOMAINS = ResourceCsp(connect_domains=[], resource_domains=[], frame_domains=[])
"""The page loads nothing from anywhere: no connections, no external resources, no frames."""

CHART_PLAN: dict[str, dict[str, Any]] = {
    "deploymentFrequency": {"label": "Deployments", "chart": {"kind": "deployment_frequency"}},
    "deploymentFailureRate": {
        "label": "Failed deployments",
        "deployments": {"status": "failed"},
        "metric": {"kind": "deployment_frequency"},
    },
    "leadTime": {
        "label": "Lead time (stage averages summed)",
        "chart": {"kind": "lead_time", "group_by": "stage"},
    },
    "impactSize": {
        "label": "Large-impact flag changes",
        "chart": {"kind": "release_frequency", "group_by": "impact"},
        "series": "large",
    },
    "experimentationCoverage": {
        "label": "Flag changes with an experiment",
        "chart": {"kind": "release_frequency", "has_experiments": True},
        "metric": {"kind": "release_frequency", "group_by": "impact"},
    },
    "flagHealth": {"label": "Stale flags", "chart": {"kind": "stale_flags"}, "snapshot": True},
    "creationRatio": {
        "label": "Flags created per flag archived",
        "explained": True,
        "source": "Counted from flag events by explain_score: LaunchDarkly charts neither this "
        "ratio nor its raw value.",
    },
}
"""What each category's card draws, over the scores' period:

- ``chart``: the get_insight_chart arguments whose series (all summed, or only ``series``)
  are the card's bars; ``deployments``: the list_deployments filters whose items are counted
  per bucket instead;
- ``metric``: the get_insight_chart arguments whose ``metrics`` carry the category's raw value
  (default: ``chart``). A filtered chart's metrics describe the filtered events only, so the
  filtered ones name their unfiltered chart here;
- ``snapshot``: the chart is a current snapshot (no window, no buckets);
- ``explained``: no chart exists; the card draws the metric explain_score counts (this period
  against the last), ``source`` says where it comes from.
"""

SPECIAL_GLYPHS = {"notCalculated": "–", "unknown": "?"}
"""What a tile shows in place of the score of a special indicator."""

PLACEHOLDERS = ("{{CSP}}", "{{STYLE}}", "{{CONFIG}}", "{{SCRIPT}}")


def sentence_case(key: str) -> str:
    """``needsAttention`` -> ``Needs attention``."""
    return re.sub(r"(?<!^)(?=[A-Z])", " ", key).lower().capitalize()


def page_config() -> dict[str, Any]:
    """The names and ranges the page shows, from the contract and the knowledge file."""
    knowledge = load_knowledge()
    meanings = {i.key: i.meaning for i in knowledge.indicators}
    meanings |= {s.key: s.meaning for s in knowledge.special_indicators}
    return {
        "bands": [
            {
                "indicator": b.indicator,
                "label": sentence_case(b.indicator),
                "low": b.low,
                "high": b.high,
                "meaning": meanings[b.indicator],
            }
            for b in BANDS
        ],
        "special": [
            {
                "indicator": s,
                "label": sentence_case(s),
                "glyph": SPECIAL_GLYPHS[s],
                "meaning": meanings[s],
            }
            for s in SPECIAL_INDICATORS
        ],
        "titles": {c.key: c.title for c in knowledge.categories},
        "parts": {name: list(parts) for name, parts in PARTS.items()},
        "charts": CHART_PLAN,
        "tools": {
            "explain": "explain_score",
            "chart": "get_insight_chart",
            "deployments": "list_deployments",
        },
    }


def _sha256(text: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(text.encode()).digest()).decode() + "'"


@cache
def dashboard_html() -> str:
    """The whole page, built once per process."""
    folder = files(__package__)
    template = (folder / "dashboard.html").read_text(encoding="utf-8")
    style = (folder / "dashboard.css").read_text(encoding="utf-8")
    script = (folder / "dashboard.js").read_text(encoding="utf-8")
    for name, text in (("dashboard.css", style), ("dashboard.js", script)):
        if "</" in text:
            raise ValueError(f"{name} must not contain '</' (it is inlined into the page)")
    config = json.dumps(page_config(), separators=(",", ":"), ensure_ascii=False)
    config = config.replace("<", "\\u003c")
    csp = (
        f"default-src 'none'; script-src {_sha256(script)}; style-src {_sha256(style)}; "
        "img-src data:; connect-src 'none'; frame-src 'none'; object-src 'none'; "
        "base-uri 'none'; form-action 'none'"
    )
    for placeholder in PLACEHOLDERS:
        if template.count(placeholder) != 1:
            raise ValueError(f"dashboard.html must hold {placeholder} exactly once")
    for placeholder, text in zip(PLACEHOLDERS, (csp, style, config, script), strict=True):
        template = template.replace(placeholder, text)
    return template


def dashboard_apps() -> Apps:
    """The MCP Apps extension carrying the dashboard resource (tools link it by ``_meta``)."""
    apps = Apps()
    apps.add_html_resource(
        DASHBOARD_URI,
        dashboard_html(),
        name="dashboard",
        title="Engineering health dashboard",
        description="Score tiles by band, per-category trends, sortable group table.",
        csp=NO_DOMAINS,
        prefers_border=True,
    )
    return apps
