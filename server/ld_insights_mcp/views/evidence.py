"""Deployments, pull requests and flag events: one compact line each, cursor pages with the
exact next call."""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from pydantic import Field

from ld_insights_mcp.text import plural, quoted
from ld_insights_mcp.views.charts import duration
from ld_insights_mcp.views.common import (
    DataSource,
    ViewModel,
    copied,
    iso_datetime,
    short_time,
    source_line,
)

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.evidence_models import Deployment, FlagEvent, PullRequest


class Stages(ViewModel):
    """Lead time by stage, ms (null: not reached)."""

    coding_ms: int | None = None
    review_ms: int | None = None
    wait_ms: int | None = None
    deploy_ms: int | None = None
    total_ms: int | None = None


class PullRequestView(ViewModel):
    id: str
    number: str
    title: str
    author: str
    status: str
    created: str
    merged: str | None
    files_changed: int
    lines_added: int
    lines_deleted: int
    url: str
    lead_time: Stages | None = Field(default=None, description="Needs an environment.")


class FlagReferenceView(ViewModel):
    flag_key: str
    project_key: str
    added: int
    removed: int


class DeploymentView(ViewModel):
    id: str
    application: str
    version: str
    status: str
    kind: str
    started: str
    ended: str | None
    duration_ms: int | None
    archived: bool
    contributors: int
    pull_request_count: int
    lines_added: int
    lines_deleted: int
    lead_time_ms: int
    stages: Stages | None
    pull_requests: list[PullRequestView] | None = None
    flag_references: list[FlagReferenceView] | None = None


class FlagEventView(ViewModel):
    id: str
    flag_key: str
    event_type: str
    description: str
    time: str
    by: str | None
    impact_size: str | None
    impact_percentage: float | None
    impact_reason: str | None
    evaluations: list[tuple[Any, int | None, int | None]] = Field(
        default_factory=list, description="(variation value, before, after), 10 min each side."
    )


class EvidencePage(ViewModel):
    """One page of a cursor list."""

    data_source: DataSource
    project_key: str
    environment_key: str | None
    application_keys: list[str]
    window_from: str
    window_to: str
    total_count: int = Field(description="Matching items across all pages.")
    returned: int
    next_cursor: str | None = Field(description="Pass as cursor for the next page; null at end.")
    truncated: bool = False


class DeploymentPage(EvidencePage):
    deployments: list[DeploymentView]


class PullRequestPage(EvidencePage):
    pull_requests: list[PullRequestView]


class FlagEventPage(EvidencePage):
    flag_events: list[FlagEventView]


class DeploymentResult(ViewModel):
    data_source: DataSource
    deployment: DeploymentView


def _stages(found: Any, averaged: str = "") -> Stages | None:
    """Lead time by stage; a pull request's wait, deploy and total are ``avg_`` ones."""
    if found is None:
        return None
    return Stages(
        coding_ms=found.coding_duration_ms,
        review_ms=found.review_duration_ms,
        wait_ms=getattr(found, f"{averaged}wait_duration_ms"),
        deploy_ms=getattr(found, f"{averaged}deploy_duration_ms"),
        total_ms=getattr(found, f"{averaged}total_lead_time_ms"),
    )


def pull_request_view(pr: PullRequest) -> PullRequestView:
    return copied(
        PullRequestView,
        pr,
        number=pr.external_id,
        created=iso_datetime(pr.create_time),
        merged=iso_datetime(pr.merge_time) if pr.merge_time is not None else None,
        lead_time=_stages(pr.lead_time, "avg_"),
    )


def deployment_view(deployment: Deployment) -> DeploymentView:
    prs, refs = deployment.pull_requests, deployment.flag_references
    return copied(
        DeploymentView,
        deployment,
        application=deployment.application_key,
        version=deployment.application_version,
        started=iso_datetime(deployment.started_at),
        ended=iso_datetime(deployment.ended_at) if deployment.ended_at is not None else None,
        contributors=deployment.number_of_contributors,
        pull_request_count=deployment.number_of_pull_requests,
        lead_time_ms=deployment.lead_time,
        stages=_stages(deployment.lead_time_stages),
        pull_requests=[pull_request_view(p) for p in prs.items] if prs is not None else None,
        flag_references=[
            copied(FlagReferenceView, r, added=r.references_added, removed=r.references_removed)
            for r in refs.items
        ]
        if refs is not None
        else None,
    )


def flag_event_view(event: FlagEvent) -> FlagEventView:
    member = event.member
    impact = event.impact
    summary = impact.evaluations_summary
    return copied(
        FlagEventView,
        event,
        time=iso_datetime(event.event_time),
        by=f"{member.first_name} {member.last_name}".strip() or member.email if member else None,
        impact_size=impact.size,
        impact_percentage=impact.percentage,
        impact_reason=impact.reason,
        evaluations=[(v.value, v.before, v.after) for v in summary.variations] if summary else [],
    )


def stages_text(stages: Stages | None, label: str = "lead") -> str:
    if stages is None or (stages.total_ms is None and stages.coding_ms is None):
        return ""
    parts = [
        f"{name} {duration(value)}"
        for name, value in (
            ("coding", stages.coding_ms),
            ("review", stages.review_ms),
            ("wait", stages.wait_ms),
            ("deploy", stages.deploy_ms),
        )
        if value is not None
    ]
    total = f"{label} {duration(stages.total_ms)} " if stages.total_ms is not None else f"{label} "
    return f"{total}({', '.join(parts)})"


def deployment_line(d: DeploymentView) -> str:
    took = duration(d.duration_ms) if d.duration_ms is not None else "running"
    archived = " archived" if d.archived else ""
    lead = "no lead yet"  # a deployment still running has none (LaunchDarkly sends 0)
    if d.ended is not None:
        lead = stages_text(d.stages, "avg lead") or f"lead {duration(d.lead_time_ms)}"
    return (
        f"{short_time(d.started)} {quoted(d.application)} {quoted(d.version)} {quoted(d.status)} "
        f"{quoted(d.kind)}{archived} {took} | {plural(d.pull_request_count, 'PR')} by "
        f"{d.contributors} +{d.lines_added}/-{d.lines_deleted} | {lead} | id {quoted(d.id)}"
    )


def pull_request_line(p: PullRequestView) -> str:
    repo = p.url.rstrip("/").split("/")[-3] if p.url.count("/") >= 4 else ""
    merged = f" merged {short_time(p.merged)}" if p.merged else ""
    lead = stages_text(p.lead_time)
    return (
        f"{quoted(f'{repo}#{p.number}')} {quoted(p.title)} by {quoted(p.author)} "
        f"{quoted(p.status)} | opened {short_time(p.created)}{merged} | "
        f"{plural(p.files_changed, 'file')} +{p.lines_added}/-{p.lines_deleted}"
        + (f" | {lead}" if lead else "")
    )


def flag_event_line(e: FlagEventView) -> str:
    by = f" by {quoted(e.by)}" if e.by else ""
    impact = f"impact {quoted(e.impact_size) if e.impact_size else '?'}"
    if e.impact_percentage is not None:
        impact += f" {e.impact_percentage:g}%"
    if e.impact_reason and e.impact_reason != "evaluations":
        impact += f" ({quoted(e.impact_reason)})"
    evaluations = ", ".join(
        f"{_variation(v)} {b}->{a}" for v, b, a in e.evaluations if b is not None or a is not None
    )
    return (
        f"{short_time(e.time)} {quoted(e.flag_key)} {quoted(e.event_type)} {quoted(e.description)}"
        f"{by} | {impact}" + (f" ({evaluations})" if evaluations else "")
    )


def _variation(value: Any) -> str:
    """A variation value: numbers, booleans and null as JSON, anything else quoted."""
    if value is None or isinstance(value, bool | int | float):
        return json.dumps(value)
    return quoted(value if isinstance(value, str) else json.dumps(value, ensure_ascii=False))


def deployment_text(result: DeploymentResult) -> str:
    d = result.deployment
    lines = [*source_line(result.data_source), f"Deployment {deployment_line(d)}"]
    if d.ended:
        lines.append(f"Ended {short_time(d.ended)}.")
    for pr in d.pull_requests or []:
        lines.append(f"  PR {pull_request_line(pr)}")
    refs = d.flag_references or []
    if refs:
        lines.append(
            "  Flag references: "
            + "; ".join(f"{quoted(r.flag_key)} +{r.added}/-{r.removed}" for r in refs)
        )
    return "\n".join(lines)


NO_CURSOR = (
    "More items exist, but LaunchDarkly gave the last one an id that cannot serve as a cursor: "
    "narrow the window (from_date, to_date) to see the rest."
)


def cursor_page_text(
    *,
    header: Sequence[str],
    lines: Sequence[str],
    ids: Sequence[str],
    has_more: bool,
    next_call: Callable[[str], str],
    cursor_for: Callable[[str], str | None],
    max_chars: int,
) -> tuple[str, int, str | None]:
    """(text, items shown, next cursor): past ``max_chars`` trailing items are dropped and the
    cursor resumes after the last one shown; ``cursor_for`` is None for an id unfit for one."""
    shown = len(lines)
    while True:
        more = has_more or shown < len(lines)
        cursor = cursor_for(ids[shown - 1]) if more and shown else None
        footer = [f"More: call {next_call(cursor)}."] if cursor else []
        if more and shown and cursor is None:
            footer = [NO_CURSOR]
        kept = list(lines[:shown])
        text = "\n".join([*header, *kept, *footer])
        if len(text) <= max_chars or shown <= 1:
            if len(text) > max_chars:
                room = max(max_chars - (len(text) - len(kept[0])) - 3, 0)
                text = "\n".join([*header, kept[0][:room] + "...", *footer])
            return text, shown, cursor
        shown -= 1
