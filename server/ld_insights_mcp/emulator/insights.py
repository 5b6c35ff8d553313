"""Insight-group and insight-score operations (Engineering Insights, beta).

Decisions where the contract is silent:
- ``createInsightGroup``: malformed fields are a 400 naming each; a missing project,
  environment or application a 404 naming the attribute (the only references it can miss);
  an existing key a 409. Whether a create without ``applicationKeys`` gets none (all
  applications, the default) or the project's (``fill_omitted_applications``) is undocumented.
- ``getInsightsScores`` lists no 404: an unknown project, environment or application is a 400
  naming ``projectKey``, ``environmentKey`` or ``applicationKey``.
- ``patchInsightGroup`` patches ``/name`` and ``/applicationKeys``: a body that is not a JSON
  Patch array is a 400, a patch that cannot be applied (other paths, failed ``test``, an empty
  name, unknown applications) a 422.
- Default order is creation order (oldest first); ``sort=name`` ignores case.
"""

from __future__ import annotations

from collections.abc import Callable

from ld_insights_mcp.emulator.errors import conflict, invalid, invalid_many, not_found, patch_failed
from ld_insights_mcp.emulator.evidence_params import applications_of
from ld_insights_mcp.emulator.json_patch import patched
from ld_insights_mcp.emulator.links import href, page_links
from ld_insights_mcp.emulator.request import Answer, ApiRequest
from ld_insights_mcp.emulator.scores import PERIOD_ALIGNMENTS, Period, periods, slice_scores
from ld_insights_mcp.emulator.seed import SeedProject
from ld_insights_mcp.emulator.store import Body, Store, environment_rep, link
from ld_insights_mcp.emulator.validation import (
    KEY_RULE,
    is_key,
    required_strings,
    string_list_problem,
)
from ld_insights_mcp.launchdarkly.vocabulary import INDICATORS

GROUPS_PATH = "/api/v2/engineering-insights/insights/groups"
SCORES_PATH = "/api/v2/engineering-insights/insights/scores"


class InsightHandlers:
    """One method per operation; each returns ``(status, body)`` or raises ``ApiError``."""

    def __init__(self, store: Store, clock: Callable[[], int]) -> None:
        self.store = store
        self.clock = clock
        self.period_alignment = "anchor"
        """Where score periods end: one of ``scores.PERIOD_ALIGNMENTS``."""
        self.fill_omitted_applications = False
        """Whether a create without applicationKeys gets the project's applications."""
        self._answers = 0

    def periods(self) -> tuple[Period, Period]:
        """This answer's (current, last) score periods."""
        if self.period_alignment not in PERIOD_ALIGNMENTS:
            raise ValueError(f"period_alignment must be one of {', '.join(PERIOD_ALIGNMENTS)}")
        self._answers += 1
        return periods(
            self.store.now_ms,
            alignment=self.period_alignment,
            clock_ms=self.clock(),
            answer=self._answers,
        )

    def _project(self, key: str) -> SeedProject:
        project = self.store.project(key)
        assert project is not None, key  # groups only ever reference seeded projects
        return project

    def group_scores(self, group: Body) -> Body:
        return slice_scores(
            self._project(group["projectKey"]),
            group["environmentKey"],
            group["applicationKeys"],
            now_ms=self.store.now_ms,
        )

    def score_metadata(self) -> Body:
        current, last = self.periods()
        return {"period": current.rep(), "lastPeriod": last.rep()}

    def group_rep(self, group: Body, expand: set[str], metadata: Body | None = None) -> Body:
        """A group as answered; ``metadata`` is the answer's score periods (one per answer)."""
        rep = dict(group)
        rep["applicationKeys"] = list(group["applicationKeys"])
        if "environment" in expand:
            rep["environment"] = environment_rep(group["projectKey"], group["environmentKey"])
        if "scores" in expand:
            rep["scores"] = self.group_scores(group)
            rep["scoreMetadata"] = metadata or self.score_metadata()
        return rep

    def _group(self, key: str) -> Body:
        group = self.store.insight_groups.get(key)
        if group is None:
            raise not_found(f"Insight group {key!r} not found")
        return group

    def get_insight_groups(self, request: ApiRequest) -> Answer:
        limit = request.integer("limit", default=20, low=1, high=20)
        offset = request.integer("offset", default=0, low=0, high=None)
        sort = request.arg("sort") or ""
        if sort not in ("", "name", "-name"):
            raise invalid("sort", f"unknown sort {sort!r}; allowed: name, -name")
        expand = request.expand(("scores", "environment", "metadata"))
        query = request.arg("query") or ""
        groups = list(self.store.insight_groups.values())
        if query:
            needle = query.casefold()
            groups = [g for g in groups if needle in g["name"].casefold()]
        if sort:
            groups.sort(key=lambda g: (g["name"].casefold(), g["key"]), reverse=sort == "-name")
        total = len(groups)
        extra = {"query": query, "sort": sort, "expand": request.arg("expand") or ""}
        metadata = self.score_metadata() if {"scores", "metadata"} & expand else None
        body: Body = {
            "totalCount": total,
            "items": [self.group_rep(g, expand, metadata) for g in groups[offset : offset + limit]],
            "_links": page_links(GROUPS_PATH, total=total, limit=limit, offset=offset, extra=extra),
        }
        if "metadata" in expand:
            counts = dict.fromkeys(INDICATORS, 0)
            for group in groups:
                counts[self.group_scores(group)["overall"]["indicator"]] += 1
            body["metadata"] = {"countByIndicator": {**counts, "total": total}}
        if "scores" in expand:
            body["scoreMetadata"] = metadata or self.score_metadata()
        return 200, body

    def get_insight_group(self, request: ApiRequest) -> Answer:
        group = self._group(request.params["insightGroupKey"])
        return 200, self.group_rep(group, request.expand(("scores", "environment")))

    def create_insight_group(self, request: ApiRequest) -> Answer:
        body = request.json()
        if not isinstance(body, dict):
            raise invalid("body", "must be a JSON object (PostInsightGroupParams)")
        problems = required_strings(body, ("name", "key", "projectKey", "environmentKey"))
        key = body.get("key")
        if isinstance(key, str) and key.strip() and not is_key(key):
            problems.append(("key", KEY_RULE))
        apps = body.get("applicationKeys")
        if apps is not None and (problem := string_list_problem(apps)):
            problems.append(("applicationKeys", problem))
        if problems:
            raise invalid_many(problems)
        project = self.store.project(body["projectKey"])
        if project is None:
            raise not_found(f"Project {body['projectKey']!r} not found (projectKey)")
        if body["environmentKey"] not in project.environments:
            raise not_found(
                f"Environment {body['environmentKey']!r} not found in project "
                f"{project.key!r} (environmentKey)"
            )
        if apps is None and self.fill_omitted_applications:
            apps = list(project.applications)
        applications = list(dict.fromkeys(apps or []))
        unknown = [a for a in applications if a not in project.applications]
        if unknown:
            raise not_found(
                f"Application(s) {', '.join(map(repr, unknown))} not found in project "
                f"{project.key!r} (applicationKeys)"
            )
        if key in self.store.insight_groups:
            raise conflict(f"An insight group with key {key!r} already exists")
        group: Body = {
            "key": key,
            "name": body["name"],
            "projectKey": project.key,
            "environmentKey": body["environmentKey"],
            "applicationKeys": applications,
            "createdAt": self.clock(),
        }
        self.store.insight_groups[group["key"]] = group
        return 201, self.group_rep(group, set())

    def patch_insight_group(self, request: ApiRequest) -> Answer:
        group = self._group(request.params["insightGroupKey"])
        document = {"name": group["name"], "applicationKeys": list(group["applicationKeys"])}
        allowed = ("name", "applicationKeys")
        patch = patched(request.json(), document, allowed=allowed, unprocessable=True)
        name = patch.get("name")
        if not isinstance(name, str) or not name.strip():
            raise patch_failed("Could not apply patch: name must be a non-empty string")
        apps = patch.get("applicationKeys", [])
        if string_list_problem(apps):
            raise patch_failed("Could not apply patch: applicationKeys must be strings")
        project = self._project(group["projectKey"])
        unknown = [a for a in apps if a not in project.applications]
        if unknown:
            raise patch_failed(
                f"Could not apply patch: unknown application(s) {', '.join(map(repr, unknown))} "
                f"in project {project.key!r}"
            )
        group.update(name=name, applicationKeys=list(dict.fromkeys(apps)))
        return 200, self.group_rep(group, set())

    def delete_insight_group(self, request: ApiRequest) -> Answer:
        key = request.params["insightGroupKey"]
        self._group(key)
        del self.store.insight_groups[key]
        return 204, None

    def get_insights_scores(self, request: ApiRequest) -> Answer:
        project_key = request.arg("projectKey") or ""
        environment = request.arg("environmentKey") or ""
        given = (("projectKey", project_key), ("environmentKey", environment))
        missing = [(name, "is required") for name, value in given if not value]
        if missing:
            raise invalid_many(missing)
        project = self.store.project(project_key)
        if project is None:
            raise invalid("projectKey", f"unknown project {project_key!r}")
        if environment not in project.environments:
            raise invalid(
                "environmentKey", f"unknown environment {environment!r} in project {project.key!r}"
            )
        apps = applications_of(project, request)
        current, last = self.periods()
        query = {"projectKey": project.key, "environmentKey": environment}
        if apps:
            query["applicationKey"] = ",".join(apps)
        return 200, {
            "period": current.rep(),
            "lastPeriod": last.rep(),
            "scores": slice_scores(project, environment, apps, now_ms=self.store.now_ms),
            "_links": {"self": link(href(SCORES_PATH, query))},
        }
