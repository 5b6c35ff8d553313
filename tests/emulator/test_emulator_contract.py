"""Every emulator route, success and error, validated against the vendored contract."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx
import pytest
from openapi_schema_validator import OAS30Validator

from ld_insights_mcp.emulator import Emulator, Fault

from ..conftest import NOW_MS, TOKEN

SPEC = json.loads((Path(__file__).parents[1] / "contract" / "insights-openapi.json").read_text())
IG = "/api/v2/engineering-insights/insights"
MG = "/api/v2/projects/{projectKey}/metric-groups"
BETA = {"Authorization": TOKEN, "LD-API-Version": "beta"}

# (operation template, method, concrete path, query, body, headers, fault, expected status)
Case = tuple[str, str, str, dict[str, Any], Any, dict[str, str], Fault | None, int]
CASES: list[Case] = [
    (f"{IG}/groups", "get", f"{IG}/groups", {}, None, BETA, None, 200),
    (
        f"{IG}/groups",
        "get",
        f"{IG}/groups",
        {"expand": "scores,environment,metadata", "limit": 3, "offset": 2, "sort": "-name"},
        None,
        BETA,
        None,
        200,
    ),
    (f"{IG}/groups", "get", f"{IG}/groups", {"limit": 21}, None, BETA, None, 400),
    (f"{IG}/groups", "get", f"{IG}/groups", {"expand": "everything"}, None, BETA, None, 400),
    (
        f"{IG}/groups",
        "get",
        f"{IG}/groups",
        {},
        None,
        {"Authorization": "wrong", "LD-API-Version": "beta"},
        None,
        401,
    ),
    (f"{IG}/groups", "get", f"{IG}/groups", {}, None, {"Authorization": TOKEN}, None, 403),
    (
        f"{IG}/groups",
        "get",
        f"{IG}/groups",
        {},
        None,
        BETA,
        Fault(status=429, headers={"Retry-After": "1"}),
        429,
    ),
    (
        f"{IG}/group",
        "post",
        f"{IG}/group",
        {},
        {
            "name": "New",
            "key": "new-group",
            "projectKey": "checkout-web",
            "environmentKey": "production",
            "applicationKeys": ["checkout-api"],
        },
        BETA,
        None,
        201,
    ),
    (
        f"{IG}/group",
        "post",
        f"{IG}/group",
        {},
        {
            "name": "Dup",
            "key": "checkout-squad",
            "projectKey": "checkout-web",
            "environmentKey": "production",
        },
        BETA,
        None,
        409,
    ),
    (f"{IG}/group", "post", f"{IG}/group", {}, {"name": "No project"}, BETA, None, 400),
    (
        f"{IG}/group",
        "post",
        f"{IG}/group",
        {},
        {"name": "X", "key": "x", "projectKey": "checkout-web", "environmentKey": "nope"},
        BETA,
        None,
        400,
    ),
    (
        f"{IG}/groups/{{insightGroupKey}}",
        "get",
        f"{IG}/groups/checkout-squad",
        {"expand": "scores,environment"},
        None,
        BETA,
        None,
        200,
    ),
    (f"{IG}/groups/{{insightGroupKey}}", "get", f"{IG}/groups/nope", {}, None, BETA, None, 404),
    (f"{IG}/groups/{{insightGroupKey}}", "get", f"{IG}/groups/a%2Fb", {}, None, BETA, None, 404),
    (
        f"{IG}/groups/{{insightGroupKey}}",
        "patch",
        f"{IG}/groups/checkout-squad",
        {},
        [{"op": "replace", "path": "/name", "value": "Renamed"}],
        BETA,
        None,
        200,
    ),
    (
        f"{IG}/groups/{{insightGroupKey}}",
        "patch",
        f"{IG}/groups/checkout-squad",
        {},
        [{"op": "replace", "path": "/projectKey", "value": "x"}],
        BETA,
        None,
        422,
    ),
    (
        f"{IG}/groups/{{insightGroupKey}}",
        "patch",
        f"{IG}/groups/checkout-squad",
        {},
        {"op": "replace"},
        BETA,
        None,
        400,
    ),
    (
        f"{IG}/groups/{{insightGroupKey}}",
        "delete",
        f"{IG}/groups/payments-api",
        {},
        None,
        BETA,
        None,
        204,
    ),
    (f"{IG}/groups/{{insightGroupKey}}", "delete", f"{IG}/groups/nope", {}, None, BETA, None, 404),
    (
        f"{IG}/scores",
        "get",
        f"{IG}/scores",
        {
            "projectKey": "checkout-web",
            "environmentKey": "production",
            "applicationKey": "checkout-api,web-storefront",
        },
        None,
        BETA,
        None,
        200,
    ),
    (
        f"{IG}/scores",
        "get",
        f"{IG}/scores",
        {"projectKey": "data-platform", "environmentKey": "production"},
        None,
        BETA,
        None,
        200,
    ),
    (f"{IG}/scores", "get", f"{IG}/scores", {"projectKey": "checkout-web"}, None, BETA, None, 400),
    (
        f"{IG}/scores",
        "get",
        f"{IG}/scores",
        {"projectKey": "checkout-web", "environmentKey": "production"},
        None,
        {"Authorization": f"Bearer {TOKEN}", "LD-API-Version": "beta"},
        None,
        401,
    ),
    (
        MG,
        "get",
        "/api/v2/projects/checkout-web/metric-groups",
        {
            "limit": 2,
            "sort": "-createdAt",
            "filter": "kind equals 'funnel' and hasConnections equals true",
        },
        None,
        BETA,
        None,
        200,
    ),
    (
        MG,
        "get",
        "/api/v2/projects/checkout-web/metric-groups",
        {"limit": 51},
        None,
        BETA,
        None,
        400,
    ),
    (
        MG,
        "get",
        "/api/v2/projects/checkout-web/metric-groups",
        {"filter": "color equals 'red'"},
        None,
        BETA,
        None,
        400,
    ),
    (MG, "get", "/api/v2/projects/nope/metric-groups", {}, None, BETA, None, 404),
    (
        MG,
        "post",
        "/api/v2/projects/checkout-web/metric-groups",
        {},
        {
            "key": "cart-funnel",
            "name": "Cart funnel",
            "kind": "funnel",
            "maintainerId": "5f3a1c2b9d8e7f6a5b4c3d2e",
            "tags": ["cart"],
            "metrics": [
                {"key": "add-to-cart", "nameInGroup": "Cart"},
                {"key": "purchase-completed", "nameInGroup": "Buy"},
            ],
        },
        BETA,
        None,
        201,
    ),
    (
        MG,
        "post",
        "/api/v2/projects/checkout-web/metric-groups",
        {},
        {
            "key": "checkout-funnel",
            "name": "Dup",
            "kind": "funnel",
            "maintainerId": "5f3a1c2b9d8e7f6a5b4c3d2e",
            "tags": [],
            "metrics": [{"key": "add-to-cart", "nameInGroup": "Cart"}],
        },
        BETA,
        None,
        400,
    ),
    (
        MG,
        "post",
        "/api/v2/projects/checkout-web/metric-groups",
        {},
        {
            "name": "Bad",
            "kind": "funnel",
            "maintainerId": "5f3a1c2b9d8e7f6a5b4c3d2e",
            "tags": [],
            "metrics": [{"key": "nope", "nameInGroup": "?"}],
        },
        BETA,
        None,
        400,
    ),
    (
        f"{MG}/{{metricGroupKey}}",
        "get",
        "/api/v2/projects/checkout-web/metric-groups/checkout-funnel",
        {"expand": "experiments,experimentCount"},
        None,
        BETA,
        None,
        200,
    ),
    (
        f"{MG}/{{metricGroupKey}}",
        "get",
        "/api/v2/projects/checkout-web/metric-groups/nope",
        {},
        None,
        BETA,
        None,
        404,
    ),
    (
        f"{MG}/{{metricGroupKey}}",
        "patch",
        "/api/v2/projects/checkout-web/metric-groups/revenue-metrics",
        {},
        [{"op": "add", "path": "/tags/-", "value": "q4"}],
        BETA,
        None,
        200,
    ),
    (
        f"{MG}/{{metricGroupKey}}",
        "patch",
        "/api/v2/projects/checkout-web/metric-groups/revenue-metrics",
        {},
        [{"op": "remove", "path": "/kind"}],
        BETA,
        None,
        400,
    ),
    (
        f"{MG}/{{metricGroupKey}}",
        "delete",
        "/api/v2/projects/checkout-web/metric-groups/page-performance",
        {},
        None,
        BETA,
        None,
        204,
    ),
    (
        f"{MG}/{{metricGroupKey}}",
        "delete",
        "/api/v2/projects/checkout-web/metric-groups/nope",
        {},
        None,
        BETA,
        None,
        404,
    ),
    (
        f"{MG}/{{metricGroupKey}}",
        "put",
        "/api/v2/projects/checkout-web/metric-groups/checkout-funnel",
        {},
        None,
        BETA,
        None,
        405,
    ),
]

OPERATIONS_IN_SCOPE = {
    ("getInsightGroups"),
    ("createInsightGroup"),
    ("getInsightGroup"),
    ("patchInsightGroup"),
    ("deleteInsightGroup"),
    ("getInsightsScores"),
    ("getMetricGroups"),
    ("createMetricGroup"),
    ("getMetricGroup"),
    ("patchMetricGroup"),
    ("deleteMetricGroup"),
}


def response_schema(template: str, method: str, status: int) -> dict[str, Any] | None:
    operation = SPEC["paths"][template].get(method)
    if operation is None:  # a method the contract does not define: the 405 shape
        return {"$ref": "#/components/schemas/MethodNotAllowedErrorRep"}
    response = operation["responses"].get(str(status))
    assert response is not None, f"{method.upper()} {template} has no {status} in the contract"
    content = response.get("content")
    return None if content is None else content["application/json"]["schema"]


def validate(schema: dict[str, Any], body: Any) -> None:
    OAS30Validator({"components": SPEC["components"], **schema}).validate(body)


def test_vendored_contract_has_all_30_operations() -> None:
    operations = [
        op["operationId"]
        for path in SPEC["paths"].values()
        for method, op in path.items()
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) == 30
    assert set(operations) >= OPERATIONS_IN_SCOPE


@pytest.mark.anyio
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[1]}-{c[2].split('/v2/')[1]}-{c[7]}")
async def test_every_answer_matches_the_contract(case: Case) -> None:
    template, method, path, query, body, headers, fault, expected = case
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS)
    if fault is not None:
        emulator.faults.push("getInsightGroups", fault)
    transport = httpx.ASGITransport(app=emulator.app)
    async with httpx.AsyncClient(
        transport=transport, base_url="https://app.launchdarkly.com"
    ) as http:
        response = await http.request(
            method.upper(),
            path,
            params=query,
            headers=headers,
            content=None if body is None else json.dumps(body),
        )
    assert response.status_code == expected, response.text
    assert "x-ratelimit-reset" in response.headers
    schema = response_schema(template, method, expected)
    if expected == 204:
        assert response.content == b""
        return
    assert schema is not None
    validate(schema, response.json())
    if expected >= 400:
        assert response.json()["code"]
        assert TOKEN not in response.text


def test_every_operation_in_scope_is_covered_with_success_and_errors() -> None:
    covered: dict[str, set[int]] = {}
    for template, method, *_rest, status in CASES:
        operation = SPEC["paths"][template].get(method, {}).get("operationId")
        if operation:
            covered.setdefault(operation, set()).add(status)
    assert set(covered) == OPERATIONS_IN_SCOPE
    for operation, statuses in covered.items():
        assert any(s < 300 for s in statuses), operation
        assert any(s >= 400 for s in statuses), operation
