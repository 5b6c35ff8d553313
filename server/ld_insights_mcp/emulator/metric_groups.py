"""Metric-group operations (beta): list, create, get, patch, delete.

Decisions where the contract is silent:
- A 400 is ``InvalidRequestErrorRep`` with ``errors`` naming the attribute, as for insights.
- ``createMetricGroup`` with an existing key is a 409 (as LaunchDarkly's ``postMetric``); a
  missing ``key`` is derived from the name; metrics must exist in the project and appear once;
  ``maintainerId`` must be a member ID.
- ``patchMetricGroup`` patches ``/name``, ``/description``, ``/tags`` and ``/metrics`` (items
  ``{key, nameInGroup}``); no 422 is listed, so an unappliable patch is a 400 naming its path.
  ``_version`` and ``_lastModified`` change only when something did.
- ``experimentStatus`` matches a group with a connected experiment in that status (``started``
  = running or stopped). ``expand`` on the list is ignored. Default order is creation order;
  sorts are stable, names ignore case.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

from ld_insights_mcp.emulator.errors import conflict, invalid, invalid_many, not_found
from ld_insights_mcp.emulator.filters import Clause, parse_filter, parse_sort
from ld_insights_mcp.emulator.json_patch import patched
from ld_insights_mcp.emulator.links import page_links
from ld_insights_mcp.emulator.request import Answer, ApiRequest
from ld_insights_mcp.emulator.seed import SeedMetricGroup
from ld_insights_mcp.emulator.store import Body, Store, metric_group_links
from ld_insights_mcp.emulator.validation import (
    KEY_RULE,
    is_key,
    required_strings,
    string_list_problem,
)

PATCHABLE = ("name", "description", "tags", "metrics")


class MetricGroupHandlers:
    """One method per operation; each returns ``(status, body)`` or raises ``ApiError``."""

    def __init__(self, store: Store, clock: Callable[[], int]) -> None:
        self.store = store
        self.clock = clock

    def _groups(self, project: str) -> dict[str, Body]:
        groups = self.store.metric_groups.get(project)
        if groups is None:
            raise not_found(f"Project {project!r} not found")
        return groups

    def _group(self, request: ApiRequest) -> tuple[str, Body]:
        project, key = request.params["projectKey"], request.params["metricGroupKey"]
        group = self._groups(project).get(key)
        if group is None:
            raise not_found(f"Metric group {key!r} not found in project {project!r}")
        return project, group

    def _matches(self, project: str, group: Body, clause: Clause) -> bool:
        experiments = self.store.connections(project, group["key"])
        value = clause.value
        if clause.field == "kind":
            return bool(group["kind"] == value)
        if clause.field == "query":
            haystack = f"{group['key']}\n{group['name']}".casefold()
            terms = value if isinstance(value, list) else [value]
            return any(term.casefold() in haystack for term in terms)
        if clause.field == "hasConnections":
            return bool(experiments) is value
        if clause.field == "experimentStatus":
            wanted = ("running", "stopped") if value == "started" else (value,)
            return any(e.status in wanted for e in experiments)
        if clause.field == "maintainerIds":
            return group["maintainer"].get("member", {}).get("_id") in value
        return bool(group["maintainer"].get("team", {}).get("key") == value)

    def _sort_key(self, project: str, field: str) -> Callable[[Body], Any]:
        if field == "name":
            return lambda g: g["name"].casefold()
        if field == "createdAt":
            return lambda g: g["_creationDate"]
        return lambda g: len(self.store.connections(project, g["key"]))

    def get_metric_groups(self, request: ApiRequest) -> Answer:
        project = request.params["projectKey"]
        groups = list(self._groups(project).values())
        limit = request.integer("limit", default=20, low=1, high=50)
        offset = request.integer("offset", default=0, low=0, high=None)
        clauses = parse_filter(request.arg("filter"))
        sort = parse_sort(request.arg("sort"))
        groups = [g for g in groups if all(self._matches(project, g, c) for c in clauses)]
        for field, descending in reversed(sort):
            groups.sort(key=self._sort_key(project, field), reverse=descending)
        total = len(groups)
        extra = {"filter": request.arg("filter") or "", "sort": request.arg("sort") or ""}
        path = f"/api/v2/projects/{project}/metric-groups"
        return 200, {
            "items": [dict(g) for g in groups[offset : offset + limit]],
            "_links": page_links(path, total=total, limit=limit, offset=offset, extra=extra),
            "totalCount": total,
        }

    def get_metric_group(self, request: ApiRequest) -> Answer:
        project, group = self._group(request)
        expand = request.expand(("experiments", "experimentCount"))
        rep = dict(group)
        experiments = self.store.connections(project, group["key"])
        if "experiments" in expand:
            rep["experiments"] = [e.rep(project) for e in experiments]
        if "experimentCount" in expand:
            rep["experimentCount"] = len(experiments)
        return 200, rep

    def delete_metric_group(self, request: ApiRequest) -> Answer:
        project, group = self._group(request)
        del self.store.metric_groups[project][group["key"]]
        for experiment in self.store.experiments.get(project, []):
            if group["key"] in experiment.metric_groups:
                experiment.metric_groups.remove(group["key"])
        return 204, None

    def _steps(
        self, project: str, kind: str, metrics: Any, attribute: str, *, names_required: bool
    ) -> list[tuple[str, str]]:
        """``(metric key, name in group)`` pairs from ``MetricInMetricGroupInput`` items;
        ``nameInGroup`` may be left out only when not ``names_required`` and not a funnel."""
        if not isinstance(metrics, list) or not metrics:
            raise invalid(attribute, "must be a non-empty array of {key, nameInGroup}")
        steps: list[tuple[str, str]] = []
        for position, item in enumerate(metrics):
            where = f"{attribute}[{position}]"
            if not isinstance(item, dict):
                raise invalid(where, "must be an object {key, nameInGroup}")
            key, name_in_group = item.get("key"), item.get("nameInGroup")
            if not isinstance(key, str) or not key:
                raise invalid(f"{where}.key", "is required and must be a string")
            if key not in self.store.metrics.get(project, {}):
                raise invalid(f"{where}.key", f"no metric {key!r} in project {project!r}")
            if any(key == seen for seen, _ in steps):
                raise invalid(f"{where}.key", f"metric {key!r} appears more than once")
            if name_in_group is None and kind == "standard" and not names_required:
                name_in_group = ""
            if not isinstance(name_in_group, str) or (kind == "funnel" and not name_in_group):
                raise invalid(f"{where}.nameInGroup", "is required and must be a string")
            steps.append((key, name_in_group))
        return steps

    def create_metric_group(self, request: ApiRequest) -> Answer:
        project = request.params["projectKey"]
        groups = self._groups(project)
        body = request.json()
        if not isinstance(body, dict):
            raise invalid("body", "must be a JSON object (MetricGroupPost)")
        problems = required_strings(body, ("name", "maintainerId"))
        if body.get("kind") not in ("funnel", "standard"):
            problems.append(("kind", "is required: 'funnel' or 'standard'"))
        tags = body.get("tags")
        if tags is None:
            problems.append(("tags", "is required (an array of strings, may be empty)"))
        elif problem := string_list_problem(tags):
            problems.append(("tags", problem))
        description = body.get("description")
        if description is not None and not isinstance(description, str):
            problems.append(("description", "must be a string"))
        key = body.get("key")
        if key is not None and (not isinstance(key, str) or not is_key(key)):
            problems.append(("key", KEY_RULE))
        if body.get("metrics") is None:
            problems.append(("metrics", "is required"))
        if problems:
            raise invalid_many(problems)
        steps = self._steps(project, body["kind"], body["metrics"], "metrics", names_required=True)
        if body["maintainerId"] not in self.store.members:
            raise invalid("maintainerId", f"no member with ID {body['maintainerId']!r}")
        if key is None:
            key = re.sub(r"[^a-z0-9]+", "-", body["name"].casefold()).strip("-")[:256]
            if not is_key(key):
                raise invalid("key", "cannot derive a key from the name; send one")
        if key in groups:
            raise conflict(f"A metric group with key {key!r} already exists in project {project!r}")
        name, kind, maintainer = body["name"], body["kind"], body["maintainerId"]
        fields = SeedMetricGroup(key, name, kind, tuple(steps), tuple(tags or []), maintainer)
        groups[key] = self.store.new_metric_group(project, fields, self.clock(), description)
        return 201, dict(groups[key])

    def patch_metric_group(self, request: ApiRequest) -> Answer:
        project, group = self._group(request)
        document: Body = {
            "name": group["name"],
            "tags": list(group["tags"]),
            "metrics": [
                {k: m[k] for k in ("key", "nameInGroup") if k in m} for m in group["metrics"]
            ],
        }
        if "description" in group:
            document["description"] = group["description"]
        patch = patched(request.json(), document, allowed=PATCHABLE)
        if patch == document:
            return 200, dict(group)
        name = patch.get("name")
        if not isinstance(name, str) or not name.strip():
            raise invalid("/name", "must be a non-empty string")
        if problem := string_list_problem(patch.get("tags")):
            raise invalid("/tags", problem)
        description = patch.get("description")
        if description is not None and not isinstance(description, str):
            raise invalid("/description", "must be a string")
        steps = self._steps(
            project, group["kind"], patch.get("metrics"), "/metrics", names_required=False
        )
        group.update(
            name=name,
            tags=list(patch["tags"]),
            metrics=self.store.metrics_in_group(project, group["kind"], steps),
            _version=group["_version"] + 1,
            _lastModified=max(self.clock(), group["_lastModified"] + 1),
            _links=metric_group_links(project, group["key"]),
        )
        if description is None:
            group.pop("description", None)
        else:
            group["description"] = description
        return 200, dict(group)
