"""Pydantic models of the LaunchDarkly Engineering Insights and metric-group contract.

snake_case fields, wire names as aliases; unknown fields kept (``extra="allow"``) except where
they could carry a secret. Values no answer can hold (negative counts, scores outside 0-100,
timestamps past year 9999, past int64, NaN) fail validation: an upstream error, not data.
"""

from __future__ import annotations

import logging
from typing import Annotated, Any, Generic, Literal, Self, TypeVar

from pydantic import BaseModel, BeforeValidator, ConfigDict, Field, model_validator
from pydantic.alias_generators import to_camel, to_snake

from ld_insights_mcp.launchdarkly.vocabulary import INDICATORS, SCORE_CATEGORIES

logger = logging.getLogger(__name__)


def _known_indicator(value: Any) -> Any:
    if isinstance(value, str) and value not in INDICATORS:
        logger.warning("unrecognised score indicator %r treated as 'unknown'", value)
        return "unknown"
    return value


InsightGroupExpand = Literal["scores", "environment", "metadata"]
MetricGroupExpand = Literal["experiments", "experimentCount"]

Indicator = Annotated[str, BeforeValidator(_known_indicator)]
"""One of ``INDICATORS``: a value the contract does not define becomes ``unknown``."""


INT64_MAX = 2**63 - 1
"""The contract's integers are int64: nothing larger is a real answer."""

Count = Annotated[int, Field(ge=0, le=INT64_MAX)]
"""A number of things: never negative, never past int64."""

Score = Annotated[int, Field(ge=0, le=100)]
"""A 0-100 score."""

ScoreChange = Annotated[int, Field(ge=-100, le=100)]
"""The difference of two 0-100 scores."""

MAX_MILLIS = 253_402_300_799_999
"""9999-12-31T23:59:59.999Z, the last instant a ``datetime`` can hold."""

Millis = Annotated[int, Field(ge=0, le=MAX_MILLIS)]
"""A Unix-milliseconds timestamp a ``datetime`` can hold."""


_CAMEL = ConfigDict(
    alias_generator=to_camel,
    validate_by_name=True,
    validate_by_alias=True,
    defer_build=True,  # built on first use, not at start-up
)


class Wire(BaseModel):
    """Base of response models: camelCase aliases, unknown fields kept."""

    model_config = ConfigDict(**_CAMEL, extra="allow", allow_inf_nan=False)


class _Request(BaseModel):
    """Base of request bodies: camelCase on the wire, unknown fields refused."""

    model_config = ConfigDict(**_CAMEL, extra="forbid")

    def to_wire(self) -> dict[str, Any]:
        return self.model_dump(by_alias=True, exclude_none=True, mode="json")


class Link(Wire):
    href: str | None = None
    type: str | None = None


Links = dict[str, Link]
ItemT = TypeVar("ItemT")


class Collection(Wire, Generic[ItemT]):
    """A page of ``items`` out of ``totalCount``, with its ``_links``."""

    total_count: Count
    items: list[ItemT] = Field(default_factory=list)
    links: Links = Field(default_factory=dict, alias="_links")


class _CheckedCollection(Collection[ItemT]):
    """A collection whose ``totalCount``, when given, covers the items returned."""

    items: list[ItemT]  # required here
    total_count: Count | None = None  # type: ignore[assignment]

    @model_validator(mode="after")
    def _total_covers_the_page(self) -> Self:
        total, items = self.total_count, self.items
        if total is not None and total < len(items):
            raise ValueError(f"totalCount {total} is less than the {len(items)} items returned")
        return self


# --- insight scores -------------------------------------------------------------------------


class IndicatorRange(Wire):
    min: Score
    max: Score


class MetricScore(Wire):
    """One score category (``InsightsMetricScore``)."""

    score: Score
    indicator: Indicator
    indicator_range: IndicatorRange
    aggregate_of: list[str] = Field(default_factory=list)
    diff_vs_last_period: ScoreChange | None = None
    last_period: MetricScore | None = None

    @property
    def change(self) -> int | None:
        """The change since the last period: its two scores' difference when both are given
        (what ``diffVsLastPeriod`` should equal), else ``diffVsLastPeriod``."""
        if self.last_period is not None:
            return self.score - self.last_period.score
        return self.diff_vs_last_period


class InsightGroupScores(Wire):
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
        found = ((name, getattr(self, attribute)) for name, attribute in _CATEGORY_ATTRIBUTES)
        return {name: score for name, score in found if score is not None}


class InsightPeriod(Wire):
    start_time: Millis
    end_time: Millis


class ScoreMetadata(Wire):
    period: InsightPeriod
    last_period: InsightPeriod


class InsightScores(ScoreMetadata):
    scores: InsightGroupScores
    links: Links = Field(default_factory=dict, alias="_links")


class CountByIndicator(Wire):
    excellent: Count
    good: Count
    fair: Count
    needs_attention: Count
    not_calculated: Count
    unknown: Count
    total: Count


class InsightGroupCollectionMetadata(Wire):
    count_by_indicator: CountByIndicator


class EnvironmentSummary(BaseModel):
    """The parts of an expanded ``Environment`` safe to show: its SDK and mobile keys are
    secrets, dropped on purpose (``extra="ignore"``)."""

    model_config = ConfigDict(alias_generator=to_camel, validate_by_name=True, extra="ignore")

    id: str | None = Field(default=None, alias="_id")
    key: str
    name: str
    color: str | None = None
    tags: list[str] = Field(default_factory=list)
    critical: bool | None = None


class InsightGroup(Wire):
    key: str
    name: str
    project_key: str
    environment_key: str
    application_keys: list[str] = Field(default_factory=list)
    created_at: Millis
    environment: EnvironmentSummary | None = None
    scores: InsightGroupScores | None = None
    score_metadata: ScoreMetadata | None = None


class InsightGroupCollection(_CheckedCollection[InsightGroup]):
    total_count: Count
    metadata: InsightGroupCollectionMetadata | None = None
    score_metadata: ScoreMetadata | None = None


class NewInsightGroup(_Request):
    """Body of ``POST /insights/group`` (``PostInsightGroupParams``)."""

    name: str
    key: str
    project_key: str
    environment_key: str
    application_keys: list[str] | None = None

    def matches(self, group: InsightGroup) -> bool:
        """Whether ``group`` has every field this request sets (applications as a set). A field
        the request leaves out is LaunchDarkly's to fill, so it is not compared."""
        return group.key == self.key and not self.differences(group)

    def differences(self, group: InsightGroup) -> list[str]:
        """The fields this request sets that ``group`` has otherwise (wire names)."""
        compared = ("name", "project_key", "environment_key")
        differ = [to_camel(f) for f in compared if getattr(self, f) != getattr(group, f)]
        apps = self.application_keys
        if apps is not None and set(group.application_keys) != set(apps):
            differ.append("applicationKeys")
        return differ


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


class MemberSummary(Wire):
    id: str | None = Field(default=None, alias="_id")
    first_name: str | None = None
    last_name: str | None = None
    role: str | None = None
    email: str | None = None
    links: Links = Field(default_factory=dict, alias="_links")


class TeamSummary(Wire):
    key: str
    name: str | None = None
    custom_role_keys: list[str] = Field(default_factory=list)
    links: Links = Field(default_factory=dict, alias="_links")


class Maintainer(Wire):
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


class MetricInGroup(Wire):
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


class DependentExperiment(Wire):
    key: str
    name: str
    environment_id: str
    environment_key: str
    creation_date: Millis
    archived_date: Millis | None = None
    links: Links = Field(default_factory=dict, alias="_links")


class MetricGroup(Wire):
    """``MetricGroupRep``."""

    id: str = Field(alias="_id")
    key: str
    name: str
    kind: str
    description: str | None = None
    tags: list[str] = Field(default_factory=list)
    creation_date: Millis = Field(alias="_creationDate")
    last_modified: Millis = Field(alias="_lastModified")
    maintainer: Maintainer
    metrics: list[MetricInGroup]
    version: int = Field(alias="_version")
    experiments: list[DependentExperiment] | None = None
    experiment_count: Count | None = None
    active_experiment_count: Count | None = None
    active_guarded_rollout_count: Count | None = None
    links: Links = Field(default_factory=dict, alias="_links")


class MetricGroupCollection(_CheckedCollection[MetricGroup]):
    """Its ``totalCount`` is optional."""


# --- errors ---------------------------------------------------------------------------------


class ErrorFieldRep(Wire):
    attribute: str = ""
    reason: str = ""


class ErrorRep(Wire):
    """LaunchDarkly's error body: ``{code, message}``, plus ``errors`` on 400."""

    code: str = "unknown"
    message: str = ""
    errors: list[ErrorFieldRep] = Field(default_factory=list)


_CATEGORY_ATTRIBUTES = tuple((name, to_snake(name)) for name in SCORE_CATEGORIES)
MetricScore.model_rebuild()
