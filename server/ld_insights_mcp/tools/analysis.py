"""Analysis tools: explain_score, insights_digest, diagnose_data_coverage.

The scores read states the periods the other reads cover; reads for guessed periods start with
it and are used only when the scores confirm them. One budget; a failed read is named, not fatal.
"""

from __future__ import annotations

import math
import time
import weakref
from collections import OrderedDict
from collections.abc import Awaitable, Callable, Hashable, Sequence
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field, Strict, StringConstraints

from ld_insights_mcp.analysis import coverage
from ld_insights_mcp.analysis.categories import (
    EXPLAINABLE,
    PARTS,
    leaves_of,
    leaves_to_explain,
)
from ld_insights_mcp.analysis.digest import band_counts, biggest_drops, most_regressed, rank_groups
from ld_insights_mcp.analysis.digest import worth_explaining as pick_next
from ld_insights_mcp.analysis.drivers import of_composite
from ld_insights_mcp.analysis.explain import explain_leaf, wrong_change
from ld_insights_mcp.analysis.gather import Reads, reads_until
from ld_insights_mcp.analysis.reads import (
    ANY_EVENT,
    COVERAGE_NEEDS,
    DEPLOYMENTS,
    LAST,
    MERGED_PRS,
    NOW,
    REPOSITORIES,
    EventPages,
    Need,
    needs_for,
)
from ld_insights_mcp.analysis.units import DAY_MS
from ld_insights_mcp.state import app_state
from ld_insights_mcp.text import quoted
from ld_insights_mcp.tools.params import (
    TEXT_PATTERN,
    OptionalApplicationKeys,
    OptionalEnvironmentKey,
    OptionalProjectKey,
    _Key,
    visible_text,
)
from ld_insights_mcp.tools.registry import Tool, resolve_scope, tool_result
from ld_insights_mcp.tools.upstream import CallBudget
from ld_insights_mcp.ui import DASHBOARD_META
from ld_insights_mcp.views.analysis import (
    CallsMade,
    CoverageFinding,
    CoverageResult,
    DigestDrop,
    DigestGroup,
    DigestResult,
    ExplainResult,
    Scope,
    coverage_text,
    digest_text,
    driver_detail,
    explain_text,
    leaf_result,
)
from ld_insights_mcp.views.common import copied
from ld_insights_mcp.views.scores import category_scores, period

PERIOD_MS = 30 * DAY_MS
GROUP_PAGE = 20
EVENT_PAGES = 10
"""Pages of 100 flag events counted per period for the creation ratio (past that: none)."""
REMEMBERED_SLICES = 1000
GROUPS_NOT_FOUND = "check the keys; list_insight_groups shows the keys in use"
DIGEST_ROUNDS = 3
"""Dependent rounds a cold digest of ``max_groups`` groups may take."""
FIRST_DATA_MS = 1_420_070_400_000
"""2015-01-01T00:00Z: Engineering Insights holds nothing older (``tools.windows.FLOOR``)."""
DEPLOY_SLACK_MS = DAY_MS
"""How long before a period a deployment that finished in it may have started: the
deployments read for lead time starts this much earlier (LaunchDarkly filters them by
start)."""

GroupKey = Annotated[
    _Key | None,
    Field(description="Insight group key; instead of project/environment/apps."),
]
Category = Annotated[
    Literal[EXPLAINABLE],  # type: ignore[valid-type]
    Field(description="Score category or composite."),
]

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient
    from ld_insights_mcp.launchdarkly.evidence_models import Deployment, DeploymentCollection
    from ld_insights_mcp.launchdarkly.models import (
        InsightGroup,
        InsightGroupCollection,
        InsightGroupScores,
        InsightPeriod,
        InsightScores,
        Links,
    )


@dataclass(frozen=True, slots=True)
class Window:
    start_ms: int
    end_ms: int

    @property
    def days(self) -> float:
        return (self.end_ms - self.start_ms) / DAY_MS


Slice = tuple[str, str, tuple[str, ...]]


def slice_of(scope: Scope | InsightGroup) -> Slice:
    return scope.project_key, scope.environment_key, tuple(sorted(scope.application_keys))


@dataclass(frozen=True, slots=True)
class Target:
    """What the scores read said: the slice, its scores and its periods."""

    scope: Scope
    scores: InsightGroupScores
    period: InsightPeriod
    last_period: InsightPeriod

    def periods(self) -> tuple[Window, Window]:
        now, last = self.period, self.last_period
        return Window(now.start_time, now.end_time), Window(last.start_time, last.end_time)

    def impossible_periods(self) -> list[str]:
        """LaunchDarkly's score periods that cannot be true (ending before they start, or
        before Engineering Insights' first data), quoted."""
        return [
            f"{name} startTime {quoted(str(p.start_time))} endTime {quoted(str(p.end_time))} "
            "(a period ends after it starts, after 2015-01-01)"
            for name, p in (("period", self.period), ("lastPeriod", self.last_period))
            if not FIRST_DATA_MS <= p.start_time < p.end_time
        ]


# --- hints: guesses that let reads start with the scores read ---------------------------------


def wall_clock_ms() -> int:
    return int(time.time() * 1000)


@dataclass
class Hints:
    """What earlier answers told this client (score periods, and whether they held still; each
    group's slice; digest totals): guesses only, each checked before use."""

    periods: tuple[Window, Window] | None = None
    steady: bool = True
    slices: OrderedDict[str, Slice] = field(default_factory=OrderedDict)
    group_totals: dict[str | None, int] = field(default_factory=dict)

    def guess_periods(self) -> tuple[Window, Window] | None:
        """The periods to read before the scores state them: the last stated if they hold
        still, 30 days ending at the last UTC midnight before any; None if they move."""
        if self.periods is not None:
            return self.periods if self.steady else None
        now = wall_clock_ms()
        end = now - now % DAY_MS
        return Window(end - PERIOD_MS, end), Window(end - 2 * PERIOD_MS, end - PERIOD_MS)

    def learn_periods(self, periods: tuple[Window, Window]) -> None:
        self.steady = self.periods is None or self.periods == periods
        self.periods = periods

    def learn_slice(self, key: str, found: Slice) -> None:
        self.slices[key] = found
        self.slices.move_to_end(key)
        while len(self.slices) > REMEMBERED_SLICES:
            self.slices.popitem(last=False)


_HINTS: weakref.WeakKeyDictionary[LaunchDarklyClient, Hints] = weakref.WeakKeyDictionary()


def hints_of(client: LaunchDarklyClient) -> Hints:
    """The hints of one client (one per server lifespan)."""
    return _HINTS.setdefault(client, Hints())


def _reads(ctx: Context[Any, Any], budget: CallBudget) -> AbstractAsyncContextManager[Reads]:
    """Reads that share the call's budget and report progress after each."""

    def progress(label: str, done: int, started: int) -> Awaitable[None]:
        return ctx.report_progress(done, started, label)

    return reads_until(budget.deadline, describe=budget.reason, progress=progress)


def _read(
    client: LaunchDarklyClient, where: Slice, window: Window | None, need: Need
) -> Callable[[], Awaitable[Any]]:
    """The client call that makes one read of a slice over a window."""
    p, e, app_keys = where
    apps = list(app_keys)
    opts = dict(need.options)
    start, end = (window.start_ms, window.end_ms) if window else (None, None)
    span: dict[str, Any] = {"from_ms": start, "to_ms": end}
    bucket = max(window.end_ms - window.start_ms, 60_000) if window else None
    chart = {**span, "bucket_ms": bucket}
    wanted = opts.get("hasExperiments")
    experiments = None if wanted is None else wanted == "true"
    impact: Any = opts.get("impactSize")
    match need.operation:
        case "getDeploymentFrequencyChart":
            return lambda: client.get_deployment_frequency_chart(
                p, e, apps, group_by="application", metrics=True, **chart
            )
        case "getLeadTimeChart":
            return lambda: client.get_lead_time_chart(
                p, e, apps, group_by="stage", expand=("metrics",), **chart
            )
        case "getReleaseFrequencyChart":
            return lambda: client.get_release_frequency_chart(
                p, e, apps, group_by="impact", has_experiments=experiments, metrics=True, **chart
            )
        case "getDeployments" if "expand" in opts:
            return lambda: _every_finished_deployment(client, where, start, end)
        case "getDeployments":
            return lambda: client.get_deployments(
                p, e, apps, status=opts.get("status"), limit=100, **span
            )
        case "getPullRequests":
            return lambda: client.get_pull_requests(p, e, apps, status="merged", limit=20, **span)
        case "getFlagEvents" if opts.get("pages") == "all":
            return lambda: _every_event(client, where, start, end)
        case "getFlagEvents":
            limit = int(opts.get("limit", 100))
            return lambda: client.get_flag_events(
                p, e, apps, impact_size=impact, has_experiments=experiments, limit=limit, **span
            )
        case "getStaleFlagsChart":
            return lambda: client.get_stale_flags_chart(
                p, e, apps, group_by="maintainer", metrics=True
            )
        case "getFlagStatusChart":
            return lambda: client.get_flag_status_chart(p, e, apps)
        case "getInsightsRepositories":
            return lambda: client.get_insights_repositories(projects=True)
    raise AssertionError(f"no read for {need.operation}")  # pragma: no cover


async def _every_event(
    client: LaunchDarklyClient, where: Slice, start: int | None, end: int | None
) -> EventPages:
    p, e, apps = where
    cap = EVENT_PAGES * 100
    events = client.iter_flag_events(p, e, list(apps), from_ms=start, to_ms=end, max_items=cap + 1)
    items = [event async for event in events]
    return EventPages(items[:cap], complete=len(items) <= cap)


async def _every_finished_deployment(
    client: LaunchDarklyClient, where: Slice, start: int | None, end: int | None
) -> DeploymentCollection:
    """The finished deployments (with their pull requests) listed from a day before ``start``
    (deployments are listed by start time) to ``end``, page by page up to a cap;
    ``total_count`` is LaunchDarkly's, so a list cut at the cap says so."""
    from ld_insights_mcp.launchdarkly.evidence import iterate_cursor_pages  # loads httpx
    from ld_insights_mcp.launchdarkly.evidence_models import DeploymentCollection  # wire model

    p, e, apps = where
    cap = EVENT_PAGES * 100
    totals: list[int] = []
    since = None if start is None else start - DEPLOY_SLACK_MS
    read = partial(client.get_deployments, p, e, apps, status="finished", expand=("pullRequests",))

    async def page(limit: int, after: str | None) -> tuple[list[Deployment], Links]:
        found = await read(limit=limit, after=after, from_ms=since, to_ms=end)
        totals.append(found.total_count)
        return found.items, found.links

    items = [d async for d in iterate_cursor_pages(page, page_size=100, max_items=cap)]
    return DeploymentCollection(total_count=max([len(items), *totals[:1]]), items=items)


def _target(answer: InsightGroup | InsightScores, scope: Scope | None) -> Target:
    """The scores read's answer, checked: a group must come with scores."""
    # imported here: start-up loads no wire model (tests/test_startup_imports.py)
    from ld_insights_mcp.launchdarkly.models import InsightPeriod, InsightScores

    if isinstance(answer, InsightScores):
        assert scope is not None
        return Target(scope, answer.scores, answer.period, answer.last_period)
    if answer.scores is None:
        raise ToolError(f"LaunchDarkly returned no scores for insight group {answer.key!r}.")
    periods = answer.score_metadata
    if periods is not None:
        current, last = periods.period, periods.last_period
    else:
        now = wall_clock_ms()
        current = InsightPeriod(start_time=now - PERIOD_MS, end_time=now)
        last = InsightPeriod(start_time=now - 2 * PERIOD_MS, end_time=now - PERIOD_MS)
    return Target(copied(Scope, answer, group_key=answer.key), answer.scores, current, last)


def _scope(
    ctx: Context[Any, Any],
    group_key: str | None,
    project_key: str | None,
    environment_key: str | None,
    application_keys: list[str] | None,
) -> Scope | None:
    """The slice the arguments name (None for a group: its read names it)."""
    if group_key is not None:
        if project_key or environment_key or application_keys:
            raise ToolError(
                "group_key: pass either group_key or project_key/environment_key/"
                "application_keys, not both (a group already names its slice)."
            )
        return None
    project, environment = resolve_scope(app_state(ctx).settings, project_key, environment_key)
    apps = list(dict.fromkeys(application_keys or []))
    return Scope(project_key=project, environment_key=environment, application_keys=apps)


@dataclass
class Found:
    """The scores read and the reads made for the periods it states."""

    target: Target
    results: dict[Need, Any]
    calls: CallsMade


Key = tuple[Need, Slice, Window | None]
FIRST: Hashable = ("scores",)


async def _scores_then_reads(
    ctx: Context[Any, Any],
    scope: Scope | None,
    group_key: str | None,
    possible: Sequence[Need],
    needed: Callable[[Target], Sequence[Need]],
) -> Found:
    """The scores read, then the reads ``needed(target)`` for the periods it states; ``possible``
    starts with it, for guessed periods and slice, when all fit in one round of the concurrency
    limit, and a read the scores do not confirm is made again."""
    state = app_state(ctx)
    client, settings = state.client, state.settings
    budget = CallBudget(state)
    hints = hints_of(client)
    guess = slice_of(scope) if scope is not None else hints.slices.get(group_key or "")
    periods = hints.guess_periods()
    guessed = dict(zip((NOW, LAST), periods or (), strict=False))
    fits = 1 + len(possible) <= settings.max_concurrency
    speculate = guess is not None and periods is not None and fits
    target: Target | None = None
    failure: ToolError | None = None
    keys: list[Key] = []
    late = False
    # Reads for a guess the scores do not confirm are cancelled when the block ends.
    async with _reads(ctx, budget) as reads:
        if scope is None:
            assert group_key is not None
            reads.start(
                FIRST,
                "getInsightGroup",
                lambda: client.get_insight_group(group_key, expand=["scores"]),
            )
        else:
            p, e, apps = slice_of(scope)
            reads.start(FIRST, "getInsightsScores", lambda: client.get_insight_scores(p, e, apps))
        if speculate and guess is not None:
            for need in possible:
                window = guessed.get(need.period)
                reads.start((need, guess, window), need.label, _read(client, guess, window, need))
        answer = await reads.result(FIRST)
        if answer is not None:
            try:
                target = _target(answer, scope)
            except ToolError as exc:
                failure = exc
        if target is not None:
            now, last = target.periods()
            sound = not target.impossible_periods()
            if sound:
                hints.learn_periods((now, last))
            where = slice_of(target.scope)
            if target.scope.group_key is not None:
                hints.learn_slice(target.scope.group_key, where)
            for need in needed(target):
                if not sound and need.period in (NOW, LAST):
                    continue  # no read over a period that cannot be
                window = {NOW: now, LAST: last}.get(need.period)
                key = (need, where, window)
                if not reads.started(key):
                    late = True
                    reads.start(key, need.label, _read(client, where, window, need))
                keys.append(key)
            for key in keys:
                await reads.result(key)
    if failure is not None:
        raise failure
    if target is None:
        raise budget.failure(reads.errors.get(FIRST), not_found=GROUPS_NOT_FOUND)
    used = [FIRST, *keys]
    again = {reads.labels[k] for k in used}
    discarded = [label for k, label in reads.labels.items() if k not in used and label in again]
    calls = _calls(reads, used, 2 if late else 1, discarded)
    return Found(target, {key[0]: reads.results.get(key) for key in keys}, calls)


def _calls(reads: Reads, used: Sequence[Hashable], rounds: int, discarded: list[str]) -> CallsMade:
    """The reads whose answers were used, in order, and why any of them has none."""
    return CallsMade(
        made=[reads.labels[k] for k in used],
        rounds=rounds,
        discarded=discarded,
        missing={reads.labels[k]: r for k in used if (r := reads.reason(k)) is not None},
    )


async def explain_score(
    ctx: Context[Any, Any],
    category: Category,
    group_key: GroupKey = None,
    project_key: OptionalProjectKey = None,
    environment_key: OptionalEnvironmentKey = None,
    application_keys: OptionalApplicationKeys = None,
) -> Annotated[CallToolResult, ExplainResult]:
    """Why a score is what it is, for an insight group or a project environment: score,
    band, change; the raw metric vs the next tier; the driver (what moved the metric most
    in the direction it moved, e.g. "review stage 60 h → 52 h"); 3-5 pieces of evidence with
    ids (PR numbers, deployment versions, flag keys). A composite is explained through the
    part that drove its change and its weakest part. Reads run at once; any that failed is
    named.
    """
    scope = _scope(ctx, group_key, project_key, environment_key, application_keys)
    possible = needs_for(leaves_of(category))  # every leaf leaves_to_explain may return
    found = await _scores_then_reads(
        ctx,
        scope,
        group_key,
        possible,
        lambda target: needs_for(leaves_to_explain(category, target.scores.by_category())),
    )
    target = found.target
    scores = target.scores.by_category()
    by_name = {s.category: s for s in category_scores(target.scores)}
    chosen = by_name.get(category)
    if chosen is None:
        raise ToolError(
            f"LaunchDarkly returned no {category} score for this scope (the contract makes "
            f"{category} optional); call get_insight_scores to see the categories it returned."
        )
    now, last = target.periods()
    days, window = (now.days, last.days), (now.start_ms, now.end_ms)
    composite = of_composite(category, scores) if category in PARTS else None
    leaves = leaves_to_explain(category, scores)
    shown = [category, *PARTS.get(category, ()), *leaves]
    impossible = [
        *target.impossible_periods(),
        *(w for c in dict.fromkeys(shown) if (w := wrong_change(c, scores.get(c)))),
    ]
    if composite is not None and composite.cycle is not None:
        impossible.append(f"aggregateOf cycle {quoted(composite.cycle)} (not followed)")
    result = ExplainResult(
        data_source=app_state(ctx).data_source,
        scope=target.scope,
        period=period(target.period),
        last_period=period(target.last_period),
        category=chosen,
        parts=[by_name[p] for p in PARTS.get(category, ()) if p in by_name],
        driver=composite.text if composite else None,
        driven_by=driver_detail(composite),
        explained=[
            leaf_result(explain_leaf(leaf, scores.get(leaf), found.results, days, window))
            for leaf in leaves
        ],
        calls=found.calls,
        impossible=impossible,
    )
    periods = None if target.impossible_periods() else (target.period, target.last_period)
    return tool_result(result, explain_text(result, periods))


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
    ctx: Context[Any, Any], query: DigestQuery = None, max_groups: MaxGroups = 200
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
    hints = hints_of(state.client)
    budget = CallBudget(state)
    limit = min(GROUP_PAGE, max_groups)

    def page(offset: int) -> Callable[[], Awaitable[InsightGroupCollection]]:
        return lambda: state.client.list_insight_groups(
            limit=min(limit, max_groups - offset),
            offset=offset,
            query=query,
            expand=["scores", "metadata"],
        )

    # The first round: page 0, and the pages after it that are known to exist (the total the
    # last digest of this query found) or, before any, as many as reaching ``max_groups``
    # within DIGEST_ROUNDS needs. Pages past the real total come back empty and are dropped.
    pages = math.ceil(max_groups / limit)
    known = hints.group_totals.get(query)
    if known is not None:
        first_round = math.ceil(min(known, max_groups) / limit)
    else:
        first_round = 1 + max(0, pages - 1 - (DIGEST_ROUNDS - 1) * state.settings.max_concurrency)
    started = list(range(0, max_groups, limit))[: max(first_round, 1)]
    first: InsightGroupCollection | None = None  # None too when the budget cuts the block
    async with _reads(ctx, budget) as reads:
        for offset in started:
            reads.start(offset, f"getInsightGroups(offset={offset})", page(offset))
        first = await reads.result(0)
        if first is not None:
            hints.group_totals[query] = first.total_count
        total = min(first.total_count, max_groups) if first and first.items else 0
        offsets = list(range(limit, total, limit))
        for offset in offsets:
            reads.start(offset, f"getInsightGroups(offset={offset})", page(offset))
        for offset in offsets:
            await reads.result(offset)
    if first is None:
        raise budget.failure(reads.errors.get(0), not_found=GROUPS_NOT_FOUND)
    used = [0, *offsets]
    groups = [g for o in used if o in reads.results for g in reads.results[o].items]
    for group in groups:
        hints.learn_slice(group.key, slice_of(group))
    ranked = rank_groups(groups)
    chosen = pick_next(ranked)
    regressed = most_regressed(ranked)
    meta = first.score_metadata
    rounds = 1 if set(offsets) <= set(started) else 2
    discarded = [reads.labels[o] for o in started if o not in used]
    result = DigestResult(
        data_source=state.data_source,
        period=period(meta.period) if meta else None,
        total_groups=first.total_count,
        groups=[copied(DigestGroup, g, rank=i) for i, g in enumerate(ranked, start=1)],
        band_counts=band_counts(
            ranked, first.metadata.count_by_indicator if first.metadata else None
        ),
        biggest_drops=[copied(DigestDrop, d) for d in biggest_drops(groups)],
        most_regressed=(
            f"{quoted(regressed.key)} {(regressed.overall or 0) - (regressed.change or 0)}→"
            f"{regressed.overall} ({regressed.change})"
            if regressed
            else None
        ),
        next_call=(
            f"explain_score(group_key={quoted(chosen.key)}, category={quoted(chosen.weakest)})"
            if chosen and chosen.weakest
            else None
        ),
        calls=_calls(reads, used, rounds, discarded),
    )
    return tool_result(result, digest_text(result))


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
    scope = _scope(ctx, group_key, project_key, environment_key, application_keys)
    found = await _scores_then_reads(
        ctx, scope, group_key, COVERAGE_NEEDS, lambda target: COVERAGE_NEEDS
    )
    target, results = found.target, found.results
    scores = target.scores.by_category()
    findings = [
        *coverage.repositories(results.get(REPOSITORIES), target.scope.project_key),
        *coverage.deployments(results.get(DEPLOYMENTS), now_ms=target.period.end_time),
        *coverage.undeployed(results.get(MERGED_PRS)),
        *coverage.flag_events(results.get(ANY_EVENT)),
        *coverage.score_findings(scores),
    ]
    result = CoverageResult(
        data_source=app_state(ctx).data_source,
        scope=target.scope,
        period=period(target.period),
        not_calculated=coverage.not_calculated(scores),
        findings=[copied(CoverageFinding, f) for f in findings],
        calls=found.calls,
    )
    return tool_result(result, coverage_text(result))


TOOLS = (
    Tool(explain_score, "Explain a score"),
    Tool(insights_digest, "Insights digest of all groups", meta=DASHBOARD_META),
    Tool(diagnose_data_coverage, "Diagnose missing insights data"),
)
