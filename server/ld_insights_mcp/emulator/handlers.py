"""Operation handlers: validation, pagination, expansion and writes, as the contract says."""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

from .seed import ENVIRONMENT_COLORS, ENVIRONMENT_NAMES, MEMBERS, indicator_for, periods, scores_for
from .store import Body, Store, member_rep, metric_group_links

KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
GROUPS_PATH = "/api/v2/engineering-insights/insights/groups"


class ApiError(Exception):
    """An error answer in LaunchDarkly's shape."""

    def __init__(
        self, status: int, code: str, message: str, errors: list[tuple[str, str]] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.errors = status, code, message, errors

    def body(self) -> Body:
        body: Body = {"code": self.code, "message": self.message}
        if self.status == 400:
            body["errors"] = [{"attribute": a, "reason": r} for a, r in self.errors or []]
        return body


def invalid(attribute: str, reason: str) -> ApiError:
    return ApiError(400, "invalid_request", f"{attribute}: {reason}", [(attribute, reason)])


def not_found(message: str) -> ApiError:
    return ApiError(404, "not_found", message)


def patch_failed(message: str) -> ApiError:
    return ApiError(422, "invalid_patch", message)


@dataclass(frozen=True)
class Request:
    params: dict[str, str]
    query: list[tuple[str, str]]
    body: bytes

    def arg(self, name: str) -> str | None:
        values = [v for k, v in self.query if k == name]
        return values[-1] if values else None

    def integer(self, name: str, default: int, low: int, high: int | None, rule: str) -> int:
        raw = self.arg(name)
        if raw is None:
            return default
        try:
            value = int(raw)
        except ValueError:
            raise invalid(name, f"must be an integer; {rule}") from None
        if value < low or (high is not None and value > high):
            raise invalid(name, rule)
        return value

    def expand(self, allowed: tuple[str, ...]) -> set[str]:
        raw = self.arg("expand")
        if not raw:
            return set()
        chosen = {part.strip() for part in raw.split(",") if part.strip()}
        unknown = chosen - set(allowed)
        if unknown:
            raise invalid(
                "expand", f"unknown option(s) {sorted(unknown)}; allowed: {list(allowed)}"
            )
        return chosen

    def json(self) -> Any:
        try:
            return json.loads(self.body or b"null")
        except ValueError:
            raise invalid("body", "request body must be valid JSON") from None


def _now_ms() -> int:
    return int(time.time() * 1000)


def _link(path: str, **query: Any) -> Body:
    suffix = f"?{urlencode(query)}" if query else ""
    return {"href": f"{path}{suffix}", "type": "application/json"}


def _page_links(path: str, total: int, limit: int, offset: int, **extra: Any) -> Body:
    links: Body = {
        "self": _link(path, limit=limit, offset=offset, **extra),
        "first": _link(path, limit=limit, offset=0, **extra),
    }
    last_offset = max(0, ((total - 1) // limit) * limit) if total else 0
    links["last"] = _link(path, limit=limit, offset=last_offset, **extra)
    if offset + limit < total:
        links["next"] = _link(path, limit=limit, offset=offset + limit, **extra)
    if offset > 0:
        links["prev"] = _link(path, limit=limit, offset=max(0, offset - limit), **extra)
    return links


class Handlers:
    """One method per operation; each returns (status, body) or raises ApiError."""

    def __init__(self, store: Store) -> None:
        self.store = store

    # --- insight groups ---------------------------------------------------------------------

    def _group_scores(self, group: Body) -> Body:
        project = self.store.project(group["projectKey"])
        return scores_for(
            f"group:{group['key']}", has_experiments=bool(project and project.has_experiments)
        )

    def _score_metadata(self) -> Body:
        period, last = periods(self.store.now_ms)
        return {"period": period, "lastPeriod": last}

    def _environment(self, project: str, key: str) -> Body:
        return {
            "_links": {"self": _link(f"/api/v2/projects/{project}/environments/{key}")},
            "_id": f"env-{project}-{key}",
            "key": key,
            "name": ENVIRONMENT_NAMES.get(key, key.title()),
            "apiKey": f"sdk-{project}-{key}-0000-demo",
            "mobileKey": f"mob-{project}-{key}-0000-demo",
            "color": ENVIRONMENT_COLORS.get(key, "cccccc"),
            "defaultTtl": 0,
            "secureMode": False,
            "defaultTrackEvents": False,
            "requireComments": key == "production",
            "confirmChanges": key == "production",
            "tags": [],
            "critical": key == "production",
        }

    def _expanded_group(self, group: Body, expand: set[str]) -> Body:
        rep = dict(group)
        rep["applicationKeys"] = list(group["applicationKeys"])
        if "scores" in expand:
            rep["scores"] = self._group_scores(group)
            rep["scoreMetadata"] = self._score_metadata()
        if "environment" in expand:
            rep["environment"] = self._environment(group["projectKey"], group["environmentKey"])
        return rep

    def list_groups(self, request: Request) -> tuple[int, Any]:
        limit = request.integer("limit", 20, 1, 20, "must be between 1 and 20 inclusive")
        offset = request.integer("offset", 0, 0, None, "must be 0 or more")
        expand = request.expand(("scores", "environment", "metadata"))
        groups = list(self.store.insight_groups.values())
        query = request.arg("query")
        if query:
            groups = [g for g in groups if query.lower() in g["name"].lower()]
        sort = request.arg("sort")
        if sort not in (None, "", "name", "-name"):
            raise invalid("sort", "allowed fields: name (prefix - for descending)")
        if sort:
            groups.sort(key=lambda g: g["name"].lower(), reverse=sort.startswith("-"))
        total = len(groups)
        page = groups[offset : offset + limit]
        extra = {k: v for k, v in (("sort", sort), ("query", query)) if v}
        body: Body = {
            "totalCount": total,
            "items": [self._expanded_group(g, expand) for g in page],
            "_links": _page_links(GROUPS_PATH, total, limit, offset, **extra),
        }
        if "metadata" in expand:
            counts = dict.fromkeys(
                ("excellent", "good", "fair", "needsAttention", "notCalculated", "unknown"), 0
            )
            for group in groups:
                counts[self._group_scores(group)["overall"]["indicator"]] += 1
            body["metadata"] = {"countByIndicator": {**counts, "total": total}}
        if "scores" in expand:
            body["scoreMetadata"] = self._score_metadata()
        return 200, body

    def _group(self, key: str) -> Body:
        group = self.store.insight_groups.get(key)
        if group is None:
            raise not_found(f"Insight group {key!r} not found")
        return group

    def get_group(self, request: Request) -> tuple[int, Any]:
        expand = request.expand(("scores", "environment"))
        return 200, self._expanded_group(self._group(request.params["insightGroupKey"]), expand)

    def create_group(self, request: Request) -> tuple[int, Any]:
        body = request.json()
        if not isinstance(body, dict):
            raise invalid("body", "must be a JSON object (PostInsightGroupParams)")
        for name in ("name", "key", "projectKey", "environmentKey"):
            value = body.get(name)
            if not isinstance(value, str) or not value.strip():
                raise invalid(name, "is required and must be a non-empty string")
        if not KEY.match(body["key"]):
            raise invalid("key", "may contain only letters, digits, '.', '_' and '-'")
        apps = body.get("applicationKeys")
        if apps is not None and (
            not isinstance(apps, list) or not all(isinstance(a, str) for a in apps)
        ):
            raise invalid("applicationKeys", "must be an array of strings")
        project = self.store.project(body["projectKey"])
        if project is None:
            raise invalid("projectKey", f"unknown project {body['projectKey']!r}")
        if body["environmentKey"] not in project.environments:
            raise invalid("environmentKey", f"unknown environment {body['environmentKey']!r}")
        unknown_apps = [a for a in apps or [] if a not in project.applications]
        if unknown_apps:
            raise invalid("applicationKeys", f"unknown application(s) {unknown_apps}")
        if body["key"] in self.store.insight_groups:
            raise ApiError(
                409, "conflict", f"An insight group with key {body['key']!r} already exists"
            )
        group = {
            "key": body["key"],
            "name": body["name"],
            "projectKey": body["projectKey"],
            "environmentKey": body["environmentKey"],
            "applicationKeys": list(apps or []),
            "createdAt": _now_ms(),
        }
        self.store.insight_groups[group["key"]] = group
        return 201, dict(group)

    def patch_group(self, request: Request) -> tuple[int, Any]:
        group = self._group(request.params["insightGroupKey"])
        updated = apply_patch(group, _patch_ops(request), {"name": str, "applicationKeys": list})
        if not isinstance(updated["name"], str) or not updated["name"].strip():
            raise patch_failed("name must be a non-empty string")
        project = self.store.project(group["projectKey"])
        apps = updated["applicationKeys"]
        if not all(isinstance(a, str) and project and a in project.applications for a in apps):
            raise patch_failed("applicationKeys must name applications of the project")
        self.store.insight_groups[group["key"]] = updated
        return 200, dict(updated)

    def delete_group(self, request: Request) -> tuple[int, Any]:
        self._group(request.params["insightGroupKey"])
        del self.store.insight_groups[request.params["insightGroupKey"]]
        return 204, None

    # --- scores -----------------------------------------------------------------------------

    def get_scores(self, request: Request) -> tuple[int, Any]:
        project_key, environment = request.arg("projectKey"), request.arg("environmentKey")
        if not project_key:
            raise invalid("projectKey", "is required")
        if not environment:
            raise invalid("environmentKey", "is required")
        project = self.store.project(project_key)
        if project is None:
            raise invalid("projectKey", f"unknown project {project_key!r}")
        if environment not in project.environments:
            raise invalid("environmentKey", f"unknown environment {environment!r}")
        apps = [a for a in (request.arg("applicationKey") or "").split(",") if a]
        unknown = [a for a in apps if a not in project.applications]
        if unknown:
            raise invalid("applicationKey", f"unknown application(s) {unknown}")
        period, last = periods(self.store.now_ms)
        seed = f"{project_key}/{environment}/{','.join(sorted(set(apps)))}"
        query = {"projectKey": project_key, "environmentKey": environment}
        if apps:
            query["applicationKey"] = ",".join(apps)
        return 200, {
            "period": period,
            "lastPeriod": last,
            "scores": scores_for(seed, has_experiments=project.has_experiments),
            "_links": {"self": _link("/api/v2/engineering-insights/insights/scores", **query)},
        }

    # --- metric groups ----------------------------------------------------------------------

    def _project_groups(self, project_key: str) -> dict[str, Body]:
        groups = self.store.metric_groups.get(project_key)
        if groups is None:
            raise not_found(f"Project {project_key!r} not found")
        return groups

    def _connections(self, project: str, key: str) -> list[Body]:
        return self.store.experiments.get((project, key), [])

    def list_metric_groups(self, request: Request) -> tuple[int, Any]:
        project = request.params["projectKey"]
        groups = list(self._project_groups(project).values())
        limit = request.integer("limit", 20, 1, 50, "must be between 1 and 50")
        offset = request.integer("offset", 0, 0, None, "must be 0 or more")
        groups = [
            g for g in groups if self._matches(project, g, parse_filter(request.arg("filter")))
        ]
        for field, descending in reversed(parse_sort(request.arg("sort"))):

            def sort_key(group: Body, field: str = field) -> Any:
                return self._sort_key(project, group, field)

            groups.sort(key=sort_key, reverse=descending)
        total = len(groups)
        path = f"/api/v2/projects/{project}/metric-groups"
        return 200, {
            "items": [dict(g) for g in groups[offset : offset + limit]],
            "_links": _page_links(path, total, limit, offset),
            "totalCount": total,
        }

    def _sort_key(self, project: str, group: Body, field: str) -> Any:
        if field == "name":
            return group["name"].lower()
        if field == "createdAt":
            return group["_creationDate"]
        return len(self._connections(project, group["key"]))

    def _matches(self, project: str, group: Body, clauses: list[tuple[str, Any]]) -> bool:
        experiments = self._connections(project, group["key"])
        for field, value in clauses:
            if field == "kind" and group["kind"] != value:
                return False
            if field == "query":
                terms = value if isinstance(value, list) else [value]
                haystack = f"{group['key']} {group['name']}".lower()
                if not any(str(t).lower() in haystack for t in terms):
                    return False
            if field == "hasConnections" and bool(experiments) != value:
                return False
            if field == "experimentStatus":
                running = any("archivedDate" not in e for e in experiments)
                status = "running" if running else ("stopped" if experiments else "not_started")
                if value != status and not (value == "started" and running):
                    return False
            if field == "maintainerIds":
                member = group["maintainer"].get("member") or {}
                if member.get("_id") not in value:
                    return False
            if field == "maintainerTeamKey":
                team = group["maintainer"].get("team") or {}
                if team.get("key") != value:
                    return False
        return True

    def _metric_group(self, request: Request) -> tuple[str, Body]:
        project = request.params["projectKey"]
        key = request.params["metricGroupKey"]
        group = self._project_groups(project).get(key)
        if group is None:
            raise not_found(f"Metric group {key!r} not found in project {project!r}")
        return project, group

    def get_metric_group(self, request: Request) -> tuple[int, Any]:
        expand = request.expand(("experiments", "experimentCount"))
        project, group = self._metric_group(request)
        rep = dict(group)
        experiments = self._connections(project, group["key"])
        if "experiments" in expand:
            rep["experiments"] = [dict(e) for e in experiments]
        if "experimentCount" in expand:
            rep["experimentCount"] = len(experiments)
        return 200, rep

    def create_metric_group(self, request: Request) -> tuple[int, Any]:
        project = request.params["projectKey"]
        groups = self._project_groups(project)
        body = request.json()
        if not isinstance(body, dict):
            raise invalid("body", "must be a JSON object (MetricGroupPost)")
        for name in ("name", "maintainerId"):
            if not isinstance(body.get(name), str) or not body[name].strip():
                raise invalid(name, "is required and must be a non-empty string")
        if body.get("kind") not in ("funnel", "standard"):
            raise invalid("kind", "must be 'funnel' or 'standard'")
        tags = body.get("tags")
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise invalid("tags", "is required and must be an array of strings")
        metrics = body.get("metrics")
        if not isinstance(metrics, list) or not metrics:
            raise invalid("metrics", "is required and must be a non-empty array")
        steps = []
        for index, metric in enumerate(metrics):
            if not isinstance(metric, dict) or not isinstance(metric.get("key"), str):
                raise invalid(f"metrics[{index}].key", "is required")
            if metric["key"] not in self.store.metrics.get(project, {}):
                raise invalid(f"metrics[{index}].key", f"unknown metric {metric['key']!r}")
            if not isinstance(metric.get("nameInGroup"), str):
                raise invalid(f"metrics[{index}].nameInGroup", "is required")
            steps.append((metric["key"], metric["nameInGroup"]))
        key = body.get("key") or re.sub(r"[^a-z0-9]+", "-", body["name"].lower()).strip("-")
        if not isinstance(key, str) or not KEY.match(key):
            raise invalid("key", "may contain only letters, digits, '.', '_' and '-'")
        if key in groups:
            # The contract lists no 409 for this operation: a taken key is a 400.
            raise invalid("key", f"a metric group with key {key!r} already exists")
        member = next((i for i, m in enumerate(MEMBERS) if m[0] == body["maintainerId"]), None)
        if member is None:
            raise invalid("maintainerId", f"unknown member {body['maintainerId']!r}")
        group = self.store.new_metric_group(
            project,
            key=key,
            name=body["name"],
            kind=body["kind"],
            steps=steps,
            tags=tags,
            maintainer=member_rep(member),
            created=_now_ms(),
        )
        groups[key] = group
        self.store.experiments[(project, key)] = []
        return 201, dict(group)

    def patch_metric_group(self, request: Request) -> tuple[int, Any]:
        project, group = self._metric_group(request)
        try:
            updated = self._patched_metric_group(project, group, request)
        except ApiError as error:
            if error.status != 422:
                raise
            # The contract lists no 422 for this operation: an unappliable patch is a 400.
            raise invalid("body", error.message) from None
        self.store.metric_groups[project][group["key"]] = updated
        return 200, dict(updated)

    def _patched_metric_group(self, project: str, group: Body, request: Request) -> Body:
        updated = apply_patch(
            group,
            _patch_ops(request),
            {"name": str, "description": str, "tags": list, "metrics": list},
        )
        if not isinstance(updated["name"], str) or not updated["name"].strip():
            raise patch_failed("name must be a non-empty string")
        if updated["metrics"] is not group["metrics"]:
            metrics = []
            for item in updated["metrics"]:
                key = item.get("key") if isinstance(item, dict) else None
                if key not in self.store.metrics[project]:
                    raise patch_failed(f"unknown metric {key!r}")
                metric = dict(self.store.metrics[project][key])
                metric["nameInGroup"] = item.get("nameInGroup") or metric["name"]
                metrics.append(metric)
            updated["metrics"] = metrics
        updated["_version"] = group["_version"] + 1
        updated["_lastModified"] = max(_now_ms(), group["_lastModified"] + 1)
        updated["_links"] = metric_group_links(project, group["key"])
        return updated

    def delete_metric_group(self, request: Request) -> tuple[int, Any]:
        project, group = self._metric_group(request)
        del self.store.metric_groups[project][group["key"]]
        self.store.experiments.pop((project, group["key"]), None)
        return 204, None


def score_indicator(score: int) -> str:
    return indicator_for(score)[0]


# --- JSON Patch (RFC 6902) on top-level fields ------------------------------------------------


def _patch_ops(request: Request) -> list[Body]:
    ops = request.json()
    if not isinstance(ops, list) or not all(
        isinstance(op, dict) and isinstance(op.get("op"), str) and isinstance(op.get("path"), str)
        for op in ops
    ):
        raise invalid("body", "must be a JSON Patch array of {op, path, value} operations")
    return ops


def apply_patch(target: Body, ops: list[Body], fields: dict[str, type]) -> Body:
    """Apply add/replace/remove/test to the allowed top-level fields (arrays: /-, /N)."""
    result = {k: (list(v) if isinstance(v, list) else v) for k, v in target.items()}
    for op in ops:
        kind, path = op["op"], op["path"]
        parts = path.split("/")[1:] if path.startswith("/") else []
        if not parts or parts[0] not in fields or len(parts) > 2:
            raise patch_failed(f"path {path!r} cannot be patched; allowed: {sorted(fields)}")
        name = parts[0]
        if kind not in ("add", "replace", "remove", "test"):
            raise patch_failed(f"unsupported op {kind!r}")
        if len(parts) == 1:
            if kind == "test":
                if result.get(name) != op.get("value"):
                    raise patch_failed(f"test failed at {path}")
            elif kind == "remove":
                if name not in result or name in ("name",):
                    raise patch_failed(f"cannot remove {path}")
                result[name] = [] if fields[name] is list else None
            else:
                if "value" not in op or not isinstance(op["value"], fields[name]):
                    raise patch_failed(f"{path} needs a {fields[name].__name__} value")
                result[name] = op["value"]
            continue
        array = result.get(name)
        if fields[name] is not list or not isinstance(array, list):
            raise patch_failed(f"{path} is not an array element")
        index = parts[1]
        if index == "-" and kind == "add":
            array.append(op.get("value"))
        elif index.isdigit() and int(index) < len(array) + (kind == "add"):
            position = int(index)
            if kind == "add":
                array.insert(position, op.get("value"))
            elif kind == "replace":
                array[position] = op.get("value")
            elif kind == "remove":
                array.pop(position)
            elif array[position] != op.get("value"):
                raise patch_failed(f"test failed at {path}")
        else:
            raise patch_failed(f"no element at {path}")
    return result


# --- metric-group filter and sort ---------------------------------------------------------------

_CLAUSE = re.compile(r"^\s*(\w+)\s+(equals|contains|anyOf)\s+(.+?)\s*$")
_OPERATORS = {
    "experimentStatus": "equals",
    "hasConnections": "equals",
    "kind": "equals",
    "maintainerIds": "anyOf",
    "maintainerTeamKey": "equals",
    "query": "equals",
}


def _filter_value(raw: str) -> Any:
    if raw in ("true", "false"):
        return raw == "true"
    if raw.startswith("[") and raw.endswith("]"):
        inner = raw[1:-1].strip()
        return [_filter_value(v.strip()) for v in inner.split(",")] if inner else []
    if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
        return raw[1:-1]
    raise invalid("filter", f"value {raw!r} must be quoted, true/false or a [list]")


def parse_filter(raw: str | None) -> list[tuple[str, Any]]:
    if not raw:
        return []
    clauses = []
    for part in re.split(r"\s+and\s+", raw.strip()):
        match = _CLAUSE.match(part)
        if not match:
            raise invalid("filter", f"cannot parse {part!r}; expected: <field> <operator> <value>")
        field, operator, value = match.groups()
        if field not in _OPERATORS:
            raise invalid("filter", f"unsupported field {field!r}; supported: {sorted(_OPERATORS)}")
        if operator != _OPERATORS[field]:
            raise invalid("filter", f"{field} supports only {_OPERATORS[field]}")
        parsed = _filter_value(value)
        if field == "kind" and parsed not in ("funnel", "standard"):
            raise invalid("filter", "kind must be 'funnel' or 'standard'")
        if field == "experimentStatus" and parsed not in (
            "not_started",
            "running",
            "stopped",
            "started",
        ):
            raise invalid(
                "filter", "experimentStatus must be not_started, running, stopped or started"
            )
        clauses.append((field, parsed))
    return clauses


def parse_sort(raw: str | None) -> list[tuple[str, bool]]:
    if not raw:
        return []
    fields = []
    for part in raw.split(","):
        name = part.strip()
        descending = name.startswith("-")
        name = name.removeprefix("-")
        if name not in ("name", "createdAt", "connectionCount"):
            raise invalid("sort", "allowed fields: name, createdAt, connectionCount")
        fields.append((name, descending))
    return fields
