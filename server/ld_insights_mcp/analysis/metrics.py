"""A base category's raw metric in this period and the last, and the parts it is made of.

The metric is LaunchDarkly's own where a chart states it (``expand=metrics``), else counted
here (``source``); a ratio or mean over nothing has none (``why_none``). A part's ``effect`` is
what the metric would have changed by had only that part changed; ``drivers`` picks from them.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any

from ld_insights_mcp.analysis import charts
from ld_insights_mcp.analysis.lifecycle import ARCHIVED, CREATED, lifecycle_counts
from ld_insights_mcp.analysis.reads import (
    DF_LAST,
    DF_NOW,
    EVENTS_LAST,
    EVENTS_NOW,
    LT_LAST,
    LT_NOW,
    RF_EXP_LAST,
    RF_EXP_NOW,
    RF_LAST,
    RF_NOW,
    STALE,
    STATUS,
    EventPages,
    Need,
)
from ld_insights_mcp.analysis.units import HOUR_MS, duration, moved
from ld_insights_mcp.launchdarkly.vocabulary import INDICATORS
from ld_insights_mcp.text import quoted

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.evidence_models import ChartMetric, InsightsChart

METRICS: dict[str, tuple[str, str, bool]] = {
    "deploymentFrequency": ("deployment frequency", "per day", True),
    "deploymentFailureRate": ("failure rate", "percent", False),
    "leadTime": ("lead time", "hours", False),
    "impactSize": ("large-impact share", "percent", False),
    "experimentationCoverage": ("experiment coverage", "percent", True),
    "flagHealth": ("stale flags", "percent", False),
    "creationRatio": ("flags created per flag archived", "ratio", False),
}
"""Each base category's raw metric: its label, the unit counted here, and whether a higher
value is better (scores always are)."""
STAGE_NAMES = {"coding": "coding", "review": "review", "wait": "deploy wait", "deploy": "deploy"}
IMPACT_SIZES = ("none", "small", "medium", "large")

Values = dict[str, tuple[float, ...]]
Formula = Callable[[Values], float | None]


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a metric: ``key`` names it (a stage, application, impact size, ...),
    ``text`` shows it in both periods, ``effect`` is its effect on the metric."""

    key: str
    text: str | None
    """None when its two values cannot be shown apart (not named as a counter-trend)."""
    effect: float


@dataclass(frozen=True, slots=True)
class Reading:
    category: str
    label: str
    unit: str
    higher_is_better: bool
    value: float | None = None
    last_value: float | None = None
    source: str = "launchdarkly"  # launchdarkly | recomputed
    stated: ChartMetric | None = None
    parts: tuple[Part, ...] = ()
    note: str | None = None
    """Why there is no value or no change, or how it was counted."""
    why_none: tuple[str | None, str | None] = (None, None)
    """Why this period and the last have no value (they held nothing to compute it over)."""
    impossible: tuple[str, ...] = ()
    """LaunchDarkly's values that cannot be true, quoted, each with why: not used."""


def chart_of(found: Mapping[Need, Any], need: Need) -> InsightsChart | None:
    # imported here: start-up loads no wire model (tests/test_startup_imports.py)
    from ld_insights_mcp.launchdarkly.evidence_models import InsightsChart

    value = found.get(need)
    return value if isinstance(value, InsightsChart) else None


def _effects(formula: Formula, now: Values, last: Values) -> dict[str, float]:
    """Each part's effect: the metric with only that part at its new value, minus before."""
    before = formula(last)
    if before is None:
        return {}
    found = {}
    for key in sorted(now.keys() | last.keys()):
        trial = dict(last)
        if key in now:
            trial[key] = now[key]
        else:
            del trial[key]
        after = formula(trial)
        if after is not None:
            found[key] = after - before
    return found


def _unit(stated: ChartMetric | None, fallback: str) -> str:
    if stated is None:
        return fallback
    return stated.modifier if stated.unit == "count" else stated.unit


def _counts(chart: InsightsChart | None) -> Values | None:
    return None if chart is None else {k: (float(n),) for k, n in charts.totals(chart).items()}


def _means(chart: InsightsChart | None) -> Values | None:
    means = charts.means(chart)
    return None if chart is None else {k: (m,) for k, m in means.items() if m is not None}


def _ratio(numerator: float, whole: float, scale: float = 100.0) -> float | None:
    return scale * numerator / whole if whole else None


def _measured(
    category: str,
    stated_in: tuple[InsightsChart | None, InsightsChart | None],
    values: tuple[Values | None, Values | None],
    formulas: tuple[Formula, Formula],
    text: Callable[[str], str | None],
    note: str | None = None,
    empty: Sequence[bool] | None = None,
    impossible: tuple[str, ...] = (),
) -> Reading:
    """A reading from charts: the metric they state (``stated_in`` this period and last),
    else ``formulas`` over the parts (``values``); the parts' effects in the last period's
    terms. A period ``empty`` (default: its chart's series hold nothing the metric is
    computed over) has no value."""
    label, unit, higher_is_better = METRICS[category]
    if empty is None:
        empty = [charts.over_nothing(chart, category) for chart in stated_in]
    stated = charts.stated(stated_in[0], category)
    stated_last = charts.stated(stated_in[1], category)
    said = [charts.metric(chart, category) for chart in stated_in]
    impossible += tuple(
        why for found in said if found and (why := charts.impossible(category, found))
    )
    if said[0] is not None and stated is None and not empty[0] and note is None:
        note = (
            "LaunchDarkly's own value is impossible: counted here"
            if charts.impossible(category, said[0])
            else f"LaunchDarkly's metric is {quoted(said[0].indicator, bare=INDICATORS)}: "
            "counted here"
        )
    now, last = values
    over = charts.COMPUTED_OVER.get(category)
    recomputed = [
        f(v) if v is not None and not e else None
        for f, v, e in zip(formulas, values, empty, strict=True)
    ]
    parts: tuple[Part, ...] = ()
    if now and last:
        effects = _effects(formulas[1], now, last)
        parts = tuple(Part(k, text(k), e) for k, e in effects.items())
    return Reading(
        category,
        label,
        _unit(stated, unit),
        higher_is_better,
        stated.value if stated else recomputed[0],
        stated_last.value if stated_last else recomputed[1],
        "launchdarkly" if stated else "recomputed",
        stated,
        parts,
        note,
        (
            f"no {over} in this period" if empty[0] else None,
            f"no {over} in the last period" if empty[1] else None,
        ),
        tuple(dict.fromkeys(impossible)),
    )


def _change(values: Values | None, key: str, index: int = 0) -> float:
    return values.get(key, (0.0, 0.0))[index] if values else 0.0


# --- the readers -------------------------------------------------------------------------


def _deployment_frequency(found: Mapping[Need, Any], days: tuple[float, float]) -> Reading:
    charts_ = chart_of(found, DF_NOW), chart_of(found, DF_LAST)
    now, last = _counts(charts_[0]), _counts(charts_[1])

    def per_day(length: float) -> Formula:
        return lambda v: sum(x[0] for x in v.values()) / length if length > 0 else None

    def text(app: str) -> str:
        return f"{quoted(app)} {_change(last, app):.0f} → {_change(now, app):.0f} deployments"

    formulas = per_day(days[0]), per_day(days[1])
    return _measured("deploymentFrequency", charts_, (now, last), formulas, text)


def _failures(chart: InsightsChart | None) -> Values | None:
    """Application -> (failed, all) deployments, from the points' ``values.failed``; None
    when the chart does not say which failed."""
    if chart is None:
        return None
    found: Values = {}
    for series in chart.series:
        failed = 0
        for point in series.data:
            count = point.values.get("failed")
            if not isinstance(count, int) or isinstance(count, bool):
                return None
            failed += count
        found[series.metadata.name] = (float(failed), float(sum(p.y for p in series.data)))
    return found


def _failure_rate(found: Mapping[Need, Any], days: tuple[float, float]) -> Reading:
    charts_ = chart_of(found, DF_NOW), chart_of(found, DF_LAST)
    wrong = tuple(w for c in charts_ if (w := charts.impossible_failures(c)) is not None)
    now, last = (None, None) if wrong else (_failures(charts_[0]), _failures(charts_[1]))

    def rate(values: Values) -> float | None:
        return _ratio(sum(v[0] for v in values.values()), sum(v[1] for v in values.values()))

    def text(app: str) -> str:
        before = f"{_change(last, app):.0f} of {_change(last, app, 1):.0f}"
        after = f"{_change(now, app):.0f} of {_change(now, app, 1):.0f}"
        return f"{quoted(app)} {before} → {after} failed"

    note = None
    if charts_[0] is not None and now is None:
        note = "the chart does not say which deployments failed, so no application is named"
        if wrong:
            note = "no application is named: LaunchDarkly's failed counts are impossible"
    return _measured(
        "deploymentFailureRate",
        charts_,
        (now, last),
        (rate, rate),
        text,
        note,
        impossible=tuple(f"{w} (at most all of them fail)" for w in wrong),
    )


def _lead_time(found: Mapping[Need, Any], days: tuple[float, float]) -> Reading:
    charts_ = chart_of(found, LT_NOW), chart_of(found, LT_LAST)
    now, last = _means(charts_[0]), _means(charts_[1])

    def hours(values: Values) -> float | None:
        return sum(v[0] for v in values.values()) / HOUR_MS if values else None

    def text(stage: str) -> str | None:
        before = last[stage][0] if last and stage in last else None
        after = now[stage][0] if now and stage in now else None
        if before is None or after is None:
            shown: str | None = f"{duration(before)} → {duration(after)}"
        else:
            shown = moved(before, after, duration)
        return f"{STAGE_NAMES.get(stage, quoted(stage))} stage {shown}" if shown else None

    return _measured("leadTime", charts_, (now, last), (hours, hours), text)


def _impact_size(found: Mapping[Need, Any], days: tuple[float, float]) -> Reading:
    charts_ = chart_of(found, RF_NOW), chart_of(found, RF_LAST)
    now, last = _counts(charts_[0]), _counts(charts_[1])

    def large_share(values: Values) -> float | None:
        return _ratio(values.get("large", (0.0,))[0], sum(v[0] for v in values.values()))

    def text(size: str) -> str:
        shown = quoted(size, bare=IMPACT_SIZES)
        return f"{shown}-impact changes {_change(last, size):.0f} → {_change(now, size):.0f}"

    return _measured("impactSize", charts_, (now, last), (large_share, large_share), text)


def _coverage_values(found: Mapping[Need, Any], all_of: Need, linked: Need) -> Values | None:
    everything, with_experiments = chart_of(found, all_of), chart_of(found, linked)
    if everything is None or with_experiments is None:
        return None
    total = sum(charts.totals(everything).values())
    linked_count = sum(charts.totals(with_experiments).values())
    return {"with": (float(linked_count),), "without": (float(total - linked_count),)}


def _experimentation(found: Mapping[Need, Any], days: tuple[float, float]) -> Reading:
    now = _coverage_values(found, RF_NOW, RF_EXP_NOW)
    last = _coverage_values(found, RF_LAST, RF_EXP_LAST)
    names = {"with": "changes with an experiment", "without": "changes without one"}

    def share(values: Values) -> float | None:
        return _ratio(values["with"][0], values["with"][0] + values["without"][0])

    def text(key: str) -> str:
        return f"{names[key]} {_change(last, key):.0f} → {_change(now, key):.0f}"

    charts_ = chart_of(found, RF_NOW), chart_of(found, RF_LAST)
    return _measured("experimentationCoverage", charts_, (now, last), (share, share), text)


def _flag_health(found: Mapping[Need, Any], days: tuple[float, float]) -> Reading:
    stale, status = chart_of(found, STALE), chart_of(found, STATUS)
    no_flag = status is not None and not any(charts.totals(status).values())
    stated = None if no_flag else charts.stated(stale, "flagHealth")
    said = charts.metric(stale, "flagHealth")
    wrong = [w for w in [charts.impossible("flagHealth", said) if said else None] if w]
    recomputed = None
    if stale is not None and status is not None:
        stale_count = sum(charts.totals(stale).values())
        flags = sum(charts.totals(status).values())
        if stale_count > flags:
            wrong.append(
                f"stale flags {quoted(str(stale_count))} of {quoted(str(flags))} flags "
                "(more stale flags than flags)"
            )
        else:
            recomputed = _ratio(stale_count, flags)
    return Reading(
        "flagHealth",
        METRICS["flagHealth"][0],
        _unit(stated, "percent"),
        False,
        stated.value if stated else recomputed,
        None,
        "launchdarkly" if stated else "recomputed",
        stated,
        note="the flag charts are snapshots: LaunchDarkly keeps no history of them, so what "
        "changed since the last period cannot be read",
        why_none=("no flag exists now" if no_flag else None, None),
        impossible=tuple(wrong),
    )


def _creation_ratio(found: Mapping[Need, Any], days: tuple[float, float]) -> Reading:
    pages = [found.get(n) for n in (EVENTS_NOW, EVENTS_LAST)]
    read = [p for p in pages if isinstance(p, EventPages)]
    base = Reading("creationRatio", *METRICS["creationRatio"])
    if len(read) < 2:
        return base
    if not all(p.complete for p in read):
        return replace(base, note="too many flag events to count them all, so no ratio is stated")
    now_v, last_v = _lifecycle_values(read[0]), _lifecycle_values(read[1])
    seen = sum(len(p.items) for p in read)
    if seen and not any(v[0] for v in (*now_v.values(), *last_v.values())):
        return replace(
            base,
            note=f"none of the {seen} flag events of the two periods records a flag's creation or "
            "archival, and no chart states this category's raw value: LaunchDarkly's flag "
            "events may not carry them, so this score cannot be explained from its data",
        )

    def ratio(values: Values) -> float | None:
        return _ratio(values[CREATED][0], values[ARCHIVED][0], 1.0)

    names = {CREATED: "flags created", ARCHIVED: "flags archived"}

    def text(key: str) -> str:
        return f"{names[key]} {last_v[key][0]:.0f} → {now_v[key][0]:.0f}"

    note = (
        f"{now_v[CREATED][0]:.0f} created, {now_v[ARCHIVED][0]:.0f} archived; counted here "
        "from flag events: LaunchDarkly states no raw value or tiers for creationRatio"
    )
    empty = (not now_v[ARCHIVED][0], not last_v[ARCHIVED][0])
    values = (now_v, last_v)
    return _measured("creationRatio", (None, None), values, (ratio, ratio), text, note, empty)


def _lifecycle_values(pages: EventPages) -> Values:
    return {k: (float(c),) for k, c in lifecycle_counts(pages.items).items()}


READERS: dict[str, Callable[[Mapping[Need, Any], tuple[float, float]], Reading]] = {
    "deploymentFrequency": _deployment_frequency,
    "deploymentFailureRate": _failure_rate,
    "leadTime": _lead_time,
    "impactSize": _impact_size,
    "experimentationCoverage": _experimentation,
    "flagHealth": _flag_health,
    "creationRatio": _creation_ratio,
}


def reading(category: str, found: Mapping[Need, Any], days: tuple[float, float]) -> Reading:
    """The metric of base category ``category`` from the reads that arrived (``days``: the
    length of this period and the last)."""
    return READERS[category](found, days)
