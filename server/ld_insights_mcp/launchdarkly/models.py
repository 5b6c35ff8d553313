"""Pydantic models of the LaunchDarkly Engineering Insights and metric-group contract.

Field names are snake_case; aliases carry the wire names (``projectKey``, ``_links``,
``_creationDate``). Response models keep fields LaunchDarkly adds later (``extra="allow"``),
except where a field could carry a secret (environments carry SDK keys: those are dropped).
"""

from __future__ import annotations

import logging
from datetime import UTC, datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field
from pydantic.alias_generators import to_camel

logger = logging.getLogger(__name__)

INDICATORS = ("excellent", "good", "fair", "needsAttention", "notCalculated", "unknown")
"""The indicator values the contract defines, best first."""

SCORE_CATEGORIES = (
    "overall",
    "velocity",
    "deploymentFrequency",
    "leadTime",
    "risk",
    "deploymentFailureRate",
    "impactSize",
    "efficiency",
    "flagHealth",
    "experimentationCoverage",
    "creationRatio",
)
"""Every category of ``InsightGroupScores``, wire names, in reading order."""


def _known_indicator(value: Any) -> Any:
    if isinstance(value, str) and value not in INDICATORS:
        logger.warning("unrecognised score indicator %r treated as 'unknown'", value)
        return "unknown"
    return value


InsightGroupExpand = Literal["scores", "environment", "metadata"]
MetricGroupExpand = Literal["experiments", "experimentCount"]

Indicator = Annotated[
    Literal["excellent", "good", "fair", "needsAttention", "notCalculated", "unknown"],
    BeforeValidator(_known_indicator),
]


def millis_to_datetime(value: int) -> datetime:
    """A Unix-milliseconds timestamp as an aware UTC datetime."""
    return datetime.fromtimestamp(value / 1000, tz=UTC)


class _Wire(BaseModel):
    """Base of response models: camelCase aliases, unknown fields kept."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="allow",
        defer_build=True,  # built on first use, not at start-up
    )


class _Request(BaseModel):
    """Base of request bodies: camelCase on the wire, unknown fields refused."""

    model_config = ConfigDict(
        alias_generator=to_camel,
        validate_by_name=True,
        validate_by_alias=True,
        extra="forbid",
        defer_build=True,
    )

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class Link(_Wire):
    href: str | None = None
    type: str | None = None


Links = dict[str, Link]


# --- insight scores -------------------------------------------------------------------------


class IndicatorRange(_Wire):
    min: int
    max: int


class MetricScore(_Wire):
    """One score category (``InsightsMetricScore``)."""

    score: int
    indicator: Indicator
    indicator_range: IndicatorRange
    aggregate_of: list[str] = Field(default_factory=list)
    diff_vs_last_period: int | None = None
    last_period: MetricScore | None = None


class InsightGroupScores(_Wire):
    overall: MetricScore
    deployment_frequency: MetricScore
    deployment_failure_rate: MetricScore
    lead_time: MetricScore
    impact_size: MetricScore
    experimentation_coverage: MetricScore
    flag_health: MetricScore
    velocity: MetricScore
    risk: MetricScore
    efficiency: MetricScore
    creation_ratio: MetricScore | None = None

    def by_category(self) -> dict[str, MetricScore]:
        """The present scores keyed by wire name, in ``SCORE_CATEGORIES`` order."""
        scores: dict[str, MetricScore] = {}
        for name, attribute in _CATEGORY_ATTRIBUTES:
            value = getattr(self, attribute)
            if value is not None:
                scores[name] = value
        return scores


class InsightPeriod(_Wire):
    start_time: int
    end_time: int

    @property
    def start(self) -> datetime:
        return millis_to_datetime(self.start_time)

    @property
    def end(self) -> datetime:
        return millis_to_datetime(self.end_time)


class InsightScores(_Wire):
    period: InsightPeriod
    last_period: InsightPeriod
    scores: InsightGroupScores
    links: Links = Field(default_factory=dict, alias="_links")


class ScoreMetadata(_Wire):
    period: InsightPeriod
    last_period: InsightPeriod


class CountByIndicator(_Wire):
    excellent: int
    good: int
    fair: int
    needs_attention: int
    not_calculated: int
    unknown: int
    total: int


class InsightGroupCollectionMetadata(_Wire):
    count_by_indicator: CountByIndicator


class EnvironmentSummary(BaseModel):
    """The parts of an expanded ``Environment`` that are safe to show.

    The API also returns the environment's SDK key and mobile key; they are secrets and are
    dropped here on purpose (``extra="ignore"``).
    """

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, extra="ignore")

    id: str | None = Field(default=None, alias="_id")
    key: str
    name: str
    color: str | None = None
    tags: list[str] = Field(default_factory=list)
    critical: bool | None = None


class InsightGroup(_Wire):
    key: str
    name: str
    project_key: str
    environment_key: str
    application_keys: list[str] = Field(default_factory=list)
    created_at: int
    environment: EnvironmentSummary | None = None
    scores: InsightGroupScores | None = None
    score_metadata: ScoreMetadata | None = None

    @property
    def created(self) -> datetime:
        return millis_to_datetime(self.created_at)


class InsightGroupCollection(_Wire):
    total_count: int
    items: list[InsightGroup]
    links: Links = Field(default_factory=dict, alias="_links")
    metadata: InsightGroupCollectionMetadata | None = None
    score_metadata: ScoreMetadata | None = None


class NewInsightGroup(_Request):
    """Body of ``POST /insights/group`` (``PostInsightGroupParams``)."""

    name: str
    key: str
    project_key: str
    environment_key: str
    application_keys: list[str] | None = None


class PatchOperation(_Request):
    """One RFC 6902 JSON Patch operation."""

    op: Literal["add", "remove", "replace", "move", "copy", "test"]
    path: str
    value: Any = None
    from_: str | None = Field(default=None, alias="from")

    def to_wire(self) -> dict[str, Any]:
        wire: dict[str, Any] = {"op": self.op, "path": self.path}
        if self.op in ("add", "replace", "test"):
            wire["value"] = self.value
        if self.from_ is not None:
            wire["from"] = self.from_
        return wire


# --- metric groups --------------------------------------------------------------------------


class MemberSummary(_Wire):
    id: str | None = Field(default=None, alias="_id")
    first_name: str | None = None
    last_name: str | None = None
    role: str | None = None
    email: str | None = None
    links: Links = Field(default_factory=dict, alias="_links")


class TeamSummary(_Wire):
    key: str
    name: str | None = None
    custom_role_keys: list[str] = Field(default_factory=list)
    links: Links = Field(default_factory=dict, alias="_links")


class Maintainer(_Wire):
    """``MaintainerRep``; newer API versions send ``{key, kind, _member, _team}`` instead."""

    member: MemberSummary | None = None
    team: TeamSummary | None = None
    key: str | None = None
    kind: str | None = None
    member_v2: MemberSummary | None = Field(default=None, alias="_member")
    team_v2: TeamSummary | None = Field(default=None, alias="_team")

    def display_name(self) -> str | None:
        """A short human label for the maintainer, if one can be made."""
        member = self.member or self.member_v2
        team = self.team or self.team_v2
        if member is not None:
            full = " ".join(p for p in (member.first_name, member.last_name) if p)
            return full or member.email or member.id
        if team is not None:
            return team.name or team.key
        return self.key


class MetricInGroup(_Wire):
    key: str
    name: str
    kind: str
    version_id: str | None = Field(default=None, alias="_versionId")
    is_numeric: bool | None = None
    unit_aggregation_type: str | None = None
    event_key: str | None = None
    name_in_group: str | None = None
    randomization_units: list[str] = Field(default_factory=list)
    links: Links = Field(default_factory=dict, alias="_links")


class DependentExperiment(_Wire):
    key: str
    name: str
    environment_id: str
    environment_key: str
    creation_date: int
    archived_date: int | None = None
    links: Links = Field(default_factory=dict, alias="_links")


class MetricGroup(_Wire):
    """``MetricGroupRep``."""

    id: str = Field(alias="_id")
    key: str
    name: str
    kind: str
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    creation_date: int = Field(alias="_creationDate")
    last_modified: int = Field(alias="_lastModified")
    maintainer: Maintainer
    metrics: list[MetricInGroup]
    version: int = Field(alias="_version")
    experiments: list[DependentExperiment] | None = None
    experiment_count: int | None = None
    active_experiment_count: int | None = None
    active_guarded_rollout_count: int | None = None
    links: Links = Field(default_factory=dict, alias="_links")


class MetricGroupCollection(_Wire):
    items: list[MetricGroup]
    total_count: int | None = None
    links: Links = Field(default_factory=dict, alias="_links")


class MetricInGroupInput(_Request):
    key: str
    name_in_group: str


class NewMetricGroup(_Request):
    """Body of ``POST /projects/{projectKey}/metric-groups`` (``MetricGroupPost``)."""

    key: str | None = None
    name: str
    kind: Literal["funnel", "standard"]
    maintainer_id: str
    tags: list[str]
    metrics: list[MetricInGroupInput]


# --- errors ---------------------------------------------------------------------------------


class ErrorFieldRep(_Wire):
    attribute: str = ""
    reason: str = ""


class ErrorRep(_Wire):
    """LaunchDarkly's error body: ``{code, message}``, plus ``errors`` on 400."""

    code: str = "unknown"
    message: str = ""
    errors: list[ErrorFieldRep] = Field(default_factory=list)


def _snake(camel: str) -> str:
    return "".join(f"_{c.lower()}" if c.isupper() else c for c in camel)


_CATEGORY_ATTRIBUTES = tuple((name, _snake(name)) for name in SCORE_CATEGORIES)
MetricScore.model_rebuild()
