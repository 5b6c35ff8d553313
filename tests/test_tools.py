"""Every tool through a real MCP client (both protocol modes) against the emulator."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client

from ld_insights_mcp.launchdarkly.models import SCORE_CATEGORIES
from tests.support import Emulator

from .conftest import TOKEN
from .mcp_helpers import structured, text_of, user_declines

pytestmark = pytest.mark.anyio

READ_TOOLS = {
    "get_insight_scores",
    "list_insight_groups",
    "get_insight_group",
    "list_metric_groups",
    "get_metric_group",
    "get_insight_chart",
    "list_deployments",
    "get_deployment",
    "list_pull_requests",
    "list_flag_events",
    "explain_score",
    "insights_digest",
    "diagnose_data_coverage",
}
# Tools that change or remove what exists (the MCP spec's destructiveHint; linking may replace
# every link); the others only add or rename.
DESTRUCTIVE_TOOLS = {
    "update_insight_group",
    "delete_insight_group",
    "update_deployment",
    "link_repository",
    "unlink_repository",
}
WRITE_TOOLS = {
    "create_insight_group",
    "rename_insight_group",
    "update_insight_group",
    "delete_insight_group",
    "update_deployment",
    "link_repository",
    "unlink_repository",
}


async def test_every_tool_has_a_title_all_four_hints_and_schemas(
    server_factory: Callable[..., Any], client_mode: str
) -> None:
    async with Client(
        server_factory(), mode=client_mode, elicitation_callback=user_declines
    ) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    assert set(tools) == READ_TOOLS | WRITE_TOOLS
    for name, tool in tools.items():
        assert tool.title, name
        assert tool.description, name
        assert len(tool.description) > 80, name
        hints = tool.annotations
        assert hints is not None
        assert None not in (
            hints.read_only_hint,
            hints.destructive_hint,
            hints.idempotent_hint,
            hints.open_world_hint,
        ), name
        assert hints.read_only_hint is (name in READ_TOOLS)
        assert hints.destructive_hint is (name in DESTRUCTIVE_TOOLS), name
        assert tool.output_schema is not None, name
        for prop, schema in tool.input_schema.get("properties", {}).items():
            assert _described(schema), (name, prop, schema)


async def test_every_input_property_has_a_top_level_description(
    server_factory: Callable[..., Any],
) -> None:
    async with Client(server_factory()) as client:
        tools = (await client.list_tools()).tools
    missing = [
        (tool.name, prop)
        for tool in tools
        for prop, schema in tool.input_schema.get("properties", {}).items()
        if not _described(schema)
    ]
    assert missing == []


def _described(schema: dict[str, Any]) -> bool:
    """A non-empty description at the top level of the property's schema: one inside an
    ``anyOf`` branch (where an optional argument's type puts it) is missed by many clients."""
    return bool(str(schema.get("description", "")).strip())


async def test_read_only_mode_offers_no_write_tool_and_refuses_calls(
    server_factory: Callable[..., Any], emulator: Emulator, client_mode: str
) -> None:
    async with Client(server_factory(read_only=True), mode=client_mode) as client:
        names = {t.name for t in (await client.list_tools()).tools}
        result = await client.call_tool(
            "create_insight_group",
            {"name": "X", "key": "x", "project_key": "p", "environment_key": "e"},
        )
    assert names == READ_TOOLS
    assert result.is_error
    assert emulator.writes() == []


async def test_get_insight_scores_returns_every_category_with_change_and_period(
    server_factory: Callable[..., Any], emulator: Emulator, client_mode: str
) -> None:
    project = emulator.store.projects[0]
    apps = list(project.applications[:2])
    async with Client(server_factory(), mode=client_mode) as client:
        result = await client.call_tool(
            "get_insight_scores",
            {
                "project_key": project.key,
                "environment_key": project.environments[0],
                "application_keys": apps,
            },
        )
    data = structured(result)
    categories = {s["category"] for s in data["scores"]}
    assert set(SCORE_CATEGORIES) - {"creationRatio"} <= categories
    assert data["period"]["start"] < data["period"]["end"]
    assert data["last_period"]["end"] <= data["period"]["end"]
    assert data["application_keys"] == apps
    assert 1 <= len(data["weakest"]) <= 3
    text = text_of(result)
    assert data["period"]["start"] in text
    for score in data["scores"]:
        assert score["category"] in text
    sent = emulator.requests[-1]
    assert sent.path == "/api/v2/engineering-insights/insights/scores"
    assert dict(sent.query) == {
        "projectKey": project.key,
        "environmentKey": project.environments[0],
        "applicationKey": ",".join(apps),
    }


async def test_scores_use_the_configured_default_project_and_environment(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    project = emulator.store.projects[1]
    server = server_factory(project=project.key, environment=project.environments[0])
    async with Client(server) as client:
        data = structured(await client.call_tool("get_insight_scores", {}))
    assert (data["project_key"], data["environment_key"]) == (
        project.key,
        project.environments[0],
    )


async def test_scores_without_project_or_default_name_the_field_and_send_nothing(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(server_factory()) as client:
        result = await client.call_tool("get_insight_scores", {"environment_key": "production"})
    assert result.is_error
    assert "project_key" in text_of(result)
    assert "LD_PROJECT" in text_of(result)
    assert emulator.requests == []


async def test_list_insight_groups_pages_with_next_offset_and_iso_times(
    server_factory: Callable[..., Any], emulator: Emulator, client_mode: str
) -> None:
    async with Client(server_factory(), mode=client_mode) as client:
        first = structured(await client.call_tool("list_insight_groups", {"limit": 5}))
        seen = [g["key"] for g in first["groups"]]
        offset = first["next_offset"]
        while offset is not None:
            page = structured(
                await client.call_tool("list_insight_groups", {"limit": 5, "offset": offset})
            )
            seen += [g["key"] for g in page["groups"]]
            offset = page["next_offset"]
    assert len(seen) == first["total_count"] == len(set(seen))
    assert first["groups"][0]["created"].endswith("Z")
    assert "T" in first["groups"][0]["created"]


def _next_call(text: str, tool: str) -> dict[str, Any]:
    """The arguments of the literal ``tool(name=<json>, ...)`` call the text ends with."""
    assert f"call {tool}(" in text, f"no literal next call in: {text[-300:]}"
    start = text.rindex(f"call {tool}(") + len(f"call {tool}(")
    decoder = json.JSONDecoder()
    arguments: dict[str, Any] = {}
    at = start
    while text[at] != ")":
        name, equals, _ = text[at:].partition("=")
        assert equals, text[at:]
        assert name.isidentifier(), text[at:]
        value, at = decoder.raw_decode(text, at + len(name) + 1)
        arguments[name] = value
        if text[at] == ",":
            at += 2
    return arguments


def _keys(result: Any, items: str = "groups") -> list[str]:
    return [g["key"] for g in structured(result)[items]]


@pytest.mark.parametrize("max_output_chars", [20_000, 1_000])
async def test_list_insight_groups_next_call_is_literal_and_yields_the_next_page(
    server_factory: Callable[..., Any], client_mode: str, max_output_chars: int
) -> None:
    first_args = {"limit": 3, "sort": "-name", "query": "team", "include_scores": True}
    async with Client(server_factory()) as c:
        everything = _keys(
            await c.call_tool("list_insight_groups", {"sort": "-name", "query": "team"})
        )
    async with Client(server_factory(max_output_chars=max_output_chars), mode=client_mode) as c:
        first = await c.call_tool("list_insight_groups", first_args)
        call = _next_call(text_of(first), "list_insight_groups")
        second = await c.call_tool("list_insight_groups", call)
    shown = structured(first)["returned"]
    assert call == {**first_args, "offset": shown}  # defaults (false) are left out
    assert structured(first)["next_offset"] == shown
    assert _keys(first) == everything[:shown]
    returned = structured(second)["returned"]
    assert _keys(second) == everything[shown : shown + returned]
    assert all(g["scores"] for g in structured(second)["groups"])
    assert len(everything) > shown + 1
    if max_output_chars == 20_000:
        assert returned == min(3, len(everything) - shown)
    else:
        assert returned >= 1
        assert structured(first)["truncated"] is True
        assert len(text_of(first)) <= 1_000


async def test_an_item_longer_than_the_output_cap_is_cut_and_paging_moves_on(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    groups = emulator.store.insight_groups
    for n in range(2):
        key = f"wide-{n}"
        apps = [f"app-{n}-{i:02d}-" + "x" * 40 for i in range(40)]
        groups[key] = {
            **groups["ios-team"],
            "key": key,
            "name": f"Wide {n}",
            "applicationKeys": apps,
        }
    arguments = {"limit": 5, "query": "wide", "sort": "name"}
    async with Client(server_factory(max_output_chars=1_000)) as client:
        first = await client.call_tool("list_insight_groups", arguments)
        second = await client.call_tool(
            "list_insight_groups", _next_call(text_of(first), "list_insight_groups")
        )
    for page, key in ((first, "wide-0"), (second, "wide-1")):
        assert len(text_of(page)) <= 1_000
        assert _keys(page) == [key]
        assert structured(page)["groups"][0]["application_keys"] == groups[key]["applicationKeys"]
    assert structured(first)["next_offset"] == 1
    assert structured(second)["next_offset"] == 2


async def test_list_metric_groups_next_call_keeps_kind_query_sort_and_project(
    server_factory: Callable[..., Any], emulator: Emulator, client_mode: str
) -> None:
    project = emulator.store.projects[0].key
    first_args = {"project_key": project, "limit": 1, "kind": "standard", "sort": "-name"}
    async with Client(server_factory(), mode=client_mode) as client:
        everything = _keys(
            await client.call_tool(
                "list_metric_groups", {"project_key": project, "kind": "standard", "sort": "-name"}
            ),
            "metric_groups",
        )
        first = await client.call_tool("list_metric_groups", first_args)
        call = _next_call(text_of(first), "list_metric_groups")
        second = await client.call_tool("list_metric_groups", call)
    assert call == {**first_args, "offset": 1}
    assert len(everything) >= 2
    assert _keys(first, "metric_groups") == everything[:1]
    assert _keys(second, "metric_groups") == everything[1:2]


async def test_list_metric_groups_cut_at_the_output_cap_continues_exactly(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    project = emulator.store.projects[0].key
    groups = emulator.store.metric_groups[project]
    template = next(iter(groups.values()))
    for n in range(40):
        key = f"load-{n:02d}-funnel"
        groups[key] = {**copy.deepcopy(template), "key": key, "name": f"Load {n:02d} " + "x" * 40}
    first_args = {"project_key": project, "limit": 30, "query": "load", "sort": "name"}
    async with Client(server_factory()) as client:
        everything = _keys(
            await client.call_tool(
                "list_metric_groups",
                {"project_key": project, "limit": 50, "query": "load", "sort": "name"},
            ),
            "metric_groups",
        )
    async with Client(server_factory(max_output_chars=1_000)) as client:
        first = await client.call_tool("list_metric_groups", first_args)
        call = _next_call(text_of(first), "list_metric_groups")
        second = await client.call_tool("list_metric_groups", call)
    page = structured(first)
    shown = page["returned"]
    assert page["truncated"] is True
    assert len(text_of(first)) <= 1_000
    assert 0 < shown < 30
    assert call == {**first_args, "offset": shown}
    assert _keys(first, "metric_groups") == everything[:shown]
    returned = structured(second)["returned"]
    assert len(everything) == 40
    assert returned > 0
    assert _keys(second, "metric_groups") == everything[shown : shown + returned]


async def test_list_insight_groups_with_scores_and_indicator_counts(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(server_factory()) as client:
        result = await client.call_tool(
            "list_insight_groups",
            {"limit": 3, "include_scores": True, "include_indicator_counts": True, "sort": "-name"},
        )
    data = structured(result)
    assert all(g["scores"] for g in data["groups"])
    assert data["overall_indicator_counts"]["total"] == data["total_count"]
    names = [g["name"] for g in data["groups"]]
    assert names == sorted(names, reverse=True)
    assert dict(emulator.requests[-1].query)["expand"] == "scores,metadata"
    assert "overall" in text_of(result)


async def test_get_insight_group_includes_scores_by_default(
    server_factory: Callable[..., Any], emulator: Emulator, client_mode: str
) -> None:
    async with Client(server_factory(), mode=client_mode) as client:
        key = structured(await client.call_tool("list_insight_groups", {"limit": 1}))["groups"][0][
            "key"
        ]
        result = await client.call_tool("get_insight_group", {"key": key})
    data = structured(result)
    assert data["group"]["key"] == key
    assert data["group"]["scores"]
    assert key in text_of(result)


async def test_unknown_group_error_says_which_tool_lists_the_keys(
    server_factory: Callable[..., Any],
) -> None:
    async with Client(server_factory()) as client:
        result = await client.call_tool("get_insight_group", {"key": "no-such-group"})
    assert result.is_error
    assert "404" in text_of(result)
    assert "list_insight_groups" in text_of(result)


async def test_create_insight_group_then_duplicate_names_the_existing_group(
    server_factory: Callable[..., Any], emulator: Emulator, client_mode: str
) -> None:
    project = emulator.store.projects[0]
    arguments = {
        "name": "Growth squad",
        "key": "growth-squad",
        "project_key": project.key,
        "environment_key": project.environments[0],
        "application_keys": list(project.applications[:1]),
    }
    async with Client(server_factory(), mode=client_mode) as client:
        created = await client.call_tool("create_insight_group", arguments)
        again = await client.call_tool("create_insight_group", {**arguments, "name": "Other"})
    data = structured(created)
    assert data["group"]["key"] == "growth-squad"
    assert data["confirmed_by_read_back"] is False
    assert again.is_error
    assert "Growth squad" in text_of(again)
    assert "already exists" in text_of(again)
    posts = [r for r in emulator.writes() if r.method == "POST"]
    assert len(posts) == 1  # the duplicate is found by reading its key first: nothing is sent
    assert sum(1 for g in emulator.store.insight_groups if g == "growth-squad") == 1


@pytest.mark.parametrize(
    ("tool", "arguments", "field"),
    [
        ("get_insight_group", {"key": "../metrics"}, "key"),
        ("get_insight_group", {"key": "a/b"}, "key"),
        ("get_insight_group", {"key": "x" * 300}, "key"),
        ("get_insight_group", {"key": 5}, "key"),
        ("get_insight_group", {}, "key"),
        ("list_insight_groups", {"limit": 99}, "limit"),
        ("list_insight_groups", {"limit": 0}, "limit"),
        ("list_insight_groups", {"offset": -1}, "offset"),
        ("list_insight_groups", {"sort": "createdAt"}, "sort"),
        ("list_insight_groups", {"limti": 5}, "limti"),
        ("list_metric_groups", {"project_key": "p", "limit": 51}, "limit"),
        ("get_insight_scores", {"project_key": "p?x=1", "environment_key": "e"}, "project_key"),
        (
            "get_insight_scores",
            {"project_key": "p", "environment_key": "e", "application_keys": ["a,b"]},
            "application_keys",
        ),
        (
            "create_insight_group",
            {"name": "", "key": "k", "project_key": "p", "environment_key": "e"},
            "name",
        ),
        (
            "create_insight_group",
            {"name": "N", "key": "bad key", "project_key": "p", "environment_key": "e"},
            "key",
        ),
    ],
)
async def test_invalid_arguments_name_the_field_and_never_reach_launchdarkly(
    server_factory: Callable[..., Any],
    emulator: Emulator,
    tool: str,
    arguments: dict[str, Any],
    field: str,
) -> None:
    async with Client(server_factory()) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    message = text_of(result)
    assert field in message
    assert "Traceback" not in message
    assert len(message) < 1000
    assert emulator.requests == []


@pytest.mark.parametrize(
    ("tool", "arguments", "field", "expected", "fix"),
    [
        ("list_insight_groups", {"limit": "5"}, "limit", "integer", "send 5"),
        ("list_insight_groups", {"limit": True}, "limit", "integer", "without quotes"),
        ("list_insight_groups", {"limit": 1.0}, "limit", "integer", "send 1"),
        ("list_insight_groups", {"offset": "10"}, "offset", "integer", "send 10"),
        ("list_insight_groups", {"include_scores": "yes"}, "include_scores", "boolean", "true"),
        (
            "list_insight_groups",
            {"include_scores": "true"},
            "include_scores",
            "boolean",
            "send true",
        ),
        (
            "list_insight_groups",
            {"include_scores": 1},
            "include_scores",
            "boolean",
            "true or false",
        ),
        (
            "get_insight_group",
            {"key": "k", "include_scores": "false"},
            "include_scores",
            "boolean",
            "send false",
        ),
        ("list_metric_groups", {"project_key": "p", "limit": "50"}, "limit", "integer", "send 50"),
        ("list_insight_groups", {"query": 5}, "query", "string", "quotes"),
        ("list_insight_groups", {"sort": ["name"]}, "sort", "string", "quotes"),
        (
            "get_insight_scores",
            {"project_key": "p", "environment_key": "e", "application_keys": '["a"]'},
            "application_keys",
            "array",
            'send ["a"]',
        ),
        (
            "get_insight_scores",
            {"project_key": "p", "environment_key": "e", "application_keys": "web"},
            "application_keys",
            "array",
            "array",
        ),
        (
            "create_insight_group",
            {"name": "N", "key": "k", "project_key": "p", "application_keys": '["a", "b"]'},
            "application_keys",
            "array",
            'send ["a", "b"]',
        ),
        (
            "get_insight_scores",
            {"project_key": "p", "environment_key": "e", "application_keys": "null"},
            "application_keys",
            "array",
            "send null",
        ),
        (
            "get_insight_scores",
            {"project_key": "null", "environment_key": "e"},
            "project_key",
            "JSON null",
            "omit the argument",
        ),
        ("list_insight_groups", {"query": "[1]"}, "query", "array", "omit the argument"),
        (
            "get_insight_scores",
            {"project_key": "p", "environment_key": "e", "application_keys": [5]},
            "application_keys",
            "string",
            "",
        ),
    ],
)
async def test_wrong_types_are_refused_naming_the_field_the_type_and_the_fix(
    server_factory: Callable[..., Any],
    emulator: Emulator,
    tool: str,
    arguments: dict[str, Any],
    field: str,
    expected: str,
    fix: str,
) -> None:
    async with Client(server_factory()) as client:
        result = await client.call_tool(tool, arguments)
    assert result.is_error
    message = text_of(result)
    assert field in message
    assert expected in message, message
    assert fix in message, message
    assert len(message) < 1000
    assert emulator.requests == []


@pytest.mark.parametrize(
    "name",
    [
        "Pay\u0085ments",
        "Pay\u202ements",
        "Pay\u2028ments",
        "Pay\u2029ments",
        "Payments\u2028",
        "\u200b",
        "\u200b\u200b",
        "Pay\u200dments",
        "Pay\ufeffments",
        "Pay\tments",
        "Pay\x7fments",
        "\u3164",
        "   ",
    ],
)
async def test_group_names_with_control_or_invisible_characters_never_reach_launchdarkly(
    server_factory: Callable[..., Any], emulator: Emulator, name: str
) -> None:
    arguments = {"name": name, "key": "pay", "project_key": "checkout-web"}
    async with Client(server_factory()) as client:
        result = await client.call_tool(
            "create_insight_group", {**arguments, "environment_key": "production"}
        )
        listed = await client.call_tool("list_insight_groups", {"query": name})
    for refused in (result, listed):
        assert refused.is_error
        message = text_of(refused)
        assert "name" in message or "query" in message
        assert "visible" in message, message
    assert emulator.requests == []


async def test_names_keep_printable_unicode_and_lose_only_outer_spaces(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    arguments = {
        "name": "  Équipe paiements 💳  ",
        "key": "equipe-paiements",
        "project_key": "checkout-web",
        "environment_key": "production",
    }
    async with Client(server_factory()) as client:
        data = structured(await client.call_tool("create_insight_group", arguments))
    assert data["group"]["name"] == "Équipe paiements 💳"


async def test_text_rule_is_published_in_the_schema(server_factory: Callable[..., Any]) -> None:
    async with Client(server_factory()) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
    name = tools["create_insight_group"].input_schema["properties"]["name"]
    assert "U+202E" in name["description"]
    query = tools["list_insight_groups"].input_schema["properties"]["query"]
    assert "control" in query["description"]


async def test_metric_groups_list_and_get_with_funnel_steps_in_order(
    server_factory: Callable[..., Any], emulator: Emulator, client_mode: str
) -> None:
    project = emulator.store.projects[0].key
    async with Client(server_factory(), mode=client_mode) as client:
        page = structured(
            await client.call_tool(
                "list_metric_groups", {"project_key": project, "kind": "funnel", "limit": 50}
            )
        )
        assert dict(emulator.requests[-1].query)["filter"] == "kind equals 'funnel'"
        key = page["metric_groups"][0]["key"]
        result = await client.call_tool(
            "get_metric_group", {"project_key": project, "key": key, "include_experiments": True}
        )
    detail = structured(result)
    assert detail["kind"] == "funnel"
    assert [m["position"] for m in detail["metrics"]] == list(range(1, len(detail["metrics"]) + 1))
    assert all(m["name_in_group"] for m in detail["metrics"])
    assert detail["experiment_count"] is not None
    assert "Funnel steps, in order" in text_of(result)


async def test_unknown_metric_group_points_to_the_list_tool(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    project = emulator.store.projects[0].key
    async with Client(server_factory()) as client:
        result = await client.call_tool("get_metric_group", {"project_key": project, "key": "nope"})
    assert result.is_error
    assert "list_metric_groups" in text_of(result)


async def test_revoked_token_error_tells_the_user_what_to_set_without_the_token(
    server_factory: Callable[..., Any],
) -> None:
    async with Client(server_factory(access_token="api-revoked-token-999")) as client:
        result = await client.call_tool("list_insight_groups", {})
    assert result.is_error
    text = text_of(result)
    assert "401" in text
    assert "LD_ACCESS_TOKEN" in text
    assert "api-revoked-token-999" not in text
    assert TOKEN not in text


async def test_demo_server_labels_every_result_as_demo_data() -> None:
    from ld_insights_mcp.config import Settings
    from ld_insights_mcp.surface.server import create_server

    server = create_server(Settings(demo=True))
    async with Client(server) as client:
        page = await client.call_tool("list_insight_groups", {"limit": 1})
        group = structured(page)["groups"][0]
        scores = await client.call_tool(
            "get_insight_scores",
            {"project_key": group["project_key"], "environment_key": group["environment_key"]},
        )
    for result in (page, scores):
        assert structured(result)["data_source"] == "demo"
        assert "demo data" in text_of(result)
