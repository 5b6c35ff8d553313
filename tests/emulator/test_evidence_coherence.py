"""The evidence agrees with the scores beside it: for every project environment and insight
group, in the current and the last period, the raw metrics computed here from the emulator's
own deployments, pull requests, flag events and charts (over HTTP) fall in the band each
score says (the ladders of ``evidence_bands``)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest

from ld_insights_mcp.emulator import Emulator
from ld_insights_mcp.emulator.evidence_bands import LADDERS
from ld_insights_mcp.emulator.seed import DAY_MS, INSIGHT_GROUPS, PROJECTS

from .conftest import NOW_MS, TOKEN, Contract, checked_client

pytestmark = pytest.mark.anyio

EI = "/api/v2/engineering-insights"
HOUR_MS = 3_600_000
SLICES = [(p.key, e, ()) for p in PROJECTS for e in p.environments]
SLICES += [(g.project, g.environment, g.applications) for g in INSIGHT_GROUPS]
LIFECYCLE = ("created_flag", "archived_flag")
"""A flag's creation or archival: a flag event, not a flag change (no release, no impact)."""
DAYS = (0, 1, 2, 17)  # anchors: the fixture's day and others, so no one day's luck passes


async def _all(http: httpx.AsyncClient, path: str, params: dict[str, Any]) -> list[Any]:
    """Every item of a cursor list, following ``after`` with the filters re-sent."""
    items: list[Any] = []
    after = None
    while True:
        page = await http.get(
            path, params={**params, "limit": 100} | ({"after": after} if after else {})
        )
        assert page.status_code == 200, page.text
        body = page.json()
        items += body["items"]
        if "next" not in body["_links"]:
            assert len(items) == body["totalCount"]
            return items
        after = body["items"][-1]["id"]


async def _scores(
    http: httpx.AsyncClient, slice_: tuple[str, str, tuple[str, ...]]
) -> dict[str, Any]:
    project, environment, apps = slice_
    group = next(
        (g for g in INSIGHT_GROUPS if (g.project, g.environment, g.applications) == slice_),
        None,
    )
    if group is not None and apps:
        body = (
            await http.get(f"{EI}/insights/groups/{group.key}", params={"expand": "scores"})
        ).json()
        return {"scores": body["scores"], **body["scoreMetadata"]}
    params = {"projectKey": project, "environmentKey": environment}
    return dict((await http.get(f"{EI}/insights/scores", params=params)).json())


def _expected(scores: dict[str, Any], category: str, period: str) -> str:
    rep = scores[category]
    return str(rep["indicator"] if period == "period" else rep["lastPeriod"]["indicator"])


@pytest.mark.parametrize("day", DAYS)
@pytest.mark.parametrize("slice_", SLICES, ids=lambda s: "/".join((s[0], s[1], *s[2])))
async def test_evidence_earns_the_band_of_every_score(
    contract: Contract, slice_: tuple[str, str, tuple[str, ...]], day: int
) -> None:
    project, environment, apps = slice_
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS + day * DAY_MS)
    where = {"projectKey": project, "environmentKey": environment}
    if apps:
        where["applicationKey"] = ",".join(apps)
    async with checked_client(emulator, contract) as http:
        answer = await _scores(http, slice_)
        scores = answer["scores"]
        checked: list[str] = []
        for period in ("period", "lastPeriod"):
            span = {"from": answer[period]["startTime"], "to": answer[period]["endTime"]}
            days = (span["to"] - span["from"]) / DAY_MS

            def check(category: str, value: float, source: str, *, p: str = period) -> None:
                expected = _expected(scores, category, p)
                got = LADDERS[category].band(value)
                assert got == expected, f"{p} {category} from {source}: {value:.2f} is {got}"
                checked.append(f"{p}:{category}:{source}")

            deployments = await _all(
                http, f"{EI}/deployments", {**where, **span, "expand": "pullRequests"}
            )
            done = [d for d in deployments if d["status"] in ("finished", "failed")]
            failed = [d for d in done if d["status"] == "failed"]
            check("deploymentFrequency", len(done) / days, "deployments")
            check("deploymentFailureRate", 100 * len(failed) / len(done), "deployments")
            leads = [
                pr["leadTime"]["avgTotalLeadTimeMs"]
                for d in done
                if d["status"] == "finished"
                for pr in d["pullRequests"]["items"]
            ]
            assert all(len(d["pullRequests"]["items"]) == d["numberOfPullRequests"] for d in done)
            check("leadTime", sum(leads) / len(leads) / HOUR_MS, "pull requests")

            everything = await _all(
                http, f"{EI}/flag-events", {**where, **span, "expand": "experiments"}
            )
            created = sum(e["eventType"] == "created_flag" for e in everything)
            archived = sum(e["eventType"] == "archived_flag" for e in everything)
            check("creationRatio", created / archived, "flag events")
            events = [e for e in everything if e["eventType"] not in LIFECYCLE]
            large = [e for e in events if e["impact"]["size"] == "large"]
            check("impactSize", 100 * len(large) / len(events), "flag events")
            linked = [e for e in events if e["experiments"]["totalCount"] > 0]
            if scores["experimentationCoverage"]["indicator"] == "notCalculated":
                assert not linked
            else:
                check("experimentationCoverage", 100 * len(linked) / len(events), "flag events")

            # The charts over the same window say the same, in their points and their metrics.
            frequency = (
                await http.get(
                    f"{EI}/charts/deployments/frequency",
                    params={**where, **span, "expand": "metrics", "bucketMs": 7 * DAY_MS},
                )
            ).json()
            points = frequency["series"][0]["data"]
            assert sum(point["y"] for point in points) == len(done)
            assert sum(point["values"]["failed"] for point in points) == len(failed)
            lead_chart = (
                await http.get(
                    f"{EI}/charts/lead-time", params={**where, **span, "expand": "metrics"}
                )
            ).json()
            releases = (
                await http.get(
                    f"{EI}/charts/releases/frequency",
                    params={**where, **span, "expand": "metrics", "groupBy": "impact"},
                )
            ).json()
            by_size = {
                s["metadata"]["name"]: sum(p["y"] for p in s["data"]) for s in releases["series"]
            }
            assert by_size["large"] == len(large)
            assert sum(by_size.values()) == len(events)
            for chart in (frequency, lead_chart, releases):
                for category, metric in chart["metadata"]["metrics"].items():
                    assert metric["indicator"] == _expected(scores, category, period), category
                    checked.append(f"{period}:{category}:chart")

        # Flag health is a snapshot: the stale share now against the current score.
        status = (await http.get(f"{EI}/charts/flags/status", params=where)).json()
        stale = (
            await http.get(
                f"{EI}/charts/flags/stale",
                params={**where, "groupBy": "maintainer", "expand": "metrics"},
            )
        ).json()
        flags = sum(s["data"][0]["y"] for s in status["series"])
        stale_count = sum(s["data"][0]["y"] for s in stale["series"])
        expected = _expected(scores, "flagHealth", "period")
        assert LADDERS["flagHealth"].band(100 * stale_count / flags) == expected
        assert stale["metadata"]["metrics"]["flagHealth"]["indicator"] == expected
    assert len(checked) >= 2 * (5 + 3)


async def test_a_score_change_shows_in_the_evidence(contract: Contract) -> None:
    """Where a score moved band between periods, the evidence moved with it (the last period's
    deployments are not the current period's in disguise)."""
    moved = 0
    async with checked_client(Emulator(token=TOKEN, now_ms=NOW_MS), contract) as http:
        for slice_ in SLICES:
            project, environment, apps = slice_
            answer = await _scores(http, slice_)
            rep = answer["scores"]["deploymentFrequency"]
            if rep["indicator"] == rep["lastPeriod"]["indicator"]:
                continue
            where = {"projectKey": project, "environmentKey": environment}
            if apps:
                where["applicationKey"] = ",".join(apps)
            counts = []
            for period in ("period", "lastPeriod"):
                span = {"from": answer[period]["startTime"], "to": answer[period]["endTime"]}
                chart = await http.get(
                    f"{EI}/charts/deployments/frequency", params={**where, **span}
                )
                counts.append(chart.json()["metadata"]["summary"]["total"])
            better = rep["score"] > rep["lastPeriod"]["score"]
            assert (counts[0] > counts[1]) == better, (slice_, counts)
            moved += 1
    assert moved > 0
