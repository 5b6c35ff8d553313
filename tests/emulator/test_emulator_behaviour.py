"""Emulator behaviour beyond shapes: paging, sorting, filters, writes, auth, determinism and
score consistency. Every answer here is also checked against the contract (``api``)."""

from __future__ import annotations

import time
from typing import Any

import httpx
import pytest

from ld_insights_mcp.emulator import DEMO_TOKEN
from ld_insights_mcp.emulator.seed import SeedProject
from tests.support import Emulator

from .conftest import BASE_URL, HEADERS, NOW_MS, TOKEN, Contract, checked_client

pytestmark = pytest.mark.anyio

IG = "/api/v2/engineering-insights/insights"
GROUPS = f"{IG}/groups"
SCORES = f"{IG}/scores"
MG = "/api/v2/projects/{}/metric-groups"
BANDS = {"excellent": (90, 100), "good": (70, 89), "fair": (40, 69), "needsAttention": (0, 39)}
DAY_MS = 86_400_000


async def walk(api: httpx.AsyncClient, path: str, **params: Any) -> tuple[list[str], int]:
    """Follow ``_links.next`` from the first page; the keys seen and ``totalCount``."""
    page = (await api.get(path, params=params)).json()
    keys = [item["key"] for item in page["items"]]
    total = page["totalCount"]
    while "next" in page["_links"]:
        page = (await api.get(page["_links"]["next"]["href"])).json()
        assert page["totalCount"] == total
        keys += [item["key"] for item in page["items"]]
    return keys, total


def errors_of(response: httpx.Response) -> list[str]:
    return [e["attribute"] for e in response.json()["errors"]]


# --- paging, limits, sort, query, expand ---------------------------------------------------


async def test_next_links_reach_every_insight_group_exactly_once(
    api: httpx.AsyncClient, emu: Emulator
) -> None:
    keys, total = await walk(api, GROUPS, limit=4)
    assert total == len(emu.store.insight_groups) >= 12
    assert sorted(keys) == sorted(emu.store.insight_groups)
    assert keys == list(emu.store.insight_groups)  # default order: creation order


async def test_page_links_name_first_last_prev_and_keep_the_view(api: httpx.AsyncClient) -> None:
    page = (await api.get(GROUPS, params={"limit": 4, "offset": 4, "query": "e"})).json()
    links = {name: link["href"] for name, link in page["_links"].items()}
    total = page["totalCount"]
    assert set(links) == {"self", "first", "last", "next", "prev"}
    assert links["first"] == f"{GROUPS}?limit=4&offset=0&query=e"
    assert links["prev"] == f"{GROUPS}?limit=4&offset=0&query=e"
    assert links["next"] == f"{GROUPS}?limit=4&offset=8&query=e"
    assert links["last"] == f"{GROUPS}?limit=4&offset={(total - 1) // 4 * 4}&query=e"
    assert all(link["type"] == "application/json" for link in page["_links"].values())
    last = (await api.get(links["last"])).json()
    assert "next" not in last["_links"]
    assert len(last["items"]) == total - (total - 1) // 4 * 4


async def test_default_limit_is_20_and_20_is_the_maximum(api: httpx.AsyncClient) -> None:
    for number in range(10):
        body = {
            "name": f"Extra {number}",
            "key": f"extra-{number}",
            "projectKey": "mobile-app",
            "environmentKey": "staging",
        }
        assert (await api.post(f"{IG}/group", json=body)).status_code == 201
    page = (await api.get(GROUPS)).json()
    assert len(page["items"]) == 20
    assert page["totalCount"] == 25
    assert "next" in page["_links"]
    assert (await api.get(GROUPS, params={"limit": 20})).status_code == 200
    too_many = await api.get(GROUPS, params={"limit": 21})
    assert too_many.status_code == 400
    assert errors_of(too_many) == ["limit"]
    beyond = (await api.get(GROUPS, params={"offset": 100})).json()
    assert beyond["items"] == []
    assert beyond["totalCount"] == 25


@pytest.mark.parametrize("limit", ["0", "-1", "21", "1.0", "ten", "+5", " 5", "1_0"])
async def test_insight_group_limits_outside_1_to_20_name_limit(
    api: httpx.AsyncClient, limit: str
) -> None:
    response = await api.get(GROUPS, params={"limit": limit})
    assert response.status_code == 400
    assert errors_of(response) == ["limit"]


async def test_sort_by_name_both_ways_and_only_by_name(api: httpx.AsyncClient) -> None:
    ascending = [
        g["name"] for g in (await api.get(GROUPS, params={"sort": "name"})).json()["items"]
    ]
    descending = [
        g["name"] for g in (await api.get(GROUPS, params={"sort": "-name"})).json()["items"]
    ]
    assert ascending == sorted(ascending, key=str.casefold)
    assert descending == ascending[::-1]
    for sort in ("createdAt", "key", "name,-name", "+name"):
        response = await api.get(GROUPS, params={"sort": sort})
        assert response.status_code == 400
        assert errors_of(response) == ["sort"]


async def test_query_filters_names_case_insensitively(api: httpx.AsyncClient) -> None:
    page = (await api.get(GROUPS, params={"query": "TEAM"})).json()
    names = [g["name"] for g in page["items"]]
    assert names
    assert all("team" in n.casefold() for n in names)
    assert page["totalCount"] == len(names)
    none = (await api.get(GROUPS, params={"query": "zzz-nothing"})).json()
    assert none == {
        "totalCount": 0,
        "items": [],
        "_links": none["_links"],
    }
    assert "next" not in none["_links"]


async def test_nothing_is_expanded_unless_asked(api: httpx.AsyncClient) -> None:
    page = (await api.get(GROUPS)).json()
    assert "metadata" not in page
    assert "scoreMetadata" not in page
    for group in page["items"]:
        assert set(group) == {
            "key",
            "name",
            "projectKey",
            "environmentKey",
            "applicationKeys",
            "createdAt",
        }


async def test_expansions_add_scores_environment_and_indicator_counts(
    api: httpx.AsyncClient,
) -> None:
    page = (await api.get(GROUPS, params={"expand": " scores , environment,metadata"})).json()
    period = {"startTime": NOW_MS - 30 * DAY_MS, "endTime": NOW_MS}
    assert page["scoreMetadata"]["period"] == period
    counts = page["metadata"]["countByIndicator"]
    assert counts["total"] == page["totalCount"]
    assert sum(v for k, v in counts.items() if k != "total") == page["totalCount"]
    for group in page["items"]:
        assert group["scoreMetadata"] == page["scoreMetadata"]
        assert group["environment"]["key"] == group["environmentKey"]
        assert group["environment"]["critical"] is (group["environmentKey"] == "production")
        counts[group["scores"]["overall"]["indicator"]] -= 1
    assert all(v == 0 for k, v in counts.items() if k != "total")  # every group is on page 1
    filtered = (await api.get(GROUPS, params={"expand": "metadata", "query": "mobile"})).json()
    assert filtered["metadata"]["countByIndicator"]["total"] == filtered["totalCount"] == 2


# --- metric groups: paging, filter, sort, expand ---------------------------------------------


async def test_metric_group_links_walk_every_group_once_keeping_filter_and_sort(
    api: httpx.AsyncClient, emu: Emulator
) -> None:
    keys, total = await walk(api, MG.format("checkout-web"), limit=1, sort="-name")
    assert keys == sorted(emu.store.metric_groups["checkout-web"], reverse=True)
    assert total == len(keys) == 5
    funnels, total = await walk(
        api, MG.format("checkout-web"), limit=1, filter="kind equals 'funnel'"
    )
    assert funnels == ["checkout-funnel", "search-funnel"]
    assert total == 2


async def test_metric_group_limit_is_1_to_50_default_20(api: httpx.AsyncClient) -> None:
    path = MG.format("checkout-web")
    assert (await api.get(path, params={"limit": 50})).status_code == 200
    for limit in ("0", "-3", "51", "x", "2.5"):
        response = await api.get(path, params={"limit": limit})
        assert response.status_code == 400
        assert errors_of(response) == ["limit"]
    page = (await api.get(path)).json()
    assert page["_links"]["self"]["href"] == f"{path}?limit=20&offset=0"


@pytest.mark.parametrize(
    ("project", "filter_", "expected"),
    [
        ("checkout-web", "kind equals 'funnel'", {"checkout-funnel", "search-funnel"}),
        (
            "checkout-web",
            'kind equals "standard"',
            {"revenue-metrics", "page-performance", "cart-health"},
        ),
        ("checkout-web", "query equals 'FUNNEL'", {"checkout-funnel", "search-funnel"}),
        ("checkout-web", "query equals ['cart', 'revenue']", {"cart-health", "revenue-metrics"}),
        ("checkout-web", "query equals 'page-perf'", {"page-performance"}),
        (
            "checkout-web",
            "hasConnections equals true",
            {"checkout-funnel", "revenue-metrics", "search-funnel"},
        ),
        ("checkout-web", "hasConnections equals false", {"page-performance", "cart-health"}),
        (
            "checkout-web",
            "experimentStatus equals 'running'",
            {"checkout-funnel", "revenue-metrics"},
        ),
        ("checkout-web", "experimentStatus equals 'stopped'", {"revenue-metrics"}),
        ("checkout-web", "experimentStatus equals 'not_started'", {"search-funnel"}),
        (
            "checkout-web",
            "experimentStatus equals 'started'",
            {"checkout-funnel", "revenue-metrics"},
        ),
        ("mobile-app", "experimentStatus equals 'stopped'", {"onboarding-funnel", "engagement"}),
        (
            "checkout-web",
            "maintainerIds anyOf ['5f3a1c2b9d8e7f6a5b4c3d2e', '5f3a1c2b9d8e7f6a5b4c3d2f']",
            {"checkout-funnel", "search-funnel"},
        ),
        ("checkout-web", "maintainerTeamKey equals 'checkout-team'", {"revenue-metrics"}),
        ("data-platform", "maintainerTeamKey equals 'data-team'", {"pipeline-health"}),
        (
            "checkout-web",
            "kind equals 'funnel' and hasConnections equals true and query equals 'check'",
            {"checkout-funnel"},
        ),
        ("checkout-web", "query equals 'x and y'", set()),
        ("checkout-web", "  kind equals 'funnel'  ", {"checkout-funnel", "search-funnel"}),
        (
            "checkout-web",
            "",
            {
                "checkout-funnel",
                "search-funnel",
                "revenue-metrics",
                "page-performance",
                "cart-health",
            },
        ),
    ],
)
async def test_metric_group_filters(
    api: httpx.AsyncClient, project: str, filter_: str, expected: set[str]
) -> None:
    page = (await api.get(MG.format(project), params={"filter": filter_, "limit": 50})).json()
    assert {g["key"] for g in page["items"]} == expected
    assert page["totalCount"] == len(expected)


@pytest.mark.parametrize(
    ("filter_", "reason"),
    [
        ("color equals 'red'", "unsupported field 'color'"),
        ("kind contains 'fun'", "supports only the 'equals' operator"),
        ("kind is 'funnel'", "unknown operator 'is'"),
        ("kind equals funnel", "expected a quoted string"),
        ("kind equals 'rocket'", "kind is 'funnel' or 'standard'"),
        ("kind equals 'funnel", "unterminated string"),
        ("kind equals 'funnel' or query equals 'x'", "expected ' and ' between clauses"),
        ("kind equals 'funnel' and", "expected ' and ' between clauses"),
        ("hasConnections equals 'true'", "hasConnections takes true or false"),
        ("maintainerIds equals 'a'", "supports only the 'anyOf' operator"),
        ("maintainerIds anyOf []", "non-empty list"),
        ("maintainerIds anyOf ['a' 'b']", "expected ',' or ']'"),
        ("experimentStatus equals 'paused'", "experimentStatus is one of"),
        ("query equals [true]", "query takes a string or a list of strings"),
        ("kind", "expected a space"),
    ],
)
async def test_malformed_filters_are_refused_naming_filter_and_why(
    api: httpx.AsyncClient, filter_: str, reason: str
) -> None:
    response = await api.get(MG.format("checkout-web"), params={"filter": filter_})
    assert response.status_code == 400
    assert errors_of(response) == ["filter"]
    assert reason in response.json()["errors"][0]["reason"]


async def test_metric_group_sorts(api: httpx.AsyncClient, emu: Emulator) -> None:
    path = MG.format("checkout-web")
    groups = emu.store.metric_groups["checkout-web"]

    async def keys(sort: str) -> list[str]:
        return [g["key"] for g in (await api.get(path, params={"sort": sort})).json()["items"]]

    by_created = sorted(groups, key=lambda k: groups[k]["_creationDate"])
    assert await keys("createdAt") == by_created
    assert await keys("-createdAt") == by_created[::-1]
    assert await keys("name") == sorted(groups)
    connections = {k: len(emu.store.connections("checkout-web", k)) for k in groups}
    ranked = await keys("-connectionCount,name")
    assert ranked == sorted(groups, key=lambda k: (-connections[k], k))
    response = await api.get(path, params={"sort": "name,-size"})
    assert response.status_code == 400
    assert "size" in response.json()["message"]


async def test_metric_group_expansions_and_funnel_steps(api: httpx.AsyncClient) -> None:
    plain = (await api.get(MG.format("checkout-web") + "/checkout-funnel")).json()
    assert "experiments" not in plain
    assert "experimentCount" not in plain
    assert [m["nameInGroup"] for m in plain["metrics"]] == [
        "Product page",
        "Cart",
        "Checkout",
        "Purchase",
    ]
    full = (
        await api.get(
            MG.format("checkout-web") + "/checkout-funnel",
            params={"expand": "experiments,experimentCount"},
        )
    ).json()
    assert full["experimentCount"] == len(full["experiments"]) == 2
    assert {e["key"] for e in full["experiments"]} == {"one-page-checkout", "express-pay-button"}
    count_only = (
        await api.get(
            MG.format("checkout-web") + "/revenue-metrics", params={"expand": "experimentCount"}
        )
    ).json()
    assert count_only["experimentCount"] == 2
    assert "experiments" not in count_only
    assert all("nameInGroup" not in m for m in count_only["metrics"])  # standard group
    assert count_only["maintainer"]["team"]["key"] == "checkout-team"


# --- writes -----------------------------------------------------------------------------------


async def test_insight_group_create_patch_delete_persist(
    api: httpx.AsyncClient, emu: Emulator
) -> None:
    body = {
        "name": "Growth squad",
        "key": "growth-squad",
        "projectKey": "checkout-web",
        "environmentKey": "staging",
        "applicationKeys": ["web-storefront", "web-storefront"],
    }
    created = await api.post(f"{IG}/group", json=body)
    assert created.status_code == 201
    assert created.json()["applicationKeys"] == ["web-storefront"]
    assert created.json()["createdAt"] >= NOW_MS
    again = await api.post(f"{IG}/group", json={**body, "name": "Other"})
    assert again.status_code == 409
    assert again.json()["code"] == "conflict"
    assert emu.store.insight_groups["growth-squad"]["name"] == "Growth squad"
    patch = [
        {"op": "test", "path": "/name", "value": "Growth squad"},
        {"op": "replace", "path": "/name", "value": "Growth team"},
        {"op": "add", "path": "/applicationKeys/0", "value": "checkout-api"},
    ]
    patched = (await api.patch(f"{GROUPS}/growth-squad", json=patch)).json()
    assert patched["name"] == "Growth team"
    assert patched["applicationKeys"] == ["checkout-api", "web-storefront"]
    fetched = (await api.get(f"{GROUPS}/growth-squad")).json()
    assert fetched == patched
    removed = await api.patch(
        f"{GROUPS}/growth-squad", json=[{"op": "remove", "path": "/applicationKeys"}]
    )
    assert removed.json()["applicationKeys"] == []
    assert (await api.delete(f"{GROUPS}/growth-squad")).status_code == 204
    assert (await api.get(f"{GROUPS}/growth-squad")).status_code == 404
    assert (await api.delete(f"{GROUPS}/growth-squad")).status_code == 404
    assert [(r.method, r.status) for r in emu.writes()] == [
        ("POST", 201),
        ("POST", 409),
        ("PATCH", 200),
        ("PATCH", 200),
        ("DELETE", 204),
        ("DELETE", 404),
    ]


async def test_unappliable_insight_group_patch_changes_nothing(
    api: httpx.AsyncClient, emu: Emulator
) -> None:
    before = dict(emu.store.insight_groups["checkout-squad"])
    response = await api.patch(
        f"{GROUPS}/checkout-squad",
        json=[
            {"op": "replace", "path": "/name", "value": "Changed"},
            {"op": "test", "path": "/applicationKeys", "value": []},
        ],
    )
    assert response.status_code == 422
    assert response.json()["code"] == "patch_failed"
    assert emu.store.insight_groups["checkout-squad"] == before


async def test_created_groups_are_scored_like_their_slice(api: httpx.AsyncClient) -> None:
    body = {"name": "QA", "key": "qa", "projectKey": "checkout-web", "environmentKey": "test"}
    assert (await api.post(f"{IG}/group", json=body)).status_code == 201
    group = (await api.get(f"{GROUPS}/qa", params={"expand": "scores"})).json()
    slice_ = (
        await api.get(SCORES, params={"projectKey": "checkout-web", "environmentKey": "test"})
    ).json()
    assert group["scores"] == slice_["scores"]


async def test_metric_group_create_patch_delete_persist(
    api: httpx.AsyncClient, emu: Emulator
) -> None:
    path = MG.format("mobile-app")
    body = {
        "name": "Sign-up funnel",
        "kind": "funnel",
        "maintainerId": "5f3a1c2b9d8e7f6a5b4c3d30",
        "tags": ["growth"],
        "metrics": [
            {"key": "signup-started", "nameInGroup": "Start"},
            {"key": "signup-completed", "nameInGroup": "Done"},
        ],
    }
    created = (await api.post(path, json=body)).json()
    assert created["key"] == "sign-up-funnel"
    assert created["_version"] == 1
    assert created["maintainer"]["member"]["firstName"] == "Ana"
    assert (await api.post(path, json=body)).status_code == 409
    reorder = [
        {"op": "move", "from": "/metrics/1", "path": "/metrics/0"},
        {"op": "add", "path": "/metrics/-", "value": {"key": "app-open", "nameInGroup": "Open"}},
        {"op": "replace", "path": "/name", "value": "Sign-up"},
    ]
    patched = (await api.patch(f"{path}/sign-up-funnel", json=reorder)).json()
    assert [(m["key"], m["nameInGroup"]) for m in patched["metrics"]] == [
        ("signup-completed", "Done"),
        ("signup-started", "Start"),
        ("app-open", "Open"),
    ]
    assert patched["_version"] == 2
    assert patched["_lastModified"] > created["_lastModified"]
    unchanged = (await api.patch(f"{path}/sign-up-funnel", json=[])).json()
    assert unchanged["_version"] == 2
    duplicate = await api.patch(
        f"{path}/sign-up-funnel",
        json=[
            {"op": "add", "path": "/metrics/-", "value": {"key": "app-open", "nameInGroup": "x"}}
        ],
    )
    assert duplicate.status_code == 400
    assert errors_of(duplicate) == ["/metrics[3].key"]
    no_step_name = await api.patch(
        f"{path}/sign-up-funnel", json=[{"op": "remove", "path": "/metrics/0/nameInGroup"}]
    )
    assert no_step_name.status_code == 400
    assert (await api.get(f"{path}/sign-up-funnel")).json() == patched
    assert (await api.delete(f"{path}/sign-up-funnel")).status_code == 204
    assert "sign-up-funnel" not in emu.store.metric_groups["mobile-app"]
    assert (await api.get(f"{path}/sign-up-funnel")).status_code == 404


async def test_deleting_a_metric_group_disconnects_its_experiments(
    api: httpx.AsyncClient, emu: Emulator
) -> None:
    assert (await api.delete(MG.format("checkout-web") + "/checkout-funnel")).status_code == 204
    assert emu.store.connections("checkout-web", "checkout-funnel") == []
    still = (
        await api.get(
            MG.format("checkout-web") + "/revenue-metrics", params={"expand": "experimentCount"}
        )
    ).json()
    assert still["experimentCount"] == 2


async def test_metric_group_create_validates_every_field(api: httpx.AsyncClient) -> None:
    response = await api.post(MG.format("checkout-web"), json={"tags": "x", "key": "no/slash"})
    assert response.status_code == 400
    assert set(errors_of(response)) == {"name", "maintainerId", "kind", "tags", "key", "metrics"}
    standard_without_step_names = await api.post(
        MG.format("checkout-web"),
        json={
            "name": "N",
            "kind": "standard",
            "maintainerId": "5f3a1c2b9d8e7f6a5b4c3d2e",
            "tags": [],
            "metrics": [{"key": "add-to-cart"}],
        },
    )
    assert errors_of(standard_without_step_names) == ["metrics[0].nameInGroup"]


async def test_insight_group_create_validates_every_field(api: httpx.AsyncClient) -> None:
    response = await api.post(
        f"{IG}/group", json={"name": " ", "key": 7, "environmentKey": "production"}
    )
    assert response.status_code == 400
    assert response.json()["errors"] == [
        {"attribute": "name", "reason": "must not be empty"},
        {"attribute": "key", "reason": "must be a string"},
        {"attribute": "projectKey", "reason": "is required"},
    ]


# --- routing, auth, beta, log ----------------------------------------------------------------


async def test_percent_encoded_slash_stays_inside_a_key(
    api: httpx.AsyncClient, emu: Emulator
) -> None:
    cases = {
        f"{GROUPS}/checkout-squad%2Fscores": "getInsightGroup",
        f"{GROUPS}/..%2F..%2Fmetric-groups": "getInsightGroup",
        "/api/v2/projects/checkout-web%2Fmetric-groups/metric-groups": "getMetricGroups",
        "/api/v2/projects/checkout-web/metric-groups/checkout-funnel%2F": "getMetricGroup",
    }
    for raw, operation in cases.items():
        response = await api.get(raw)
        assert response.status_code == 404, raw
        assert emu.requests[-1].raw_path == raw
        assert emu.requests[-1].operation_id == operation
    assert emu.requests[0].path == f"{GROUPS}/checkout-squad/scores"
    message = (await api.get(f"{GROUPS}/checkout-squad%2Fscores")).json()["message"]
    assert "checkout-squad/scores" in message
    assert (await api.get(f"{GROUPS}/checkout%2Dsquad")).status_code == 200  # %2D is '-'
    assert (await api.get(f"{GROUPS}/")).status_code == 404
    assert emu.requests[-1].operation_id is None


async def test_only_the_raw_token_is_accepted(emu: Emulator, contract: Contract) -> None:
    attempts = {
        TOKEN: 200,
        f"Bearer {TOKEN}": 401,
        f"{TOKEN} ": 401,
        TOKEN.upper(): 401,
        "": 401,
        DEMO_TOKEN: 401,
    }
    for value, expected in attempts.items():
        async with checked_client(
            emu, contract, headers={"Authorization": value, "LD-API-Version": "beta"}
        ) as http:
            response = await http.get(GROUPS)
        assert response.status_code == expected, value
        if expected == 401:
            assert response.json() == {"code": "unauthorized", "message": "Invalid access token"}
            assert TOKEN not in response.text


async def test_beta_header_is_required_after_auth(emu: Emulator, contract: Contract) -> None:
    for headers, expected in [
        ({"Authorization": TOKEN}, 403),
        ({"Authorization": TOKEN, "LD-API-Version": "20240415"}, 403),
        ({"Authorization": TOKEN, "LD-API-Version": "Beta"}, 403),
        ({"Authorization": "wrong"}, 401),
        ({"Authorization": TOKEN, "ld-api-version": "beta"}, 200),
    ]:
        async with checked_client(emu, contract, headers=headers) as http:
            response = await http.get(MG.format("checkout-web"))
        assert response.status_code == expected, headers
        if expected == 403:
            assert response.json()["code"] == "forbidden"
            assert "LD-API-Version: beta" in response.json()["message"]


async def test_request_log_records_everything_in_order(
    api: httpx.AsyncClient, emu: Emulator
) -> None:
    await api.get(GROUPS, params={"query": "a b", "limit": "2"})
    await api.post(f"{IG}/group", content=b'{"name": 1}', headers={"X-Trace": "abc"})
    await api.get("/api/v2/nothing")
    await api.get(GROUPS, headers={"Authorization": "wrong"})
    first, second, third, fourth = emu.requests
    assert (first.method, first.path, first.raw_path) == ("GET", GROUPS, GROUPS)
    assert first.query == [("query", "a b"), ("limit", "2")]
    assert (first.operation_id, first.status, first.disconnected) == (
        "getInsightGroups",
        200,
        False,
    )
    assert second.body == b'{"name": 1}'
    assert second.headers["x-trace"] == "abc"
    assert second.headers["ld-api-version"] == "beta"
    assert (second.operation_id, second.status) == ("createInsightGroup", 400)
    assert (third.operation_id, third.status) == (None, 404)
    assert (fourth.operation_id, fourth.status) == ("getInsightGroups", 401)
    assert emu.writes() == [second]
    assert TOKEN not in repr(first)
    assert "<redacted>" in repr(first)
    emu.clear_requests()
    assert emu.requests == []


async def test_rate_limit_headers_count_down_within_a_10_second_window(
    api: httpx.AsyncClient, emu: Emulator
) -> None:
    first = await api.get(GROUPS)
    second = await api.get(GROUPS)
    other = await api.get(SCORES, params={"projectKey": "checkout-web", "environmentKey": "test"})
    reset = int(second.headers["x-ratelimit-reset"])
    now = emu.clock()
    assert reset % 10_000 == 0
    assert now < reset <= now + 10_000
    if reset == int(first.headers["x-ratelimit-reset"]):  # same window
        assert int(second.headers["x-ratelimit-route-remaining"]) == (
            int(first.headers["x-ratelimit-route-remaining"]) - 1
        )
        assert int(other.headers["x-ratelimit-route-remaining"]) > int(
            second.headers["x-ratelimit-route-remaining"]
        )
        assert int(other.headers["x-ratelimit-global-remaining"]) == (
            int(first.headers["x-ratelimit-global-remaining"]) - 2
        )


# --- seeding and scores ----------------------------------------------------------------------


async def test_seeding_is_deterministic_for_the_same_anchor(contract: Contract) -> None:
    one, two = Emulator(token=TOKEN, now_ms=NOW_MS), Emulator(token=TOKEN, now_ms=NOW_MS)
    assert one.store.insight_groups == two.store.insight_groups
    assert one.store.metric_groups == two.store.metric_groups
    assert one.store.experiments == two.store.experiments
    requests = [
        (GROUPS, {"expand": "scores,environment,metadata"}),
        (SCORES, {"projectKey": "mobile-app", "environmentKey": "staging"}),
        (MG.format("checkout-web"), {"limit": 50}),
        (MG.format("mobile-app") + "/onboarding-funnel", {"expand": "experiments"}),
    ]
    for path, params in requests:
        async with checked_client(one, contract) as a, checked_client(two, contract) as b:
            assert (await a.get(path, params=params)).json() == (
                await b.get(path, params=params)
            ).json()
    later = Emulator(token=TOKEN, now_ms=NOW_MS + 7 * DAY_MS)
    shifted = {k: g["createdAt"] - 7 * DAY_MS for k, g in later.store.insight_groups.items()}
    assert shifted == {k: g["createdAt"] for k, g in one.store.insight_groups.items()}


def test_seed_is_realistic_and_projects_are_described() -> None:
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS)
    projects = emulator.store.projects
    assert [p.key for p in projects] == ["checkout-web", "mobile-app", "data-platform"]
    assert all(isinstance(p, SeedProject) and p.environments[0] == "production" for p in projects)
    assert all(2 <= len(p.environments) <= 3 and len(p.applications) >= 3 for p in projects)
    groups = emulator.store.insight_groups.values()
    assert len(groups) >= 12
    assert all(NOW_MS - 366 * DAY_MS < g["createdAt"] < NOW_MS for g in groups)
    for group in groups:
        project = emulator.store.project(group["projectKey"])
        assert project is not None
        assert group["environmentKey"] in project.environments
        assert set(group["applicationKeys"]) <= set(project.applications)
    for project in projects:
        kinds = {g["kind"] for g in emulator.store.metric_groups[project.key].values()}
        assert len(emulator.store.metric_groups[project.key]) >= 2
        assert kinds <= {"funnel", "standard"}
        for mg in emulator.store.metric_groups[project.key].values():
            assert {m["key"] for m in mg["metrics"]} <= set(emulator.store.metrics[project.key])
            assert {m["kind"] for m in mg["metrics"]} <= {"pageview", "click", "custom"}
    default = Emulator(token=TOKEN)
    assert default.store.now_ms % DAY_MS == 0
    assert 0 <= time.time() * 1000 - default.store.now_ms < DAY_MS


def _check_score(score: dict[str, Any], *, nested: bool = False) -> None:
    if score["indicator"] == "notCalculated":
        assert score == {
            "score": 0,
            "indicator": "notCalculated",
            "indicatorRange": {"min": 0, "max": 0},
        }
        return
    low, high = BANDS[score["indicator"]]
    assert low <= score["score"] <= high
    assert score["indicatorRange"] == {"min": low, "max": high}
    if nested:
        assert "lastPeriod" not in score
        assert "diffVsLastPeriod" not in score
        return
    assert score["diffVsLastPeriod"] == score["score"] - score["lastPeriod"]["score"]
    _check_score(score["lastPeriod"], nested=True)


def _mean(values: list[int]) -> int:
    return int(sum(values) / len(values) + 0.5)


def _check_aggregates(scores: dict[str, Any], *, has_experiments: bool) -> None:
    parts = {
        "velocity": ["deploymentFrequency", "leadTime"],
        "risk": ["deploymentFailureRate", "impactSize"],
        "efficiency": ["flagHealth", "experimentationCoverage"],
        "overall": ["velocity", "risk", "efficiency"],
    }
    coverage = scores["experimentationCoverage"]["indicator"]
    assert (coverage != "notCalculated") is has_experiments
    for composite, names in parts.items():
        used = [n for n in names if scores[n]["indicator"] != "notCalculated"]
        assert scores[composite]["aggregateOf"] == used
        for period in ("now", "last"):

            def value(name: str, period: str = period) -> int:
                score = scores[name] if period == "now" else scores[name]["lastPeriod"]
                return int(score["score"])

            expected = _mean([value(n) for n in used])
            assert value(composite) == expected, (composite, period)


async def test_scores_follow_bands_aggregates_and_diffs(
    api: httpx.AsyncClient, emu: Emulator
) -> None:
    for project in emu.store.projects:
        for environment in project.environments:
            for apps in ((), project.applications[:1], project.applications[1:3]):
                params = {"projectKey": project.key, "environmentKey": environment}
                if apps:
                    params["applicationKey"] = ",".join(apps)
                body = (await api.get(SCORES, params=params)).json()
                assert body["period"] == {"startTime": NOW_MS - 30 * DAY_MS, "endTime": NOW_MS}
                assert body["lastPeriod"] == {
                    "startTime": NOW_MS - 60 * DAY_MS,
                    "endTime": NOW_MS - 30 * DAY_MS,
                }
                assert len(body["scores"]) == 11
                for score in body["scores"].values():
                    _check_score(score)
                _check_aggregates(body["scores"], has_experiments=project.has_experiments)


async def test_group_scores_equal_the_scores_of_their_slice(
    api: httpx.AsyncClient, emu: Emulator
) -> None:
    indicators = set()
    for key, group in emu.store.insight_groups.items():
        scored = (await api.get(f"{GROUPS}/{key}", params={"expand": "scores"})).json()
        params = {"projectKey": group["projectKey"], "environmentKey": group["environmentKey"]}
        if group["applicationKeys"]:
            params["applicationKey"] = ",".join(reversed(group["applicationKeys"]))
        slice_ = (await api.get(SCORES, params=params)).json()
        assert scored["scores"] == slice_["scores"]
        indicators |= {s["indicator"] for s in scored["scores"].values()}
    assert indicators == {"excellent", "good", "fair", "needsAttention", "notCalculated"}


async def test_application_order_and_duplicates_do_not_change_a_slice(
    api: httpx.AsyncClient,
) -> None:
    base = {"projectKey": "checkout-web", "environmentKey": "production"}
    one = await api.get(SCORES, params={**base, "applicationKey": "checkout-api,web-storefront"})
    two = await api.get(
        SCORES, params={**base, "applicationKey": "web-storefront,,checkout-api,web-storefront"}
    )
    assert one.json()["scores"] == two.json()["scores"]
    assert two.json()["_links"]["self"]["href"].endswith(
        "applicationKey=web-storefront,checkout-api"
    )


async def test_plain_http_client_without_hooks_sees_the_same(emu: Emulator) -> None:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emu.app), base_url=BASE_URL, headers=HEADERS
    ) as http:
        response = await http.get(GROUPS, params={"limit": 1})
    assert response.headers["content-type"] == "application/json"
    assert int(response.headers["content-length"]) == len(response.content)
