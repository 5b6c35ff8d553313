"""Scores: every category with indicator, change and last period; weakest and strongest."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ld_insights_mcp.analysis.units import DAY_MS
from ld_insights_mcp.launchdarkly.vocabulary import (
    CALCULATED_INDICATORS,
    CATEGORY_PARTS,
    INDICATORS,
)
from ld_insights_mcp.views.common import (
    DataSource,
    ViewModel,
    copied,
    iso_date,
    iso_datetime,
    signed,
    source_line,
)

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.models import (
        InsightGroupScores,
        InsightPeriod,
        InsightScores,
        MetricScore,
    )

CALCULATED = CALCULATED_INDICATORS


class CategoryScore(ViewModel):
    """One score category."""

    category: str = Field(description="Category key, e.g. leadTime.")
    score: int = Field(description="0-100, higher is better.")
    indicator: str = Field(description=f"{', '.join(INDICATORS)}.")
    change: int | None = Field(default=None, description="Points vs the last period.")
    last_period_score: int | None = None
    last_period_indicator: str | None = None
    aggregate_of: list[str] = Field(default_factory=list, description="Categories it combines.")


class Period(ViewModel):
    start: str = Field(description="ISO date the period starts (date-time if not at 00:00Z).")
    end: str = Field(description="ISO date it ends, exclusive (date-time if not at 00:00Z).")


class ScoresResult(ViewModel):
    """Insight scores for a project and environment."""

    data_source: DataSource
    project_key: str
    environment_key: str
    application_keys: list[str] = Field(description="Empty means all applications.")
    period: Period
    last_period: Period
    scores: list[CategoryScore]
    weakest: list[str] = Field(description="Up to 3 calculated metric categories, lowest first.")
    strongest: list[str] = Field(description="Up to 3 calculated metric categories, highest first.")
    not_calculated: list[str] = Field(description="Categories without enough data.")


def category_scores(scores: InsightGroupScores) -> list[CategoryScore]:
    return [_category(name, score) for name, score in scores.by_category().items()]


def _category(name: str, score: MetricScore) -> CategoryScore:
    last = score.last_period
    return copied(
        CategoryScore,
        score,
        category=name,
        last_period_score=last.score if last else None,
        last_period_indicator=last.indicator if last else None,
    )


def period(value: InsightPeriod) -> Period:
    """A period as dates when its bounds are UTC midnights, else as date-times: a date alone
    would move an end at 14:26Z to that day's midnight, a day before its last day."""
    return Period(start=_instant(value.start_time), end=_instant(value.end_time))


def _instant(ms: int) -> str:
    return iso_date(ms) if ms % DAY_MS == 0 else iso_datetime(ms)


def rank(scores: list[CategoryScore]) -> tuple[list[str], list[str], list[str]]:
    """(weakest, strongest, not calculated) among the metric (non-composite) categories."""
    metrics = [s for s in scores if not s.aggregate_of and s.category != "overall"]
    calculated = sorted((s for s in metrics if s.indicator in CALCULATED), key=lambda s: s.score)
    weakest = [s.category for s in calculated[:3]]
    strongest = [s.category for s in reversed(calculated[-3:])]
    missing = [s.category for s in scores if s.indicator not in CALCULATED]
    return weakest, strongest, missing


def score_phrase(score: CategoryScore) -> str:
    """``leadTime 75 good (-5 vs 80)``; notCalculated scores carry no number."""
    if score.indicator not in CALCULATED:
        return f"{score.category} {score.indicator}"
    if score.last_period_score is None:
        return f"{score.category} {score.score} {score.indicator}"
    return (
        f"{score.category} {score.score} {score.indicator} "
        f"({signed(score.change)} vs {score.last_period_score})"
    )


def scores_result(
    found: InsightScores,
    *,
    project_key: str,
    environment_key: str,
    application_keys: list[str],
    source: DataSource,
) -> ScoresResult:
    scores = category_scores(found.scores)
    weakest, strongest, missing = rank(scores)
    return ScoresResult(
        data_source=source,
        project_key=project_key,
        environment_key=environment_key,
        application_keys=application_keys,
        period=period(found.period),
        last_period=period(found.last_period),
        scores=scores,
        weakest=weakest,
        strongest=strongest,
        not_calculated=missing,
    )


def scores_lines(scores: list[CategoryScore]) -> list[str]:
    """One line per top-level category with its parts indented beneath it."""
    by_name = {s.category: s for s in scores}
    lines: list[str] = []
    shown: set[str] = set()
    for top in CATEGORY_PARTS:  # overall, then each composite with its parts
        score = by_name.get(top)
        if score is None:
            continue
        shown.add(top)
        parts = [by_name[p] for p in score.aggregate_of if p in by_name and top != "overall"]
        shown.update(p.category for p in parts)
        line = f"{'' if top == 'overall' else '  '}{score_phrase(score)}"
        if parts:
            line += ": " + "; ".join(score_phrase(p) for p in parts)
        lines.append(line)
    rest = [s for s in scores if s.category not in shown]
    if rest:
        lines.append("  other: " + "; ".join(score_phrase(s) for s in rest))
    return lines


def scores_text(result: ScoresResult) -> str:
    apps = ", ".join(result.application_keys) or "all applications"
    lines = [
        *source_line(result.data_source),
        f"Insight scores for {result.project_key}/{result.environment_key} ({apps}), "
        f"{result.period.start} to {result.period.end} "
        f"(changes vs {result.last_period.start} to {result.last_period.end}). "
        "Scores 0-100, higher is better.",
        *scores_lines(result.scores),
    ]
    if result.weakest:
        lines.append(
            f"Weakest: {', '.join(result.weakest)}. Strongest: {', '.join(result.strongest)}."
        )
    if result.not_calculated:
        lines.append(f"No data (not calculated): {', '.join(result.not_calculated)}.")
    lines.append("Explanations: resource insights://score-categories/{category}.")
    return "\n".join(lines)
