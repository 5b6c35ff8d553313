"""The upstream reads an explanation uses, per base category: charts with one bucket per
score period and ``expand=metrics``, lists for the evidence; the flag charts are snapshots."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.evidence_models import FlagEvent


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


@dataclass(frozen=True, slots=True)
class EventPages:
    """Every flag event of a period, read page by page up to a cap (``complete`` is False
    when the cap cut the list short)."""

    items: list[FlagEvent]
    complete: bool


def _need(operation: str, period: str, **options: str) -> Need:
    return Need(operation, period, tuple(sorted(options.items())))


def _periods(operation: str, **options: str) -> tuple[Need, Need]:
    """The same read over this period and the last."""
    return _need(operation, NOW, **options), _need(operation, LAST, **options)


DF_NOW, DF_LAST = _periods("getDeploymentFrequencyChart", groupBy="application")
LT_NOW, LT_LAST = _periods("getLeadTimeChart", groupBy="stage")
RF_NOW, RF_LAST = _periods("getReleaseFrequencyChart", groupBy="impact")
RF_EXP_NOW, RF_EXP_LAST = _periods("getReleaseFrequencyChart", hasExperiments="true")
DEPLOYMENTS = _need("getDeployments", NOW)
FAILED = _need("getDeployments", NOW, status="failed")
FINISHED = _need("getDeployments", NOW, expand="pullRequests", status="finished")
"""Finished deployments with their pull requests: those the lead-time chart counts."""
LARGE_EVENTS = _need("getFlagEvents", NOW, impactSize="large")
UNEXPERIMENTED = _need("getFlagEvents", NOW, hasExperiments="false")
EVENTS_NOW, EVENTS_LAST = _periods("getFlagEvents", pages="all")
STALE = _need("getStaleFlagsChart", SNAPSHOT, groupBy="maintainer")
STATUS = _need("getFlagStatusChart", SNAPSHOT)

NEEDS: dict[str, tuple[Need, ...]] = {
    "deploymentFrequency": (DF_NOW, DF_LAST, DEPLOYMENTS),
    "deploymentFailureRate": (DF_NOW, DF_LAST, FAILED),
    "leadTime": (LT_NOW, LT_LAST, FINISHED),
    "impactSize": (RF_NOW, RF_LAST, LARGE_EVENTS),
    "experimentationCoverage": (RF_NOW, RF_LAST, RF_EXP_NOW, RF_EXP_LAST, UNEXPERIMENTED),
    "flagHealth": (STALE, STATUS),
    "creationRatio": (EVENTS_NOW, EVENTS_LAST, STATUS),
}


REPOSITORIES = _need("getInsightsRepositories", SNAPSHOT, expand="projects")
MERGED_PRS = _need("getPullRequests", NOW, status="merged")
ANY_EVENT = _need("getFlagEvents", NOW, limit="1")
COVERAGE_NEEDS = (REPOSITORIES, DEPLOYMENTS, MERGED_PRS, ANY_EVENT)
"""What ``diagnose_data_coverage`` reads besides the scores."""


def needs_for(leaves: Sequence[str]) -> list[Need]:
    """The distinct reads the leaves need, in a stable order."""
    return list(dict.fromkeys(need for leaf in leaves for need in NEEDS.get(leaf, ())))
