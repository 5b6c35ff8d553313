"""Building the dashboard page: the HTML, CSS and script files of this folder in one
self-contained document, with the contract's vocabulary (bands, score tree, chart plan)
passed in as data and a Content-Security-Policy that allows nothing but that document.

Hosts without MCP Apps ignore all of this: every tool's text stays complete.
"""

from __future__ import annotations

import base64
import hashlib
import json
from functools import cache
from importlib.resources import files
from typing import Any

from mcp.server.apps import Apps, ResourceCsp

from ..analysis.categories import EXPLAINABLE, PARTS
from ..launchdarkly.vocabulary import BANDS, SPECIAL_INDICATORS

DASHBOARD_URI = "ui://ld-insights/dashboard.html"
"""The one view the score, digest and chart tools render in."""

DASHBOARD_META: dict[str, Any] = {"ui": {"resourceUri": DASHBOARD_URI}}
"""A tool's ``_meta`` linking it to the dashboard (the MCP Apps ``_meta.ui`` entry)."""

NO_DOMAINS = ResourceCsp(connect_domains=[], resource_domains=[], frame_domains=[])
"""The page loads nothing from anywhere: no connections, no external resources, no frames."""

CHART_PLAN: dict[str, dict[str, Any]] = {
    "deploymentFrequency": {
        "call": {"kind": "deployment_frequency"},
        "series": None,
        "label": "deployments",
    },
    "deploymentFailureRate": {
        "call": {"kind": "deployment_frequency"},
        "series": None,
        "label": "deployments",
    },
    "leadTime": {
        "call": {"kind": "lead_time", "group_by": "stage"},
        "series": None,
        "label": "lead time (all stages)",
    },
    "impactSize": {
        "call": {"kind": "release_frequency", "group_by": "impact"},
        "series": "large",
        "label": "large-impact flag changes",
    },
    "experimentationCoverage": {
        "call": {"kind": "release_frequency", "group_by": "impact"},
        "series": None,
        "label": "flag changes",
    },
    "flagHealth": {"call": {"kind": "stale_flags"}, "series": "stale", "label": "stale flags"},
}
"""Which get_insight_chart call draws each category's trend, and which series (None: the sum
of all series, e.g. the lead-time stages). Each chart's metrics carry the category's raw value."""

PLACEHOLDERS = ("{{CSP}}", "{{STYLE}}", "{{CONFIG}}", "{{SCRIPT}}")


def page_config() -> dict[str, Any]:
    """What the page needs to know of the contract, from the modules that define it."""
    return {
        "bands": [{"indicator": b.indicator, "low": b.low, "high": b.high} for b in BANDS],
        "special": list(SPECIAL_INDICATORS),
        "parts": {name: list(parts) for name, parts in PARTS.items()},
        "explainable": list(EXPLAINABLE),
        "charts": CHART_PLAN,
        "tools": {"explain": "explain_score", "chart": "get_insight_chart"},
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
    config = json.dumps(page_config(), separators=(",", ":")).replace("<", "\\u003c")
    csp = "; ".join(
        [
            "default-src 'none'",
            f"script-src {_sha256(script)}",
            f"style-src {_sha256(style)}",
            "img-src data:",
            "connect-src 'none'",
            "frame-src 'none'",
            "object-src 'none'",
            "base-uri 'none'",
            "form-action 'none'",
        ]
    )
    for placeholder in PLACEHOLDERS:
        if template.count(placeholder) != 1:
            raise ValueError(f"dashboard.html must hold {placeholder} exactly once")
    return (
        template.replace("{{CSP}}", csp)
        .replace("{{STYLE}}", style)
        .replace("{{CONFIG}}", config)
        .replace("{{SCRIPT}}", script)
    )


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
