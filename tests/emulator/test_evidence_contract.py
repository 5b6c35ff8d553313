"""The evidence operations (charts, deployments, pull requests, flag events, repositories):
every success and error answer against the vendored contract, bad parameters named, cursor
paging, and the typed models parsing every answer."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest
from pydantic import BaseModel

from ld_insights_mcp.emulator.charts import EMPTY_METRICS
from ld_insights_mcp.emulator.evidence_bands import LADDERS
from ld_insights_mcp.emulator.evidence_params import FUTURE_TO
from ld_insights_mcp.emulator.routes import EVIDENCE_OPERATIONS
from ld_insights_mcp.launchdarkly import evidence_models as m
from tests.support import Emulator, Fault

from .conftest import HEADERS, NOW_MS, TOKEN, Contract, checked_client, operation_ids, refusals

pytestmark = pytest.mark.anyio

EI = "/api/v2/engineering-insights"
DAY = 86_400_000
SLICE = {"projectKey": "checkout-web", "environmentKey": "production"}
MONTH = {"from": NOW_MS - 30 * DAY, "to": NOW_MS}
PATHS = {
    "getDeploymentFrequencyChart": f"{EI}/charts/deployments/frequency",
    "getLeadTimeChart": f"{EI}/charts/lead-time",
    "getReleaseFrequencyChart": f"{EI}/charts/releases/frequency",
    "getFlagStatusChart": f"{EI}/charts/flags/status",
    "getStaleFlagsChart": f"{EI}/charts/flags/stale",
    "getDeployments": f"{EI}/deployments",
    "getPullRequests": f"{EI}/pull-requests",
    "getFlagEvents": f"{EI}/flag-events",
    "getInsightsRepositories": f"{EI}/repositories",
}
MODELS: dict[str, type[BaseModel]] = {
    "getDeploymentFrequencyChart": m.InsightsChart,
    "getLeadTimeChart": m.InsightsChart,
    "getReleaseFrequencyChart": m.InsightsChart,
    "getFlagStatusChart": m.InsightsChart,
    "getStaleFlagsChart": m.InsightsChart,
    "getDeployments": m.DeploymentCollection,
    "getDeployment": m.Deployment,
    "getPullRequests": m.PullRequestCollection,
    "getFlagEvents": m.FlagEventCollection,
    "getInsightsRepositories": m.InsightsRepositoryCollection,
}
DEPLOYMENT_ID = "{deployment}"  # replaced by a real id listed first


@dataclass(frozen=True)
class Case:
    operation: str
    status: int
    params: dict[str, Any] = field(default_factory=dict)
    attribute: str | None = None
    label: str = ""
    path: str | None = None
    headers: dict[str, str] = field(default_factory=lambda: dict(HEADERS))
    fault: Fault | None = None

    @property
    def id(self) -> str:
        return f"{self.operation}-{self.status}-{self.label or self.attribute or ''}".rstrip("-")


def ok(operation: str, label: str = "", path: str | None = None, **params: Any) -> Case:
    return Case(operation, 200, params, label=label, path=path)


def bad(
    operation: str, attribute: str, label: str = "", path: str | None = None, **params: Any
) -> Case:
    return Case(operation, 400, params, attribute=attribute, label=label, path=path)


def missing(operation: str, label: str, path: str | None = None, **params: Any) -> Case:
    return Case(operation, 404, params, label=label, path=path)


DEP = f"{EI}/deployments/{DEPLOYMENT_ID}"
SUCCESSES = [
    ok("getDeploymentFrequencyChart", "plain"),
    ok("getDeploymentFrequencyChart", "no-project", **MONTH, groupBy="application"),
    ok(
        "getDeploymentFrequencyChart",
        "everything",
        **SLICE,
        applicationKey="checkout-api,web-storefront",
        **{"from": "2025-10-23T00:00:00Z", "to": "2025-11-22T00:00:00+00:00"},
        bucketType="day",
        groupBy="kind",
        expand="metrics",
    ),
    ok("getLeadTimeChart", "plain", projectKey="mobile-app"),
    ok(
        "getLeadTimeChart",
        "everything",
        **SLICE,
        **MONTH,
        bucketMs=7 * DAY,
        groupBy="application",
        expand="metrics,percentiles",
    ),
    ok(
        "getReleaseFrequencyChart",
        "everything",
        **SLICE,
        **MONTH,
        groupBy="impact",
        hasExperiments="false",
        expand="metrics",
        bucketType="hour",
    ),
    ok("getReleaseFrequencyChart", "global", **SLICE, **{"global": "exclude"}),
    ok("getFlagStatusChart", **SLICE, applicationKey="search-service"),
    ok("getStaleFlagsChart", "plain", **SLICE),
    ok(
        "getStaleFlagsChart",
        "grouped",
        projectKey="data-platform",
        environmentKey="staging",
        groupBy="maintainer",
        maintainerTeamKey="data-team,mobile-team",
        maintainerId="5f3a1c2b9d8e7f6a5b4c3d2e",
        expand="metrics",
    ),
    ok("getDeployments", "plain", **SLICE),
    ok(
        "getDeployments",
        "everything",
        **SLICE,
        **MONTH,
        limit=3,
        status="failed",
        kind="forward",
        expand="pullRequests,flagReferences",
    ),
    ok("getDeployment", path=DEP, expand="pullRequests,flagReferences"),
    ok("getPullRequests", "plain", projectKey="checkout-web"),
    ok(
        "getPullRequests",
        "everything",
        **SLICE,
        **{"from": "2025-09-01T00:00:00Z"},
        sort="-leadTime",
        status="deployed",
        limit=5,
        expand="deployments,flagReferences,leadTime",
    ),
    ok("getPullRequests", "query", **SLICE, query="ana", **MONTH),
    ok("getFlagEvents", "plain", **SLICE),
    ok(
        "getFlagEvents",
        "everything",
        **SLICE,
        **MONTH,
        impactSize="large",
        hasExperiments="true",
        expand="experiments",
        limit=2,
        **{"global": "include"},
    ),
    ok("getInsightsRepositories", "plain"),
    ok("getInsightsRepositories", "projects", expand="projects"),
]

ERRORS = [
    # charts
    bad("getDeploymentFrequencyChart", "from", "text", **{"from": "yesterday"}),
    bad("getDeploymentFrequencyChart", "from", "inverted", **{"from": NOW_MS, "to": NOW_MS - 1}),
    bad("getDeploymentFrequencyChart", "to", "naive", to="2025-11-22T00:00:00"),
    bad("getDeploymentFrequencyChart", "bucketType", bucketType="week"),
    bad("getDeploymentFrequencyChart", "bucketMs", "text", bucketMs="1d"),
    bad("getDeploymentFrequencyChart", "bucketMs", "many", bucketMs=60_000, **MONTH),
    bad("getDeploymentFrequencyChart", "groupBy", groupBy="stage"),
    bad("getDeploymentFrequencyChart", "expand", expand="percentiles"),
    bad("getDeploymentFrequencyChart", "projectKey", "env-alone", environmentKey="production"),
    bad("getDeploymentFrequencyChart", "applicationKey", **SLICE, applicationKey="ios-app"),
    missing("getDeploymentFrequencyChart", "project", projectKey="nope"),
    bad("getLeadTimeChart", "projectKey", "none"),
    bad("getLeadTimeChart", "from", "date-time", **SLICE, **{"from": "2025-10-23T00:00:00Z"}),
    bad("getLeadTimeChart", "groupBy", **SLICE, groupBy="kind"),
    bad("getLeadTimeChart", "expand", **SLICE, expand="experiments"),
    missing("getLeadTimeChart", "environment", projectKey="mobile-app", environmentKey="test"),
    bad("getReleaseFrequencyChart", "environmentKey", "none", projectKey="checkout-web"),
    bad("getReleaseFrequencyChart", "hasExperiments", **SLICE, hasExperiments="yes"),
    bad("getReleaseFrequencyChart", "global", **SLICE, **{"global": "only"}),
    bad("getReleaseFrequencyChart", "groupBy", **SLICE, groupBy="application"),
    missing("getReleaseFrequencyChart", "project", projectKey="nope", environmentKey="production"),
    bad("getFlagStatusChart", "projectKey", "none", environmentKey="production"),
    bad("getFlagStatusChart", "applicationKey", **SLICE, applicationKey="a,,b"),
    missing("getFlagStatusChart", "environment", projectKey="checkout-web", environmentKey="qa"),
    bad("getStaleFlagsChart", "environmentKey", "none", projectKey="checkout-web"),
    bad("getStaleFlagsChart", "groupBy", **SLICE, groupBy="status"),
    missing("getStaleFlagsChart", "project", projectKey="nope", environmentKey="production"),
    # lists
    bad("getDeployments", "projectKey", "none"),
    bad("getDeployments", "limit", "0", **SLICE, limit=0),
    bad("getDeployments", "limit", "101", **SLICE, limit=101),
    bad("getDeployments", "from", "date-time", **SLICE, **{"from": "2025-10-23T00:00:00Z"}),
    bad("getDeployments", "to", "float", **SLICE, to="1.5"),
    bad("getDeployments", "after", "cursor", **SLICE, after="not-an-item"),
    bad("getDeployments", "expand", **SLICE, expand="deployments"),
    missing("getDeployments", "environment", projectKey="checkout-web", environmentKey="qa"),
    bad("getDeployment", "deploymentID", path=f"{EI}/deployments/not-a-uuid"),
    bad("getDeployment", "expand", path=DEP, expand="leadTime"),
    missing(
        "getDeployment", "unknown", path=f"{EI}/deployments/00000000-0000-4000-8000-000000000000"
    ),
    bad("getPullRequests", "projectKey", "none"),
    bad("getPullRequests", "environmentKey", "sort", projectKey="checkout-web", sort="leadTime"),
    bad("getPullRequests", "sort", **SLICE, sort="createdAt"),
    bad("getPullRequests", "status", **SLICE, status="draft"),
    bad("getPullRequests", "from", "text", **SLICE, **{"from": "last week"}),
    bad("getPullRequests", "before", "both", **SLICE, after="x", before="y"),
    missing("getPullRequests", "project", projectKey="nope"),
    bad("getFlagEvents", "environmentKey", "none", projectKey="checkout-web"),
    bad("getFlagEvents", "impactSize", **SLICE, impactSize="huge"),
    bad("getFlagEvents", "hasExperiments", **SLICE, hasExperiments="1"),
    bad("getFlagEvents", "to", "date-time", **SLICE, to="2025-11-22T00:00:00Z"),
    bad("getFlagEvents", "limit", **SLICE, limit="many"),
    missing("getFlagEvents", "project", projectKey="nope", environmentKey="production"),
    bad("getInsightsRepositories", "expand", expand="pullRequests"),
]
ALL_CASES = SUCCESSES + ERRORS + refusals(SUCCESSES)


async def _deployment_id(http: httpx.AsyncClient) -> str:
    listed = await http.get(PATHS["getDeployments"], params=SLICE, headers=HEADERS)
    return str(listed.json()["items"][0]["id"])


@pytest.mark.parametrize("case", ALL_CASES, ids=lambda c: c.id)
async def test_every_evidence_answer_matches_the_contract(case: Case, contract: Contract) -> None:
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS)
    async with checked_client(emulator, contract, headers=case.headers) as http:
        path = case.path or PATHS[case.operation]
        if DEPLOYMENT_ID in path:
            path = path.replace(DEPLOYMENT_ID, await _deployment_id(http))
        if case.fault is not None:
            emulator.faults.push(case.operation, case.fault)
        response = await http.get(path, params=case.params)
    assert response.status_code == case.status, response.text
    assert emulator.requests[-1].operation_id == case.operation
    if case.status >= 400:
        body = response.json()
        assert body["code"]
        assert body["message"]
        assert TOKEN not in response.text
    if case.status == 400:
        assert case.attribute in [e["attribute"] for e in response.json()["errors"]]
        assert case.attribute in response.json()["message"]
    if case.status == 200:
        MODELS[case.operation].model_validate(response.json())


def test_every_evidence_operation_is_covered_with_success_and_its_errors(
    contract: Contract,
) -> None:
    covered: dict[str, set[int]] = {}
    for case in ALL_CASES:
        covered.setdefault(case.operation, set()).add(case.status)
    assert set(covered) == operation_ids(EVIDENCE_OPERATIONS)
    documented = {
        op["operationId"]: set(map(int, op["responses"])) for *_, op in contract.operations()
    }
    for operation, statuses in covered.items():
        assert statuses <= documented[operation], operation
        assert {200, 400, 401, 403, 429} <= statuses, operation
        if operation != "getInsightsRepositories":  # nothing it names can be missing
            assert 404 in statuses, operation


# --- cursor paging ----------------------------------------------------------------------------

LISTS = [
    ("getDeployments", {**SLICE, **MONTH}),
    ("getPullRequests", {**SLICE, "from": NOW_MS - 60 * DAY, "sort": "-leadTime"}),
    ("getFlagEvents", {**SLICE, "from": NOW_MS - 90 * DAY, "impactSize": "small"}),
]


@pytest.mark.parametrize(("operation", "filters"), LISTS, ids=[op for op, _ in LISTS])
async def test_cursor_paging_walks_every_item_once_with_the_filters_resent(
    api: httpx.AsyncClient, operation: str, filters: dict[str, Any]
) -> None:
    everything = (await api.get(PATHS[operation], params={**filters, "limit": 100})).json()
    assert 7 < everything["totalCount"] <= 100
    expected = [item["id"] for item in everything["items"]]
    seen: list[str] = []
    after: str | None = None
    pages = 0
    while True:
        params = {**filters, "limit": 3} | ({"after": after} if after else {})
        page = (await api.get(PATHS[operation], params=params)).json()
        pages += 1
        assert page["totalCount"] == everything["totalCount"]
        seen += [item["id"] for item in page["items"]]
        collection = MODELS[operation].model_validate(page)
        assert isinstance(
            collection, m.DeploymentCollection | m.PullRequestCollection | m.FlagEventCollection
        )
        after = m.next_cursor(collection.links)
        if after is None:
            break
        assert "next" in page["_links"]
    assert seen == expected
    assert len(set(seen)) == len(seen)
    assert pages == -(-len(expected) // 3)


async def test_before_pages_backwards_to_the_previous_page(api: httpx.AsyncClient) -> None:
    params = {**SLICE, **MONTH, "limit": 4}
    first = (await api.get(PATHS["getFlagEvents"], params=params)).json()
    second = (
        await api.get(PATHS["getFlagEvents"], params={**params, "after": first["items"][-1]["id"]})
    ).json()
    back = (
        await api.get(PATHS["getFlagEvents"], params={**params, "before": second["items"][0]["id"]})
    ).json()
    assert [e["id"] for e in back["items"]] == [e["id"] for e in first["items"]]
    assert "prev" in second["_links"]


async def test_the_next_link_drops_the_filters_as_the_contract_example_shows(
    api: httpx.AsyncClient,
) -> None:
    """Following ``_links.next`` as is loses projectKey and environmentKey: a 400. Clients
    must send the ``after`` value with their filters again."""
    page = (await api.get(PATHS["getDeployments"], params={**SLICE, **MONTH, "limit": 2})).json()
    href = page["_links"]["next"]["href"]
    assert href == f"{PATHS['getDeployments']}?after={page['items'][-1]['id']}"
    followed = await api.get(href)
    assert followed.status_code == 400
    assert followed.json()["errors"][0]["attribute"] == "projectKey"


async def test_a_cursor_from_another_query_is_refused(api: httpx.AsyncClient) -> None:
    staging = (
        await api.get(
            PATHS["getDeployments"],
            params={"projectKey": "checkout-web", "environmentKey": "staging", **MONTH},
        )
    ).json()
    response = await api.get(
        PATHS["getDeployments"], params={**SLICE, **MONTH, "after": staging["items"][0]["id"]}
    )
    assert response.status_code == 400
    assert response.json()["errors"][0]["attribute"] == "after"


# --- filters and lookups -------------------------------------------------------------------------


async def test_filters_narrow_the_lists(api: httpx.AsyncClient) -> None:
    window = {**SLICE, "from": NOW_MS - 90 * DAY, "limit": 100}
    failed = (await api.get(PATHS["getDeployments"], params={**window, "status": "failed"})).json()
    assert failed["items"]
    assert {d["status"] for d in failed["items"]} == {"failed"}
    large = (await api.get(PATHS["getFlagEvents"], params={**window, "impactSize": "large"})).json()
    assert {e["impact"]["size"] for e in large["items"]} == {"large"}
    assert all(e["impact"]["percentage"] > 80 for e in large["items"])
    prs = await api.get(
        PATHS["getPullRequests"], params={**window, "sort": "-leadTime", "expand": "leadTime"}
    )
    totals = [p["leadTime"].get("avgTotalLeadTimeMs") for p in prs.json()["items"]]
    known = [t for t in totals if t is not None]
    assert known == sorted(known, reverse=True)
    assert totals[: len(known)] == known  # pull requests without a lead time come last


async def test_a_listed_deployment_is_found_by_id_in_a_fresh_emulator(contract: Contract) -> None:
    async with checked_client(Emulator(token=TOKEN, now_ms=NOW_MS), contract) as first:
        listed = (
            await first.get(
                PATHS["getDeployments"],
                params={"projectKey": "mobile-app", "environmentKey": "production", **MONTH},
            )
        ).json()["items"][0]
    async with checked_client(Emulator(token=TOKEN, now_ms=NOW_MS), contract) as second:
        fetched = await second.get(
            f"{EI}/deployments/{listed['id']}", params={"expand": "pullRequests"}
        )
    assert fetched.status_code == 200
    body = fetched.json()
    assert {k: v for k, v in body.items() if k != "pullRequests"} == listed
    assert body["pullRequests"]["totalCount"] == listed["numberOfPullRequests"]


async def test_the_evidence_is_deterministic_given_now_ms(contract: Contract) -> None:
    answers = []
    for _ in range(2):
        async with checked_client(Emulator(token=TOKEN, now_ms=NOW_MS), contract) as http:
            answers.append((await http.get(PATHS["getPullRequests"], params=SLICE)).json())
    assert answers[0] == answers[1]


EMPTY_WINDOW = {"from": NOW_MS - 200 * DAY, "to": NOW_MS - 170 * DAY}
"""30 days long before the seeded data begins: no deployment, pull request or flag change."""
OVER_NOTHING = {
    PATHS["getDeploymentFrequencyChart"]: {**SLICE, **EMPTY_WINDOW},
    PATHS["getLeadTimeChart"]: {**SLICE, **EMPTY_WINDOW},
    PATHS["getReleaseFrequencyChart"]: {**SLICE, **EMPTY_WINDOW},
    PATHS["getStaleFlagsChart"]: {**SLICE, "maintainerId": "nobody-maintains-these"},
}
"""Each chart with metrics, over nothing (a maintainer with no flag for the stale chart)."""


@pytest.mark.parametrize("empty_metrics", EMPTY_METRICS)
async def test_a_metric_over_nothing_is_answered_as_the_option_says(
    empty_metrics: str, contract: Contract
) -> None:
    """Ratios and means over nothing are omitted, marked or banded; deployments per day over
    an empty window stay a value (0), and every answer is the contract's."""
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS)
    emulator.charts.empty_metrics = empty_metrics
    found: dict[str, Any] = {}
    async with checked_client(emulator, contract) as http:
        for path, params in OVER_NOTHING.items():
            answer = await http.get(path, params={**params, "expand": "metrics"})
            assert answer.status_code == 200, answer.text
            found |= answer.json()["metadata"]["metrics"]
    frequency = found.pop("deploymentFrequency")
    assert (frequency["value"], frequency["indicator"]) == (0, "needsAttention")
    ratios = {"deploymentFailureRate", "leadTime", "impactSize", "experimentationCoverage"}
    if empty_metrics == "omitted":
        assert found == {}
        return
    assert set(found) == ratios | {"flagHealth"}
    for name, metric in found.items():
        assert metric["value"] == 0, name
        expected = LADDERS[name].band(0.0) if empty_metrics == "banded" else empty_metrics
        assert metric["indicator"] == expected, name


async def test_a_metric_over_something_is_never_marked(contract: Contract) -> None:
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS)
    emulator.charts.empty_metrics = "notCalculated"
    async with checked_client(emulator, contract) as http:
        answer = await http.get(
            PATHS["getLeadTimeChart"], params={**SLICE, **MONTH, "expand": "metrics"}
        )
    assert answer.json()["metadata"]["metrics"]["leadTime"]["indicator"] != "notCalculated"


async def test_an_unknown_empty_metrics_option_is_refused_by_name(contract: Contract) -> None:
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS)
    emulator.charts.empty_metrics = "zero"
    async with checked_client(emulator, contract) as http:
        with pytest.raises(ValueError, match="empty_metrics must be one of omitted, notCalc"):
            await http.get(PATHS["getLeadTimeChart"], params={**SLICE, "expand": "metrics"})


WINDOWED = (
    "getDeploymentFrequencyChart",
    "getLeadTimeChart",
    "getReleaseFrequencyChart",
    "getDeployments",
    "getPullRequests",
    "getFlagEvents",
)
"""Every operation that takes ``from``/``to``."""


def test_every_operation_with_a_window_is_listed(contract: Contract) -> None:
    """The future_to tests below cover each operation the contract gives a ``to``."""
    found = {
        op["operationId"]
        for _, _, op in contract.operations()
        if any(p["name"] == "to" for p in op.get("parameters", []))
    }
    assert found == set(WINDOWED)


@pytest.mark.parametrize("future_to", FUTURE_TO)
@pytest.mark.parametrize("operation", WINDOWED)
async def test_a_to_after_now_is_answered_as_the_option_says(
    operation: str, future_to: str, contract: Contract
) -> None:
    """``refuse``: a ``to`` one second after now is a 400 naming ``to``; ``accept`` reads it.
    A ``to`` at now, or none (the contract's default: now), is read under both."""
    now = NOW_MS + 3_600_000
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS, clock=lambda: now)
    emulator.windows.future_to = future_to
    week = {"from": now - 7 * DAY}
    async with checked_client(emulator, contract) as http:
        ahead = await http.get(PATHS[operation], params={**SLICE, **week, "to": now + 1_000})
        at_now = await http.get(PATHS[operation], params={**SLICE, **week, "to": now})
        omitted = await http.get(PATHS[operation], params={**SLICE, **week})
    if future_to == "refuse":
        assert ahead.status_code == 400, ahead.text
        assert [e["attribute"] for e in ahead.json()["errors"]] == ["to"]
    else:
        assert ahead.status_code == 200, ahead.text
    assert (at_now.status_code, omitted.status_code) == (200, 200)
    assert omitted.json() == at_now.json()  # to omitted is to = now


async def test_an_unknown_future_to_option_is_refused_by_name(contract: Contract) -> None:
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS)
    emulator.windows.future_to = "clamp"
    async with checked_client(emulator, contract) as http:
        with pytest.raises(ValueError, match="future_to must be one of accept, refuse"):
            await http.get(PATHS["getDeployments"], params=SLICE)
