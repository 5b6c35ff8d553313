"""The emulator's in-memory data, in LaunchDarkly's wire shapes.

- ``insight_groups``: group key -> InsightGroup body (without expansions).
- ``metrics``: project key -> metric key -> metric body (MetricInGroupRep fields).
- ``metric_groups``: project key -> metric group key -> MetricGroupRep body (no expansions).
- ``experiments``: (project key, metric group key) -> DependentExperimentRep bodies.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from .seed import (
    DAY_MS,
    EXPERIMENTS,
    GROUPS,
    MEMBERS,
    METRIC_GROUPS,
    METRICS,
    PROJECTS,
    SeedProject,
)

Body = dict[str, Any]


def member_rep(index: int) -> Body:
    member_id, first, last, email = MEMBERS[index % len(MEMBERS)]
    return {
        "_links": {"self": {"href": f"/api/v2/members/{member_id}", "type": "application/json"}},
        "_id": member_id,
        "firstName": first,
        "lastName": last,
        "role": "writer",
        "email": email,
    }


def metric_rep(project: str, metric: tuple[Any, ...]) -> Body:
    key, name, kind, numeric, aggregation, event_key = metric
    rep: Body = {
        "key": key,
        "_versionId": f"{key}-v1",
        "name": name,
        "kind": kind,
        "isNumeric": numeric,
        "_links": {
            "self": {"href": f"/api/v2/metrics/{project}/{key}", "type": "application/json"}
        },
        "randomizationUnits": ["user"],
    }
    if aggregation:
        rep["unitAggregationType"] = aggregation
    if event_key:
        rep["eventKey"] = event_key
    return rep


def metric_group_links(project: str, key: str) -> Body:
    return {
        "self": {
            "href": f"/api/v2/projects/{project}/metric-groups/{key}",
            "type": "application/json",
        },
        "parent": {"href": f"/api/v2/projects/{project}", "type": "application/json"},
    }


@dataclass
class Store:
    """Everything the emulator serves; writes persist for the life of the emulator."""

    now_ms: int
    projects: tuple[SeedProject, ...] = PROJECTS
    insight_groups: dict[str, Body] = field(default_factory=dict)
    metrics: dict[str, dict[str, Body]] = field(default_factory=dict)
    metric_groups: dict[str, dict[str, Body]] = field(default_factory=dict)
    experiments: dict[tuple[str, str], list[Body]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        for key, name, project, environment, apps, age in GROUPS:
            self.insight_groups[key] = {
                "key": key,
                "name": name,
                "projectKey": project,
                "environmentKey": environment,
                "applicationKeys": list(apps),
                "createdAt": self.now_ms - age * DAY_MS,
            }
        for project, metrics in METRICS.items():
            self.metrics[project] = {m[0]: metric_rep(project, m) for m in metrics}
        for project, groups in METRIC_GROUPS.items():
            self.metric_groups[project] = {}
            for key, name, kind, steps, tags, member, age, description in groups:
                self.metric_groups[project][key] = self.new_metric_group(
                    project,
                    key=key,
                    name=name,
                    kind=kind,
                    steps=steps,
                    tags=list(tags),
                    maintainer=member_rep(member),
                    created=self.now_ms - age * DAY_MS,
                    description=description,
                )
                self.experiments[(project, key)] = [
                    self._experiment(project, *experiment)
                    for experiment in EXPERIMENTS.get(key, ())
                ]

    def project(self, key: str) -> SeedProject | None:
        return next((p for p in self.projects if p.key == key), None)

    def new_metric_group(
        self,
        project: str,
        *,
        key: str,
        name: str,
        kind: str,
        steps: Any,
        tags: list[str],
        maintainer: Body,
        created: int,
        description: str | None = None,
    ) -> Body:
        metrics = []
        for metric_key, step_name in steps:
            metric = dict(self.metrics[project][metric_key])
            metric["nameInGroup"] = step_name
            metrics.append(metric)
        rep: Body = {
            "_id": f"mg-{project}-{key}",
            "key": key,
            "name": name,
            "kind": kind,
            "_links": metric_group_links(project, key),
            "tags": tags,
            "_creationDate": created,
            "_lastModified": created,
            "maintainer": {"member": maintainer},
            "metrics": metrics,
            "_version": 1,
        }
        if description:
            rep["description"] = description
        return rep

    def _experiment(
        self, project: str, key: str, name: str, environment: str, age: int, archived: int | None
    ) -> Body:
        rep: Body = {
            "key": key,
            "name": name,
            "environmentId": f"env-{project}-{environment}",
            "environmentKey": environment,
            "creationDate": self.now_ms - age * DAY_MS,
            "_links": {
                "self": {
                    "href": (
                        f"/api/v2/projects/{project}/environments/{environment}/experiments/{key}"
                    ),
                    "type": "application/json",
                }
            },
        }
        if archived is not None:
            rep["archivedDate"] = self.now_ms - archived * DAY_MS
        return rep
