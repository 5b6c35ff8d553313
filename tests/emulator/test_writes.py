"""The emulator's writes to the evidence: updateDeployment, associateRepositoriesAndProjects and
deleteRepositoryProject. Every answer is checked against the vendored contract; every change
shows in the reads; faults apply to them like to every other operation."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from ld_insights_mcp.emulator.routes import CHANGE_OPERATIONS
from tests.support import Emulator, Fault

from .conftest import BASE_URL, HEADERS, NOW_MS, TOKEN, Contract, checked_client, operation_ids

pytestmark = pytest.mark.anyio

EI = "/api/v2/engineering-insights"
SLICE = {"projectKey": "checkout-web", "environmentKey": "production"}
DEPLOYMENT = "{deployment}"  # replaced by a listed deployment's id
UNKNOWN_ID = "00000000-0000-4000-8000-000000000000"
LINKED = "example-org%2Fcheckout-api"  # linked to checkout-web
UNLINKED = "example-org/infra-terraform"
MAPPING = {"mappings": [{"repositoryKey": UNLINKED, "projectKey": "data-platform"}]}
PATHS = {
    "updateDeployment": f"{EI}/deployments/{DEPLOYMENT}",
    "associateRepositoriesAndProjects": f"{EI}/repositories/projects",
    "deleteRepositoryProject": f"{EI}/repositories/{LINKED}/projects/checkout-web",
}
METHODS = {
    "updateDeployment": "PATCH",
    "associateRepositoriesAndProjects": "PUT",
    "deleteRepositoryProject": "DELETE",
}
FINISH = [{"op": "replace", "path": "/status", "value": "finished"}]


@dataclass(frozen=True)
class Case:
    operation: str
    status: int
    body: Any = None
    path: str | None = None
    attribute: str | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(HEADERS))
    fault: Fault | None = None
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.operation}-{self.status}-{self.label or self.attribute or ''}".rstrip("-")


def _common(operation: str, body: Any) -> list[Case]:
    return [
        Case(operation, 401, body, headers={**HEADERS, "Authorization": "wrong"}, label="token"),
        Case(operation, 403, body, headers={"Authorization": TOKEN}, label="no-beta"),
        Case(operation, 429, body, fault=Fault(status=429, headers={"Retry-After": "1"})),
    ]


CASES = [
    Case("updateDeployment", 200, FINISH),
    Case(
        "updateDeployment",
        200,
        [
            {"op": "test", "path": "/archived", "value": False},
            {"op": "replace", "path": "/archived", "value": True},
        ],
        label="archive",
    ),
    Case("updateDeployment", 400, {"op": "replace"}, attribute="body"),
    Case(
        "updateDeployment",
        400,
        [{"op": "test", "path": "/status", "value": "failed"}, *FINISH],
        attribute="/status",
        label="test-failed",
    ),
    Case(
        "updateDeployment",
        400,
        [{"op": "replace", "path": "/kind", "value": "rollback"}],
        attribute="/kind",
        label="other-path",
    ),
    Case(
        "updateDeployment",
        400,
        [{"op": "replace", "path": "/archived", "value": "yes"}],
        attribute="/archived",
        label="not-boolean",
    ),
    Case("updateDeployment", 400, FINISH, path=f"{EI}/deployments/nope", attribute="deploymentID"),
    Case("updateDeployment", 404, FINISH, path=f"{EI}/deployments/{UNKNOWN_ID}"),
    *_common("updateDeployment", FINISH),
    Case("associateRepositoriesAndProjects", 200, MAPPING),
    Case("associateRepositoriesAndProjects", 400, {"mappings": "x"}, attribute="mappings"),
    Case(
        "associateRepositoriesAndProjects",
        400,
        {"mappings": [{"repositoryKey": UNLINKED}]},
        attribute="mappings[0].projectKey",
    ),
    Case(
        "associateRepositoriesAndProjects",
        404,
        {"mappings": [{"repositoryKey": "acme/none", "projectKey": "data-platform"}]},
        label="repository",
    ),
    Case(
        "associateRepositoriesAndProjects",
        404,
        {"mappings": [{"repositoryKey": UNLINKED, "projectKey": "none"}]},
        label="project",
    ),
    *_common("associateRepositoriesAndProjects", MAPPING),
    Case("deleteRepositoryProject", 204),
    Case(
        "deleteRepositoryProject",
        404,
        path=f"{EI}/repositories/{LINKED}/projects/mobile-app",
        label="not-linked",
    ),
    Case(
        "deleteRepositoryProject",
        404,
        path=f"{EI}/repositories/acme%2Fnone/projects/checkout-web",
        label="repository",
    ),
    Case(
        "deleteRepositoryProject",
        400,
        fault=Fault(status=400),
        label="fault",
    ),
    *_common("deleteRepositoryProject", None),
]


async def _deployment(http: httpx.AsyncClient, **params: str) -> dict[str, Any]:
    listed = await http.get(f"{EI}/deployments", params={**SLICE, **params}, headers=HEADERS)
    return dict(listed.json()["items"][0])


@pytest.mark.parametrize("case", CASES, ids=lambda c: c.id)
async def test_every_write_answer_matches_the_contract(case: Case, contract: Contract) -> None:
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS)
    async with checked_client(emulator, contract, headers=case.headers) as http:
        path = case.path or PATHS[case.operation]
        if DEPLOYMENT in path:
            path = path.replace(DEPLOYMENT, (await _deployment(http, status="started"))["id"])
        if case.fault is not None:
            emulator.faults.push(case.operation, case.fault)
        response = await http.request(
            METHODS[case.operation], path, json=case.body if case.body is not None else None
        )
    assert response.status_code == case.status, response.text
    assert emulator.requests[-1].operation_id == case.operation
    if case.status >= 400:
        assert response.json()["code"]
        assert response.json()["message"]
        assert TOKEN not in response.text
    if case.attribute:
        assert case.attribute in [e["attribute"] for e in response.json()["errors"]]


def test_every_write_operation_is_covered_with_success_and_its_errors(contract: Contract) -> None:
    covered: dict[str, set[int]] = {}
    for case in CASES:
        covered.setdefault(case.operation, set()).add(case.status)
    assert set(covered) == operation_ids(CHANGE_OPERATIONS)
    documented = {
        op["operationId"]: set(map(int, op["responses"])) for *_, op in contract.operations()
    }
    for operation, statuses in covered.items():
        assert statuses <= documented[operation], operation
        assert {400, 401, 403, 404, 429} <= statuses, operation


async def test_a_deployment_patch_shows_in_every_read(api: httpx.AsyncClient) -> None:
    stuck = await _deployment(api, status="started")
    patched = await api.patch(
        f"{EI}/deployments/{stuck['id']}",
        json=[
            {"op": "test", "path": "/status", "value": "started"},
            {"op": "replace", "path": "/status", "value": "finished"},
            {"op": "replace", "path": "/archived", "value": True},
        ],
    )
    assert (patched.json()["status"], patched.json()["archived"]) == ("finished", True)
    one = (await api.get(f"{EI}/deployments/{stuck['id']}")).json()
    assert (one["status"], one["archived"]) == ("finished", True)
    started = (await api.get(f"{EI}/deployments", params={**SLICE, "status": "started"})).json()
    assert stuck["id"] not in [d["id"] for d in started["items"]]
    finished = (await api.get(f"{EI}/deployments", params={**SLICE, "status": "finished"})).json()
    assert stuck["id"] in [d["id"] for d in finished["items"]]
    again = await api.patch(
        f"{EI}/deployments/{stuck['id']}",
        json=[{"op": "test", "path": "/status", "value": "started"}, *FINISH],
    )
    assert again.status_code == 400  # the guard fails once the status moved


def _mappings(body: dict[str, Any]) -> dict[str, list[str]]:
    return {r["key"]: [p["key"] for p in r["projects"]["items"]] for r in body["items"]}


@pytest.mark.parametrize("replaces", [False, True], ids=["appends", "replaces"])
async def test_put_appends_or_replaces_and_delete_unlinks(
    emu: Emulator, api: httpx.AsyncClient, replaces: bool
) -> None:
    emu.changes.put_replaces = replaces
    before = _mappings((await api.get(f"{EI}/repositories", params={"expand": "projects"})).json())
    put = await api.put(f"{EI}/repositories/projects", json=MAPPING)
    after = _mappings((await api.get(f"{EI}/repositories", params={"expand": "projects"})).json())
    expected = {k: ([] if replaces else v) for k, v in before.items()}
    expected[UNLINKED] = ["data-platform"]
    assert after == expected
    assert put.json()["totalCount"] == sum(len(v) for v in expected.values())
    gone = await api.delete(
        f"{EI}/repositories/{UNLINKED.replace('/', '%2F')}/projects/data-platform"
    )
    assert gone.status_code == 204
    final = _mappings((await api.get(f"{EI}/repositories", params={"expand": "projects"})).json())
    assert final[UNLINKED] == []
    assert emu.requests[-2].raw_path.endswith(
        "example-org%2Finfra-terraform/projects/data-platform"
    )


async def test_a_write_fault_after_handling_applies_the_change(emu: Emulator) -> None:
    api = httpx.AsyncClient(  # not contract-checked: 5xx answers are faults, not contract
        transport=httpx.ASGITransport(app=emu.app), base_url=BASE_URL, headers=HEADERS
    )
    async with api:
        await _faults_on_writes(emu, api)


async def _faults_on_writes(emu: Emulator, api: httpx.AsyncClient) -> None:
    emu.faults.push("deleteRepositoryProject", Fault(status=500, after_handling=True))
    lost = await api.delete(f"{EI}/repositories/{LINKED}/projects/checkout-web")
    assert lost.status_code == 500
    assert emu.store.repository_projects["example-org/checkout-api"] == []
    emu.faults.push("updateDeployment", Fault(status=503))
    stuck = await _deployment(api, status="started")
    refused = await api.patch(f"{EI}/deployments/{stuck['id']}", json=FINISH)
    assert refused.status_code == 503
    assert stuck["id"] not in emu.store.deployment_changes
