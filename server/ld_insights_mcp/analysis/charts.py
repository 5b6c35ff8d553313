"""Reading charts asked for with one bucket per period: per-series totals and means, and
whether a chart's metric is a value or a ratio or mean over nothing."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ld_insights_mcp.analysis.units import number
from ld_insights_mcp.launchdarkly.vocabulary import CALCULATED_INDICATORS
from ld_insights_mcp.text import quoted

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.evidence_models import (
        ChartMetric,
        ChartSeries,
        InsightsChart,
    )

COMPUTED_OVER: dict[str, str] = {
    "deploymentFailureRate": "deployment",
    "leadTime": "deployed pull request",
    "impactSize": "flag change",
    "experimentationCoverage": "flag change",
    "flagHealth": "flag",
    "creationRatio": "archived flag",
}
"""What each ratio or mean metric is computed over: with none of it there is no value (a
rate per day, deploymentFrequency, is a value over any window)."""


def totals(chart: InsightsChart | None) -> dict[str, int]:
    """Series name -> sum of ``y`` (count charts: deployments, releases, stale flags)."""
    if chart is None:
        return {}
    return {s.metadata.name: sum(p.y for p in s.data) for s in chart.series}


def means(chart: InsightsChart | None) -> dict[str, float | None]:
    """Series name -> mean ``y`` over its points, weighted by ``values.count`` when given
    (duration charts: lead time by stage); None for a series with no weight."""
    if chart is None:
        return {}
    return {s.metadata.name: _mean(s) for s in chart.series}


def _mean(series: ChartSeries) -> float | None:
    weighted = 0.0
    weight = 0
    for point in series.data:
        count = point.values.get("count")
        w = count if isinstance(count, int) and not isinstance(count, bool) else 1
        if isinstance(count, int) and count == 0:
            continue
        weighted += point.y * w
        weight += w
    return weighted / weight if weight else None


def metric(chart: InsightsChart | None, name: str) -> ChartMetric | None:
    """The raw metric ``name`` of an ``expand=metrics`` chart, if present."""
    if chart is None or chart.metadata.metrics is None:
        return None
    return chart.metadata.metrics.get(name)


def over_nothing(chart: InsightsChart | None, name: str) -> bool:
    """Whether the chart's own series hold none of what metric ``name`` is computed over (no
    deployment, deployed pull request or flag change): then it has no value, whatever the
    chart's ``metrics`` say. A lead time of 0 ms is no pull request either. False when the
    series cannot tell (a snapshot of stale flags does not count all flags)."""
    if chart is None or name not in COMPUTED_OVER or name == "flagHealth":
        return False
    if name == "leadTime":
        return not any(means(chart).values())
    return not any(totals(chart).values())


def impossible(name: str, found: ChartMetric) -> str | None:
    """LaunchDarkly's metric ``name`` quoted with why it cannot be true (a share outside
    0-100, a negative count or duration), or None."""
    # imported here: start-up loads no wire model (tests/test_startup_imports.py)
    from ld_insights_mcp.launchdarkly.evidence_models import NON_NEGATIVE_UNITS

    why = None
    if found.unit == "percent" and not 0 <= found.value <= 100:
        why = "a share is 0-100%"
    elif found.value < 0 and found.unit in NON_NEGATIVE_UNITS:
        why = f"{found.unit} are never negative"
    if why is None:
        return None
    return f"{name} metric {quoted(number(found.value))} {quoted(found.unit)} ({why})"


def stated(chart: InsightsChart | None, name: str) -> ChartMetric | None:
    """The chart's metric ``name`` if it states a value: present, in a calculated band (not
    notCalculated or unknown), possible and not over nothing."""
    found = metric(chart, name)
    if found is None or found.indicator not in CALCULATED_INDICATORS:
        return None
    if impossible(name, found) is not None:
        return None
    return None if over_nothing(chart, name) else found


def impossible_failures(chart: InsightsChart | None) -> str | None:
    """The first point whose ``values.failed`` is negative or more than its deployments
    (``y``), quoted; None when every point's is possible (or absent)."""
    for series in chart.series if chart is not None else ():
        for point in series.data:
            failed = point.values.get("failed")
            if isinstance(failed, int | float) and not 0 <= failed <= point.y:
                return (
                    f"{quoted(series.metadata.name)} values.failed {quoted(number(failed))} "
                    f"of {point.y} deployments"
                )
    return None
