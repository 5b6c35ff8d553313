"""A score that moved while its metric did not (or moved the other way) is said to be
LaunchDarkly's, computed on its own basis: the metric is never offered as the reason."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client

from tests.support import Emulator, Fault

from .mcp_helpers import structured

pytestmark = pytest.mark.anyio

SCOPE = {"project_key": "checkout-web", "environment_key": "production"}
OWN_BASIS = "the score is LaunchDarkly's, computed on its own basis"


def last_score(category: str, change: int) -> Fault:
    def edit(body: Any) -> Any:
        score = body["scores"][category]
        score["lastPeriod"]["score"] = score["score"] - change
        score["diffVsLastPeriod"] = change
        return body

    return Fault(edit=edit)


@pytest.mark.parametrize(
    ("category", "change", "metric"),
    [
        ("creationRatio", 6, "did not change"),  # 2.67 → 2.67 flags created per archived
        ("leadTime", -5, "improved"),  # 436.4 h → 329.8 h
        ("deploymentFrequency", 4, "worsened"),  # 0.67 → 0.4 per day
        ("leadTime", 7, None),  # the score rose with its metric: no caveat
    ],
)
async def test_a_score_move_the_metric_does_not_explain_is_called_launchdarklys(
    server_factory: Callable[..., Any],
    emulator: Emulator,
    category: str,
    change: int,
    metric: str | None,
) -> None:
    emulator.faults.push("getInsightsScores", last_score(category, change))
    async with Client(server_factory(cache_ttl=0)) as client:
        result = await client.call_tool("explain_score", {**SCOPE, "category": category})
    (leaf,) = structured(result)["explained"]
    if metric is None:
        assert leaf["caveat"] is None
        return
    rose = "rose" if change > 0 else "fell"
    assert leaf["caveat"].startswith(f"the score {rose} while its metric {metric}: "), leaf
    assert OWN_BASIS in leaf["caveat"]
