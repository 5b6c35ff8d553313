"""Charts: per-series totals, averages, min/max with dates and trend; metrics against their
tier ladder, or why one has no value; points only on request."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ld_insights_mcp.analysis.charts import (
    COMPUTED_OVER,
    impossible,
    impossible_failures,
    over_nothing,
)
from ld_insights_mcp.analysis.units import RATES, UNITS
from ld_insights_mcp.launchdarkly.vocabulary import (
    CALCULATED_INDICATORS,
    INDICATORS,
    SCORE_CATEGORIES,
)
from ld_insights_mcp.text import plural, quoted
from ld_insights_mcp.views.common import (
    DataSource,
    ViewModel,
    copied,
    impossible_line,
    iso_date,
    iso_datetime,
    short_time,
    source_line,
)

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.evidence_models import ChartMetric, ChartSeries, InsightsChart

DURATION_UNITS = ("milliseconds",)
RATIO_METRICS: dict[str, tuple[str, ...]] = {
    "deployment_frequency": ("deploymentFailureRate",),
    "lead_time": ("leadTime",),
    "release_frequency": ("impactSize", "experimentationCoverage"),
}
"""The ratio or mean metrics each windowed chart kind carries: over nothing they have no
value, whether LaunchDarkly leaves them out, marks them or bands a 0."""


class MetricView(ViewModel):
    """A raw metric with its indicator and tier ladder."""

    name: str
    value: float
    unit: str
    modifier: str
    indicator: str
    tiers: list[str] = Field(description="'indicator: description', best first.")
    next_tier: str | None = Field(default=None, description="The tier above, if any.")


class SeriesView(ViewModel):
    name: str
    total: int | None = Field(default=None, description="Sum of y (count charts).")
    count: int | None = Field(default=None, description="Items behind the series.")
    average: float | None = Field(
        default=None, description="Per bucket (counts) or weighted mean (durations, ms)."
    )
    min: int | None = None
    min_at: str | None = None
    max: int | None = None
    max_at: str | None = None
    first_half: float | None = Field(default=None, description="Mean y, first half of buckets.")
    second_half: float | None = None
    trend: str | None = Field(default=None, description="rising, falling or flat.")
    points: list[tuple[str, int]] | None = Field(
        default=None, description="(bucket start ISO, y), when asked for."
    )


class ChartResult(ViewModel):
    """An Engineering Insights chart, summarized."""

    data_source: DataSource
    kind: str
    project_key: str | None
    environment_key: str | None
    application_keys: list[str]
    window_from: str | None = Field(description="ISO start; null for snapshots.")
    window_to: str | None
    bucket: str | None
    group_by: str | None
    y_unit: str
    summary: dict[str, Any] = Field(description="The API's summary, as sent.")
    metrics: list[MetricView] = Field(description="The metrics with a value.")
    no_value: dict[str, str] = Field(
        default_factory=dict,
        description="Metric -> why it has no value: nothing in the window to compute it "
        "over, or LaunchDarkly's indicator (notCalculated, unknown).",
    )
    impossible: list[str] = Field(
        default_factory=list,
        description="LaunchDarkly's values that cannot be true, quoted with why; not used.",
    )
    series: list[SeriesView]


def metric_view(name: str, metric: ChartMetric) -> MetricView:
    """A chart metric with its tier ladder and the tier above."""
    tiers = [
        f"{t.indicator}: {t.description}" if t.description else t.indicator for t in metric.tiers
    ]
    order = [t.indicator for t in metric.tiers]
    index = order.index(metric.indicator) if metric.indicator in order else 0
    above = tiers[index - 1] if index > 0 else None
    return copied(MetricView, metric, name=name, tiers=tiers, next_tier=above)


def _series(series: ChartSeries, *, duration: bool, snapshot: bool, points: bool) -> SeriesView:
    data = series.data
    view = SeriesView(name=series.metadata.name, count=series.metadata.count)
    if snapshot:
        view.total = data[-1].y if data else 0
        return view
    weights = [_weight(p.values) for p in data] if duration else [1] * len(data)
    used = [(p, w) for p, w in zip(data, weights, strict=True) if w > 0]
    if not duration:
        view.total = sum(p.y for p in data)
    if used:
        weight = sum(w for _, w in used)
        view.average = round(sum(p.y * w for p, w in used) / weight, 2)
        low = min(used, key=lambda pw: pw[0].y)[0]
        high = max(used, key=lambda pw: pw[0].y)[0]
        view.min, view.min_at = low.y, iso_date(low.x)
        view.max, view.max_at = high.y, iso_date(high.x)
    values = [p.y for p, _ in used]
    if len(values) >= 2:
        half = len(values) // 2
        first = sum(values[:half]) / half
        second = sum(values[half:]) / (len(values) - half)
        view.first_half, view.second_half = round(first, 2), round(second, 2)
        change = second - first
        scale = max(abs(first), abs(second), 1e-9)
        view.trend = (
            "flat" if abs(change) / scale < 0.1 else ("rising" if change > 0 else "falling")
        )
    if points:
        view.points = [(iso_datetime(p.x), p.y) for p in data]
    return view


def _weight(values: dict[str, Any]) -> int:
    count = values.get("count")
    return count if isinstance(count, int) and not isinstance(count, bool) else 1


def chart_result(
    chart: InsightsChart,
    *,
    kind: str,
    project_key: str | None,
    environment_key: str | None,
    application_keys: list[str],
    window: tuple[int, int] | None,
    bucket: str | None,
    group_by: str | None,
    points: bool,
    source: DataSource,
) -> ChartResult:
    duration = chart.metadata.y_axis.unit in DURATION_UNITS
    stated = chart.metadata.metrics or {}
    no_value = {
        name: f"no {COMPUTED_OVER[name]} in this window"
        for name in (*RATIO_METRICS.get(kind, ()), *stated)
        if window is not None and over_nothing(chart, name)
    }
    no_value |= {
        n: f"LaunchDarkly states {quoted(m.indicator, bare=INDICATORS)}"
        for n, m in stated.items()
        if n not in no_value and m.indicator not in CALCULATED_INDICATORS
    }
    wrong = {n: why for n, m in stated.items() if (why := impossible(n, m)) is not None}
    no_value |= {n: "LaunchDarkly's value is impossible" for n in wrong if n not in no_value}
    failed = impossible_failures(chart)
    if failed is not None:
        wrong["failed"] = f"{failed} (at most all of them fail)"
    flags = chart.metadata.summary.get("flags")
    stale = sum(s.data[-1].y for s in chart.series if s.data)
    if kind == "stale_flags" and isinstance(flags, int) and stale > flags:
        wrong["flags"] = (
            f"stale flags {quoted(str(stale))} of {quoted(str(flags))} flags (more stale "
            "flags than flags)"
        )
    metrics = [metric_view(n, m) for n, m in stated.items() if n not in no_value]
    return ChartResult(
        data_source=source,
        kind=kind,
        project_key=project_key,
        environment_key=environment_key,
        application_keys=application_keys,
        window_from=iso_datetime(window[0]) if window else None,
        window_to=iso_datetime(window[1]) if window else None,
        bucket=bucket,
        group_by=group_by,
        y_unit=chart.metadata.y_axis.unit,
        summary=dict(chart.metadata.summary),
        metrics=metrics,
        no_value=no_value,
        impossible=list(wrong.values()),
        series=[
            _series(s, duration=duration, snapshot=window is None, points=points)
            for s in chart.series
        ],
    )


def duration(ms: float) -> str:
    """A compact duration: 45s, 12m, 5.6h, 3.1d."""
    seconds = ms / 1000
    if seconds < 60:
        return f"{seconds:.0f}s"
    if seconds < 3600:
        return f"{seconds / 60:.0f}m"
    if seconds < 86_400:
        return f"{seconds / 3600:.1f}h"
    return f"{seconds / 86_400:.1f}d"


def _summary_text(summary: dict[str, Any], *, skip: set[str]) -> str:
    parts = []
    for name, value in summary.items():
        if name in skip:
            continue
        number = isinstance(value, int | float) and not isinstance(value, bool)
        if number and name.endswith("Ms"):
            parts.append(f"{quoted(name[:-2])} {duration(value)}")
        elif number:
            parts.append(f"{quoted(name)} {value}")
        else:
            shown = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
            parts.append(f"{quoted(name)} {quoted(shown)}")
    return ", ".join(parts)


def _series_line(view: SeriesView, *, is_duration: bool) -> str:
    if view.trend is None and view.average is None and view.total is not None:
        return f"  {quoted(view.name)}: {view.total}"
    show: Callable[[float], str] = duration if is_duration else "{:g}".format
    head = f"  {quoted(view.name)}:"
    if view.total is not None:
        head += f" total {view.total},"
    if view.count is not None and is_duration:
        head += f" {plural(view.count, 'item')},"
    if view.average is None:
        return f"{head} no data"
    line = (
        f"{head} avg {show(view.average)}, min {show(view.min or 0)} ({view.min_at}), "
        f"max {show(view.max or 0)} ({view.max_at})"
    )
    if view.trend is not None:
        line += (
            f", trend {view.trend} ({show(view.first_half or 0)} -> {show(view.second_half or 0)})"
        )
    if view.points is not None:
        line += "; points: " + " ".join(f"{x[5:16]}={show(y)}" for x, y in view.points)
    return line


def _metric_text(metric: MetricView) -> str:
    current = next((t for t in metric.tiers if t.startswith(f"{metric.indicator}:")), None)
    unit = "" if metric.unit == "count" else f" {quoted(metric.unit, bare=UNITS)}"
    line = (
        f"{quoted(metric.name, bare=SCORE_CATEGORIES)} {metric.value:g}{unit} "
        f"{quoted(metric.modifier, bare=RATES)} = "
    )
    line += quoted(current or metric.indicator, bare=INDICATORS)
    if metric.next_tier:
        line += f"; next {quoted(metric.next_tier)}"
    return line + "."


def chart_text(result: ChartResult) -> str:
    scope = result.project_key or "all projects"
    if result.environment_key:
        scope += f"/{result.environment_key}"
    apps = ", ".join(result.application_keys) or "all apps"
    if result.window_from is None:
        return _snapshot_text(result, f"{scope} ({apps})")
    grouped = f", by {result.group_by}" if result.group_by else ""
    lines = [
        *source_line(result.data_source),
        f"{result.kind}, {scope} ({apps}), {short_time(result.window_from)} to "
        f"{short_time(result.window_to)} (end exclusive), {result.bucket} buckets{grouped}; y in "
        f"{quoted(result.y_unit, bare=UNITS)}.",
    ]
    summary = _summary_text(result.summary, skip={"from", "to"})
    if summary:
        lines.append(f"Summary: {summary}.")
    lines.extend(f"Metric {_metric_text(m)}" for m in result.metrics)
    lines.extend(_no_value_lines(result))
    lines.extend(impossible_line(result.impossible))
    is_duration = result.y_unit in DURATION_UNITS
    lines.extend(_series_line(s, is_duration=is_duration) for s in result.series)
    if not result.series:
        lines.append("No series: no data in this window.")
    return "\n".join(lines)


def _snapshot_text(result: ChartResult, scope: str) -> str:
    """Snapshot charts (one point per series): one line of counts."""
    at = result.summary.get("snapshotAt")
    when = f"now ({short_time(iso_datetime(int(at)))})" if isinstance(at, int) else "now"
    counts = ", ".join(f"{quoted(s.name)} {s.total}" for s in result.series) or "none"
    series = f"{'By ' + result.group_by if result.group_by else 'Series'}: {counts}."
    excess = any(i.startswith("stale flags ") for i in result.impossible)
    named = {"total", "flags"} if excess else set()
    summary = _summary_text(result.summary, skip={"snapshotAt", *named})
    lines = [
        *source_line(result.data_source),
        f"{result.kind} {when}, {scope}: {summary}.",
        *([] if excess else [series]),
        *(_metric_text(m) for m in result.metrics),
        *_no_value_lines(result),
        *impossible_line(result.impossible),
    ]
    return "\n".join(lines)


def _no_value_lines(result: ChartResult) -> list[str]:
    return [
        f"Metric {quoted(name, bare=SCORE_CATEGORIES)}: no value ({why})."
        for name, why in result.no_value.items()
    ]
