"""Deployments, pull requests, flag events and repositories (Engineering Insights, beta).

Lists page with cursors (``evidence_params.cursor_page``), newest first. Decisions where the
contract is silent: an unknown project or environment is a 404 naming the parameter, an
unknown application a 400 naming ``applicationKey``; deployment ``kind``/``status`` are open
strings (an unknown one matches nothing); pull requests without ``environmentKey`` are the
production slice's; ``sort=leadTime`` needs ``environmentKey`` and puts pull requests with
no lead time last; a malformed deployment id is a 400, an unknown one a 404.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterable

from ld_insights_mcp.emulator.errors import invalid, not_found
from ld_insights_mcp.emulator.evidence_params import (
    Windows,
    boolean,
    choice,
    cursor_page,
    evidence_for,
)
from ld_insights_mcp.emulator.evidence_seed import Evidence, pr_time, slice_evidence, stable_uuid
from ld_insights_mcp.emulator.request import Answer, ApiRequest
from ld_insights_mcp.emulator.seed import object_id
from ld_insights_mcp.emulator.store import Body, Store, link

BASE = "/api/v2/engineering-insights"
DEPLOYMENTS_PATH = f"{BASE}/deployments"
REPOSITORIES_PATH = f"{BASE}/repositories"
PR_STATUSES = ("open", "merged", "closed", "deployed")
IMPACT_SIZES = ("none", "small", "medium", "large")


def _collection(items: Iterable[Body]) -> Body:
    """Copies of ``items`` with their count."""
    copies = [dict(item) for item in items]
    return {"totalCount": len(copies), "items": copies}


class EvidenceListHandlers:
    """One method per operation; each returns ``(status, body)`` or raises ``ApiError``."""

    def __init__(self, store: Store, windows: Windows) -> None:
        self.store = store
        self.windows = windows
        self._seen: dict[str, Evidence] = {}  # deployment id -> the evidence holding it

    def _evidence(self, request: ApiRequest, *, environment_required: bool = True) -> Evidence:
        evidence = evidence_for(self.store, request, environment_required=environment_required)
        for deployment in evidence.deployments:
            self._seen.setdefault(deployment["id"], evidence)
        return evidence

    def _pr_rep(self, evidence: Evidence, pr: Body, expand: set[str]) -> Body:
        rep = dict(pr)
        if "leadTime" in expand:
            rep["leadTime"] = dict(evidence.pr_lead_times[pr["id"]])
        if "flagReferences" in expand:
            rep["flagReferences"] = _collection(evidence.flag_refs[pr["id"]])
        if "deployments" in expand:
            deployments = [evidence.index[d] for d in evidence.pr_deployments.get(pr["id"], [])]
            rep["deployments"] = _collection(self.current(d) for d in deployments)
        return rep

    def _deployment_rep(self, evidence: Evidence, deployment: Body, expand: set[str]) -> Body:
        rep = self.current(deployment)
        if "pullRequests" in expand:
            prs = [evidence.index[p] for p in evidence.deployment_prs[deployment["id"]]]
            rep["pullRequests"] = _collection(self._pr_rep(evidence, p, {"leadTime"}) for p in prs)
        if "flagReferences" in expand:
            rep["flagReferences"] = _collection(evidence.flag_refs[deployment["id"]])
        return rep

    def get_deployments(self, request: ApiRequest) -> Answer:
        evidence = self._evidence(request)
        expand = request.expand(("pullRequests", "flagReferences"))
        span = self.windows.of(request, date_time=False)
        kind, status = request.arg("kind") or "", request.arg("status") or ""
        items = [
            d
            for d in evidence.deployments
            if span.holds(d["startedAt"])
            and (not kind or d["kind"] == kind)
            and (not status or self.current(d)["status"] == status)
        ]
        return 200, cursor_page(
            request, DEPLOYMENTS_PATH, items, lambda d: self._deployment_rep(evidence, d, expand)
        )

    def get_deployment(self, request: ApiRequest) -> Answer:
        deployment_id = request.params["deploymentID"]
        expand = request.expand(("pullRequests", "flagReferences"))
        evidence = self.find_evidence(deployment_id)
        return 200, self._deployment_rep(evidence, evidence.index[deployment_id], expand)

    def current(self, deployment: Body) -> Body:
        """A copy of a seeded deployment with the changes ``updateDeployment`` made."""
        return {**deployment, **self.store.deployment_changes.get(deployment["id"], {})}

    def find_evidence(self, deployment_id: str) -> Evidence:
        """The evidence holding a deployment id (validated as a UUID); 400 or 404 otherwise."""
        try:
            uuid.UUID(deployment_id)
        except ValueError:
            raise invalid("deploymentID", "must be a deployment id (a UUID)") from None
        evidence = self._seen.get(deployment_id) or self._search(deployment_id)
        if evidence is None:
            raise not_found(f"Deployment {deployment_id!r} not found")
        return evidence

    def _search(self, deployment_id: str) -> Evidence | None:
        """Look through every project environment and insight group (ids not listed yet)."""
        slices = {(p.key, e, ()) for p in self.store.projects for e in p.environments}
        for group in self.store.insight_groups.values():
            apps = tuple(sorted(set(group["applicationKeys"])))
            slices.add((group["projectKey"], group["environmentKey"], apps))
        for project_key, environment, apps in sorted(slices):
            project = self.store.project(project_key)
            assert project is not None
            evidence = slice_evidence(project, environment, apps, now_ms=self.store.now_ms)
            if deployment_id in evidence.index and deployment_id in evidence.deployment_prs:
                self._seen[deployment_id] = evidence
                return evidence
        return None

    def get_pull_requests(self, request: ApiRequest) -> Answer:
        sort = choice(request, "sort", ("leadTime", "-leadTime"))
        if sort and not request.arg("environmentKey"):
            raise invalid("environmentKey", "is required when sort is leadTime or -leadTime")
        evidence = self._evidence(request, environment_required=False)
        expand = request.expand(("deployments", "flagReferences", "leadTime"))
        status = choice(request, "status", PR_STATUSES)
        span = self.windows.of(request, date_time=True)
        needle = (request.arg("query") or "").casefold()
        items = [
            p
            for p in evidence.pull_requests
            if span.holds(pr_time(p))
            and (status is None or p["status"] == status)
            and (not needle or needle in p["title"].casefold() or needle in p["author"].casefold())
        ]
        if sort:
            descending = sort.startswith("-")

            def lead(pr: Body) -> tuple[bool, int]:
                total = evidence.pr_lead_times[pr["id"]].get("avgTotalLeadTimeMs")
                if total is None:
                    return True, 0
                return False, -total if descending else total

            items.sort(key=lead)
        return 200, cursor_page(
            request, f"{BASE}/pull-requests", items, lambda p: self._pr_rep(evidence, p, expand)
        )

    def get_flag_events(self, request: ApiRequest) -> Answer:
        evidence = self._evidence(request)
        expand = request.expand(("experiments",))
        size = choice(request, "impactSize", IMPACT_SIZES)
        experiments = boolean(request, "hasExperiments")
        scope = choice(request, "global", ("include", "exclude"))
        span = self.windows.of(request, date_time=False)
        needle = (request.arg("query") or "").casefold()
        items = [
            e
            for e in evidence.flag_events
            if span.holds(e["eventTime"])
            and (not needle or needle in e["flagKey"].casefold())
            and (size is None or e["impact"]["size"] == size)
            and (experiments is None or bool(evidence.event_experiments[e["id"]]) == experiments)
            and (scope != "exclude" or e["impact"]["reason"] != "global")
        ]

        def rep(event: Body) -> Body:
            shown = dict(event)
            if "experiments" in expand:
                shown["experiments"] = _collection(evidence.event_experiments[event["id"]])
            return shown

        return 200, cursor_page(request, f"{BASE}/flag-events", items, rep)

    def get_insights_repositories(self, request: ApiRequest) -> Answer:
        expand = request.expand(("projects",))
        items = []
        for key, linked in self.store.repository_projects.items():
            projects = [_project_summary(self.store, p) for p in linked]
            rep: Body = {
                "_id": stable_uuid("repository", key),
                "version": 1,
                "key": key,
                "type": "github",
                "url": f"https://github.com/{key}",
                "mainBranch": "main",
            }
            if "projects" in expand:
                rep["projects"] = _collection(projects)
            items.append(rep)
        return 200, {**_collection(items), "_links": {"self": link(REPOSITORIES_PATH)}}


def _project_summary(store: Store, project_key: str) -> Body:
    project = store.project(project_key)
    assert project is not None, project_key  # mappings only ever name seeded projects
    return {
        "_id": object_id("project", project.key),
        "_links": {
            "self": link(f"/api/v2/projects/{project.key}"),
            "environments": link(f"/api/v2/projects/{project.key}/environments"),
        },
        "key": project.key,
        "name": project.name,
    }
