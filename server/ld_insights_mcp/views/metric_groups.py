"""Metric groups: pages of summaries and one group with its metrics in order."""

from __future__ import annotations

from typing import TYPE_CHECKING

from pydantic import Field

from ld_insights_mcp.text import plural, quoted
from ld_insights_mcp.views.common import DataSource, ViewModel, copied, iso_datetime, source_line
from ld_insights_mcp.views.paging import PageRequest, paginate

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.models import MetricGroup, MetricGroupCollection


class MetricGroupSummary(ViewModel):
    key: str
    name: str
    kind: str = Field(description="funnel (ordered steps) or standard.")
    metric_count: int
    tags: list[str]
    maintainer: str | None = None
    last_modified: str = Field(description="ISO 8601 UTC.")


class MetricGroupPage(ViewModel):
    """One page of a project's metric groups."""

    data_source: DataSource
    project_key: str
    total_count: int | None
    offset: int
    returned: int
    next_offset: int | None = Field(
        description="Pass as offset for the next page; null at the end."
    )
    metric_groups: list[MetricGroupSummary]
    truncated: bool = False


class MetricInGroupView(ViewModel):
    position: int = Field(description="1-based; for funnels, the step number.")
    key: str
    name: str
    name_in_group: str | None = Field(default=None, description="Funnel step name.")
    kind: str = Field(description="pageview, click or custom.")
    event_key: str | None = None
    is_numeric: bool | None = None
    unit_aggregation_type: str | None = None


class ExperimentView(ViewModel):
    key: str
    name: str
    environment_key: str
    created: str
    archived: str | None = None


class MetricGroupDetail(ViewModel):
    """One metric group."""

    data_source: DataSource
    project_key: str
    key: str
    name: str
    kind: str
    description: str | None = None
    tags: list[str]
    maintainer: str | None = None
    created: str
    last_modified: str
    version: int
    metrics: list[MetricInGroupView]
    experiment_count: int | None = None
    experiments: list[ExperimentView] | None = None


def metric_group_page(
    found: MetricGroupCollection,
    *,
    project_key: str,
    request: PageRequest,
    source: DataSource,
    max_chars: int,
) -> tuple[MetricGroupPage, str]:
    """One page; ``request`` is the call that asked for it (for the exact next call)."""
    groups = [
        copied(
            MetricGroupSummary,
            g,
            metric_count=len(g.metrics),
            maintainer=g.maintainer.display_name(),
            last_modified=iso_datetime(g.last_modified),
        )
        for g in found.items
    ]
    total = found.total_count
    offset = request.offset
    counted = plural(total, "metric group") if total is not None else "Metric groups"
    header = [
        *source_line(source),
        f"{counted} in project {project_key}; showing {len(groups)} from offset {offset}.",
    ]
    lines = [
        f"- {quoted(g.key)} {quoted(g.name)} {quoted(g.kind)}, {plural(g.metric_count, 'metric')}"
        + (f", tags {','.join(map(quoted, g.tags))}" if g.tags else "")
        + (f", maintainer {quoted(g.maintainer)}" if g.maintainer else "")
        for g in groups
    ]
    shown = paginate(request, header=header, items=lines, total=total, max_chars=max_chars)
    page = MetricGroupPage(
        data_source=source,
        project_key=project_key,
        total_count=total,
        offset=offset,
        returned=shown.shown,
        next_offset=shown.next_offset,
        metric_groups=groups[: shown.shown],
        truncated=shown.truncated,
    )
    return page, shown.text


def metric_group_detail(
    group: MetricGroup, *, project_key: str, source: DataSource
) -> tuple[MetricGroupDetail, str]:
    metrics = [
        copied(MetricInGroupView, m, position=i) for i, m in enumerate(group.metrics, start=1)
    ]
    experiments = None
    if group.experiments is not None:
        experiments = [
            copied(
                ExperimentView,
                e,
                created=iso_datetime(e.creation_date),
                archived=iso_datetime(e.archived_date) if e.archived_date else None,
            )
            for e in group.experiments
        ]
    detail = copied(
        MetricGroupDetail,
        group,
        data_source=source,
        project_key=project_key,
        maintainer=group.maintainer.display_name(),
        created=iso_datetime(group.creation_date),
        last_modified=iso_datetime(group.last_modified),
        metrics=metrics,
        experiments=experiments,
    )
    return detail, metric_group_text(detail)


def metric_group_text(detail: MetricGroupDetail) -> str:
    lines = [
        *source_line(detail.data_source),
        f"Metric group {quoted(detail.key)} {quoted(detail.name)} ({quoted(detail.kind)}) in "
        f"project {detail.project_key}, version {detail.version}, last modified "
        f"{detail.last_modified}"
        + (f", maintainer {quoted(detail.maintainer)}" if detail.maintainer else "")
        + (f", tags {', '.join(map(quoted, detail.tags))}" if detail.tags else "")
        + ".",
    ]
    if detail.description:
        lines.append(f"Description: {quoted(detail.description)}")
    label = "Funnel steps, in order:" if detail.kind == "funnel" else "Metrics:"
    lines.append(label)
    for m in detail.metrics:
        step = f"{quoted(m.name_in_group)} = " if m.name_in_group else ""
        extra = f", event {quoted(m.event_key)}" if m.event_key else ""
        lines.append(
            f"{m.position}. {step}{quoted(m.key)} {quoted(m.name)} ({quoted(m.kind)}{extra})"
        )
    if detail.experiment_count is not None:
        lines.append(f"Experiments using it: {detail.experiment_count}.")
    if detail.experiments:
        lines.extend(
            f"- experiment {quoted(e.key)} {quoted(e.name)} in {quoted(e.environment_key)}, "
            f"created {e.created[:10]}" + (f", archived {e.archived[:10]}" if e.archived else "")
            for e in detail.experiments
        )
    return "\n".join(lines)
