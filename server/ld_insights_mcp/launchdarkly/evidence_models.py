"""Pydantic models of the Engineering Insights evidence, on ``models``' conventions.

Timestamps arrive as integers or numeric strings (``UnixMillis``); durations are ms; open
vocabularies are plain strings. Numbers are bounded by what they measure, so an impossible
answer is refused at parse: no negative durations or counts, int64 at most, metric values
within ``METRIC_MAX`` (sign and share checked in ``analysis.charts.impossible``).
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from pydantic import AfterValidator, BeforeValidator, Field

from ld_insights_mcp.launchdarkly.models import (
    INT64_MAX,
    MAX_MILLIS,
    Collection,
    Count,
    Links,
    Millis,
    Wire,
)


def _millis(value: Any) -> Any:
    if isinstance(value, str) and value.strip().isdigit():
        return int(value)
    return value


UnixMillis = Annotated[Millis, BeforeValidator(_millis)]
"""A timestamp in Unix milliseconds, sent as a number or a numeric string."""

DurationMs = Annotated[int, Field(ge=0, le=MAX_MILLIS)]
"""A duration in milliseconds: never negative, never longer than the calendar."""

Int64 = Annotated[int, Field(ge=-INT64_MAX - 1, le=INT64_MAX)]

METRIC_MAX = 1e12
"""The largest raw metric value taken (per day, percent, hours: far below it)."""

NON_NEGATIVE_UNITS = frozenset({"count", "percent", "milliseconds", "seconds", "hours", "days"})
"""Metric units whose values cannot be negative (such a metric is named impossible where read)."""


def bounded_numbers(values: dict[str, Any], where: str) -> dict[str, Any]:
    """Refuse free-form numbers past int64, or a negative ``...Ms`` duration or ``count``."""
    for name, value in values.items():
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue
        if abs(value) > INT64_MAX:
            raise ValueError(f"{where}.{name} is {value:.3g}, past the int64 range")
        if value < 0 and (name.endswith("Ms") or name == "count"):
            raise ValueError(f"{where}.{name} is negative ({value}): a duration or count")
    return values


# --- charts ---------------------------------------------------------------------------------


class ChartTier(Wire):
    indicator: str
    description: str | None = None


class ChartMetric(Wire):
    """A raw metric with its indicator and tier ladder (``InsightsChartMetric``)."""

    indicator: str
    value: Annotated[float, Field(ge=-METRIC_MAX, le=METRIC_MAX)]
    unit: str
    modifier: str
    tiers: list[ChartTier] = Field(default_factory=list)


class ChartAxis(Wire):
    unit: str


def _bounded(where: str) -> AfterValidator:
    return AfterValidator(lambda values: bounded_numbers(values, where))


class ChartMetadata(Wire):
    summary: Annotated[dict[str, Any], _bounded("summary")] = Field(default_factory=dict)
    name: str | None = None
    metrics: dict[str, ChartMetric] | None = None
    x_axis: ChartAxis
    y_axis: ChartAxis


class ChartBounds(Wire):
    name: str
    value: Int64


class ChartSeriesMetadata(Wire):
    name: str
    count: Count | None = None
    bounds: list[ChartBounds] = Field(default_factory=list)


class ChartPoint(Wire):
    """One point: ``y`` is a count or a duration (every chart's), so never negative."""

    x: Int64
    y: Count
    values: Annotated[dict[str, Any], _bounded("values")] = Field(default_factory=dict)


class ChartSeries(Wire):
    metadata: ChartSeriesMetadata
    data: list[ChartPoint] = Field(default_factory=list)


class InsightsChart(Wire):
    """Every chart's answer: metadata (summary, axes, optional metrics) and series."""

    metadata: ChartMetadata
    series: list[ChartSeries] = Field(default_factory=list)


# --- pull requests and deployments ----------------------------------------------------------


class FlagReference(Wire):
    project_key: str
    flag_key: str
    references_added: Count
    references_removed: Count


FlagReferenceCollection = Collection[FlagReference]


class LeadTimeStages(Wire):
    """A deployment's lead-time stages (``LeadTimeStagesRep``)."""

    coding_duration_ms: DurationMs
    review_duration_ms: DurationMs | None = None
    wait_duration_ms: DurationMs | None = None
    deploy_duration_ms: DurationMs | None = None
    total_lead_time_ms: DurationMs | None = None


class PullRequestLeadTime(Wire):
    """``PullRequestLeadTimeRep``: wait, deploy and total only once deployed to the environment."""

    coding_duration_ms: DurationMs
    review_duration_ms: DurationMs | None = None
    max_wait_duration_ms: DurationMs | None = None
    avg_wait_duration_ms: DurationMs | None = None
    max_deploy_duration_ms: DurationMs | None = None
    avg_deploy_duration_ms: DurationMs | None = None
    max_total_lead_time_ms: DurationMs | None = None
    avg_total_lead_time_ms: DurationMs | None = None


class PullRequest(Wire):
    id: str
    external_id: str
    title: str
    status: str
    author: str
    create_time: UnixMillis
    merge_time: UnixMillis | None = None
    merge_commit_key: str | None = None
    base_commit_key: str
    head_commit_key: str
    files_changed: Count
    lines_added: Count
    lines_deleted: Count
    url: str
    deployments: DeploymentCollection | None = None
    flag_references: FlagReferenceCollection | None = None
    lead_time: PullRequestLeadTime | None = None


PullRequestCollection = Collection[PullRequest]


class Deployment(Wire):
    id: str
    application_key: str
    application_version: str
    started_at: UnixMillis
    ended_at: UnixMillis | None = None
    duration_ms: DurationMs | None = None
    status: str
    kind: str
    active: bool
    metadata: dict[str, Any] = Field(default_factory=dict)
    archived: bool
    environment_key: str
    number_of_contributors: Count
    number_of_pull_requests: Count
    lines_added: Count
    lines_deleted: Count
    lead_time: DurationMs
    pull_requests: PullRequestCollection | None = None
    flag_references: FlagReferenceCollection | None = None
    lead_time_stages: LeadTimeStages | None = None


DeploymentCollection = Collection[Deployment]


# --- flag events ----------------------------------------------------------------------------


class VariationEvaluations(Wire):
    value: Any = None
    before: Count | None = None
    after: Count | None = None


class EvaluationsSummary(Wire):
    variations: list[VariationEvaluations] = Field(default_factory=list)


class FlagEventImpact(Wire):
    size: str | None = None  # none | small | medium | large
    percentage: Annotated[float, Field(ge=0, le=100)] | None = None
    reason: str | None = None  # evaluations | global | waiting
    evaluations_summary: EvaluationsSummary | None = None


class FlagEventMember(Wire):
    id: str
    email: str
    first_name: str
    last_name: str


class FlagEventExperimentIteration(Wire):
    id: str
    status: str
    started_at: UnixMillis
    ended_at: UnixMillis | None = None
    links: Links = Field(default_factory=dict, alias="_links")


class FlagEventExperiment(Wire):
    key: str
    name: str
    iteration: FlagEventExperimentIteration
    links: Links = Field(default_factory=dict, alias="_links")


FlagEventExperimentCollection = Collection[FlagEventExperiment]


class FlagEvent(Wire):
    id: str
    project_id: str
    project_key: str
    environment_id: str | None = None
    environment_key: str | None = None
    flag_key: str
    event_type: str
    event_time: UnixMillis
    description: str
    audit_log_entry_id: str | None = None
    member: FlagEventMember | None = None
    actions: list[str] = Field(default_factory=list)
    impact: FlagEventImpact
    experiments: FlagEventExperimentCollection | None = None


FlagEventCollection = Collection[FlagEvent]


# --- repositories ---------------------------------------------------------------------------


class ProjectSummary(Wire):
    id: str = Field(alias="_id")
    key: str
    name: str
    links: Links = Field(default_factory=dict, alias="_links")


ProjectSummaryCollection = Collection[ProjectSummary]


class InsightsRepository(Wire):
    id: str = Field(alias="_id")
    version: int
    key: str
    type: str
    url: str
    main_branch: str
    projects: ProjectSummaryCollection | None = None


InsightsRepositoryCollection = Collection[InsightsRepository]


def next_cursor(links: Links) -> str | None:
    """The ``after`` value of ``_links.next`` (None on the last page), to send with the filters."""
    nxt = links.get("next")
    if nxt is None or not nxt.href or "?" not in nxt.href:
        return None
    values = parse_qs(urlsplit(nxt.href).query).get("after")
    return values[0] if values else None
