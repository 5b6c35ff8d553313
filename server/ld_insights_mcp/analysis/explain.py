"""Explaining one base category from its evidence: what to ask for and what it says.

``NEEDS`` lists, per category, the upstream reads its explanation uses (charts with one
bucket per score period, ``expand=metrics``, and the list that holds the evidence);
``explain_leaf`` turns whatever of them arrived into the metric, the driver and 3-5 pieces
of evidence, naming what is missing.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ..launchdarkly.evidence_models import (
    ChartMetric,
    DeploymentCollection,
    FlagEventCollection,
    InsightsChart,
    PullRequestCollection,
)
from ..launchdarkly.models import MetricScore
from . import charts, drivers
from . import evidence as pick
from .evidence import Evidence
from .ladder import metric_phrase

NOW, LAST, SNAPSHOT = "this period", "last period", "now"


@dataclass(frozen=True, slots=True)
class Need:
    """One upstream read: an operation, the period it covers, and its options."""

    operation: str
    period: str
    options: tuple[tuple[str, str], ...] = ()

    @property
    def label(self) -> str:
        opts = "".join(f", {k}={v}" for k, v in self.options)
        return f"{self.operation}({self.period}{opts})"


def _need(operation: str, period: str, **options: str) -> Need:
    return Need(operation, period, tuple(sorted(options.items())))


DF_NOW = _need("getDeploymentFrequencyChart", NOW, groupBy="application")
DF_LAST = _need("getDeploymentFrequencyChart", LAST, groupBy="application")
LT_NOW = _need("getLeadTimeChart", NOW, groupBy="stage")
LT_LAST = _need("getLeadTimeChart", LAST, groupBy="stage")
RF_NOW = _need("getReleaseFrequencyChart", NOW, groupBy="impact")
RF_LAST = _need("getReleaseFrequencyChart", LAST, groupBy="impact")
DEPLOYMENTS = _need("getDeployments", NOW)
FAILED = _need("getDeployments", NOW, status="failed")
SLOWEST_PRS = _need("getPullRequests", NOW, sort="-leadTime")
LARGE_EVENTS = _need("getFlagEvents", NOW, impactSize="large")
UNEXPERIMENTED = _need("getFlagEvents", NOW, hasExperiments="false")
STALE = _need("getStaleFlagsChart", SNAPSHOT, groupBy="maintainer")
STATUS = _need("getFlagStatusChart", SNAPSHOT)

NEEDS: dict[str, tuple[Need, ...]] = {
    "deploymentFrequency": (DF_NOW, DF_LAST, DEPLOYMENTS),
    "deploymentFailureRate": (DF_NOW, DF_LAST, FAILED),
    "leadTime": (LT_NOW, LT_LAST, SLOWEST_PRS),
    "impactSize": (RF_NOW, RF_LAST, LARGE_EVENTS),
    "experimentationCoverage": (RF_NOW, RF_LAST, UNEXPERIMENTED),
    "flagHealth": (STALE, STATUS),
}

METRIC_READ: dict[str, Need] = {
    "deploymentFrequency": DF_NOW,
    "deploymentFailureRate": DF_NOW,
    "leadTime": LT_NOW,
    "impactSize": RF_NOW,
    "experimentationCoverage": RF_NOW,
    "flagHealth": STALE,
}
"""The read whose ``metrics`` carry each category's raw value for this period."""

EVIDENCE_SOURCE = {
    "deploymentFrequency": "deployments by application",
    "deploymentFailureRate": "failed deployments",
    "leadTime": "slowest pull requests",
    "impactSize": "largest-impact flag changes",
    "experimentationCoverage": "largest flag changes without an experiment",
    "flagHealth": "stale flags by maintainer",
}


@dataclass
class LeafExplanation:
    category: str
    score: int | None
    indicator: str
    change: int | None
    last_score: int | None
    metric: str | None = None
    measured: ChartMetric | None = None
    """The raw metric behind ``metric``, as the chart gave it."""
    driver: str | None = None
    evidence: list[Evidence] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


def needs_for(leaves: Sequence[str]) -> list[Need]:
    """The distinct reads the leaves need, in a stable order."""
    return list(dict.fromkeys(need for leaf in leaves for need in NEEDS.get(leaf, ())))


def explain_leaf(
    category: str, score: MetricScore | None, found: Mapping[Need, Any]
) -> LeafExplanation:
    """The explanation of one base category from the reads that arrived (``found``)."""
    calculated = score is not None and score.indicator not in ("notCalculated", "unknown")
    leaf = LeafExplanation(
        category=category,
        score=score.score if score is not None and calculated else None,
        indicator=score.indicator if score is not None else "unknown",
        change=score.diff_vs_last_period if score is not None else None,
        last_score=score.last_period.score if score and score.last_period else None,
    )
    leaf.missing = [n.label for n in NEEDS.get(category, ()) if found.get(n) is None]
    builder = _BUILDERS.get(category)
    if builder is not None:
        builder(leaf, found)
    if category in METRIC_READ:
        leaf.measured = charts.metric(_chart(found, METRIC_READ[category]), category)
    return leaf


def _chart(found: Mapping[Need, Any], need: Need) -> InsightsChart | None:
    value = found.get(need)
    return value if isinstance(value, InsightsChart) else None


def _metric_text(metric: ChartMetric | None) -> str | None:
    return metric_phrase(metric) if metric is not None else None


def _deployment_frequency(leaf: LeafExplanation, found: Mapping[Need, Any]) -> None:
    now, last = _chart(found, DF_NOW), _chart(found, DF_LAST)
    metric_now = charts.metric(now, "deploymentFrequency")
    leaf.metric = _metric_text(metric_now)
    counts_now, counts_last = charts.totals(now), charts.totals(last)
    leaf.driver = drivers.deployment_frequency(
        counts_now, counts_last, metric_now, charts.metric(last, "deploymentFrequency")
    )
    listed = found.get(DEPLOYMENTS)
    items = listed.items if isinstance(listed, DeploymentCollection) else []
    if counts_now or counts_last:
        leaf.evidence = pick.application_moves(counts_now, counts_last, items)


def _failure_rate(leaf: LeafExplanation, found: Mapping[Need, Any]) -> None:
    now, last = _chart(found, DF_NOW), _chart(found, DF_LAST)
    metric_now = charts.metric(now, "deploymentFailureRate")
    leaf.metric = _metric_text(metric_now)
    listed = found.get(FAILED)
    failed = listed if isinstance(listed, DeploymentCollection) else None
    leaf.driver = drivers.failure_rate(
        failed.items if failed else [],
        metric_now,
        charts.metric(last, "deploymentFailureRate"),
        total_failed=failed.total_count if failed else None,
    )
    if failed is not None:
        leaf.evidence = pick.failed_deployments(failed.items)


def _lead_time(leaf: LeafExplanation, found: Mapping[Need, Any]) -> None:
    now, last = _chart(found, LT_NOW), _chart(found, LT_LAST)
    metric_now = charts.metric(now, "leadTime")
    leaf.metric = _metric_text(metric_now)
    leaf.driver = drivers.lead_time(
        charts.means(now), charts.means(last), metric_now, charts.metric(last, "leadTime")
    )
    listed = found.get(SLOWEST_PRS)
    if isinstance(listed, PullRequestCollection):
        leaf.evidence = pick.slowest_pull_requests(listed.items)


def _impact_size(leaf: LeafExplanation, found: Mapping[Need, Any]) -> None:
    now, last = _chart(found, RF_NOW), _chart(found, RF_LAST)
    leaf.metric = _metric_text(charts.metric(now, "impactSize"))
    leaf.driver = drivers.impact_size(charts.totals(now), charts.totals(last))
    listed = found.get(LARGE_EVENTS)
    if isinstance(listed, FlagEventCollection):
        leaf.evidence = pick.largest_flag_events(listed.items)


def _experimentation(leaf: LeafExplanation, found: Mapping[Need, Any]) -> None:
    now, last = _chart(found, RF_NOW), _chart(found, RF_LAST)
    metric_now = charts.metric(now, "experimentationCoverage")
    leaf.metric = _metric_text(metric_now)
    leaf.driver = drivers.experimentation(
        metric_now, charts.metric(last, "experimentationCoverage")
    )
    listed = found.get(UNEXPERIMENTED)
    if isinstance(listed, FlagEventCollection):
        leaf.evidence = pick.largest_flag_events(listed.items)


def _flag_health(leaf: LeafExplanation, found: Mapping[Need, Any]) -> None:
    stale = _chart(found, STALE)
    metric_now = charts.metric(stale, "flagHealth")
    leaf.metric = _metric_text(metric_now)
    by_maintainer = charts.totals(stale)
    leaf.driver = drivers.flag_health(by_maintainer, metric_now) if stale else None
    leaf.evidence = pick.stale_maintainers(by_maintainer)
    status = charts.totals(_chart(found, STATUS))
    if status:
        shown = ", ".join(f"{n} {c}" for n, c in status.items())
        leaf.evidence.append(Evidence("flag_status", "status", f"flags by status: {shown}"))


_BUILDERS = {
    "deploymentFrequency": _deployment_frequency,
    "deploymentFailureRate": _failure_rate,
    "leadTime": _lead_time,
    "impactSize": _impact_size,
    "experimentationCoverage": _experimentation,
    "flagHealth": _flag_health,
}
