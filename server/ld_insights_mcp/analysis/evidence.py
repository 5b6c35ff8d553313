"""Choosing the 3-5 pieces of evidence behind a score, each with its identifier."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ld_insights_mcp.analysis.lifecycle import lifecycle
from ld_insights_mcp.analysis.metrics import STAGE_NAMES
from ld_insights_mcp.analysis.units import duration
from ld_insights_mcp.launchdarkly.vocabulary import millis_to_datetime
from ld_insights_mcp.text import plural, quoted

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.evidence_models import Deployment, FlagEvent, PullRequest

MOST = 5


@dataclass(frozen=True, slots=True)
class Evidence:
    """One piece of evidence: what it is, its identifier, a line of text, a link if any."""

    kind: str  # pull_request | deployment | flag_event | application | maintainer
    id: str
    text: str
    url: str | None = None


def _when(ms: int) -> str:
    return millis_to_datetime(ms).strftime("%m-%d %H:%MZ")


def pr_total_ms(pr: PullRequest) -> int | None:
    """The pull request's average lead time: what the lead-time chart averages."""
    return pr.lead_time.avg_total_lead_time_ms if pr.lead_time is not None else None


def deployed_pull_requests(
    deployments: Sequence[Deployment], start_ms: int, end_ms: int
) -> list[PullRequest]:
    """The pull requests the lead-time metric is computed over: those of the deployments
    that finished between ``start_ms`` and ``end_ms`` (each once)."""
    found: dict[str, PullRequest] = {}
    for d in deployments:
        ended = d.ended_at
        if d.status != "finished" or ended is None or not start_ms <= ended <= end_ms:
            continue
        for pr in d.pull_requests.items if d.pull_requests is not None else ():
            found.setdefault(pr.id, pr)
    return list(found.values())


def pr_stages(pr: PullRequest) -> dict[str, int]:
    lead = pr.lead_time
    if lead is None:
        return {}
    found = {
        "coding": lead.coding_duration_ms,
        "review": lead.review_duration_ms,
        "wait": lead.avg_wait_duration_ms,
        "deploy": lead.avg_deploy_duration_ms,
    }
    return {k: v for k, v in found.items() if v is not None}


def slowest_pull_requests(prs: Sequence[PullRequest]) -> list[Evidence]:
    """The pull requests with the longest lead time, each with its dominant stage."""
    timed = [(pr, total) for pr in prs if (total := pr_total_ms(pr)) is not None]
    timed.sort(key=lambda pair: -pair[1])
    found = []
    for pr, total in timed[:MOST]:
        stages = pr_stages(pr)
        top = max(stages, key=lambda s: stages[s]) if stages else None
        detail = f" ({STAGE_NAMES.get(top, quoted(top))} {duration(stages[top])})" if top else ""
        who = f"{quoted('#' + pr.external_id)} {quoted(pr.title)} by {quoted(pr.author)}"
        text = f"{who}: lead {duration(total)}{detail}"
        found.append(Evidence("pull_request", f"#{pr.external_id}", text, pr.url))
    return found


def deployment_line(deployment: Deployment) -> str:
    took = f", {duration(deployment.duration_ms)}" if deployment.duration_ms else ""
    prs = deployment.number_of_pull_requests
    return (
        f"{quoted(deployment.application_version)} {quoted(deployment.application_key)} "
        f"{quoted(deployment.status)} {_when(deployment.started_at)}{took}, {plural(prs, 'PR')}"
    )


def failed_deployments(deployments: Sequence[Deployment]) -> list[Evidence]:
    """The most recent failed deployments."""
    failed = [d for d in deployments if d.status == "failed"]
    failed.sort(key=lambda d: -d.started_at)
    return [
        Evidence("deployment", d.application_version, deployment_line(d)) for d in failed[:MOST]
    ]


def application_moves(
    now: Mapping[str, int],
    last: Mapping[str, int],
    deployments: Sequence[Deployment],
    *,
    rising: bool,
) -> list[Evidence]:
    """Applications whose deployment count rose most (``rising``) or fell most, with their
    latest deployment's version."""
    latest: dict[str, Deployment] = {}
    for d in sorted(deployments, key=lambda d: -d.started_at):
        if d.status in ("finished", "failed"):
            latest.setdefault(d.application_key, d)
    sign = -1 if rising else 1
    apps = sorted(set(now) | set(last), key=lambda a: (sign * (now.get(a, 0) - last.get(a, 0)), a))
    found = []
    for app in apps[:MOST]:
        text = f"{quoted(app)}: {last.get(app, 0)} → {now.get(app, 0)} deployments"
        recent = latest.get(app)
        if recent is not None:
            text += f"; latest {quoted(recent.application_version)} {_when(recent.started_at)}"
        found.append(Evidence("application", app, text))
    return found


def _member(event: FlagEvent) -> str:
    member = event.member
    if member is None:
        return "unknown"
    return quoted(f"{member.first_name} {member.last_name}".strip() or member.email)


def flag_event_line(event: FlagEvent) -> str:
    impact = event.impact
    size = quoted(impact.size) if impact.size else "unknown"
    pct = f" {impact.percentage:.0f}%" if impact.percentage is not None else ""
    return (
        f"{quoted(event.flag_key)} {quoted(event.description)} by {_member(event)} "
        f"{_when(event.event_time)}: {size}{pct}"
    )


def largest_flag_events(events: Sequence[FlagEvent]) -> list[Evidence]:
    """The flag changes that reached the largest share of users."""
    ranked = sorted(events, key=lambda e: (-(e.impact.percentage or 0.0), -e.event_time))
    return [Evidence("flag_event", e.flag_key, flag_event_line(e)) for e in ranked[:MOST]]


def stale_maintainers(stale: Mapping[str, int]) -> list[Evidence]:
    ranked = sorted(stale.items(), key=lambda pair: (-pair[1], pair[0]))
    return [
        Evidence("maintainer", name, f"{quoted(name)}: {plural(count, 'stale flag')}")
        for name, count in ranked[:MOST]
        if count > 0
    ]


def lifecycle_events(events: Sequence[FlagEvent], kind: str | None) -> list[Evidence]:
    """The newest flag creations or archivals (``kind``; both when None)."""
    chosen = [e for e in events if (found := lifecycle(e)) and (kind is None or found == kind)]
    chosen.sort(key=lambda e: -e.event_time)
    return [
        Evidence(
            "flag_event",
            e.flag_key,
            f"{quoted(e.flag_key)} {lifecycle(e)} by {_member(e)} {_when(e.event_time)}",
        )
        for e in chosen[:MOST]
    ]
