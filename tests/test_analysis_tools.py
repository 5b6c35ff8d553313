"""The analysis tools (explain_score, insights_digest, diagnose_data_coverage) through a real
MCP client against the emulator. Expected facts are read from the emulator over HTTP, not
written down: the tools must say what the data says."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from mcp import Client

from tests.support import Emulator, Fault

from .conftest import TOKEN
from .mcp_helpers import structured, text_of

pytestmark = pytest.mark.anyio

EI = "/api/v2/engineering-insights"
LEAVES = (
    "deploymentFrequency",
    "leadTime",
    "deploymentFailureRate",
    "impactSize",
    "flagHealth",
    "experimentationCoverage",
)
CALCULATED = ("excellent", "good", "fair", "needsAttention")


@pytest.fixture
async def http(transport: httpx.AsyncBaseTransport) -> AsyncIterator[httpx.AsyncClient]:
    headers = {"Authorization": TOKEN, "LD-API-Version": "beta"}
    async with httpx.AsyncClient(
        transport=transport, base_url="http://emulator", headers=headers
    ) as client:
        yield client


async def _get(http: httpx.AsyncClient, path: str, **params: Any) -> Any:
    answer = await http.get(path, params=params)
    assert answer.status_code == 200, answer.text
    return answer.json()


async def _group(http: httpx.AsyncClient, key: str) -> dict[str, Any]:
    return dict(await _get(http, f"{EI}/insights/groups/{key}", expand="scores"))


def _stage_means(chart: dict[str, Any]) -> dict[str, float]:
    means = {}
    for series in chart["series"]:
        points = [p for p in series["data"] if p["values"].get("count", 1)]
        weight = sum(p["values"].get("count", 1) for p in points)
        if weight:
            means[series["metadata"]["name"]] = (
                sum(p["y"] * p["values"].get("count", 1) for p in points) / weight
            )
    return means


# --- explain_score ----------------------------------------------------------------------------


async def test_explain_lead_time_of_a_group_shows_its_score_driver_and_slowest_prs(
    server_factory: Callable[..., Any], http: httpx.AsyncClient, client_mode: str
) -> None:
    group = await _group(http, "checkout-squad")
    period, last = group["scoreMetadata"]["period"], group["scoreMetadata"]["lastPeriod"]
    slice_ = {
        "projectKey": group["projectKey"],
        "environmentKey": group["environmentKey"],
        "applicationKey": ",".join(group["applicationKeys"]),
    }

    def window(p: dict[str, int]) -> dict[str, Any]:
        span = p["endTime"] - p["startTime"]
        return {"from": p["startTime"], "to": p["endTime"], "bucketMs": span}

    now = await _get(http, f"{EI}/charts/lead-time", **slice_, **window(period), expand="metrics")
    before = await _get(http, f"{EI}/charts/lead-time", **slice_, **window(last), expand="metrics")
    # The metric's pull requests: those of the deployments that finished in the period (read
    # from a day before it: a deployment is listed by when it started).
    deployments = await _get(
        http,
        f"{EI}/deployments",
        **slice_,
        **{"from": period["startTime"] - 86_400_000, "to": period["endTime"]},
        expand="pullRequests",
        limit=100,
    )
    counted = {
        p["id"]: p
        for d in deployments["items"]
        if d["status"] == "finished" and period["startTime"] <= d["endedAt"] <= period["endTime"]
        for p in d["pullRequests"]["items"]
    }
    slowest = sorted(counted.values(), key=lambda p: -p["leadTime"]["avgTotalLeadTimeMs"])
    stages_now, stages_last = _stage_means(now), _stage_means(before)
    rises = {s: stages_now[s] - stages_last[s] for s in stages_now if s in stages_last}
    value = now["metadata"]["metrics"]["leadTime"]["value"]
    last_value = before["metadata"]["metrics"]["leadTime"]["value"]
    worse = value > last_value  # lower lead time is better
    driver = (max if worse else min)(rises, key=lambda s: rises[s])
    expected_prs = [f"#{p['externalId']}" for p in slowest[:5]]
    score = group["scores"]["leadTime"]

    async with Client(server_factory(), mode=client_mode) as client:
        result = await client.call_tool(
            "explain_score", {"category": "leadTime", "group_key": "checkout-squad"}
        )
    data = structured(result)
    assert data["category"]["score"] == score["score"]
    assert data["category"]["indicator"] == score["indicator"]
    assert data["category"]["change"] == score["diffVsLastPeriod"]
    (leaf,) = data["explained"]
    assert [e["id"] for e in leaf["evidence"]] == expected_prs
    assert 3 <= len(leaf["evidence"]) <= 5
    stage_word = {"wait": "deploy wait"}.get(driver, driver)
    assert leaf["driven_by"]["direction"] == ("worsened" if worse else "improved")
    assert leaf["driven_by"]["part"] == driver
    assert f"({'worse' if worse else 'better'}): {stage_word} stage" in leaf["driver"]
    metric = now["metadata"]["metrics"]["leadTime"]
    assert f"({metric['indicator']}" in leaf["metric"]
    assert data["calls"]["made"][0] == "getInsightGroup"
    assert len(data["calls"]["made"]) == 4
    assert data["calls"]["rounds"] == 2  # the group's slice was not known before its read
    assert data["calls"]["missing"] == {}
    text = text_of(result)
    for pr in expected_prs:
        assert pr in text


async def test_lead_time_evidence_cut_short_says_so(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    """When LaunchDarkly lists more finished deployments than this call reads, the slowest
    pull requests shown may not be the slowest of the period: the evidence says so."""

    def many(body: Any) -> Any:
        body["totalCount"] = 1_500
        body.get("_links", {}).pop("next", None)
        return body

    emulator.faults.push("getDeployments", Fault(edit=many))
    async with Client(server_factory()) as client:
        result = await client.call_tool(
            "explain_score", {"category": "leadTime", "group_key": "checkout-squad"}
        )
    (leaf,) = structured(result)["explained"]
    read = len([e for e in leaf["evidence"] if e["kind"] == "pull_request"])
    assert 3 <= read <= 5
    assert leaf["evidence"][-1]["kind"] == "note"
    assert "of 1500 listed: a slower pull request may be among the rest" in text_of(result)


async def test_explain_a_composite_descends_into_its_two_weakest_parts(
    server_factory: Callable[..., Any], http: httpx.AsyncClient
) -> None:
    scores = await _get(
        http, f"{EI}/insights/scores", projectKey="checkout-web", environmentKey="production"
    )
    leaves = [
        (name, scores["scores"][name])
        for name in LEAVES
        if scores["scores"][name]["indicator"] in CALCULATED
    ]
    leaves.sort(key=lambda pair: (pair[1]["score"], pair[1].get("diffVsLastPeriod", 0)))
    expected = [name for name, _ in leaves[:2]]
    period = scores["period"]
    failed = await _get(
        http,
        f"{EI}/deployments",
        projectKey="checkout-web",
        environmentKey="production",
        status="failed",
        limit=100,
        **{"from": period["startTime"], "to": period["endTime"]},
    )

    async with Client(server_factory()) as client:
        result = await client.call_tool(
            "explain_score",
            {"category": "overall", "project_key": "checkout-web", "environment_key": "production"},
        )
    data = structured(result)
    assert [leaf["category"] for leaf in data["explained"]] == expected
    assert [p["category"] for p in data["parts"]] == ["velocity", "risk", "efficiency"]
    assert data["category"]["score"] == scores["scores"]["overall"]["score"]
    by_category = {leaf["category"]: leaf for leaf in data["explained"]}
    if "deploymentFailureRate" in by_category:
        versions = [d["applicationVersion"] for d in failed["items"]][:5]
        assert [e["id"] for e in by_category["deploymentFailureRate"]["evidence"]] == versions
    assert 3 <= len(data["calls"]["made"]) <= 7


async def test_explain_score_runs_its_reads_concurrently_and_reports_progress(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.latency = 0.05  # reads overlap only if they are in flight together
    progress: list[tuple[float, float | None, str | None]] = []

    async def on_progress(done: float, total: float | None, message: str | None) -> None:
        progress.append((done, total, message))

    async with Client(server_factory()) as client:
        emulator.reset_max_in_flight()
        result = await client.call_tool(
            "explain_score",
            {
                "category": "velocity",
                "project_key": "checkout-web",
                "environment_key": "production",
            },
            progress_callback=on_progress,
        )
    data = structured(result)
    made, discarded = data["calls"]["made"], data["calls"]["discarded"]
    assert emulator.max_in_flight > 1
    # Reads for the guessed periods (the wall clock's, not this emulator's) are reported too.
    assert len(progress) == len(made) + len(discarded)
    assert [p[0] for p in progress] == list(range(1, len(progress) + 1))
    totals = [p[1] for p in progress]
    assert totals == sorted(totals)
    assert totals[-1] == len(progress)
    assert {p[2] for p in progress} == set(made) | set(discarded)


async def test_explain_score_returns_what_it_has_when_one_read_fails(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.faults.push("getDeployments", Fault(status=403))
    async with Client(server_factory()) as client:
        result = await client.call_tool(
            "explain_score", {"category": "leadTime", "group_key": "payments-api"}
        )
    data = structured(result)
    (leaf,) = data["explained"]
    (missing,) = data["calls"]["missing"]
    assert missing.startswith("getDeployments")
    assert leaf["missing"] == [missing]
    assert leaf["evidence"] == []
    assert leaf["driver"]
    assert leaf["metric"]
    assert "MISSING" in text_of(result)
    assert "403" in text_of(result)


@pytest.mark.parametrize(
    ("arguments", "field"),
    [
        ({"category": "speed", "group_key": "checkout-squad"}, "category"),
        ({"category": "leadTime", "group_key": "checkout squad"}, "group_key"),
        (
            {"category": "leadTime", "group_key": "checkout-squad", "project_key": "checkout-web"},
            "group_key",
        ),
        ({"category": "leadTime", "project_key": "checkout-web"}, "environment_key"),
        ({"category": "leadTime", "application_keys": "web-storefront"}, "application_keys"),
    ],
)
async def test_explain_score_refuses_bad_input_without_any_request(
    server_factory: Callable[..., Any], emulator: Emulator, arguments: dict[str, Any], field: str
) -> None:
    async with Client(server_factory()) as client:
        result = await client.call_tool("explain_score", arguments)
    assert result.is_error
    assert emulator.requests == []
    assert field in text_of(result)


# --- insights_digest --------------------------------------------------------------------------


async def _create_groups(http: httpx.AsyncClient, count: int) -> None:
    for i in range(count):
        answer = await http.post(
            f"{EI}/insights/group",
            json={
                "name": f"Extra {i}",
                "key": f"extra-{i}",
                "projectKey": "mobile-app",
                "environmentKey": "staging",
                "applicationKeys": ["mobile-api"],
            },
        )
        assert answer.status_code == 201, answer.text


async def _all_groups(http: httpx.AsyncClient) -> list[dict[str, Any]]:
    groups: list[dict[str, Any]] = []
    while True:
        page = await _get(
            http, f"{EI}/insights/groups", limit=20, offset=len(groups), expand="scores"
        )
        groups += page["items"]
        if len(groups) >= page["totalCount"]:
            return groups


async def test_digest_ranks_every_group_across_pages_with_bands_drops_and_next_call(
    server_factory: Callable[..., Any], http: httpx.AsyncClient, client_mode: str
) -> None:
    await _create_groups(http, 7)  # more than one page of 20
    groups = await _all_groups(http)
    assert len(groups) > 20
    ranked = sorted(groups, key=lambda g: (-g["scores"]["overall"]["score"], g["key"]))
    bands: dict[str, int] = {}
    for g in groups:
        bands[g["scores"]["overall"]["indicator"]] = (
            bands.get(g["scores"]["overall"]["indicator"], 0) + 1
        )
    fallen = [g for g in groups if g["scores"]["overall"]["diffVsLastPeriod"] < 0]
    worst = min(fallen, key=lambda g: (g["scores"]["overall"]["diffVsLastPeriod"], g["key"]))

    async with Client(server_factory(), mode=client_mode) as client:
        result = await client.call_tool("insights_digest", {})
    data = structured(result)
    assert [g["key"] for g in data["groups"]] == [g["key"] for g in ranked]
    assert data["total_groups"] == len(groups)
    assert {k: v for k, v in data["band_counts"].items() if v} == bands
    assert data["most_regressed"].startswith(f'"{worst["key"]}" ')
    weakest = min(
        (n for n in LEAVES if worst["scores"][n]["indicator"] in CALCULATED),
        key=lambda n: (worst["scores"][n]["score"], worst["scores"][n].get("diffVsLastPeriod", 0)),
    )
    assert data["next_call"] == (f'explain_score(group_key="{worst["key"]}", category="{weakest}")')
    assert data["calls"]["made"] == ["getInsightGroups(offset=0)", "getInsightGroups(offset=20)"]
    drops = data["biggest_drops"]
    assert drops == sorted(drops, key=lambda d: d["change"])
    for drop in drops:
        group = next(g for g in groups if g["key"] == drop["group_key"])
        score = group["scores"][drop["category"]]
        assert (drop["before"], drop["after"]) == (score["lastPeriod"]["score"], score["score"])
    assert f"Next: {data['next_call']}" in text_of(result)


async def test_digest_names_a_page_that_failed_and_ranks_the_rest(
    server_factory: Callable[..., Any], emulator: Emulator, http: httpx.AsyncClient
) -> None:
    await _create_groups(http, 7)
    emulator.faults.push("getInsightGroups", Fault(), Fault(status=404))  # page 2 fails
    async with Client(server_factory()) as client:
        result = await client.call_tool("insights_digest", {})
    data = structured(result)
    assert list(data["calls"]["missing"]) == ["getInsightGroups(offset=20)"]
    assert len(data["groups"]) == 20
    assert data["total_groups"] == 22
    assert "(20 shown)" in text_of(result)


async def test_digest_refuses_bad_input_without_any_request(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(server_factory()) as client:
        for arguments in ({"max_groups": 0}, {"query": "a\u200bb"}, {"max_groups": "5"}):
            result = await client.call_tool("insights_digest", arguments)
            assert result.is_error, arguments
    assert emulator.requests == []


# --- diagnose_data_coverage -------------------------------------------------------------------


async def test_coverage_reports_stuck_deployments_unlinked_versions_and_undeployed_prs(
    server_factory: Callable[..., Any], http: httpx.AsyncClient, client_mode: str
) -> None:
    scope = {"projectKey": "checkout-web", "environmentKey": "production"}
    scores = await _get(http, f"{EI}/insights/scores", **scope)
    window = {"from": scores["period"]["startTime"], "to": scores["period"]["endTime"]}
    deployments = await _get(http, f"{EI}/deployments", **scope, **window, limit=100)
    merged = await _get(http, f"{EI}/pull-requests", **scope, **window, status="merged")
    repositories = await _get(http, f"{EI}/repositories", expand="projects")
    stuck = [d["applicationVersion"] for d in deployments["items"] if d["status"] == "started"]
    linked = [
        r["key"]
        for r in repositories["items"]
        if any(p["key"] == "checkout-web" for p in r["projects"]["items"])
    ]

    async with Client(server_factory(), mode=client_mode) as client:
        result = await client.call_tool(
            "diagnose_data_coverage",
            {"project_key": "checkout-web", "environment_key": "production"},
        )
    data = structured(result)
    findings = {f["check"]: f for f in data["findings"]}
    assert findings["repositories linked"]["status"] == "ok"
    assert f"{len(linked)} linked" in findings["repositories linked"]["detail"]
    assert findings["deployments arriving"]["detail"].startswith(
        f"{deployments['totalCount']} in the period"
    )
    stuck_finding = findings["deployments stuck in progress"]
    assert stuck_finding["status"] == ("problem" if stuck else "ok")
    for version in stuck:
        assert version in stuck_finding["detail"]
        assert version in findings["versions linked to pull requests"]["detail"]
    undeployed = findings["pull requests never deployed"]
    assert undeployed["detail"].startswith(f"{merged['totalCount']} merged")
    assert undeployed["fix"]
    assert len(data["calls"]["made"]) == 5


async def test_coverage_explains_not_calculated_experimentation(
    server_factory: Callable[..., Any], http: httpx.AsyncClient
) -> None:
    scores = await _get(
        http, f"{EI}/insights/scores", projectKey="data-platform", environmentKey="production"
    )
    missing = [k for k, v in scores["scores"].items() if v["indicator"] == "notCalculated"]
    async with Client(server_factory()) as client:
        result = await client.call_tool("diagnose_data_coverage", {"group_key": "ingest-team"})
    data = structured(result)
    assert "experimentationCoverage" in missing
    assert "experimentationCoverage" in data["not_calculated"]
    assert any(
        f["status"] == "problem" and "experimentationCoverage" in f["affects"]
        for f in data["findings"]
    )


async def test_coverage_marks_the_checks_of_a_failed_read_unknown(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.faults.push("getInsightsRepositories", Fault(status=403))
    async with Client(server_factory()) as client:
        result = await client.call_tool(
            "diagnose_data_coverage",
            {"project_key": "checkout-web", "environment_key": "production"},
        )
    data = structured(result)
    assert list(data["calls"]["missing"]) == ["getInsightsRepositories(now, expand=projects)"]
    findings = {f["check"]: f for f in data["findings"]}
    assert findings["repositories linked"]["status"] == "unknown"
    assert findings["deployments arriving"]["status"] == "ok"


async def test_coverage_refuses_bad_input_without_any_request(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(server_factory()) as client:
        result = await client.call_tool(
            "diagnose_data_coverage", {"group_key": "x", "environment_key": "production"}
        )
    assert result.is_error
    assert "group_key" in text_of(result)
    assert emulator.requests == []


# --- prompts and resources --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("prompt", "arguments", "tools"),
    [
        (
            "investigate_score",
            {"category": "leadTime", "project_key": "p", "environment_key": "e"},
            ("explain_score", "diagnose_data_coverage"),
        ),
        (
            "summarize_engineering_health",
            {"project_key": "p", "environment_key": "e"},
            ("insights_digest", "explain_score"),
        ),
        (
            "weekly_engineering_report",
            {"project_key": "p", "environment_key": "e"},
            ("insights_digest", "explain_score", "diagnose_data_coverage"),
        ),
    ],
)
async def test_prompts_use_the_analysis_tools_that_exist(
    server_factory: Callable[..., Any], prompt: str, arguments: dict[str, str], tools: tuple[str]
) -> None:
    async with Client(server_factory()) as client:
        offered = {t.name for t in (await client.list_tools()).tools}
        result = await client.get_prompt(prompt, arguments)
    text = str(result.messages[0].content.text)  # type: ignore[union-attr]
    for tool in tools:
        assert f"`{tool}`" in text, (prompt, tool)
        assert tool in offered, (prompt, tool)


async def test_each_category_resource_names_the_tools_that_show_its_evidence(
    server_factory: Callable[..., Any],
) -> None:
    async with Client(server_factory()) as client:
        offered = {t.name for t in (await client.list_tools()).tools}
        for category in (*LEAVES, "overall", "velocity", "risk", "efficiency"):
            found = await client.read_resource(f"insights://score-categories/{category}")
            text = found.contents[0].text  # type: ignore[union-attr]
            evidence = text.split("**Evidence**:", 1)[1].split("\n\n", 1)[0]
            named = {word.split("(")[0] for word in evidence.replace("- ", "").split()}
            assert "explain_score" in named, category
            assert named & offered, category
