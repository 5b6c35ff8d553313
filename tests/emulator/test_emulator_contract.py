"""Every emulator operation, success and every error it produces, against the contract."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from jsonschema.exceptions import ValidationError

from ld_insights_mcp.emulator.routes import CHANGE_OPERATIONS, EVIDENCE_OPERATIONS, OPERATIONS
from tests.support import Emulator, Fault

from .conftest import (
    CONTRACT_FILE,
    EXTENSIONS,
    HEADERS,
    NOW_MS,
    TOKEN,
    Contract,
    checked_client,
    operation_ids,
    refusals,
)

pytestmark = pytest.mark.anyio

IG = "/api/v2/engineering-insights/insights"
MG = "/api/v2/projects/checkout-web/metric-groups"
GROUP = f"{IG}/groups/checkout-squad"
MEMBER = "5f3a1c2b9d8e7f6a5b4c3d2e"
NEW_GROUP = {
    "name": "Platform squad",
    "key": "platform-squad",
    "projectKey": "checkout-web",
    "environmentKey": "production",
    "applicationKeys": ["checkout-api"],
}
NEW_METRIC_GROUP = {
    "key": "cart-funnel",
    "name": "Cart funnel",
    "kind": "funnel",
    "maintainerId": MEMBER,
    "tags": ["cart"],
    "metrics": [
        {"key": "add-to-cart", "nameInGroup": "Cart"},
        {"key": "purchase-completed", "nameInGroup": "Bought"},
    ],
}


@dataclass(frozen=True)
class Case:
    operation: str
    status: int
    method: str
    path: str
    params: dict[str, Any] = field(default_factory=dict)
    body: Any = None
    raw_body: bytes | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(HEADERS))
    fault: Fault | None = None
    attribute: str | None = None  # the attribute a 400 must name
    label: str = ""

    @property
    def id(self) -> str:
        return f"{self.operation}-{self.status}-{self.label or self.attribute or ''}".rstrip("-")


def ok(operation: str, method: str, path: str, status: int = 200, **kw: Any) -> Case:
    return Case(operation, status, method, path, **kw)


def bad(operation: str, method: str, path: str, attribute: str | None, **kw: Any) -> Case:
    return Case(operation, 400, method, path, attribute=attribute, **kw)


SUCCESSES = [
    ok("getInsightGroups", "GET", f"{IG}/groups", label="plain"),
    ok(
        "getInsightGroups",
        "GET",
        f"{IG}/groups",
        params={
            "expand": "scores,environment,metadata",
            "limit": 3,
            "offset": 3,
            "sort": "-name",
            "query": "team",
        },
        label="everything",
    ),
    ok("createInsightGroup", "POST", f"{IG}/group", 201, body=NEW_GROUP),
    ok(
        "createInsightGroup",
        "POST",
        f"{IG}/group",
        201,
        body={**NEW_GROUP, "applicationKeys": None},
        label="all-apps",
    ),
    ok(
        "getInsightGroup",
        "GET",
        GROUP,
        params={"expand": "scores,environment"},
    ),
    ok(
        "patchInsightGroup",
        "PATCH",
        GROUP,
        body=[
            {"op": "replace", "path": "/name", "value": "Checkout crew"},
            {"op": "add", "path": "/applicationKeys/-", "value": "payments-service"},
        ],
    ),
    ok("deleteInsightGroup", "DELETE", f"{IG}/groups/payments-api", 204),
    ok(
        "getInsightsScores",
        "GET",
        f"{IG}/scores",
        params={
            "projectKey": "checkout-web",
            "environmentKey": "production",
            "applicationKey": "checkout-api,web-storefront",
        },
    ),
    ok(
        "getInsightsScores",
        "GET",
        f"{IG}/scores",
        params={"projectKey": "data-platform", "environmentKey": "staging"},
        label="not-calculated",
    ),
    ok("getMetricGroups", "GET", MG, label="plain"),
    ok(
        "getMetricGroups",
        "GET",
        MG,
        params={
            "limit": 1,
            "offset": 1,
            "sort": "-createdAt,name",
            "filter": "kind equals 'funnel' and hasConnections equals true",
            "expand": "anything",
        },
        label="filtered",
    ),
    ok("createMetricGroup", "POST", MG, 201, body=NEW_METRIC_GROUP),
    ok(
        "createMetricGroup",
        "POST",
        MG,
        201,
        body={
            "name": "Refund watch",
            "kind": "standard",
            "maintainerId": MEMBER,
            "tags": [],
            "description": "Refunds by week.",
            "metrics": [{"key": "refund-requested", "nameInGroup": "Refunds"}],
        },
        label="derived-key",
    ),
    ok(
        "getMetricGroup",
        "GET",
        f"{MG}/checkout-funnel",
        params={"expand": "experiments,experimentCount"},
    ),
    ok(
        "patchMetricGroup",
        "PATCH",
        f"{MG}/revenue-metrics",
        body=[
            {"op": "add", "path": "/tags/-", "value": "q4"},
            {"op": "add", "path": "/description", "value": "Revenue and refunds."},
        ],
    ),
    ok("deleteMetricGroup", "DELETE", f"{MG}/page-performance", 204),
]


def create_group(status: int, label: str, attribute: str | None = None, **changes: Any) -> Case:
    """createInsightGroup with ``NEW_GROUP`` changed by ``changes``."""
    body = {**NEW_GROUP, **changes}
    return Case(
        "createInsightGroup",
        status,
        "POST",
        f"{IG}/group",
        body=body,
        label=label,
        attribute=attribute,
    )


def patch_group(status: int, label: str, *operations: Any, attribute: str | None = None) -> Case:
    """patchInsightGroup of checkout-squad with ``operations`` as the JSON Patch."""
    return Case(
        "patchInsightGroup",
        status,
        "PATCH",
        GROUP,
        body=list(operations),
        label=label,
        attribute=attribute,
    )


def scores(label: str, attribute: str, **params: Any) -> Case:
    return bad("getInsightsScores", "GET", f"{IG}/scores", attribute, params=params, label=label)


def replace_op(path: str, value: Any) -> dict[str, Any]:
    return {"op": "replace", "path": path, "value": value}


ERRORS = [
    # getInsightGroups
    bad("getInsightGroups", "GET", f"{IG}/groups", "limit", params={"limit": 0}, label="0"),
    bad("getInsightGroups", "GET", f"{IG}/groups", "limit", params={"limit": 21}, label="21"),
    bad("getInsightGroups", "GET", f"{IG}/groups", "limit", params={"limit": "ten"}, label="txt"),
    bad("getInsightGroups", "GET", f"{IG}/groups", "offset", params={"offset": -1}),
    bad("getInsightGroups", "GET", f"{IG}/groups", "sort", params={"sort": "createdAt"}),
    bad("getInsightGroups", "GET", f"{IG}/groups", "expand", params={"expand": "scores,all"}),
    # createInsightGroup
    bad("createInsightGroup", "POST", f"{IG}/group", "key", body={"name": "N"}, label="missing"),
    bad("createInsightGroup", "POST", f"{IG}/group", "body", raw_body=b"{nope", label="json"),
    bad("createInsightGroup", "POST", f"{IG}/group", "body", body=[NEW_GROUP], label="array"),
    create_group(400, "bad-key", "key", key="../x"),
    create_group(400, "apps", "applicationKeys", applicationKeys="checkout-api"),
    create_group(404, "project", projectKey="nope"),
    create_group(404, "environment", environmentKey="nope"),
    create_group(404, "application", applicationKeys=["ios-app"]),
    create_group(409, "", key="ios-team"),
    # getInsightGroup
    bad("getInsightGroup", "GET", GROUP, "expand", params={"expand": "metadata"}),
    Case("getInsightGroup", 404, "GET", f"{IG}/groups/nope", label="unknown"),
    Case("getInsightGroup", 404, "GET", f"{GROUP}%2Fx", label="slash"),
    # patchInsightGroup
    bad("patchInsightGroup", "PATCH", GROUP, "body", body=replace_op("/name", "x"), label="object"),
    patch_group(400, "no-path", {"op": "replace"}, attribute="body"),
    patch_group(422, "path", replace_op("/projectKey", "mobile-app")),
    patch_group(422, "test", {"op": "test", "path": "/name", "value": "Other"}),
    patch_group(422, "app", {"op": "add", "path": "/applicationKeys/-", "value": "ios-app"}),
    patch_group(422, "name", replace_op("/name", " ")),
    Case("patchInsightGroup", 404, "PATCH", f"{IG}/groups/nope", body=[]),
    # deleteInsightGroup
    Case("deleteInsightGroup", 404, "DELETE", f"{IG}/groups/nope"),
    # getInsightsScores
    scores("none", "projectKey"),
    scores("no-env", "environmentKey", projectKey="checkout-web"),
    scores("project", "projectKey", projectKey="nope", environmentKey="production"),
    scores("environment", "environmentKey", projectKey="mobile-app", environmentKey="test"),
    scores(
        "application",
        "applicationKey",
        projectKey="mobile-app",
        environmentKey="production",
        applicationKey="ios-app,web-storefront",
    ),
    # getMetricGroups
    bad("getMetricGroups", "GET", MG, "limit", params={"limit": 0}, label="0"),
    bad("getMetricGroups", "GET", MG, "limit", params={"limit": 51}, label="51"),
    bad("getMetricGroups", "GET", MG, "limit", params={"limit": "1.5"}, label="float"),
    bad("getMetricGroups", "GET", MG, "offset", params={"offset": "x"}),
    bad("getMetricGroups", "GET", MG, "filter", params={"filter": "color equals 'red'"}),
    bad("getMetricGroups", "GET", MG, "sort", params={"sort": "key"}),
    Case("getMetricGroups", 404, "GET", "/api/v2/projects/nope/metric-groups"),
    # createMetricGroup
    bad("createMetricGroup", "POST", MG, "kind", body={"name": "X"}, label="missing"),
    bad(
        "createMetricGroup",
        "POST",
        MG,
        "metrics[0].key",
        body={**NEW_METRIC_GROUP, "metrics": [{"key": "nope", "nameInGroup": "?"}]},
        label="metric",
    ),
    bad(
        "createMetricGroup",
        "POST",
        MG,
        "maintainerId",
        body={**NEW_METRIC_GROUP, "maintainerId": "nobody"},
        label="maintainer",
    ),
    Case(
        "createMetricGroup",
        404,
        "POST",
        "/api/v2/projects/nope/metric-groups",
        body=NEW_METRIC_GROUP,
    ),
    Case("createMetricGroup", 409, "POST", MG, body={**NEW_METRIC_GROUP, "key": "search-funnel"}),
    # getMetricGroup
    bad(
        "getMetricGroup",
        "GET",
        f"{MG}/checkout-funnel",
        "expand",
        params={"expand": "experiments,metrics"},
    ),
    Case("getMetricGroup", 404, "GET", f"{MG}/nope", label="group"),
    Case("getMetricGroup", 404, "GET", "/api/v2/projects/nope/metric-groups/x", label="project"),
    Case("getMetricGroup", 404, "GET", f"{MG}/checkout-funnel%2Fx", label="slash"),
    # patchMetricGroup
    bad("patchMetricGroup", "PATCH", f"{MG}/revenue-metrics", "body", raw_body=b"", label="empty"),
    bad(
        "patchMetricGroup",
        "PATCH",
        f"{MG}/revenue-metrics",
        "/kind",
        body=[replace_op("/kind", "funnel")],
        label="path",
    ),
    bad(
        "patchMetricGroup",
        "PATCH",
        f"{MG}/revenue-metrics",
        "/metrics[0].key",
        body=[replace_op("/metrics/0/key", "nope")],
        label="metric",
    ),
    Case("patchMetricGroup", 404, "PATCH", f"{MG}/nope", body=[]),
    # deleteMetricGroup
    Case("deleteMetricGroup", 404, "DELETE", f"{MG}/nope"),
]

OUTSIDE_OPERATIONS = [
    Case("-", 404, "GET", "/api/v2/engineering-insights/insights/nothing", label="route"),
    Case("-", 404, "GET", "/api/v2/flags/checkout-web", label="elsewhere"),
    Case("-", 401, "GET", "/api/v2/unknown", headers={}, label="route-no-token"),
    Case("-", 405, "PUT", GROUP, body=[], label="put-group"),
    Case("-", 405, "POST", f"{IG}/groups", body=NEW_GROUP, label="post-groups"),
    Case("-", 405, "GET", f"{IG}/group", label="get-group-singular"),
    Case("-", 405, "PUT", MG, body={}, label="put-metric-groups"),
]

ALL_CASES = SUCCESSES + ERRORS + refusals(SUCCESSES) + OUTSIDE_OPERATIONS


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
async def test_every_answer_matches_the_contract(case: Case, contract: Contract) -> None:
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS)
    if case.fault is not None:
        emulator.faults.push(case.operation, case.fault)
    content = case.raw_body
    if content is None and case.body is not None:
        content = json.dumps(case.body).encode()
    async with checked_client(emulator, contract, headers=case.headers) as http:
        response = await http.request(case.method, case.path, params=case.params, content=content)
    assert response.status_code == case.status, response.text
    for header in (
        "x-ratelimit-reset",
        "x-ratelimit-global-remaining",
        "x-ratelimit-route-remaining",
    ):
        assert header in response.headers
    recorded = emulator.requests[-1]
    assert recorded.status == case.status
    assert recorded.operation_id == (None if case.operation == "-" else case.operation)
    if case.status >= 400:
        body = response.json()
        assert body["code"]
        assert body["message"]
        assert TOKEN not in response.text
    if case.status == 400 and case.attribute:
        assert case.attribute in [e["attribute"] for e in response.json()["errors"]]
    if case.status == 405:
        assert response.headers["allow"]


def test_vendored_contract_has_all_30_operations(contract: Contract) -> None:
    operations = [op["operationId"] for _m, _t, op in contract.operations()]
    assert len(operations) == len(set(operations)) == 30
    routes = {op: (method.lower(), template) for method, template, op in OPERATIONS}
    for method, template, op in contract.operations():
        if op["operationId"] in routes:
            assert routes[op["operationId"]] == (method, template)


SCHEMA_KEYWORDS = {"type", "format", "required", "enum", "$ref", "items", "properties"}
SCHEMA_KEYWORDS |= {"additionalProperties", "nullable", "allOf", "oneOf", "anyOf", "not"}


def _schema_keys(schema: Any) -> set[str]:
    if not isinstance(schema, dict):
        return set()
    keys = set(schema)
    for name, value in schema.items():
        if name == "properties":
            for sub in value.values():
                keys |= _schema_keys(sub)
        elif name in ("items", "not", "additionalProperties"):
            keys |= _schema_keys(value)
        elif name in ("allOf", "oneOf", "anyOf"):
            for sub in value:
                keys |= _schema_keys(sub)
    return keys


def test_vendored_contract_keeps_structure_only(contract: Contract) -> None:
    keys: set[str] = set()
    for _method, _template, op in contract.operations():
        assert set(op) <= {"operationId", "parameters", "requestBody", "responses"}
        for parameter in op.get("parameters", []):
            assert set(parameter) <= {"name", "in", "required", "schema"}
            keys |= _schema_keys(parameter["schema"])
        for response in op["responses"].values():
            assert set(response) <= {"content"}
    for schema in contract.spec["components"]["schemas"].values():
        keys |= _schema_keys(schema)
    assert keys <= SCHEMA_KEYWORDS
    refs = set(re.findall(r'"#/components/schemas/([^"]+)"', CONTRACT_FILE.read_text()))
    assert refs == set(contract.spec["components"]["schemas"])


def test_vendored_contract_is_current() -> None:
    source = Path(__file__).parents[3] / "shared" / "launchdarkly" / "insights-openapi.json"
    if not source.exists():
        pytest.skip("the shared contract is not beside the repository")
    script = Path(__file__).parents[1] / "contract" / "vendor_contract.py"
    done = subprocess.run(
        [sys.executable, str(script), "--check", "--source", str(source)],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert done.returncode == 0, done.stderr


def test_every_operation_is_covered_with_success_and_all_its_errors(contract: Contract) -> None:
    covered: dict[str, set[int]] = {}
    for case in ALL_CASES:
        covered.setdefault(case.operation, set()).add(case.status)
    covered.pop("-")
    # evidence reads: test_evidence_contract.py; evidence writes: test_writes.py
    assert set(covered) == operation_ids(OPERATIONS) - operation_ids(
        (*EVIDENCE_OPERATIONS, *CHANGE_OPERATIONS)
    )
    documented = {
        op["operationId"]: set(map(int, op["responses"])) for *_, op in contract.operations()
    }
    for operation, statuses in covered.items():
        assert any(s < 300 for s in statuses), operation
        assert {401, 403, 429} <= statuses, operation
        extra = statuses - documented[operation]
        assert all((operation, s) in EXTENSIONS for s in extra), (operation, extra)
    assert {s for c in OUTSIDE_OPERATIONS for s in [c.status]} == {401, 404, 405}
    assert all(
        status in covered[op]
        for op, status in [
            ("createInsightGroup", 409),
            ("patchInsightGroup", 422),
            ("createMetricGroup", 409),
            ("getMetricGroups", 404),
        ]
    )


async def test_a_json_answer_that_breaks_the_contract_is_caught(contract: Contract) -> None:
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS)
    emulator.faults.push("getInsightGroups", Fault(status=200, body=b'{"items": "none"}'))
    async with checked_client(emulator, contract) as http:
        with pytest.raises(ValidationError, match="is not of type"):
            await http.get(f"{IG}/groups")


def test_contract_checker_rejects_an_undocumented_status(contract: Contract) -> None:
    with pytest.raises(AssertionError, match="lists no 409"):
        contract.check("PATCH", f"{IG}/groups/x", 409, b'{"code":"c","message":"m"}')
