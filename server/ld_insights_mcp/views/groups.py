"""Insight groups: compact summaries, pages and single groups."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ld_insights_mcp.text import plural, quoted
from ld_insights_mcp.views.common import DataSource, ViewModel, copied, iso_datetime, source_line
from ld_insights_mcp.views.paging import PageRequest, paginate
from ld_insights_mcp.views.scores import (
    CategoryScore,
    Period,
    category_scores,
    period,
    score_phrase,
    scores_lines,
)

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.models import InsightGroup, InsightGroupCollection


class GroupSummary(ViewModel):
    """An insight group: a team's slice of a project, environment and applications."""

    key: str
    name: str
    project_key: str
    environment_key: str
    application_keys: list[str] = Field(description="Empty means all applications.")
    created: str = Field(description="ISO 8601 UTC creation time.")
    environment_name: str | None = None
    scores: list[CategoryScore] | None = Field(
        default=None, description="Present when scores were requested."
    )


class IndicatorCounts(ViewModel):
    excellent: int
    good: int
    fair: int
    needs_attention: int
    not_calculated: int
    unknown: int
    total: int


class GroupPage(ViewModel):
    """One page of insight groups."""

    data_source: DataSource
    total_count: int = Field(description="Groups matching the query, across all pages.")
    offset: int
    returned: int
    next_offset: int | None = Field(
        description="Pass as offset for the next page; null at the end."
    )
    period: Period | None = Field(default=None, description="Scoring period, with scores.")
    overall_indicator_counts: IndicatorCounts | None = None
    groups: list[GroupSummary]
    truncated: bool = False


class GroupResult(ViewModel):
    """One insight group."""

    data_source: DataSource
    group: GroupSummary
    period: Period | None = None


class CreatedGroupResult(ViewModel):
    """The outcome of a create."""

    data_source: DataSource
    group: GroupSummary
    confirmed_by_read_back: bool = Field(
        description="True when the create's answer was lost and the group was read back."
    )


def group_summary(group: InsightGroup) -> GroupSummary:
    return copied(
        GroupSummary,
        group,
        created=iso_datetime(group.created_at),
        environment_name=group.environment.name if group.environment else None,
        scores=category_scores(group.scores) if group.scores else None,
    )


def group_lines(groups: list[GroupSummary]) -> list[str]:
    """One entry per group, under a ``project/environment:`` heading when that changes."""
    entries = []
    previous = None
    for group in groups:
        place = f"{quoted(group.project_key)}/{quoted(group.environment_key)}"
        apps = ",".join(map(quoted, group.application_keys)) or "all"
        line = f"- {quoted(group.key)} {quoted(group.name)} [{apps}] {group.created[:10]}"
        if group.scores:
            line += "\n  " + "; ".join(score_phrase(s) for s in group.scores)
        entries.append(line if place == previous else f"{place}:\n{line}")
        previous = place
    return entries


def group_page(
    found: InsightGroupCollection, *, request: PageRequest, source: DataSource, max_chars: int
) -> tuple[GroupPage, str]:
    """One page; ``request`` is the call that asked for it (for the exact next call)."""
    offset = request.offset
    groups = [group_summary(g) for g in found.items]
    counts = None
    if found.metadata is not None:
        counts = copied(IndicatorCounts, found.metadata.count_by_indicator)
    scored = period(found.score_metadata.period) if found.score_metadata else None
    header = [
        *source_line(source),
        f"{plural(found.total_count, 'insight group')}; {len(groups)} from offset {offset}"
        + (f", scores for {scored.start} to {scored.end}" if scored else "")
        + '. Lines: "key" "name" [apps] created.',
    ]
    if counts is not None:
        header.append(
            f"Overall indicators: excellent {counts.excellent}, good {counts.good}, fair "
            f"{counts.fair}, needsAttention {counts.needs_attention}, notCalculated "
            f"{counts.not_calculated}, unknown {counts.unknown}."
        )
    shown = paginate(
        request,
        header=header,
        items=group_lines(groups),
        total=found.total_count,
        max_chars=max_chars,
    )
    page = GroupPage(
        data_source=source,
        total_count=found.total_count,
        offset=offset,
        returned=shown.shown,
        next_offset=shown.next_offset,
        period=scored,
        overall_indicator_counts=counts,
        groups=groups[: shown.shown],
        truncated=shown.truncated,
    )
    return page, shown.text


def group_result(group: InsightGroup, *, source: DataSource) -> tuple[GroupResult, str]:
    summary = group_summary(group)
    scored = group.score_metadata.period if group.score_metadata else None
    result = GroupResult(
        data_source=source, group=summary, period=period(scored) if scored else None
    )
    return result, group_text(summary, source=source, scored=result.period)


def group_text(
    summary: GroupSummary, *, source: DataSource, scored: Period | None, preface: str = ""
) -> str:
    apps = ", ".join(map(quoted, summary.application_keys)) or "all applications"
    env = quoted(summary.environment_key) + (
        f" ({quoted(summary.environment_name)})" if summary.environment_name else ""
    )
    lines = [
        *source_line(source),
        *([preface] if preface else []),
        f"Insight group {quoted(summary.key)} {quoted(summary.name)}: project "
        f"{quoted(summary.project_key)}, environment {env}, {apps}; created {summary.created}.",
    ]
    if summary.scores:
        when = f" for {scored.start} to {scored.end}" if scored else ""
        lines.append(f"Scores{when} (0-100, higher is better; change vs last period):")
        lines.extend(scores_lines(summary.scores))
    return "\n".join(lines)
