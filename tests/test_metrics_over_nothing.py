"""A ratio or mean over nothing has no value, whatever a chart's ``metrics`` say; a rate over an
empty window and a share of zero over something are values. Charts shaped as LaunchDarkly's
contract describes them, for cases the seeded emulator never makes (a scope without flags,
lead-time points without ``values.count``)."""

from __future__ import annotations

from typing import Any

import pytest

from ld_insights_mcp.analysis import drivers
from ld_insights_mcp.analysis.explain import explain_leaf
from ld_insights_mcp.analysis.metrics import reading
from ld_insights_mcp.analysis.reads import DF_LAST, DF_NOW, LT_LAST, LT_NOW, STALE, STATUS
from ld_insights_mcp.launchdarkly.evidence_models import InsightsChart

INDICATORS = ("excellent", "notCalculated", "unknown", None)
"""What the chart's metric says over nothing: a band for 0 (``banded``), a marker, or nothing
(``omitted``)."""


def chart(
    name: str, series: dict[str, list[dict[str, Any]]], metric: str, indicator: str | None
) -> InsightsChart:
    metrics = {}
    if indicator is not None:
        metrics[metric] = {
            "indicator": indicator,
            "value": 0,
            "unit": "percent" if metric != "leadTime" else "hours",
            "modifier": "",
            "tiers": [],
        }
    return InsightsChart.model_validate(
        {
            "metadata": {
                "name": name,
                "summary": {},
                "xAxis": {"unit": "timestamp"},
                "yAxis": {"unit": "count"},
                "metrics": metrics,
            },
            "series": [{"metadata": {"name": k}, "data": v} for k, v in series.items()],
        }
    )


@pytest.mark.parametrize("indicator", INDICATORS)
def test_stale_flags_of_no_flag_have_no_value(indicator: str | None) -> None:
    stale = chart("staleFlags", {"stale": [{"x": 0, "y": 0}]}, "flagHealth", indicator)
    status = chart("flagStatus", {"active": [{"x": 0, "y": 0}]}, "none", None)
    leaf = explain_leaf("flagHealth", None, {STALE: stale, STATUS: status}, (30.0, 30.0))
    assert leaf.reading is not None
    assert leaf.reading.value is None
    assert leaf.metric == "stale flags: no value (no flag exists now)"


def test_no_stale_flag_among_some_is_a_value() -> None:
    stale = chart("staleFlags", {"stale": [{"x": 0, "y": 0}]}, "flagHealth", "excellent")
    status = chart("flagStatus", {"active": [{"x": 0, "y": 24}]}, "none", None)
    read = reading("flagHealth", {STALE: stale, STATUS: status}, (30.0, 30.0))
    assert read.value == 0


@pytest.mark.parametrize("indicator", INDICATORS)
def test_lead_time_points_of_zero_without_a_count_are_no_pull_request(
    indicator: str | None,
) -> None:
    empty = chart("leadTime", {"coding": [{"x": 0, "y": 0}]}, "leadTime", indicator)
    full = chart("leadTime", {"coding": [{"x": 0, "y": 7_200_000}]}, "leadTime", None)
    now_empty = reading("leadTime", {LT_NOW: empty, LT_LAST: full}, (30.0, 30.0))
    assert (now_empty.value, now_empty.last_value) == (None, 2.0)
    assert now_empty.why_none == ("no deployed pull request in this period", None)
    assert drivers.of_reading(now_empty).direction is None
    last_empty = reading("leadTime", {LT_NOW: full, LT_LAST: empty}, (30.0, 30.0))
    assert (last_empty.value, last_empty.last_value) == (2.0, None)
    assert drivers.of_reading(last_empty).text == (
        "no change to state: no deployed pull request in the last period"
    )


@pytest.mark.parametrize("indicator", INDICATORS)
def test_no_deployment_is_no_failure_rate_but_zero_deployments_a_day(
    indicator: str | None,
) -> None:
    empty = chart("deploymentFrequency", {}, "deploymentFailureRate", indicator)
    found = {DF_NOW: empty, DF_LAST: empty}
    assert reading("deploymentFailureRate", found, (30.0, 30.0)).value is None
    frequency = reading("deploymentFrequency", found, (30.0, 30.0))
    assert (frequency.value, frequency.last_value) == (0.0, 0.0)
