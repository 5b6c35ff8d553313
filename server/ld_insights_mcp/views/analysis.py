"""Results of the analysis tools (explain_score, insights_digest, diagnose_data_coverage):
structured models and the compact text a model reads."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ld_insights_mcp.analysis.drivers import Driver
from ld_insights_mcp.analysis.explain import EVIDENCE_SOURCE, LeafExplanation
from ld_insights_mcp.analysis.metrics import Reading
from ld_insights_mcp.analysis.units import DAY_MS
from ld_insights_mcp.text import plural, quoted
from ld_insights_mcp.views.charts import MetricView, metric_view
from ld_insights_mcp.views.common import (
    DataSource,
    ViewModel,
    copied,
    impossible_line,
    iso_date,
    iso_datetime,
    short_time,
    signed,
    source_line,
)
from ld_insights_mcp.views.scores import CategoryScore, Period, score_phrase

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.models import InsightPeriod


class Scope(ViewModel):
    group_key: str | None = None
    project_key: str
    environment_key: str
    application_keys: list[str] = Field(description="Empty means all applications.")


class EvidenceItem(ViewModel):
    kind: str = Field(description="pull_request, deployment, flag_event, application, ...")
    id: str = Field(description="PR number, deployment version, flag key, application, ...")
    text: str
    url: str | None = None


class MetricValue(ViewModel):
    value: float | None = Field(description="This period, in unit.")
    last_value: float | None = Field(description="Last period; null for a snapshot.")
    unit: str
    higher_is_better: bool
    source: str = Field(
        description="launchdarkly: a chart's own metric; recomputed: counted here from the "
        "charts or lists read."
    )
    stated: MetricView | None = Field(
        default=None, description="LaunchDarkly's own metric for this period, with its tiers."
    )


class DriverDetail(ViewModel):
    direction: str | None = Field(
        description="The metric's change: improved, worsened or unchanged; null without two "
        "periods to compare."
    )
    part: str | None = Field(
        description="What moved it most that way: a stage, application, impact size, category, ..."
    )
    counter: str | None = Field(description="The largest move the other way, if any.")
    leaf: str | None = Field(
        default=None,
        description="A composite's: the base category within part that moved most (explained "
        "first).",
    )


IMPOSSIBLE = "LaunchDarkly's values that cannot be true, quoted with why; not used."


class LeafResult(ViewModel):
    category: str
    score: int | None
    indicator: str
    change: int | None
    last_period_score: int | None
    metric: str | None = Field(description="Raw metric, its tier and the next tier.")
    metric_value: MetricValue | None
    driver: str | None = Field(description="What moved the metric most in its direction.")
    driven_by: DriverDetail | None
    caveat: str | None = None
    evidence: list[EvidenceItem]
    missing: list[str] = Field(description="Upstream reads that failed.")
    impossible: list[str] = Field(default_factory=list, description=IMPOSSIBLE)


class CallsMade(ViewModel):
    made: list[str] = Field(description="Upstream reads whose answers were used, in order.")
    rounds: int = Field(description="Dependent rounds: 1 when every read started at once.")
    discarded: list[str] = Field(
        default_factory=list,
        description="Reads started for a guessed period that the scores did not confirm.",
    )
    missing: dict[str, str] = Field(description="Read -> why it is missing.")


class ExplainResult(ViewModel):
    """Why a score is what it is."""

    data_source: DataSource
    scope: Scope
    period: Period
    last_period: Period
    category: CategoryScore
    parts: list[CategoryScore] = Field(description="A composite's parts.")
    driver: str | None = Field(description="A composite's driver: the part that moved it most.")
    driven_by: DriverDetail | None
    explained: list[LeafResult]
    calls: CallsMade
    impossible: list[str] = Field(default_factory=list, description=IMPOSSIBLE)


class DigestGroup(ViewModel):
    rank: int
    key: str
    name: str
    project_key: str
    environment_key: str
    overall: int | None
    indicator: str
    change: int | None
    weakest: str | None
    weakest_score: int | None


class DigestDrop(ViewModel):
    group_key: str
    category: str
    before: int
    after: int
    change: int


class DigestResult(ViewModel):
    """Every insight group ranked by overall score."""

    data_source: DataSource
    period: Period | None
    total_groups: int
    groups: list[DigestGroup]
    band_counts: dict[str, int]
    biggest_drops: list[DigestDrop]
    most_regressed: str | None = Field(description="Group whose overall fell most.")
    next_call: str | None = Field(description="The explain_score call worth making next.")
    calls: CallsMade


class CoverageFinding(ViewModel):
    check: str
    status: str = Field(description="ok, problem, info or unknown (its read failed).")
    detail: str
    fix: str | None
    affects: list[str]


class CoverageResult(ViewModel):
    """Why categories are notCalculated or thin."""

    data_source: DataSource
    scope: Scope
    period: Period
    not_calculated: list[str]
    findings: list[CoverageFinding]
    calls: CallsMade


def metric_value(read: Reading | None) -> MetricValue | None:
    if read is None or read.value is None:
        return None
    stated = metric_view(read.category, read.stated) if read.stated else None
    return copied(MetricValue, read, stated=stated)


def driver_detail(driver: Driver | None) -> DriverDetail | None:
    if driver is None or driver.direction is None:
        return None
    return DriverDetail(
        direction=driver.direction,
        part=driver.part.key if driver.part else None,
        counter=driver.counter.key if driver.counter else None,
        leaf=driver.leaf,
    )


def leaf_result(leaf: LeafExplanation) -> LeafResult:
    return copied(
        LeafResult,
        leaf,
        last_period_score=leaf.last_score,
        metric_value=metric_value(leaf.reading),
        driver=leaf.driver.text if leaf.driver else None,
        driven_by=driver_detail(leaf.driver),
        evidence=[copied(EvidenceItem, e) for e in leaf.evidence],
    )


def scope_text(scope: Scope) -> str:
    """The slice; with a group, its keys are LaunchDarkly's (quoted)."""
    apps = ", ".join(map(quoted, scope.application_keys)) or "all applications"
    where = f"{quoted(scope.project_key)}/{quoted(scope.environment_key)} ({apps})"
    return f"group {quoted(scope.group_key)}: {where}" if scope.group_key else where


def calls_lines(calls: CallsMade) -> list[str]:
    made = calls.made  # never empty: the scores or the first page is always read
    if calls.rounds <= 1:
        text = f"Calls ({len(made)}, all at once): " + ", ".join(made)
    else:
        text = f"Calls ({len(made)}): {made[0]}; then: " + ", ".join(made[1:])
    lines = [text + "."]
    if calls.discarded:
        lines.append(
            "Read for a guessed period the scores did not confirm, then read again: "
            f"{', '.join(calls.discarded)}."
        )
    missing = "; ".join(f"{label}: {why.rstrip('.')}" for label, why in calls.missing.items())
    if missing:
        lines.append(f"MISSING (shown without it): {missing}.")
    return lines


def span_text(value: InsightPeriod) -> str:
    """``2025-10-23 to 2025-11-22``; with times when a bound is not a UTC midnight."""
    bounds = (value.start_time, value.end_time)
    if any(ms % DAY_MS for ms in bounds):
        return " to ".join(short_time(iso_datetime(ms)) for ms in bounds)
    return " to ".join(map(iso_date, bounds))


def explain_text(result: ExplainResult, periods: tuple[InsightPeriod, InsightPeriod] | None) -> str:
    """The model's text; ``periods`` (this and the last, None when LaunchDarkly's cannot be
    true) are shown with their times where they do not fall on midnights."""
    when = (
        f"{span_text(periods[0])} vs {span_text(periods[1])} (ends exclusive)"
        if periods
        else "periods unknown"
    )
    lines = [
        *source_line(result.data_source),
        f"{result.category.category} of {scope_text(result.scope)}, {when}.",
        score_phrase(result.category)
        + (": " + "; ".join(score_phrase(p) for p in result.parts) if result.parts else ""),
        *impossible_line(result.impossible),
    ]
    if periods is None:
        lines.append("Nothing was read over the periods: they cannot be true.")
    if result.driver:
        lines.append(f"Driver: {result.driver}.")
    if result.parts and result.explained:
        lines.append(f"Explained: {', '.join(leaf.category for leaf in result.explained)}.")
    for leaf in result.explained:
        if result.parts:
            lines.append(f"{leaf.category}:")
        labelled = (("Metric", leaf.metric), ("Driver", leaf.driver), ("Note", leaf.caveat))
        lines += [f"  {label}: {text}" for label, text in labelled if text]
        lines += impossible_line(leaf.impossible, "  ")
        if leaf.evidence:
            lines.append(f"  Evidence ({EVIDENCE_SOURCE.get(leaf.category, 'items')}):")
            lines += [f"  - {item.text}" for item in leaf.evidence]
        elif not leaf.missing:
            lines.append("  Evidence: none in the period.")
    if not result.explained:
        lines.append("No calculated part to explain: call diagnose_data_coverage.")
    lines += calls_lines(result.calls)
    return "\n".join(lines)


def digest_text(result: DigestResult) -> str:
    period = f", {result.period.start} to {result.period.end}" if result.period else ""
    shown = "" if len(result.groups) == result.total_groups else f" ({len(result.groups)} shown)"
    bands = ", ".join(f"{k} {v}" for k, v in result.band_counts.items() if v)
    lines = [
        *source_line(result.data_source),
        f"{plural(result.total_groups, 'insight group')}{shown}{period}. "
        f"Overall bands: {bands or 'none'}.",
        "Ranked by overall (change vs last period; weakest category):",
    ]
    for g in result.groups:
        overall = f"{g.overall} {g.indicator}" if g.overall is not None else g.indicator
        weakest = f"; weakest {g.weakest} {g.weakest_score}" if g.weakest else ""
        lines.append(
            f"{g.rank}. {quoted(g.key)} ({quoted(g.project_key)}/{quoted(g.environment_key)}) "
            f"{overall} ({signed(g.change)}){weakest}"
        )
    drops = "; ".join(
        f"{quoted(d.group_key)} {d.category} {d.before}→{d.after} ({d.change})"
        for d in result.biggest_drops
    )
    if drops:
        lines.append(f"Biggest drops: {drops}.")
    if result.most_regressed:
        lines.append(f"Regressed most (overall): {result.most_regressed}.")
    if result.next_call:
        lines.append(f"Next: {result.next_call}")
    lines += calls_lines(result.calls)
    return "\n".join(lines)


MARK = {"ok": "ok", "problem": "PROBLEM", "info": "note", "unknown": "unknown"}


def coverage_text(result: CoverageResult) -> str:
    missing = ", ".join(result.not_calculated) or "none"
    lines = [
        *source_line(result.data_source),
        f"Data coverage of {scope_text(result.scope)}, {result.period.start} to "
        f"{result.period.end}. notCalculated: {missing}.",
    ]
    for f in result.findings:
        line = f"- {MARK.get(f.status, f.status)}: {f.check}: {f.detail}"
        if f.fix:
            line += f". Fix: {f.fix}"
        if f.status == "problem" and f.affects:
            line += f" (affects {', '.join(f.affects)})"
        lines.append(line + ".")
    lines += calls_lines(result.calls)
    return "\n".join(lines)
