"""Explaining one base category from its reads (``reads.NEEDS``): the metric (``metrics``),
the driver (``drivers``) and 3-5 pieces of evidence, naming what is missing."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ld_insights_mcp.analysis import charts, drivers
from ld_insights_mcp.analysis import evidence as pick
from ld_insights_mcp.analysis.evidence import Evidence
from ld_insights_mcp.analysis.ladder import metric_phrase
from ld_insights_mcp.analysis.metrics import Reading, chart_of, reading
from ld_insights_mcp.analysis.reads import (
    DEPLOYMENTS,
    DF_LAST,
    DF_NOW,
    EVENTS_NOW,
    FAILED,
    FINISHED,
    LARGE_EVENTS,
    NEEDS,
    STALE,
    STATUS,
    UNEXPERIMENTED,
    EventPages,
    Need,
)
from ld_insights_mcp.analysis.units import show
from ld_insights_mcp.text import quoted

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.models import MetricScore

EVIDENCE_SOURCE = {
    "deploymentFrequency": "deployments by application",
    "deploymentFailureRate": "failed deployments",
    "leadTime": "slowest pull requests of the deployments finished in the period",
    "impactSize": "largest-impact flag changes",
    "experimentationCoverage": "largest flag changes without an experiment",
    "flagHealth": "stale flags by maintainer",
    "creationRatio": "flags created or archived",
}


@dataclass
class LeafExplanation:
    category: str
    score: int | None
    indicator: str
    change: int | None
    last_score: int | None
    reading: Reading | None = None
    metric: str | None = None
    driver: drivers.Driver | None = None
    evidence: list[Evidence] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)
    caveat: str | None = None
    impossible: list[str] = field(default_factory=list)
    """LaunchDarkly's values that cannot be true, quoted, each with why: not used."""


def wrong_change(category: str, score: MetricScore | None) -> str | None:
    """LaunchDarkly's ``diffVsLastPeriod`` quoted, when it disagrees with the two scores."""
    if score is None or score.last_period is None or score.diff_vs_last_period is None:
        return None
    stated, change = score.diff_vs_last_period, score.change
    if stated == change:
        return None
    return (
        f"{category} diffVsLastPeriod {quoted(str(stated))} (its scores "
        f"{score.last_period.score} → {score.score} differ by {change})"
    )


def explain_leaf(
    category: str,
    score: MetricScore | None,
    found: Mapping[Need, Any],
    days: tuple[float, float],
    window: tuple[int, int] | None = None,
) -> LeafExplanation:
    """The explanation of one base category from the reads that arrived (``found``);
    ``days`` is the length of this period and the last, ``window`` this period in ms."""
    leaf = LeafExplanation(
        category=category,
        score=score.score if drivers.calculated(score) else None,
        indicator=score.indicator if score is not None else "unknown",
        change=score.change if score is not None else None,
        last_score=score.last_period.score if score and score.last_period else None,
    )
    leaf.missing = [n.label for n in NEEDS.get(category, ()) if found.get(n) is None]
    read = reading(category, found, days)
    leaf.reading = read
    leaf.metric = _metric_text(read)
    leaf.driver = drivers.of_reading(read)
    if category == "leadTime":
        leaf.evidence = _lead_time(found, window)
    else:
        leaf.evidence = _EVIDENCE[category](found, leaf.driver)
    leaf.caveat = _caveat(leaf)
    leaf.impossible = list(read.impossible)
    return leaf


def _metric_text(read: Reading) -> str | None:
    if read.value is None:
        return f"{read.label}: no value ({read.why_none[0]})" if read.why_none[0] else None
    if read.stated is not None:
        return metric_phrase(read.stated)
    shown = show(read.value, read.unit)
    if read.note is not None:
        return f"{shown} {read.label} ({read.note})"
    return f"{shown} {read.label} (counted here from the charts: LaunchDarkly stated no metric)"


def _caveat(leaf: LeafExplanation) -> str | None:
    """When the score moved but its metric did not, or moved the other way: the metric does
    not explain the move."""
    direction = leaf.driver.direction if leaf.driver else None
    if not leaf.change or direction is None:
        return None
    if direction == drivers.UNCHANGED:
        metric = "did not change"
    elif (leaf.change > 0) != (direction == drivers.IMPROVED):
        metric = direction
    else:
        return None
    return (
        f"the score {'rose' if leaf.change > 0 else 'fell'} while its metric {metric}: the "
        "score is LaunchDarkly's, computed on its own basis, so the metric does not explain "
        "this move"
    )


def _listed(found: Mapping[Need, Any], need: Need) -> list[Any] | None:
    """The items of a list read (deployments, flag events); None when it failed."""
    # imported here: start-up loads no wire model (tests/test_startup_imports.py)
    from ld_insights_mcp.launchdarkly.models import Collection

    value = found.get(need)
    return list(value.items) if isinstance(value, Collection) else None


def _deployment_frequency(found: Mapping[Need, Any], driver: drivers.Driver) -> list[Evidence]:
    now, last = charts.totals(chart_of(found, DF_NOW)), charts.totals(chart_of(found, DF_LAST))
    if not (now or last):
        return []
    listed = _listed(found, DEPLOYMENTS) or []
    rising = driver.direction == drivers.IMPROVED
    return pick.application_moves(now, last, listed, rising=rising)


def _failure_rate(found: Mapping[Need, Any], driver: drivers.Driver) -> list[Evidence]:
    return pick.failed_deployments(_listed(found, FAILED) or [])


def _lead_time(found: Mapping[Need, Any], window: tuple[int, int] | None) -> list[Evidence]:
    listed = _listed(found, FINISHED)
    if listed is None or window is None:
        return []
    slowest = pick.slowest_pull_requests(pick.deployed_pull_requests(listed, *window))
    total = found[FINISHED].total_count
    if total > len(listed):
        cut = (
            f"from the {len(listed)} deployments read of {total} listed: "
            "a slower pull request may be among the rest"
        )
        slowest.append(Evidence("note", "incomplete", cut))
    return slowest


def _flag_events(need: Need) -> Callable[[Mapping[Need, Any], drivers.Driver], list[Evidence]]:
    def chosen(found: Mapping[Need, Any], driver: drivers.Driver) -> list[Evidence]:
        return pick.largest_flag_events(_listed(found, need) or [])

    return chosen


def _status_line(found: Mapping[Need, Any]) -> list[Evidence]:
    status = charts.totals(chart_of(found, STATUS))
    if not status:
        return []
    shown = ", ".join(f"{quoted(n)} {c}" for n, c in status.items())
    return [Evidence("flag_status", "flag-status", f"flags by status now: {shown}")]


def _flag_health(found: Mapping[Need, Any], driver: drivers.Driver) -> list[Evidence]:
    """Stale flags by maintainer, unless the charts count more stale flags than flags."""
    stale = charts.totals(chart_of(found, STALE))
    flags = charts.totals(chart_of(found, STATUS))
    if flags and sum(stale.values()) > sum(flags.values()):
        stale = {}
    return [*pick.stale_maintainers(stale), *_status_line(found)]


def _creation_ratio(found: Mapping[Need, Any], driver: drivers.Driver) -> list[Evidence]:
    pages = found.get(EVENTS_NOW)
    if not isinstance(pages, EventPages):
        return _status_line(found)
    kind = driver.part.key if driver.part else None
    return [*pick.lifecycle_events(pages.items, kind), *_status_line(found)]


_EVIDENCE: dict[str, Callable[[Mapping[Need, Any], drivers.Driver], list[Evidence]]] = {
    "deploymentFrequency": _deployment_frequency,
    "deploymentFailureRate": _failure_rate,
    "impactSize": _flag_events(LARGE_EVENTS),
    "experimentationCoverage": _flag_events(UNEXPERIMENTED),
    "flagHealth": _flag_health,
    "creationRatio": _creation_ratio,
}
