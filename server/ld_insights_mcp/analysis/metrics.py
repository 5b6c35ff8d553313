"""A base category's raw metric in this period and the last, and the parts it is made of.

``reading(category, found, days)`` turns the reads that arrived into a ``Reading``: the
metric in each period (LaunchDarkly's own value where a chart states it with
``expand=metrics``, else counted here from the series or lists: ``source`` says which),
whether higher is better, and its parts (stages, applications, impact sizes, ...). A part's
``effect`` is what the metric would have changed by had only that part changed: the metric of
the last period's parts with this one part at its new value, minus the last period's metric.
The driver (``drivers``) is chosen from those effects.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from ..launchdarkly.evidence_models import ChartMetric, InsightsChart
from . import charts
from .lifecycle import ARCHIVED, CREATED, lifecycle_counts
from .reads import (
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
from .units import HOUR_MS, duration

HIGHER_IS_BETTER: dict[str, bool] = {
    "deploymentFrequency": True,
    "deploymentFailureRate": False,
    "leadTime": False,
    "impactSize": False,
    "experimentationCoverage": True,
    "flagHealth": False,
    "creationRatio": False,
}
"""Each base category's raw metric: whether a higher value is better (scores always are)."""

STAGE_NAMES = {"coding": "coding", "review": "review", "wait": "deploy wait", "deploy": "deploy"}
IMPACT_SIZES = ("none", "small", "medium", "large")

Values = dict[str, tuple[float, ...]]
Formula = Callable[[Values], float | None]


@dataclass(frozen=True, slots=True)
class Part:
    """One part of a metric: ``key`` names it (a stage, application, impact size, ...),
    ``text`` shows it in both periods, ``effect`` is its effect on the metric."""

    key: str
    text: str
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


def _chart(found: Mapping[Need, Any], need: Need) -> InsightsChart | None:
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


def _value(stated: ChartMetric | None, recomputed: float | None) -> tuple[float | None, str]:
    if stated is not None:
        return stated.value, "launchdarkly"
    return recomputed, "recomputed"


def _unit(stated: ChartMetric | None, fallback: str) -> str:
    if stated is None:
        return fallback
    return stated.modifier if stated.unit == "count" else stated.unit


def _parts(
    formula: Formula, now: Values, last: Values, text: Callable[[str], str]
) -> tuple[Part, ...]:
    return tuple(Part(k, text(k), e) for k, e in _effects(formula, now, last).items())


def _counts(chart: InsightsChart | None) -> Values:
    return {name: (float(total),) for name, total in charts.totals(chart).items()}


def _means(chart: InsightsChart | None) -> Values:
    return {name: (mean,) for name, mean in charts.means(chart).items() if mean is not None}


def _ratio(numerator: float, whole: float, scale: float = 100.0) -> float | None:
    return scale * numerator / whole if whole else None


# --- the readers -------------------------------------------------------------------------


def _deployment_frequency(found: Mapping[Need, Any], days: tuple[float, float]) -> Reading:
    now, last = _chart(found, DF_NOW), _chart(found, DF_LAST)
    now_v, last_v = _counts(now), _counts(last)
    stated = charts.metric(now, "deploymentFrequency")
    stated_last = charts.metric(last, "deploymentFrequency")

    def per_day(values: Values, length: float) -> float | None:
        return sum(v[0] for v in values.values()) / length if length > 0 else None

    value, source = _value(stated, per_day(now_v, days[0]) if now else None)
    last_value, _ = _value(stated_last, per_day(last_v, days[1]) if last else None)

    def text(app: str) -> str:
        before, after = last_v.get(app, (0.0,))[0], now_v.get(app, (0.0,))[0]
        return f"{app} {before:.0f} → {after:.0f} deployments"

    return Reading(
        "deploymentFrequency",
        "deployments per day",
        _unit(stated, "per day"),
        True,
        value,
        last_value,
        source,
        stated,
        _parts(lambda v: per_day(v, days[1]), now_v, last_v, text) if now and last else (),
    )


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
    del days
    now, last = _chart(found, DF_NOW), _chart(found, DF_LAST)
    now_v, last_v = _failures(now), _failures(last)
    stated = charts.metric(now, "deploymentFailureRate")
    stated_last = charts.metric(last, "deploymentFailureRate")

    def rate(values: Values) -> float | None:
        return _ratio(sum(v[0] for v in values.values()), sum(v[1] for v in values.values()))

    value, source = _value(stated, rate(now_v) if now_v is not None else None)
    last_value, _ = _value(stated_last, rate(last_v) if last_v is not None else None)
    parts: tuple[Part, ...] = ()
    if now_v is not None and last_v is not None:

        def text(app: str) -> str:
            f0, t0 = last_v.get(app, (0.0, 0.0))
            f1, t1 = now_v.get(app, (0.0, 0.0))
            return f"{app} {f0:.0f} of {t0:.0f} → {f1:.0f} of {t1:.0f} failed"

        parts = _parts(rate, now_v, last_v, text)
    note = None
    if now is not None and now_v is None:
        note = "the chart does not say which deployments failed, so no application is named"
    return Reading(
        "deploymentFailureRate",
        "failure rate",
        _unit(stated, "percent"),
        False,
        value,
        last_value,
        source,
        stated,
        parts,
        note,
    )


def _lead_time(found: Mapping[Need, Any], days: tuple[float, float]) -> Reading:
    del days
    now, last = _chart(found, LT_NOW), _chart(found, LT_LAST)
    now_v, last_v = _means(now), _means(last)
    stated = charts.metric(now, "leadTime")
    stated_last = charts.metric(last, "leadTime")

    def hours(values: Values) -> float | None:
        return sum(v[0] for v in values.values()) / HOUR_MS if values else None

    value, source = _value(stated, hours(now_v))
    last_value, _ = _value(stated_last, hours(last_v))

    def text(stage: str) -> str:
        before = last_v.get(stage, (None,))[0]
        after = now_v.get(stage, (None,))[0]
        return f"{STAGE_NAMES.get(stage, stage)} stage {duration(before)} → {duration(after)}"

    return Reading(
        "leadTime",
        "lead time",
        _unit(stated, "hours"),
        False,
        value,
        last_value,
        source,
        stated,
        _parts(hours, now_v, last_v, text) if now_v and last_v else (),
    )


def _impact_size(found: Mapping[Need, Any], days: tuple[float, float]) -> Reading:
    del days
    now, last = _chart(found, RF_NOW), _chart(found, RF_LAST)
    now_v, last_v = _counts(now), _counts(last)
    stated = charts.metric(now, "impactSize")
    stated_last = charts.metric(last, "impactSize")

    def large_share(values: Values) -> float | None:
        return _ratio(values.get("large", (0.0,))[0], sum(v[0] for v in values.values()))

    value, source = _value(stated, large_share(now_v) if now else None)
    last_value, _ = _value(stated_last, large_share(last_v) if last else None)

    def text(size: str) -> str:
        before, after = last_v.get(size, (0.0,))[0], now_v.get(size, (0.0,))[0]
        return f"{size}-impact changes {before:.0f} → {after:.0f}"

    return Reading(
        "impactSize",
        "large-impact share",
        _unit(stated, "percent"),
        False,
        value,
        last_value,
        source,
        stated,
        _parts(large_share, now_v, last_v, text) if now and last else (),
    )


def _coverage_values(found: Mapping[Need, Any], all_of: Need, linked: Need) -> Values | None:
    everything, with_experiments = _chart(found, all_of), _chart(found, linked)
    if everything is None or with_experiments is None:
        return None
    total = sum(charts.totals(everything).values())
    linked_count = sum(charts.totals(with_experiments).values())
    return {"with": (float(linked_count),), "without": (float(total - linked_count),)}


def _experimentation(found: Mapping[Need, Any], days: tuple[float, float]) -> Reading:
    del days
    now_v = _coverage_values(found, RF_NOW, RF_EXP_NOW)
    last_v = _coverage_values(found, RF_LAST, RF_EXP_LAST)
    stated = charts.metric(_chart(found, RF_NOW), "experimentationCoverage")
    stated_last = charts.metric(_chart(found, RF_LAST), "experimentationCoverage")

    def share(values: Values) -> float | None:
        linked, rest = values["with"][0], values["without"][0]
        return _ratio(linked, linked + rest)

    value, source = _value(stated, share(now_v) if now_v else None)
    last_value, _ = _value(stated_last, share(last_v) if last_v else None)
    names = {"with": "changes with an experiment", "without": "changes without one"}

    def text(key: str) -> str:
        before = last_v[key][0] if last_v else 0.0
        after = now_v[key][0] if now_v else 0.0
        return f"{names[key]} {before:.0f} → {after:.0f}"

    return Reading(
        "experimentationCoverage",
        "experiment coverage",
        _unit(stated, "percent"),
        True,
        value,
        last_value,
        source,
        stated,
        _parts(share, now_v, last_v, text) if now_v and last_v else (),
    )


def _flag_health(found: Mapping[Need, Any], days: tuple[float, float]) -> Reading:
    del days
    stale, status = _chart(found, STALE), _chart(found, STATUS)
    stated = charts.metric(stale, "flagHealth")
    recomputed = None
    if stale is not None and status is not None:
        recomputed = _ratio(sum(charts.totals(stale).values()), sum(charts.totals(status).values()))
    value, source = _value(stated, recomputed)
    return Reading(
        "flagHealth",
        "stale flags",
        _unit(stated, "percent"),
        False,
        value,
        None,
        source,
        stated,
        note="the flag charts are snapshots: LaunchDarkly keeps no history of them, so what "
        "changed since the last period cannot be read",
    )


def _creation_ratio(found: Mapping[Need, Any], days: tuple[float, float]) -> Reading:
    del days
    pages = [found.get(n) for n in (EVENTS_NOW, EVENTS_LAST)]
    read = [p for p in pages if isinstance(p, EventPages)]
    base = Reading("creationRatio", "flags created per flag archived", "ratio", False)
    if len(read) < 2:
        return base
    if not all(p.complete for p in read):
        return _with_note(base, "too many flag events to count them all, so no ratio is stated")
    now_v, last_v = _lifecycle_values(read[0]), _lifecycle_values(read[1])
    if not any(v[0] for v in (*now_v.values(), *last_v.values())):
        seen = sum(len(p.items) for p in read)
        return _with_note(
            base,
            f"none of the {seen} flag events of the two periods records a flag's creation or "
            "archival, and no chart states this category's raw value: LaunchDarkly's flag "
            "events may not carry them, so this score cannot be explained from its data",
        )

    def ratio(values: Values) -> float | None:
        return _ratio(values[CREATED][0], values[ARCHIVED][0], 1.0)

    names = {CREATED: "flags created", ARCHIVED: "flags archived"}

    def text(key: str) -> str:
        return f"{names[key]} {last_v[key][0]:.0f} → {now_v[key][0]:.0f}"

    return Reading(
        "creationRatio",
        base.label,
        "ratio",
        False,
        ratio(now_v),
        ratio(last_v),
        "recomputed",
        parts=_parts(ratio, now_v, last_v, text),
        note=f"{now_v[CREATED][0]:.0f} created, {now_v[ARCHIVED][0]:.0f} archived; counted "
        "here from flag events: LaunchDarkly states no raw value or tiers for creationRatio",
    )


def _lifecycle_values(pages: EventPages) -> Values:
    return {k: (float(c),) for k, c in lifecycle_counts(pages.items).items()}


def _with_note(reading: Reading, note: str) -> Reading:
    return Reading(
        reading.category, reading.label, reading.unit, reading.higher_is_better, note=note
    )


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
