"""Small untruths, each fixed: counts of one read as one ("1 PR", not "1 PRs"), --read-only's
help names the tools it leaves out, a missing scope names every missing field, a malformed
deployment id never reaches LaunchDarkly, an unknown argument name is echoed capped, and the
walkthrough cuts a long result at a line's end and says the model gets all of it."""

from __future__ import annotations

import re
import uuid
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from hypothesis import given
from hypothesis import strategies as st
from mcp import Client
from mcp.types import Tool

from ld_insights_mcp.analysis.drivers import of_reading
from ld_insights_mcp.analysis.metrics import reading
from ld_insights_mcp.analysis.reads import LT_LAST, LT_NOW
from ld_insights_mcp.analysis.units import moved
from ld_insights_mcp.cli import build_parser
from ld_insights_mcp.launchdarkly.evidence_models import InsightsChart
from ld_insights_mcp.text import plural
from ld_insights_mcp.walkthrough import excerpt
from tests.support import Emulator

from .conftest import TOKEN
from .mcp_helpers import structured, text_of, user_declines

pytestmark = pytest.mark.anyio

SCOPE = {"project_key": "checkout-web", "environment_key": "production"}
NOUNS = (
    "PRs|files|metrics|items|stale flags|failed deployments|deployments|insight groups|"
    "metric groups|arguments|calls"
)
ONE_WITH_A_PLURAL = re.compile(rf"(?<![\d.,])\b1 (?:{NOUNS})\b")


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(token=TOKEN)  # anchored at today: windows counted back from now hold data


# --- singular and plural --------------------------------------------------------------------


def test_plural_counts_one_as_one() -> None:
    assert plural(1, "PR") == "1 PR"
    assert plural(0, "file") == "0 files"
    assert plural(3, "metric") == "3 metrics"
    assert plural(2, "stale flag") == "2 stale flags"
    assert plural(2, "repository", "repositories") == "2 repositories"


async def test_counts_of_one_are_singular_and_no_text_hedges_with_s_in_brackets(
    server_factory: Callable[..., Any], client_mode: str
) -> None:
    calls: list[tuple[str, dict[str, Any]]] = [
        ("list_insight_groups", {"include_scores": True}),
        *[("list_metric_groups", {"project_key": p}) for p in ("checkout-web", "mobile-app")],
        ("get_insight_chart", {**SCOPE, "kind": "lead_time"}),
        ("list_deployments", {**SCOPE, "limit": 100}),
        ("list_pull_requests", {**SCOPE, "limit": 100}),
        ("explain_score", {**SCOPE, "category": "flagHealth"}),
        ("explain_score", {**SCOPE, "category": "deploymentFailureRate"}),
        ("diagnose_data_coverage", SCOPE),
        ("insights_digest", {}),
    ]
    texts = []
    async with Client(server_factory(), mode=client_mode) as client:
        for name, arguments in calls:
            result = await client.call_tool(name, arguments)
            assert not result.is_error, text_of(result)
            texts.append(text_of(result))
        typo = await client.call_tool("list_insight_groups", {"limti": 5})
    texts.append(text_of(typo))
    everything = "\n".join(texts)
    assert "(s)" not in everything
    assert "(es)" not in everything
    assert ONE_WITH_A_PLURAL.findall(everything) == []
    for singular in ("1 PR ", "1 file ", "1 unknown argument,"):  # the data has counts of one
        assert singular in everything
    assert re.search(r"\b[2-9] metrics\b", everything)


# --- --read-only's help ---------------------------------------------------------------------


def test_read_only_help_names_every_tool_that_writes(server_factory: Callable[..., Any]) -> None:
    async def listed() -> list[Tool]:
        # a client that can ask its user is offered every tool, those that ask first included
        async with Client(server_factory(), elicitation_callback=user_declines) as client:
            return (await client.list_tools()).tools

    tools = anyio.run(listed)
    writes = [t.name for t in tools if not (t.annotations and t.annotations.read_only_hint)]
    assert len(writes) >= 6
    help_text = " ".join(build_parser().format_help().split())
    (line,) = re.findall(r"--read-only (.*?)(?: --|$)", help_text)
    for name in writes:
        assert name in line, (name, line)
    assert "(create)" not in line


# --- a missing scope ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("tool", "arguments"),
    [
        ("get_insight_scores", {}),
        ("get_insight_chart", {"kind": "lead_time"}),
        ("list_deployments", {}),
        ("list_flag_events", {}),
        ("explain_score", {"category": "leadTime"}),
        ("diagnose_data_coverage", {}),
    ],
)
async def test_a_missing_scope_names_every_missing_field_at_once(
    server_factory: Callable[..., Any], emulator: Emulator, tool: str, arguments: dict[str, Any]
) -> None:
    async with Client(server_factory()) as client:
        neither = await client.call_tool(tool, arguments)
        no_environment = await client.call_tool(tool, {**arguments, "project_key": "p"})
    assert neither.is_error
    both = text_of(neither)
    for named in ("project_key", "environment_key", "LD_PROJECT", "LD_ENVIRONMENT"):
        assert named in both, both
    assert "are required" in both
    one = text_of(no_environment)
    assert "environment_key is required" in one
    assert "project_key" not in one.split(". ")[0]
    assert emulator.requests == []


async def test_a_configured_default_fills_a_missing_field(
    server_factory: Callable[..., Any],
) -> None:
    async with Client(server_factory(project="checkout-web")) as client:
        result = await client.call_tool("get_insight_scores", {})
    assert result.is_error
    assert "environment_key is required" in text_of(result)
    assert "project_key" not in text_of(result).split(". ")[0]


# --- deployment ids -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "shape",
    [
        lambda u: "{" + str(u) + "}",
        lambda u: "{" + u.hex + "}",
        lambda u: u.hex,
        lambda u: u.urn,
        lambda u: f" {u}",
        lambda u: str(u)[:-1],
        lambda u: str(u).replace("-", ""),
        lambda u: str(u) + "/../x",
    ],
    ids=["braces", "braces-hex", "hex", "urn", "space", "short", "no-hyphens", "path"],
)
async def test_a_deployment_id_not_in_canonical_form_never_reaches_launchdarkly(
    server_factory: Callable[..., Any], emulator: Emulator, shape: Callable[[uuid.UUID], str]
) -> None:
    async with Client(server_factory()) as client:
        listed = structured(await client.call_tool("list_deployments", {**SCOPE, "limit": 1}))
        emulator.clear_requests()
        real = uuid.UUID(listed["deployments"][0]["id"])
        result = await client.call_tool("get_deployment", {"deployment_id": shape(real)})
    assert result.is_error
    assert "deployment_id" in text_of(result)
    assert emulator.requests == []


async def test_a_deployment_id_in_capitals_is_sent_as_launchdarkly_writes_it(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(server_factory()) as client:
        listed = structured(await client.call_tool("list_deployments", {**SCOPE, "limit": 1}))
        real = listed["deployments"][0]["id"]
        result = await client.call_tool("get_deployment", {"deployment_id": real.upper()})
    assert structured(result)["deployment"]["id"] == real
    assert emulator.requests[-1].path.endswith(f"/deployments/{real}")


# --- unknown argument names -----------------------------------------------------------------


async def test_an_unknown_argument_name_is_echoed_capped_like_a_value(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    huge = "x" * 5_000_000
    many = {f"extra_{i}": 1 for i in range(500)}
    async with Client(server_factory()) as client:
        one = await client.call_tool("list_insight_groups", {huge: 1})
        lots = await client.call_tool("list_insight_groups", many)
        hidden = await client.call_tool("list_insight_groups", {"lim\u202eit": 1})
    assert one.is_error
    text = text_of(one)
    assert len(text) < 1_000, len(text)
    assert "5000002 chars" in text
    assert "Allowed: " in text
    listed = text_of(lots)
    assert len(listed) < 1_000, len(listed)
    assert "500 unknown arguments" in listed
    assert "495 more" in listed
    assert "\u202e" not in text_of(hidden)
    assert "\\u202e" in text_of(hidden)
    assert emulator.requests == []


# --- the walkthrough ------------------------------------------------------------------------


@given(
    st.lists(
        st.text(st.characters(codec="utf-8", exclude_characters="\n"), max_size=80), max_size=40
    ),
    st.integers(min_value=20, max_value=400),
)
def test_the_walkthrough_cuts_at_a_line_end_and_says_the_model_gets_all(
    lines: list[str], limit: int
) -> None:
    text = "\n".join(lines)
    shown = excerpt(text, limit)
    if len(text) <= limit:
        assert shown == text
        return
    body, note = shown.rsplit("\n", 1)
    assert "the model receives the whole result" in note
    assert text.startswith(body)
    assert len(body) <= limit
    after = text[len(body) : len(body) + 1]
    no_break = "\n" not in text[1 : limit + 1] and " " not in text[1 : limit + 1]
    assert after.isspace() or no_break  # cut between lines or words, never inside one


def test_the_walkthrough_cuts_the_digest_at_a_line_end() -> None:
    text = "1. a\n2. b\nBiggest drops: x y z"
    shown = excerpt(text, 15)
    assert shown.startswith("1. a\n2. b\n[the tour shows 9 of ")
    assert "Biggest dr" not in shown


# --- explanations and charts: text a lead can trust ------------------------------------------


async def test_a_running_deployment_has_no_lead_time_and_a_per_pr_average_says_so(
    server_factory: Callable[..., Any],
) -> None:
    scope = {**SCOPE, "days": 10}
    async with Client(server_factory()) as client:
        result = await client.call_tool("list_deployments", scope)
    lines = text_of(result).splitlines()[1:]
    running = [line for line in lines if '"started"' in line]
    assert running
    assert all("no lead yet" in line and "lead 0" not in line for line in running)
    for deployment, line in zip(structured(result)["deployments"], lines, strict=True):
        stages = deployment["stages"]
        if deployment["ended"] and stages and stages["total_ms"] != deployment["lead_time_ms"]:
            assert "avg lead " in line  # the stages' total is the mean of its PRs'


async def test_rates_read_per_day_and_date_ranges_say_their_end_is_exclusive_once(
    server_factory: Callable[..., Any],
) -> None:
    async with Client(server_factory()) as client:
        chart = await client.call_tool(
            "get_insight_chart", {**SCOPE, "kind": "deployment_frequency"}
        )
        explained = await client.call_tool(
            "explain_score", {**SCOPE, "category": "deploymentFrequency"}
        )
    for result in (chart, explained):
        text = text_of(result)
        assert "count per day" not in text, text
        assert '"per day"' not in text, text
        assert re.search(r"\d per day", text), text
        assert len(re.findall(r"\(ends? exclusive\)", text)) == 1, text


def test_a_counter_trend_is_shown_with_the_precision_that_tells_its_values_apart() -> None:
    hour = 3_600_000
    stages = {"coding": (100 * hour, 60 * hour), "wait": (19.2 * hour, 19.4 * hour)}

    def chart(index: int) -> InsightsChart:
        return InsightsChart.model_validate(
            {
                "metadata": {"xAxis": {"unit": "timestamp"}, "yAxis": {"unit": "milliseconds"}},
                "series": [
                    {"metadata": {"name": n}, "data": [{"x": 0, "y": int(v[index])}]}
                    for n, v in stages.items()
                ],
            }
        )

    read = reading("leadTime", {LT_LAST: chart(0), LT_NOW: chart(1)}, (30.0, 30.0))
    driver = of_reading(read)
    assert driver.counter is not None
    assert driver.counter.key == "wait"
    assert "deploy wait stage 19.2 h → 19.4 h" in (driver.text or "")
    assert moved(1.0, 1.0 + 1e-9, lambda v, extra: f"{v:.{extra}f}") is None
