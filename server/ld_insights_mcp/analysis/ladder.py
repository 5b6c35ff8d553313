"""A raw metric against its tier ladder (``InsightsChartMetric``)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ld_insights_mcp.analysis.units import RATES, with_unit
from ld_insights_mcp.launchdarkly.vocabulary import CALCULATED_INDICATORS, INDICATORS
from ld_insights_mcp.text import quoted

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.evidence_models import ChartMetric


def tier_description(metric: ChartMetric, indicator: str) -> str | None:
    return next((t.description for t in metric.tiers if t.indicator == indicator), None)


def next_tier(metric: ChartMetric) -> tuple[str, str | None] | None:
    """The tier above the metric's own (indicator, description); None at the top or when
    the indicator is not a calculated band."""
    if metric.indicator not in CALCULATED_INDICATORS:
        return None
    index = CALCULATED_INDICATORS.index(metric.indicator)
    if index == 0:
        return None
    better = CALCULATED_INDICATORS[index - 1]
    return better, tier_description(metric, better)


def metric_phrase(metric: ChartMetric) -> str:
    """``0.53 per day (good: "at least 3 per week"); next tier excellent: "at least 1 per
    day"``: the tier descriptions and the modifier are LaunchDarkly's text, quoted (a known
    rate, ``per day``, as it is)."""
    own = tier_description(metric, metric.indicator)
    indicator = quoted(metric.indicator, bare=INDICATORS)
    text = (
        f"{with_unit(metric.value, metric.unit)} {quoted(metric.modifier, bare=RATES)} ({indicator}"
    )
    text += f": {quoted(own)})" if own else ")"
    above = next_tier(metric)
    if above is None:
        return text + "; top tier"
    name, description = above
    return text + f"; next tier {name}" + (f": {quoted(description)}" if description else "")
