"""Analysis tools: explain_score, insights_digest, diagnose_data_coverage.

Each reads the scores first (they give the periods), then makes its other reads at once
(bounded by the client's concurrency limit), reports progress per read, and returns within
one call budget: a read that fails or runs out of time is named as missing, not fatal.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Annotated, Any, Literal, TypeVar

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field, Strict, StringConstraints

from ..analysis import coverage
from ..analysis.categories import EXPLAINABLE, PARTS, leaves_to_explain
from ..analysis.digest import band_counts, biggest_drops, most_regressed, rank_groups
from ..analysis.digest import worth_explaining as pick_next
from ..analysis.explain import LAST, NOW, Need, explain_leaf, needs_for
from ..analysis.gather import Call, Gathered, gather
from ..launchdarkly import LaunchDarklyError
from ..launchdarkly.models import InsightGroup, InsightGroupScores, InsightPeriod, MetricScore
from ..launchdarkly.vocabulary import KEY_PATTERN
from ..state import AppState, app_state
from ..ui import DASHBOARD_META
from ..views.analysis import (
    CallsMade,
    CoverageResult,
    DigestResult,
    ExplainResult,
    Scope,
    call,
    coverage_finding,
    coverage_text,
    digest_drop,
    digest_group,
    digest_text,
    explain_text,
    leaf_result,
)
from ..views.common import quoted
from ..views.scores import category_scores, period
from .params import (
    TEXT_PATTERN,
    OptionalApplicationKeys,
    OptionalEnvironmentKey,
    OptionalProjectKey,
    visible_text,
)
from .registry import READ, add_tool, resolve_scope, tool_result
from .upstream import describe_failure

T = TypeVar("T")
DAY_MS = 86_400_000
GROUP_PAGE = 20

GroupKey = Annotated[
    Annotated[str, Strict(), StringConstraints(pattern=KEY_PATTERN, min_length=1, max_length=256)]
    | None,
    Field(description="Insight group key; instead of project/environment/apps."),
]
Category = Annotated[
    Literal[EXPLAINABLE],  # type: ignore[valid-type]
    Field(description="Score category or composite."),
]


@dataclass(frozen=True, slots=True)
class Window:
    start_ms: int
    end_ms: int


@dataclass(frozen=True, slots=True)
class Target:
    """What the scores read said: the slice, its scores and its periods."""

    scope: Scope
    scores: InsightGroupScores
    period: InsightPeriod
    last_period: InsightPeriod
    first_call: str

    @property
    def apps(self) -> list[str]:
        return self.scope.application_keys

    def window(self, which: str) -> Window:
        chosen = self.period if which != LAST else self.last_period
        return Window(chosen.start_time, chosen.end_time)


class _Progress:
    def __init__(self, ctx: Context[Any, Any], total: int) -> None:
        self.ctx, self.total, self.done = ctx, total, 0

    async def step(self, label: str) -> None:
        self.done += 1
        await self.ctx.report_progress(self.done, self.total, label)


def _short(exc: LaunchDarklyError) -> str:
    """A one-line reason for a missing read."""
    return describe_failure(exc, not_found="check the keys").removesuffix(". Next: check the keys.")


async def _first(state: AppState, deadline: float, operation: Callable[[], Awaitable[T]]) -> T:
    """The first read (the scores): nothing can be explained without it."""
    budget = state.settings.call_budget
    try:
        with anyio.fail_after(max(deadline - anyio.current_time(), 0.001)):
            return await operation()
    except TimeoutError:
        raise ToolError(
            f"LaunchDarkly did not answer within this call's {budget:g} s budget; "
            "try again in a minute."
        ) from None
    except LaunchDarklyError as exc:
        raise ToolError(
            describe_failure(
                exc, not_found="check the keys; list_insight_groups shows the keys in use"
            )
        ) from None


async def _target(
    state: AppState,
    deadline: float,
    group_key: str | None,
    project_key: str | None,
    environment_key: str | None,
    application_keys: list[str] | None,
) -> Target:
    if group_key is not None:
        if project_key or environment_key or application_keys:
            raise ToolError(
                "group_key: pass either group_key or project_key/environment_key/"
                "application_keys, not both (a group already names its slice)."
            )
        group: InsightGroup = await _first(
            state, deadline, lambda: state.client.get_insight_group(group_key, expand=["scores"])
        )
        if group.scores is None:
            raise ToolError(f"LaunchDarkly returned no scores for insight group {group_key!r}.")
        periods = group.score_metadata
        current, last = (periods.period, periods.last_period) if periods else _default_periods()
        scope = Scope(
            group_key=group.key,
            project_key=group.project_key,
            environment_key=group.environment_key,
            application_keys=list(group.application_keys),
        )
        return Target(scope, group.scores, current, last, "getInsightGroup")
    project, environment = resolve_scope(state.settings, project_key, environment_key)
    apps = list(dict.fromkeys(application_keys or []))
    found = await _first(
        state, deadline, lambda: state.client.get_insight_scores(project, environment, apps)
    )
    scope = Scope(project_key=project, environment_key=environment, application_keys=apps)
    return Target(scope, found.scores, found.period, found.last_period, "getInsightsScores")


def _default_periods() -> tuple[InsightPeriod, InsightPeriod]:
    now = int(time.time() * 1000)
    length = 30 * DAY_MS
    return (
        InsightPeriod(start_time=now - length, end_time=now),
        InsightPeriod(start_time=now - 2 * length, end_time=now - length),
    )


def _read(state: AppState, target: Target, need: Need) -> Callable[[], Awaitable[Any]]:
    """The client call that makes one read of ``explain.NEEDS``."""
    client, s = state.client, target.scope
    p, e, apps = s.project_key, s.environment_key, target.apps
    w = target.window(need.period)
    opts = dict(need.options)
    match need.operation:
        case "getDeploymentFrequencyChart":
            return lambda: client.get_deployment_frequency_chart(
                p,
                e,
                apps,
                group_by="application",
                metrics=True,
                from_ms=w.start_ms,
                to_ms=w.end_ms,
                bucket_ms=max(w.end_ms - w.start_ms, 60_000),
            )
        case "getLeadTimeChart":
            return lambda: client.get_lead_time_chart(
                p,
                e,
                apps,
                group_by="stage",
                expand=("metrics",),
                from_ms=w.start_ms,
                to_ms=w.end_ms,
                bucket_ms=max(w.end_ms - w.start_ms, 60_000),
            )
        case "getReleaseFrequencyChart":
            return lambda: client.get_release_frequency_chart(
                p,
                e,
                apps,
                group_by="impact",
                metrics=True,
                from_ms=w.start_ms,
                to_ms=w.end_ms,
                bucket_ms=max(w.end_ms - w.start_ms, 60_000),
            )
        case "getDeployments":
            return lambda: client.get_deployments(
                p, e, apps, status=opts.get("status"), limit=100, from_ms=w.start_ms, to_ms=w.end_ms
            )
        case "getPullRequests":
            return lambda: client.get_pull_requests(
                p,
                e,
                apps,
                sort="-leadTime",
                expand=("leadTime",),
                limit=5,
                from_ms=w.start_ms,
                to_ms=w.end_ms,
            )
        case "getFlagEvents":
            experiments = opts.get("hasExperiments")
            return lambda: client.get_flag_events(
                p,
                e,
                apps,
                impact_size=opts.get("impactSize"),  # type: ignore[arg-type]
                has_experiments=None if experiments is None else experiments == "true",
                limit=100,
                from_ms=w.start_ms,
                to_ms=w.end_ms,
            )
        case "getStaleFlagsChart":
            return lambda: client.get_stale_flags_chart(
                p, e, apps, group_by="maintainer", metrics=True
            )
        case "getFlagStatusChart":
            return lambda: client.get_flag_status_chart(p, e, apps)
    raise AssertionError(f"no read for {need.operation}")  # pragma: no cover


def _calls_made(first: str, gathered: Gathered | None, labels: Sequence[str]) -> CallsMade:
    return CallsMade(made=[first, *labels], missing=dict(gathered.missing) if gathered else {})


# --- explain_score ----------------------------------------------------------------------------


async def explain_score(
    ctx: Context[Any, Any],
    category: Category,
    group_key: GroupKey = None,
    project_key: OptionalProjectKey = None,
    environment_key: OptionalEnvironmentKey = None,
    application_keys: OptionalApplicationKeys = None,
) -> Annotated[CallToolResult, ExplainResult]:
    """Why a score is what it is, for an insight group or a project environment: score,
    band, change; the raw metric vs the next tier; the main driver since the last period
    (e.g. "review stage 9 h → 31 h"); 3-5 pieces of evidence with ids (PR numbers, deployment
    versions, flag keys). A composite is explained through its 2 weakest parts. Reads run at
    once; any that failed is named.
    """
    state = app_state(ctx)
    deadline = anyio.current_time() + state.settings.call_budget
    target = await _target(
        state, deadline, group_key, project_key, environment_key, application_keys
    )
    scores: dict[str, MetricScore] = target.scores.by_category()
    leaves = leaves_to_explain(category, scores)
    needs = needs_for(leaves)
    progress = _Progress(ctx, 1 + len(needs))
    await progress.step(target.first_call)
    gathered = await gather(
        [Call(n.label, _read(state, target, n)) for n in needs],
        deadline=deadline,
        describe=_short,
        progress=progress.step,
    )
    found = {n: gathered.get(n.label) for n in needs}
    by_name = {s.category: s for s in category_scores(target.scores)}
    chosen = by_name.get(category)
    if chosen is None:
        raise ToolError(
            f"LaunchDarkly returned no {category} score for this scope; "
            "call get_insight_scores to see the categories it returned."
        )
    parts = [by_name[p] for p in PARTS.get(category, ()) if p in by_name]
    result = ExplainResult(
        data_source=state.data_source,
        scope=target.scope,
        period=period(target.period),
        last_period=period(target.last_period),
        category=chosen,
        parts=parts,
        explained=[leaf_result(explain_leaf(leaf, scores.get(leaf), found)) for leaf in leaves],
        calls=_calls_made(target.first_call, gathered, [n.label for n in needs]),
    )
    return tool_result(result, explain_text(result))


# --- insights_digest --------------------------------------------------------------------------


DigestQuery = Annotated[
    Annotated[
        str,
        Strict(),
        StringConstraints(min_length=1, max_length=256),
        Field(json_schema_extra={"pattern": TEXT_PATTERN}),
    ]
    | None,
    Field(description="Only groups whose name contains this text."),
]
MaxGroups = Annotated[
    int, Strict(), Field(ge=1, le=500, description="Most groups to read (1-500).")
]


async def insights_digest(
    ctx: Context[Any, Any],
    query: DigestQuery = None,
    max_groups: MaxGroups = 200,
) -> Annotated[CallToolResult, DigestResult]:
    """Every insight group of the account (all pages) ranked by overall score: counts per
    band, change vs the last period, each group's weakest category, the biggest drops, the
    group that regressed most, and the explain_score call worth making next. Use this first
    for an account-wide view.
    """
    if query is not None:
        try:
            query = visible_text(query)
        except ValueError as exc:
            raise ToolError(f"query: {exc}") from None
    state = app_state(ctx)
    deadline = anyio.current_time() + state.settings.call_budget
    limit = min(GROUP_PAGE, max_groups)

    def page(offset: int) -> Callable[[], Awaitable[Any]]:
        return lambda: state.client.list_insight_groups(
            limit=min(limit, max_groups - offset),
            offset=offset,
            query=query,
            expand=["scores", "metadata"],
        )

    first = await _first(state, deadline, page(0))
    total = min(first.total_count, max_groups)
    offsets = list(range(len(first.items), total, limit)) if first.items else []
    progress = _Progress(ctx, 1 + len(offsets))
    await progress.step("getInsightGroups(offset=0)")
    labels = [f"getInsightGroups(offset={o})" for o in offsets]
    gathered = await gather(
        [Call(label, page(o)) for label, o in zip(labels, offsets, strict=True)],
        deadline=deadline,
        describe=_short,
        progress=progress.step,
    )
    groups = list(first.items)
    for label in labels:
        found = gathered.get(label)
        if found is not None:
            groups += found.items
    ranked = rank_groups(groups)
    chosen = pick_next(ranked)
    regressed = most_regressed(ranked)
    meta = first.score_metadata
    result = DigestResult(
        data_source=state.data_source,
        period=period(meta.period) if meta else None,
        total_groups=first.total_count,
        groups=[digest_group(i, g) for i, g in enumerate(ranked, start=1)],
        band_counts=band_counts(
            ranked, first.metadata.count_by_indicator if first.metadata else None
        ),
        biggest_drops=[digest_drop(d) for d in biggest_drops(groups)],
        most_regressed=(
            f"{quoted(regressed.key)} {(regressed.overall or 0) - (regressed.change or 0)}→"
            f"{regressed.overall} ({regressed.change})"
            if regressed
            else None
        ),
        next_call=(
            call("explain_score", group_key=chosen.key, category=chosen.weakest) if chosen else None
        ),
        calls=_calls_made("getInsightGroups(offset=0)", gathered, labels),
    )
    return tool_result(result, digest_text(result))


# --- diagnose_data_coverage -------------------------------------------------------------------


async def diagnose_data_coverage(
    ctx: Context[Any, Any],
    group_key: GroupKey = None,
    project_key: OptionalProjectKey = None,
    environment_key: OptionalEnvironmentKey = None,
    application_keys: OptionalApplicationKeys = None,
) -> Annotated[CallToolResult, CoverageResult]:
    """Why categories are notCalculated or thin, for an insight group or a project
    environment: repositories linked, deployments arriving or stuck in progress, versions
    linking no pull request, pull requests never deployed, flag changes arriving; each
    problem with its fix.
    """
    state = app_state(ctx)
    deadline = anyio.current_time() + state.settings.call_budget
    target = await _target(
        state, deadline, group_key, project_key, environment_key, application_keys
    )
    client, s = state.client, target.scope
    p, e, apps = s.project_key, s.environment_key, target.apps
    w = target.window(NOW)
    reads = {
        "getInsightsRepositories(projects)": lambda: client.get_insights_repositories(
            projects=True
        ),
        f"getDeployments({NOW})": lambda: client.get_deployments(
            p, e, apps, limit=100, from_ms=w.start_ms, to_ms=w.end_ms
        ),
        f"getPullRequests({NOW}, status=merged)": lambda: client.get_pull_requests(
            p, e, apps, status="merged", limit=20, from_ms=w.start_ms, to_ms=w.end_ms
        ),
        f"getFlagEvents({NOW})": lambda: client.get_flag_events(
            p, e, apps, limit=1, from_ms=w.start_ms, to_ms=w.end_ms
        ),
    }
    progress = _Progress(ctx, 1 + len(reads))
    await progress.step(target.first_call)
    gathered = await gather(
        [Call(label, run) for label, run in reads.items()],
        deadline=deadline,
        describe=_short,
        progress=progress.step,
    )
    labels = list(reads)
    scores = target.scores.by_category()
    findings = [
        *coverage.repositories(gathered.get(labels[0]), p),
        *coverage.deployments(gathered.get(labels[1]), now_ms=w.end_ms),
        *coverage.undeployed(gathered.get(labels[2])),
        *coverage.flag_events(gathered.get(labels[3])),
        *coverage.score_findings(scores),
    ]
    result = CoverageResult(
        data_source=state.data_source,
        scope=target.scope,
        period=period(target.period),
        not_calculated=coverage.not_calculated(scores),
        findings=[coverage_finding(f) for f in findings],
        calls=_calls_made(target.first_call, gathered, labels),
    )
    return tool_result(result, coverage_text(result))


def register(server: MCPServer, *, read_only: bool) -> None:
    add_tool(server, explain_score, title="Explain a score", annotations=READ, read_only=read_only)
    add_tool(
        server,
        insights_digest,
        title="Insights digest of all groups",
        annotations=READ,
        read_only=read_only,
        meta=DASHBOARD_META,
    )
    add_tool(
        server,
        diagnose_data_coverage,
        title="Diagnose missing insights data",
        annotations=READ,
        read_only=read_only,
    )
