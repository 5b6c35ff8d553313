"""Reading charts asked for with one bucket per period: per-series totals and means, and
whether a chart's metric is a value or a ratio or mean over nothing."""

from __future__ import annotations

from ld_insights_mcp.launchdarkly.evidence_models import ChartMetric, ChartSeries, InsightsChart
from ld_insights_mcp.launchdarkly.vocabulary import CALCULATED_INDICATORS

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


def stated(chart: InsightsChart | None, name: str) -> ChartMetric | None:
    """The chart's metric ``name`` if it states a value: present, in a calculated band (not
    notCalculated or unknown) and not over nothing."""
    found = metric(chart, name)
    if found is None or found.indicator not in CALCULATED_INDICATORS:
        return None
    return None if over_nothing(chart, name) else found
