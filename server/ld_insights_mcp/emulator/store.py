"""The emulator's in-memory data, in LaunchDarkly's wire shapes (plain JSON-ready dicts).

``Store``'s attributes are mutable (writes through the API persist for the store's life);
bodies are kept without expansions, in the API's default order (oldest first). Metrics carry
no ``nameInGroup``; a funnel group's metrics do, in step order. ``deployment_changes`` holds
what ``updateDeployment`` set (the seeded evidence itself never changes).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ld_insights_mcp.emulator.evidence_seed import seed_repository_projects
from ld_insights_mcp.emulator.seed import (
    DAY_MS,
    ENVIRONMENT_COLORS,
    ENVIRONMENT_NAMES,
    EXPERIMENTS,
    INSIGHT_GROUPS,
    MEMBERS,
    METRIC_GROUPS,
    METRICS,
    PROJECTS,
    TEAMS,
    SeedExperiment,
    SeedMetric,
    SeedMetricGroup,
    SeedProject,
    object_id,
    time_of_day_ms,
)

Body = dict[str, Any]
JSON = "application/json"


def link(href: str) -> Body:
    return {"href": href, "type": JSON}


@dataclass
class Experiment:
    """An experiment of a project; ``status`` is not_started, running or stopped."""

    key: str
    name: str
    environment_key: str
    creation_date: int
    status: str
    metric_groups: list[str]
    archived_date: int | None = None

    def rep(self, project: str) -> Body:
        """``DependentExperimentRep``."""
        rep: Body = {
            "key": self.key,
            "name": self.name,
            "environmentId": object_id("environment", project, self.environment_key),
            "environmentKey": self.environment_key,
            "creationDate": self.creation_date,
            "_links": {
                "self": link(
                    f"/api/v2/projects/{project}/environments/{self.environment_key}"
                    f"/experiments/{self.key}"
                )
            },
        }
        if self.archived_date is not None:
            rep["archivedDate"] = self.archived_date
        return rep


def metric_rep(project: str, metric: SeedMetric) -> Body:
    rep: Body = {
        "key": metric.key,
        "_versionId": object_id("metric-version", project, metric.key),
        "name": metric.name,
        "kind": metric.kind,
        "isNumeric": metric.is_numeric,
        "_links": {"self": link(f"/api/v2/metrics/{project}/{metric.key}")},
        "randomizationUnits": ["user"],
    }
    if metric.unit_aggregation:
        rep["unitAggregationType"] = metric.unit_aggregation
    if metric.event_key:
        rep["eventKey"] = metric.event_key
    return rep


def environment_rep(project: str, key: str) -> Body:
    """The expanded ``Environment`` of an insight group (keys are fake and stable)."""
    secret = object_id("sdk", project, key) + object_id("sdk2", project, key)[:8]
    uuid = f"{secret[:8]}-{secret[8:12]}-{secret[12:16]}-{secret[16:20]}-{secret[20:32]}"
    production = key == "production"
    return {
        "_links": {"self": link(f"/api/v2/projects/{project}/environments/{key}")},
        "_id": object_id("environment", project, key),
        "key": key,
        "name": ENVIRONMENT_NAMES.get(key, key.replace("-", " ").title()),
        "apiKey": f"sdk-{uuid}",
        "mobileKey": f"mob-{uuid}",
        "color": ENVIRONMENT_COLORS.get(key, "cccccc"),
        "defaultTtl": 0,
        "secureMode": False,
        "defaultTrackEvents": False,
        "requireComments": production,
        "confirmChanges": production,
        "tags": ["prod"] if production else [],
        "critical": production,
    }


def metric_group_links(project: str, key: str) -> Body:
    return {
        "self": link(f"/api/v2/projects/{project}/metric-groups/{key}"),
        "parent": link(f"/api/v2/projects/{project}"),
    }


@dataclass
class Store:
    """Everything the emulator serves, seeded deterministically from ``now_ms``."""

    now_ms: int
    projects: tuple[SeedProject, ...] = PROJECTS
    insight_groups: dict[str, Body] = field(default_factory=dict)
    members: dict[str, Body] = field(default_factory=dict)
    teams: dict[str, Body] = field(default_factory=dict)
    metrics: dict[str, dict[str, Body]] = field(default_factory=dict)
    metric_groups: dict[str, dict[str, Body]] = field(default_factory=dict)
    experiments: dict[str, list[Experiment]] = field(default_factory=dict)
    deployment_changes: dict[str, Body] = field(default_factory=dict)  # id -> status, archived
    repository_projects: dict[str, list[str]] = field(default_factory=dict)  # key -> projects

    def __post_init__(self) -> None:
        self.repository_projects = seed_repository_projects(self.projects)
        for m in MEMBERS:
            self.members[m.id] = {
                "_links": {"self": link(f"/api/v2/members/{m.id}")},
                "_id": m.id,
                "firstName": m.first_name,
                "lastName": m.last_name,
                "role": m.role,
                "email": m.email,
            }
        for t in TEAMS:
            self.teams[t.key] = {
                "customRoleKeys": list(t.custom_role_keys),
                "key": t.key,
                "_links": {"self": link(f"/api/v2/teams/{t.key}")},
                "name": t.name,
            }
        for g in sorted(INSIGHT_GROUPS, key=lambda g: -g.age_days):
            self.insight_groups[g.key] = {
                "key": g.key,
                "name": g.name,
                "projectKey": g.project,
                "environmentKey": g.environment,
                "applicationKeys": list(g.applications),
                "createdAt": self._past(g.age_days, "insight-group", g.key),
            }
        for project in self.projects:
            self.metrics[project.key] = {
                m.key: metric_rep(project.key, m) for m in METRICS.get(project.key, ())
            }
            self.metric_groups[project.key] = {}
            for mg in sorted(METRIC_GROUPS.get(project.key, ()), key=lambda g: -g.age_days):
                created = self._past(mg.age_days, "metric-group", project.key, mg.key)
                self.metric_groups[project.key][mg.key] = self.new_metric_group(
                    project.key, mg, created, mg.description
                )
            self.experiments[project.key] = [
                self._experiment(project.key, e) for e in EXPERIMENTS.get(project.key, ())
            ]

    def _experiment(self, project: str, e: SeedExperiment) -> Experiment:
        created = self._past(e.age_days, "experiment", project, e.key)
        archived = e.archived_age_days
        if archived is not None:
            archived = self._past(archived, "archived", project, e.key)
        return Experiment(
            e.key, e.name, e.environment, created, e.status, [*e.metric_groups], archived
        )

    def _past(self, age_days: int, *parts: str) -> int:
        midnight = self.now_ms - self.now_ms % DAY_MS
        return midnight - age_days * DAY_MS + time_of_day_ms(*parts)

    def project(self, key: str) -> SeedProject | None:
        return next((p for p in self.projects if p.key == key), None)

    def connections(self, project: str, group_key: str) -> list[Experiment]:
        """Experiments of ``project`` that use the metric group ``group_key``."""
        return [e for e in self.experiments.get(project, []) if group_key in e.metric_groups]

    def maintainer(self, maintainer: str) -> Body:
        """``MaintainerRep`` for a member id, else a team key (a KeyError if neither exists)."""
        if maintainer in self.members:
            return {"member": dict(self.members[maintainer])}
        return {"team": dict(self.teams[maintainer])}

    def metrics_in_group(self, project: str, kind: str, steps: list[tuple[str, str]]) -> list[Body]:
        """``MetricInGroupRep`` list; ``nameInGroup`` only for funnels, as the contract says."""
        return [
            self.metrics[project][key] | ({"nameInGroup": name} if kind == "funnel" else {})
            for key, name in steps
        ]

    def new_metric_group(
        self, project: str, group: SeedMetricGroup, created: int, description: str | None
    ) -> Body:
        key, kind = group.key, group.kind
        rep: Body = {
            "_id": object_id("metric-group", project, key, str(created)),
            "key": key,
            "name": group.name,
            "kind": kind,
            "_links": metric_group_links(project, key),
            "tags": list(group.tags),
            "_creationDate": created,
            "_lastModified": created,
            "maintainer": self.maintainer(group.maintainer),
            "metrics": self.metrics_in_group(project, kind, list(group.metrics)),
            "_version": 1,
        }
        if description is not None:
            rep["description"] = description
        return rep
