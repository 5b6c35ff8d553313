"""explain_score tells the truth, for every emulator scope (each project environment and each
insight group) and every category its scores list (composites and creationRatio included),
under several anchors of the seeded data and every plausible alignment of the score periods:

- it answers;
- a ratio or mean over nothing (no deployment, deployed pull request, flag change, flag or
  archived flag in the period) is stated as no value, saying why, under every way the
  emulator's charts may state it (``charts.EMPTY_METRICS``);
- the metric it states, this period and last, equals the value recomputed here from the
  emulator's charts and lists for the periods the scores state (with this file's own
  arithmetic, not the server's);
- the driver's direction is the metric's change, and the part it names moved the metric that
  way, more than any other part (a counter-trend moved it the other way);
- every evidence identifier exists in that scope's data; lead time's pull requests are those of
  the deployments that finished in the period (the set its chart averages);
- a score that moved while its metric did not, or moved the other way, carries a caveat that
  the score is LaunchDarkly's; one that moved with its metric carries none.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest
from hypothesis import Phase, given, settings
from hypothesis import strategies as st
from mcp import Client

from ld_insights_mcp.emulator import Emulator
from ld_insights_mcp.emulator.charts import EMPTY_METRICS
from ld_insights_mcp.emulator.scores import PERIOD_ALIGNMENTS
from ld_insights_mcp.emulator.seed import DAY_MS, INSIGHT_GROUPS, PROJECTS
from ld_insights_mcp.surface.server import create_server

from .conftest import NOW_MS, TOKEN, make_settings

EI = "/api/v2/engineering-insights"
HOUR_MS = 3_600_000
HIGHER_IS_BETTER = {
    "deploymentFrequency": True,
    "deploymentFailureRate": False,
    "leadTime": False,
    "impactSize": False,
    "experimentationCoverage": True,
    "flagHealth": False,
    "creationRatio": False,
}
COMPOSITES = {
    "overall": ("velocity", "risk", "efficiency"),
    "velocity": ("deploymentFrequency", "leadTime"),
    "risk": ("deploymentFailureRate", "impactSize"),
    "efficiency": ("flagHealth", "experimentationCoverage"),
}
CALCULATED = ("excellent", "good", "fair", "needsAttention")
ISSUE_DAY = 1_796_601_600_000
"""2026-12-07T00:00Z: the anchor the issue's examples were seen at."""
CLOCK_OFFSETS = (0, 5 * HOUR_MS + 13 * 60_000, DAY_MS + 3 * HOUR_MS)
"""Where the emulator's clock stands after its data's anchor (a midnight): none of the period
edges these make ("now", "midnight") falls in the seeded data's working hours."""

Json = dict[str, Any]
Values = dict[str, tuple[float, ...]]


def scopes() -> list[Json]:
    found: list[Json] = [
        {"project_key": p.key, "environment_key": e} for p in PROJECTS for e in p.environments
    ]
    return found + [{"group_key": g.key} for g in INSIGHT_GROUPS]


# --- reading the emulator ----------------------------------------------------------------------


class Data:
    """One scope's answers from the emulator, read over HTTP."""

    def __init__(self, http: httpx.AsyncClient, where: Json) -> None:
        self.http, self.where = http, where

    async def get(self, path: str, **params: Any) -> Any:
        answer = await self.http.get(f"{EI}{path}", params={**self.where, **params})
        assert answer.status_code == 200, answer.text
        return answer.json()

    async def every(self, path: str, **params: Any) -> list[Json]:
        items: list[Json] = []
        after: str | None = None
        while True:
            page = await self.get(path, limit=100, **params, **({"after": after} if after else {}))
            items += page["items"]
            if "next" not in page["_links"]:
                return items
            after = page["items"][-1]["id"]


def span(period: Json, **more: Any) -> Json:
    start, end = period["startTime"], period["endTime"]
    return {"from": start, "to": end, "bucketMs": max(end - start, 60_000), **more}


def totals(chart: Json) -> dict[str, int]:
    return {s["metadata"]["name"]: sum(p["y"] for p in s["data"]) for s in chart["series"]}


def stage_means(chart: Json) -> dict[str, float]:
    found = {}
    for series in chart["series"]:
        points = [p for p in series["data"] if p["values"].get("count", 1)]
        weight = sum(p["values"].get("count", 1) for p in points)
        if weight:
            found[series["metadata"]["name"]] = (
                sum(p["y"] * p["values"].get("count", 1) for p in points) / weight
            )
    return found


async def parts_of(data: Data, category: str, period: Json) -> Values:
    """The category's parts over one period: what its metric is made of."""
    if category in ("deploymentFrequency", "deploymentFailureRate"):
        chart = await data.get(
            "/charts/deployments/frequency", **span(period, groupBy="application")
        )
        return {
            s["metadata"]["name"]: (
                float(sum(p["values"]["failed"] for p in s["data"])),
                float(sum(p["y"] for p in s["data"])),
            )
            for s in chart["series"]
        }
    if category == "leadTime":
        chart = await data.get("/charts/lead-time", **span(period, groupBy="stage"))
        return {k: (v,) for k, v in stage_means(chart).items()}
    if category == "impactSize":
        chart = await data.get("/charts/releases/frequency", **span(period, groupBy="impact"))
        return {k: (float(v),) for k, v in totals(chart).items()}
    if category == "experimentationCoverage":
        every = await data.get("/charts/releases/frequency", **span(period))
        linked = await data.get("/charts/releases/frequency", **span(period, hasExperiments="true"))
        count, with_ = sum(totals(every).values()), sum(totals(linked).values())
        return {"with": (float(with_),), "without": (float(count - with_),)}
    if category == "creationRatio":
        events = await data.every(
            "/flag-events", **{"from": period["startTime"], "to": period["endTime"]}
        )
        kinds = [e["eventType"] for e in events]
        return {
            "created": (float(kinds.count("created_flag")),),
            "archived": (float(kinds.count("archived_flag")),),
        }
    raise AssertionError(category)


def metric(category: str, parts: Values, days: float) -> float | None:
    """The raw metric from its parts, this file's arithmetic."""
    if category == "deploymentFrequency":
        return sum(v[1] for v in parts.values()) / days
    if category == "deploymentFailureRate":
        done = sum(v[1] for v in parts.values())
        return 100 * sum(v[0] for v in parts.values()) / done if done else None
    if category == "leadTime":
        return sum(v[0] for v in parts.values()) / HOUR_MS if parts else None
    if category == "impactSize":
        whole = sum(v[0] for v in parts.values())
        return 100 * parts.get("large", (0.0,))[0] / whole if whole else None
    if category == "experimentationCoverage":
        whole = parts["with"][0] + parts["without"][0]
        return 100 * parts["with"][0] / whole if whole else None
    if category == "creationRatio":
        archived = parts["archived"][0]
        return parts["created"][0] / archived if archived else None
    raise AssertionError(category)


def effect(category: str, key: str, now: Values, last: Values, days: float) -> float | None:
    """What the metric would have changed by had only ``key`` changed (signed so that a
    positive effect is an improvement); None when that alone leaves it over nothing."""
    before = metric(category, last, days)
    trial = dict(last)
    if key in now:
        trial[key] = now[key]
    else:
        trial.pop(key, None)
    after = metric(category, trial, days)
    assert before is not None
    if after is None:
        return None
    change = after - before
    return change if HIGHER_IS_BETTER[category] else -change


def direction(change: float, *, higher_is_better: bool) -> str:
    if abs(change) < 1e-9:
        return "unchanged"
    return "improved" if (change > 0) == higher_is_better else "worsened"


# --- the checks ------------------------------------------------------------------------------


async def check_leaf(
    data: Data, leaf: Json, scores: Json, periods: tuple[Json, Json], ids: dict[str, set[str]]
) -> None:
    category = leaf["category"]
    name = f"{data.where} {category}"
    for item in leaf["evidence"]:
        assert item["id"] in ids[item["kind"]], (name, item)
        if category == "leadTime":
            assert item["id"] in ids["finished_pr"], (name, item)
    if category == "flagHealth":
        stale = totals(await data.get("/charts/flags/stale", groupBy="maintainer"))
        status = totals(await data.get("/charts/flags/status"))
        if not sum(status.values()):
            assert_no_value(leaf, name)
            return
        value = leaf["metric_value"]
        assert value["value"] == pytest.approx(
            100 * sum(stale.values()) / sum(status.values()), abs=0.006
        ), name
        assert value["last_value"] is None, name
        assert leaf["driven_by"] is None, name
        return
    now_period, last_period = periods
    days = (now_period["endTime"] - now_period["startTime"]) / DAY_MS
    now = await parts_of(data, category, now_period)
    last = await parts_of(data, category, last_period)
    expected = metric(category, now, days), metric(category, last, days)
    stated = leaf["metric_value"]
    if scores[category]["indicator"] not in CALCULATED and expected[0] is None:
        return  # nothing to state: experimentation coverage where no experiment runs
    if expected[0] is None:
        assert_no_value(leaf, name)
        return
    assert stated is not None, (name, leaf)
    assert stated["higher_is_better"] is HIGHER_IS_BETTER[category], name
    tolerance = 0.006  # LaunchDarkly's metrics (the emulator's) carry two decimals
    assert stated["value"] == pytest.approx(expected[0], abs=tolerance), name
    if expected[1] is None:
        assert stated["last_value"] is None, (name, leaf)
        assert leaf["driven_by"] is None, (name, leaf["driver"])
        assert "in the last period" in leaf["driver"], (name, leaf["driver"])
        return
    assert stated["last_value"] == pytest.approx(expected[1], abs=tolerance), name
    moved = direction(
        stated["value"] - stated["last_value"], higher_is_better=HIGHER_IS_BETTER[category]
    )
    driven = leaf["driven_by"]
    assert driven["direction"] == moved, (name, leaf["driver"])
    score = scores[category]
    change = score["score"] - score["lastPeriod"]["score"] if "lastPeriod" in score else 0
    against = change and (moved == "unchanged" or (change > 0) != (moved == "improved"))
    if against:
        assert "the score is LaunchDarkly's" in (leaf["caveat"] or ""), (name, leaf)
    else:
        assert leaf["caveat"] is None, (name, leaf)
    if moved == "unchanged":
        return
    sign = 1 if moved == "improved" else -1
    effects = {
        k: sign * e
        for k in now.keys() | last.keys()
        if (e := effect(category, k, now, last, days)) is not None
    }
    if driven["part"] is not None:
        assert effects[driven["part"]] > 0, (name, leaf["driver"], effects)
        assert effects[driven["part"]] >= max(effects.values()) - 1e-9, (name, effects)
    else:
        assert all(e <= 1e-9 for e in effects.values()), (name, effects)
    if driven["counter"] is not None:
        assert effects[driven["counter"]] < 0, (name, leaf["driver"], effects)


def assert_no_value(leaf: Json, name: str) -> None:
    """A metric over nothing: no value, no driver, and the text says why (flag events none of
    which records a creation or archival may be LaunchDarkly's not recording them)."""
    assert leaf["metric_value"] is None, (name, leaf)
    assert leaf["driven_by"] is None, (name, leaf)
    unrecorded = "cannot be explained from LaunchDarkly's data" in (leaf["driver"] or "")
    if not (leaf["category"] == "creationRatio" and unrecorded):
        assert "no value (no " in (leaf["metric"] or ""), (name, leaf["metric"])


def check_composite(result: Json, scores: Json) -> None:
    category = result["category"]["category"]
    score = scores[category]
    name = f"{result['scope']} {category}"
    if score["indicator"] not in CALCULATED or "lastPeriod" not in score:
        return
    change = score["score"] - score["lastPeriod"]["score"]
    driven = result["driven_by"]
    assert driven["direction"] == direction(change, higher_is_better=True), name
    moves = {
        p: scores[p]["score"] - scores[p]["lastPeriod"]["score"]
        for p in COMPOSITES[category]
        if scores[p]["indicator"] in CALCULATED and "lastPeriod" in scores[p]
    }
    if change == 0:
        return
    sign = 1 if change > 0 else -1
    assert driven["part"] is not None, name
    assert sign * moves[driven["part"]] > 0, (name, result["driver"])
    assert sign * moves[driven["part"]] == max(sign * m for m in moves.values()), name
    if driven["counter"] is not None:
        assert sign * moves[driven["counter"]] < 0, name
    explained = [leaf["category"] for leaf in result["explained"]]
    assert 1 <= len(explained) <= 2, name


async def finished_pull_requests(data: Data, period: Json) -> list[Json]:
    """The pull requests of the deployments that finished in ``period``."""
    start, end = period["startTime"], period["endTime"]
    listed = await data.every(
        "/deployments", **{"from": start - DAY_MS, "to": end}, expand="pullRequests"
    )
    return [
        p
        for d in listed
        if d["status"] == "finished" and start <= d.get("endedAt", -1) <= end
        for p in d["pullRequests"]["items"]
    ]


async def evidence_ids(data: Data, project: str, periods: tuple[Json, Json]) -> dict[str, set[str]]:
    """Every identifier the scope's data holds, by evidence kind."""
    ids: dict[str, set[str]] = {
        "application": set(next(p for p in PROJECTS if p.key == project).applications),
        "flag_status": {"flag-status"},
    }
    windows = [{"from": p["startTime"], "to": p["endTime"]} for p in periods]
    deployments = [d for w in windows for d in await data.every("/deployments", **w)]
    finished = await finished_pull_requests(data, periods[0])
    ids["finished_pr"] = {f"#{p['externalId']}" for p in finished}
    prs = [p for w in windows for p in await data.every("/pull-requests", **w)]
    events = [e for w in windows for e in await data.every("/flag-events", **w)]
    stale = await data.get("/charts/flags/stale", groupBy="maintainer")
    ids["deployment"] = {d["applicationVersion"] for d in deployments}
    ids["pull_request"] = {f"#{p['externalId']}" for p in prs} | ids["finished_pr"]
    ids["flag_event"] = {e["flagKey"] for e in events}
    ids["maintainer"] = {s["metadata"]["name"] for s in stale["series"]}
    return ids


async def check_anchor(
    anchor: int, alignment: str, clock_offset: int, empty_metrics: str = "omitted"
) -> None:
    emulator = Emulator(token=TOKEN, now_ms=anchor, clock=lambda: anchor + clock_offset)
    emulator.insights.period_alignment = alignment
    emulator.charts.empty_metrics = empty_metrics
    transport = httpx.ASGITransport(app=emulator.app)
    headers = {"Authorization": TOKEN, "LD-API-Version": "beta"}
    server = create_server(make_settings(), transport=transport)
    async with (
        httpx.AsyncClient(transport=transport, base_url="http://emulator", headers=headers) as http,
        Client(server) as client,
    ):
        for scope in scopes():
            if "group_key" in scope:
                group = (
                    await http.get(
                        f"{EI}/insights/groups/{scope['group_key']}", params={"expand": "scores"}
                    )
                ).json()
                answer = {"scores": group["scores"], **group["scoreMetadata"]}
                where = {
                    "projectKey": group["projectKey"],
                    "environmentKey": group["environmentKey"],
                }
                if group["applicationKeys"]:
                    where["applicationKey"] = ",".join(group["applicationKeys"])
            else:
                where = {
                    "projectKey": scope["project_key"],
                    "environmentKey": scope["environment_key"],
                }
                answer = (await http.get(f"{EI}/insights/scores", params=where)).json()
            data = Data(http, where)
            periods = (answer["period"], answer["lastPeriod"])
            scores = answer["scores"]
            ids = await evidence_ids(data, where["projectKey"], periods)
            for category in scores:
                result = await client.call_tool("explain_score", {"category": category, **scope})
                assert not result.is_error, (scope, category, result.content)
                body = dict(result.structured_content or {})
                if category in COMPOSITES:
                    check_composite(body, scores)
                for leaf in body["explained"]:
                    await check_leaf(data, leaf, scores, periods, ids)


FAR_CLOCK = 100 * DAY_MS
"""A clock 100 days past the data: periods that end at it (``now``, ``midnight``) hold
nothing, so every ratio and mean is over nothing and deployments per day are 0."""
M = EMPTY_METRICS
CASES = [
    (0, "anchor", 0, M[0]),
    ((ISSUE_DAY - NOW_MS) // DAY_MS, "anchor", 0, M[1]),
    (3, "now", CLOCK_OFFSETS[1], M[2]),
    (-40, "midnight", CLOCK_OFFSETS[2], M[3]),
    (11, "unaligned", 0, M[0]),
    # a lead time over no deployed pull request (a group of one application)
    *((-44, "midnight", CLOCK_OFFSETS[2], m) for m in M),
    (26, "midnight", CLOCK_OFFSETS[2], M[3]),
    (302, "now", CLOCK_OFFSETS[2], M[0]),
    (235, "midnight", CLOCK_OFFSETS[2], M[2]),
    # an application that deployed only last period (its effect alone is over nothing)
    (1, "anchor", CLOCK_OFFSETS[1], M[3]),
    (-323, "now", CLOCK_OFFSETS[2], M[1]),
    # every period over nothing
    *((0, "midnight", FAR_CLOCK, m) for m in M),
    (-7, "now", FAR_CLOCK, M[3]),
]
"""(day, alignment, clock offset, empty_metrics): the cases that once failed, each way a chart
may state a metric over nothing, and periods over nothing. Wider scans call ``check_anchor``
at many random anchors by hand; what they find joins this list."""


@pytest.mark.parametrize(("day", "alignment", "clock_offset", "empty_metrics"), CASES)
def test_explain_score_states_what_its_reads_say_for_every_scope_and_category(
    day: int, alignment: str, clock_offset: int, empty_metrics: str
) -> None:
    anyio.run(check_anchor, NOW_MS + day * DAY_MS, alignment, clock_offset, empty_metrics)


@settings(
    max_examples=3,
    deadline=None,
    database=None,
    derandomize=True,
    phases=(Phase.explicit, Phase.generate),  # no shrinking, no explain phase: bounded time
)
@given(
    day=st.integers(min_value=-500, max_value=500),
    alignment=st.sampled_from(PERIOD_ALIGNMENTS),
    clock_offset=st.sampled_from(CLOCK_OFFSETS),
    empty_metrics=st.sampled_from(EMPTY_METRICS),
)
def test_explain_score_states_what_its_reads_say_at_drawn_anchors(
    day: int, alignment: str, clock_offset: int, empty_metrics: str
) -> None:
    anyio.run(check_anchor, NOW_MS + day * DAY_MS, alignment, clock_offset, empty_metrics)
