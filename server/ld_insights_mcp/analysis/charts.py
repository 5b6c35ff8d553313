"""Reading charts asked for with one bucket per period: per-series totals and means."""

from __future__ import annotations

from ld_insights_mcp.launchdarkly.evidence_models import ChartMetric, ChartSeries, InsightsChart


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
