"""Writes to the evidence: ``updateDeployment`` (JSON Patch) and the repository-project
mappings (``associateRepositoriesAndProjects``, ``deleteRepositoryProject``).

Decisions where the contract is silent (it lists 400, no 422):
- ``updateDeployment`` patches ``/status`` (lowercase letters and '_') and ``/archived`` (a
  boolean); a malformed body, another path, a failed ``test`` or a wrong type is a 400 naming
  the attribute; a malformed id is a 400, an unknown one a 404.
- ``associateRepositoriesAndProjects`` adds the mappings given and keeps the others, or
  replaces them all (``put_replaces``); it answers every mapping held; an unknown repository
  or project is a 404.
- ``deleteRepositoryProject`` takes the repository key as one segment (``owner%2Frepo``); an
  unknown repository or project, or a pair not linked, is a 404.
"""

from __future__ import annotations

import re

from ld_insights_mcp.emulator.deployments import REPOSITORIES_PATH, EvidenceListHandlers
from ld_insights_mcp.emulator.errors import invalid, not_found
from ld_insights_mcp.emulator.json_patch import patched
from ld_insights_mcp.emulator.request import Answer, ApiRequest
from ld_insights_mcp.emulator.store import Store, link

_STATUS = re.compile(r"[a-z][a-z_]{0,63}")


class WriteHandlers:
    """One method per operation; each returns ``(status, body)`` or raises ``ApiError``."""

    def __init__(self, store: Store, lists: EvidenceListHandlers) -> None:
        self.store = store
        self.lists = lists
        self.put_replaces = False

    def update_deployment(self, request: ApiRequest) -> Answer:
        deployment_id = request.params["deploymentID"]
        evidence = self.lists.find_evidence(deployment_id)
        current = self.lists.current(evidence.index[deployment_id])
        document = {"status": current["status"], "archived": current["archived"]}
        patch = patched(request.json(), document, allowed=("status", "archived"))
        status, archived = patch.get("status"), patch.get("archived")
        if not isinstance(status, str) or not _STATUS.fullmatch(status):
            raise invalid("/status", "must be a status such as 'finished' or 'failed'")
        if not isinstance(archived, bool):
            raise invalid("/archived", "must be a boolean")
        changes = self.store.deployment_changes.setdefault(deployment_id, {})
        changes.update(status=status, archived=archived)
        return 200, self.lists.current(evidence.index[deployment_id])

    def associate_repositories_and_projects(self, request: ApiRequest) -> Answer:
        body = request.json()
        mappings = body.get("mappings") if isinstance(body, dict) else None
        if not isinstance(mappings, list):
            raise invalid("mappings", "is required: an array of {repositoryKey, projectKey}")
        pairs: list[tuple[str, str]] = []
        for position, mapping in enumerate(mappings):
            for name in ("repositoryKey", "projectKey"):
                value = mapping.get(name) if isinstance(mapping, dict) else None
                if not isinstance(value, str) or not value:
                    raise invalid(f"mappings[{position}].{name}", "must be a non-empty string")
            pairs.append((mapping["repositoryKey"], mapping["projectKey"]))
        for repository, project in pairs:
            self._repository(repository)
            self._project(project)
        if self.put_replaces:
            for linked in self.store.repository_projects.values():
                linked.clear()
        for repository, project in pairs:
            linked = self.store.repository_projects[repository]
            if project not in linked:
                linked.append(project)
        items = [
            {"repositoryKey": repository, "projectKey": project}
            for repository, linked in self.store.repository_projects.items()
            for project in linked
        ]
        links = {"self": link(f"{REPOSITORIES_PATH}/projects")}
        return 200, {"totalCount": len(items), "items": items, "_links": links}

    def delete_repository_project(self, request: ApiRequest) -> Answer:
        repository = request.params["repositoryKey"]
        project = request.params["projectKey"]
        linked = self._repository(repository)
        self._project(project)
        if project not in linked:
            raise not_found(f"Repository {repository!r} is not linked to project {project!r}")
        linked.remove(project)
        return 204, None

    def _repository(self, key: str) -> list[str]:
        linked = self.store.repository_projects.get(key)
        if linked is None:
            raise not_found(f"Repository {key!r} not found (repositoryKey)")
        return linked

    def _project(self, key: str) -> None:
        if self.store.project(key) is None:
            raise not_found(f"Project {key!r} not found (projectKey)")
