"""Results of the analysis tools (explain_score, insights_digest, diagnose_data_coverage):
structured models and the compact text a model reads."""

from __future__ import annotations

import json

from pydantic import Field

from ..analysis.coverage import Finding
from ..analysis.digest import Drop, RankedGroup
from ..analysis.evidence import Evidence
from ..analysis.explain import EVIDENCE_SOURCE, LeafExplanation
from .charts import MetricView, metric_view
from .common import DataSource, ViewModel, signed, source_line
from .scores import CategoryScore, Period, score_phrase


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


class LeafResult(ViewModel):
    category: str
    score: int | None
    indicator: str
    change: int | None
    last_period_score: int | None
    metric: str | None = Field(description="Raw metric, its tier and the next tier.")
    measure: MetricView | None = Field(
        default=None, description="The same raw metric as numbers (value, unit, tiers)."
    )
    driver: str | None = Field(description="What moved most between the periods.")
    evidence: list[EvidenceItem]
    missing: list[str] = Field(description="Upstream reads that failed.")


class CallsMade(ViewModel):
    made: list[str] = Field(description="Upstream reads, in order; all but the first at once.")
    missing: dict[str, str] = Field(description="Read -> why it is missing.")


class ExplainResult(ViewModel):
    """Why a score is what it is."""

    data_source: DataSource
    scope: Scope
    period: Period
    last_period: Period
    category: CategoryScore
    parts: list[CategoryScore] = Field(description="A composite's parts.")
    explained: list[LeafResult]
    calls: CallsMade


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


# --- builders -----------------------------------------------------------------------------------


def evidence_item(found: Evidence) -> EvidenceItem:
    return EvidenceItem(kind=found.kind, id=found.id, text=found.text, url=found.url)


def leaf_result(leaf: LeafExplanation) -> LeafResult:
    return LeafResult(
        category=leaf.category,
        score=leaf.score,
        indicator=leaf.indicator,
        change=leaf.change,
        last_period_score=leaf.last_score,
        metric=leaf.metric,
        measure=metric_view(leaf.category, leaf.measured) if leaf.measured else None,
        driver=leaf.driver,
        evidence=[evidence_item(e) for e in leaf.evidence],
        missing=leaf.missing,
    )


def digest_group(rank: int, group: RankedGroup) -> DigestGroup:
    return DigestGroup(
        rank=rank,
        key=group.key,
        name=group.name,
        project_key=group.project_key,
        environment_key=group.environment_key,
        overall=group.overall,
        indicator=group.indicator,
        change=group.change,
        weakest=group.weakest,
        weakest_score=group.weakest_score,
    )


def digest_drop(drop: Drop) -> DigestDrop:
    return DigestDrop(
        group_key=drop.group_key,
        category=drop.category,
        before=drop.before,
        after=drop.after,
        change=drop.change,
    )


def coverage_finding(found: Finding) -> CoverageFinding:
    return CoverageFinding(
        check=found.check,
        status=found.status,
        detail=found.detail,
        fix=found.fix,
        affects=list(found.affects),
    )


def call(tool: str, **arguments: object) -> str:
    """A literal tool call with JSON values, e.g. ``explain_score(group_key="x")``."""
    shown = ", ".join(f"{k}={json.dumps(v, ensure_ascii=False)}" for k, v in arguments.items() if v)
    return f"{tool}({shown})"


# --- text -------------------------------------------------------------------------------------


def scope_text(scope: Scope) -> str:
    apps = ", ".join(scope.application_keys) or "all applications"
    where = f"{scope.project_key}/{scope.environment_key} ({apps})"
    return f"group {scope.group_key}: {where}" if scope.group_key else where


def calls_lines(calls: CallsMade) -> list[str]:
    made = calls.made
    text = f"Calls ({len(made)}): {made[0]}" if made else "Calls: none"
    if len(made) > 1:
        text += "; then at once: " + ", ".join(made[1:])
    lines = [text + "."]
    if calls.missing:
        lines.append(
            "MISSING (shown without it): "
            + "; ".join(f"{label}: {why}" for label, why in calls.missing.items())
            + "."
        )
    return lines


def explain_text(result: ExplainResult) -> str:
    lines = [
        *source_line(result.data_source),
        f"{result.category.category} of {scope_text(result.scope)}, {result.period.start} to "
        f"{result.period.end} vs {result.last_period.start} to {result.last_period.end}.",
        score_phrase(result.category)
        + (": " + "; ".join(score_phrase(p) for p in result.parts) if result.parts else ""),
    ]
    if result.parts and result.explained:
        lines.append(f"Weakest parts: {', '.join(leaf.category for leaf in result.explained)}.")
    for leaf in result.explained:
        if result.parts:
            lines.append(f"{leaf.category}:")
        if leaf.metric:
            lines.append(f"  Metric: {leaf.metric}")
        if leaf.driver:
            lines.append(f"  Driver: {leaf.driver}")
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
    lines = [*source_line(result.data_source)]
    period = f", {result.period.start} to {result.period.end}" if result.period else ""
    shown = "" if len(result.groups) == result.total_groups else f" ({len(result.groups)} shown)"
    bands = ", ".join(f"{k} {v}" for k, v in result.band_counts.items() if v)
    lines.append(
        f"{result.total_groups} insight groups{shown}{period}. Overall bands: {bands or 'none'}."
    )
    lines.append("Ranked by overall (change vs last period; weakest category):")
    for g in result.groups:
        overall = f"{g.overall} {g.indicator}" if g.overall is not None else g.indicator
        weakest = f"; weakest {g.weakest} {g.weakest_score}" if g.weakest else ""
        lines.append(
            f"{g.rank}. {g.key} ({g.project_key}/{g.environment_key}) {overall} "
            f"({signed(g.change)}){weakest}"
        )
    if result.biggest_drops:
        lines.append(
            "Biggest drops: "
            + "; ".join(
                f"{d.group_key} {d.category} {d.before}→{d.after} ({d.change})"
                for d in result.biggest_drops
            )
            + "."
        )
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
