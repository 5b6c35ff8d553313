"""Why a category is notCalculated or thin: the data checks, each finding with its fix.

Each input is None when its call failed: that check is then reported as unknown.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ld_insights_mcp.analysis.units import HOUR_MS, duration
from ld_insights_mcp.launchdarkly.vocabulary import CALCULATED_INDICATORS
from ld_insights_mcp.text import plural, quoted

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.evidence_models import (
        Deployment,
        DeploymentCollection,
        FlagEventCollection,
        InsightsRepositoryCollection,
        PullRequestCollection,
    )
    from ld_insights_mcp.launchdarkly.models import MetricScore

STUCK_AFTER_MS = 12 * HOUR_MS
"""A deployment still in progress this long after it started is stuck."""
FINISHED = ("finished", "failed")
SHOWN = 5
LEAD_TIME = ("leadTime",)


@dataclass(frozen=True, slots=True)
class Finding:
    check: str
    status: str  # ok | problem | info | unknown
    detail: str
    fix: str | None = None
    affects: tuple[str, ...] = ()


def _ids(values: list[str]) -> str:
    """The first ``SHOWN`` of values already shown (quoted), and how many more."""
    more = f" and {len(values) - SHOWN} more" if len(values) > SHOWN else ""
    return ", ".join(values[:SHOWN]) + more


def _unknown(check: str, affects: tuple[str, ...]) -> Finding:
    return Finding(check, "unknown", "not checked: its call failed (see missing)", None, affects)


def _ok(check: str, detail: str, affects: tuple[str, ...]) -> Finding:
    return Finding(check, "ok", detail, affects=affects)


def _version(deployment: Deployment, more: str = "") -> str:
    """``"1.2" ("api")``, with ``more`` inside the parentheses."""
    return f"{quoted(deployment.application_version)} ({quoted(deployment.application_key)}{more})"


def repositories(found: InsightsRepositoryCollection | None, project_key: str) -> list[Finding]:
    check = "repositories linked"
    if found is None:
        return [_unknown(check, LEAD_TIME)]
    project = quoted(project_key)
    mapped = [
        (quoted(r.key), [p.key for p in r.projects.items])
        for r in found.items
        if r.projects is not None
    ]
    linked = [key for key, projects in mapped if project_key in projects]
    unlinked = [key for key, projects in mapped if not projects]
    findings = [
        _ok(check, f"{len(linked)} linked to {project}: {_ids(linked)}", LEAD_TIME)
        if linked
        else Finding(
            check,
            "problem",
            f"no repository is linked to {project}: pull requests and lead time cannot be measured",
            "install LaunchDarkly's GitHub app and link the code repositories to "
            f"project {project}",
            LEAD_TIME,
        )
    ]
    if unlinked:
        findings.append(
            Finding(
                "repositories without a project",
                "info",
                f"{len(unlinked)} linked to no project: {_ids(unlinked)}",
                "link them to the project they deploy to, if any",
                LEAD_TIME,
            )
        )
    return findings


def deployments(found: DeploymentCollection | None, *, now_ms: int) -> list[Finding]:
    affects = ("deploymentFrequency", "deploymentFailureRate", "leadTime")
    arriving, stuck_check = "deployments arriving", "deployments stuck in progress"
    linked_check = "versions linked to pull requests"
    if found is None:
        return [
            _unknown(arriving, affects),
            _unknown(stuck_check, affects),
            _unknown(linked_check, LEAD_TIME),
        ]
    scope = "" if len(found.items) >= found.total_count else f" (of the latest {len(found.items)})"
    apps = [quoted(app) for app in sorted({d.application_key for d in found.items})]
    stuck = [
        d
        for d in found.items
        if d.status not in FINISHED
        and d.ended_at is None
        and now_ms - d.started_at > STUCK_AFTER_MS
    ]
    unlinked = [d for d in found.items if d.number_of_pull_requests == 0]
    return [
        Finding(
            arriving,
            "problem",
            "no deployment reported in the period",
            "send deployment events from CI for every application (started, then finished "
            "or failed), e.g. with LaunchDarkly's deployment-events GitHub Action",
            affects,
        )
        if found.total_count == 0
        else _ok(arriving, f"{found.total_count} in the period, from {_ids(apps)}", affects),
        Finding(
            stuck_check,
            "problem",
            f"{len(stuck)}{scope} still {quoted(stuck[0].status)}: "
            + _ids([_version(d, f", {duration(now_ms - d.started_at)} ago") for d in stuck]),
            "make the pipeline send the finished or failed event when a deploy ends; "
            "set these deployments' status to finished or failed in LaunchDarkly",
            affects,
        )
        if stuck
        else _ok(stuck_check, f"none{scope}", affects),
        Finding(
            linked_check,
            "problem",
            f"{plural(len(unlinked), 'deployment')}{scope} with no pull request linked: "
            + _ids([_version(d) for d in unlinked]),
            "report the application version as the commit SHA or a git tag, so "
            "LaunchDarkly can link the pull requests it contains",
            LEAD_TIME,
        )
        if unlinked
        else _ok(linked_check, f"every deployment{scope} links pull requests", LEAD_TIME),
    ]


def undeployed(found: PullRequestCollection | None) -> list[Finding]:
    check = "pull requests never deployed"
    if found is None:
        return [_unknown(check, LEAD_TIME)]
    if found.total_count == 0:
        return [_ok(check, "none", LEAD_TIME)]
    numbers = [quoted(f"#{p.external_id}") for p in found.items]
    return [
        Finding(
            check,
            "problem",
            f"{found.total_count} merged but not deployed: {_ids(numbers)}",
            "check that deployments of their applications are reported with versions that "
            "contain these merges (a pull request whose deployment failed stays undeployed)",
            LEAD_TIME,
        )
    ]


def flag_events(found: FlagEventCollection | None) -> list[Finding]:
    check, affects = "flag changes arriving", ("impactSize", "experimentationCoverage")
    if found is None:
        return [_unknown(check, affects)]
    if found.total_count:
        return [_ok(check, f"{found.total_count} in the period", affects)]
    return [
        Finding(
            check,
            "problem",
            "no flag change recorded in this environment in the period",
            "impact size and experimentation coverage need flag changes in this "
            "environment; check the environment key",
            affects,
        )
    ]


def not_calculated(scores: Mapping[str, MetricScore]) -> list[str]:
    return [name for name, s in scores.items() if s.indicator not in CALCULATED_INDICATORS]


def score_findings(scores: Mapping[str, MetricScore] | None) -> list[Finding]:
    """What the scores themselves say is missing."""
    if scores is None:
        return [_unknown("scores", ())]
    if "experimentationCoverage" not in not_calculated(scores):
        return []
    return [
        Finding(
            "experiments",
            "problem",
            "experimentation coverage is notCalculated: no flag change in the period "
            "was linked to an experiment",
            "run experiments on the flags you change (or accept the category as not applicable)",
            ("experimentationCoverage",),
        )
    ]
