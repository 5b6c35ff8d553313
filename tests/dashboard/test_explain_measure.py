"""explain_score gives the dashboard the raw metric as numbers (``metric_value.stated``), so
the card and the "Why" panel round one value once: it is the metric get_insight_chart reports
for the same category over the scores' period."""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, timedelta
from typing import Any

import pytest
from mcp import Client

from ld_insights_mcp.ui.dashboard import CHART_PLAN

pytestmark = pytest.mark.anyio
STATED = (
    "deploymentFrequency",
    "deploymentFailureRate",
    "leadTime",
    "impactSize",
    "experimentationCoverage",
    "flagHealth",
)
"""The categories whose charts state their raw metric (``expand=metrics``)."""
SCOPES = [
    {"project_key": project, "environment_key": "production"}
    for project in ("checkout-web", "mobile-app", "data-platform")
]


@pytest.mark.parametrize("scope", SCOPES, ids=lambda s: s["project_key"])
async def test_explain_scores_measure_is_the_charts_metric_for_the_period(
    server_factory: Callable[..., Any], scope: dict[str, str]
) -> None:
    async with Client(server_factory()) as client:
        scores = (await client.call_tool("get_insight_scores", scope)).structured_content
        assert scores is not None
        period = scores["period"]
        last_day = date.fromisoformat(period["end"]) - timedelta(days=1)
        for category in STATED:
            explained = await client.call_tool("explain_score", {"category": category, **scope})
            assert explained.structured_content is not None
            (leaf,) = explained.structured_content["explained"]
            plan = CHART_PLAN[category]
            arguments = {**scope, **plan.get("metric", plan.get("chart", {}))}
            if not plan.get("snapshot"):
                arguments |= {"from_date": period["start"], "to_date": last_day.isoformat()}
            chart = (await client.call_tool("get_insight_chart", arguments)).structured_content
            assert chart is not None
            metrics = {m["name"]: m for m in chart["metrics"]}
            assert leaf["metric_value"]["stated"] == metrics.get(category), category
