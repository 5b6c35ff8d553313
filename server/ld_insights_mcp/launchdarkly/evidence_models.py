"""Pydantic models of the Engineering Insights evidence: charts, deployments, pull requests,
flag events and repositories.

Like ``models``: snake_case fields with the wire names as aliases, unknown fields kept
(``extra="allow"``). Timestamps (``UnixMillis``) arrive as integers or, as the contract's
examples show, numeric strings; both parse to ``int`` milliseconds. Durations are
milliseconds. Open vocabularies (deployment ``status``/``kind``, flag ``eventType``) are
plain strings.

Numbers are bounded by what they measure, so an impossible answer is refused at parse (an
upstream error) and never printed: durations and chart values (counts or durations) are never
negative; integers stay within int64; a metric value within ``METRIC_MAX`` (its sign and
share range are checked where it is used, ``analysis.charts.impossible``); an impact
percentage within 0-100; a chart summary's ``...Ms`` durations are not negative.
"""

from __future__ import annotations

from typing import Annotated, Any
from urllib.parse import parse_qs, urlsplit

from pydantic import BeforeValidator, Field, field_validator

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
"""Metric units whose values cannot be negative (a metric out of its range is parsed, then
named as impossible and not used where it is read: the rest of its chart stays usable)."""


def bounded_numbers(values: dict[str, Any], where: str) -> dict[str, Any]:
    """Refuse free-form numbers no answer can hold: past int64, or a negative ``...Ms``
    duration or ``count``."""
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


class ChartMetadata(Wire):
    summary: dict[str, Any] = Field(default_factory=dict)

    @field_validator("summary")
    @classmethod
    def _bounded(cls, summary: dict[str, Any]) -> dict[str, Any]:
        return bounded_numbers(summary, "summary")

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
    values: dict[str, Any] = Field(default_factory=dict)

    @field_validator("values")
    @classmethod
    def _bounded(cls, values: dict[str, Any]) -> dict[str, Any]:
        return bounded_numbers(values, "values")


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
    """A pull request's lead time by stage (``PullRequestLeadTimeRep``); wait, deploy and
    total exist only once it is deployed to the environment asked for."""

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
    """The ``after`` value of a cursor collection's ``_links.next`` (None on the last page).

    The link carries no filters: send the ``after`` value with the same filters again."""
    nxt = links.get("next")
    if nxt is None or not nxt.href or "?" not in nxt.href:
        return None
    values = parse_qs(urlsplit(nxt.href).query).get("after")
    return values[0] if values else None
