"""Live resource templates and argument completions, through a real MCP client."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import anyio.abc
import pytest
from mcp import Client
from mcp.types import PromptReference, ResourceTemplateReference, TextResourceContents

from ld_insights_mcp.emulator import Emulator

pytestmark = pytest.mark.anyio


def _text(read: Any) -> str:
    return "\n".join(c.text for c in read.contents if isinstance(c, TextResourceContents))


async def test_group_template_reads_a_group_with_scores(
    server_factory: Callable[..., Any], emulator: Emulator, client_mode: str
) -> None:
    key = next(iter(emulator.store.insight_groups))
    async with Client(server_factory(), mode=client_mode) as client:
        templates = {
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        }
        read = await client.read_resource(f"insights://groups/{key}")
    assert "insights://groups/{group_key}" in templates
    text = _text(read)
    assert key in text
    assert "overall" in text


async def test_metric_group_template_reads_metrics_in_order(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    project = emulator.store.projects[0].key
    async with Client(server_factory()) as client:
        listed = await client.call_tool("list_metric_groups", {"project_key": project})
        key = (listed.structured_content or {})["metric_groups"][0]["key"]
        read = await client.read_resource(f"insights://projects/{project}/metric-groups/{key}")
    text = _text(read)
    assert key in text
    assert "1. " in text


async def test_unknown_group_resource_is_an_error_naming_the_list_tool(
    server_factory: Callable[..., Any],
) -> None:
    async with Client(server_factory()) as client:
        with pytest.raises(Exception, match="list_insight_groups"):
            await client.read_resource("insights://groups/no-such-group")


async def test_project_key_completion_comes_from_live_groups(
    server_factory: Callable[..., Any], emulator: Emulator, client_mode: str
) -> None:
    projects = {g["projectKey"] for g in _groups(emulator)}
    async with Client(server_factory(), mode=client_mode) as client:
        done = await client.complete(
            PromptReference(type="ref/prompt", name="summarize_engineering_health"),
            {"name": "project_key", "value": ""},
        )
    assert set(done.completion.values) == projects


async def test_environment_completion_is_narrowed_by_the_chosen_project(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    project = emulator.store.projects[0].key
    expected = {g["environmentKey"] for g in _groups(emulator) if g["projectKey"] == project}
    async with Client(server_factory()) as client:
        done = await client.complete(
            PromptReference(type="ref/prompt", name="summarize_engineering_health"),
            {"name": "environment_key", "value": ""},
            {"project_key": project},
        )
    assert set(done.completion.values) == expected


async def test_group_key_completion_filters_by_prefix(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    key = next(iter(emulator.store.insight_groups))
    async with Client(server_factory()) as client:
        done = await client.complete(
            ResourceTemplateReference(type="ref/resource", uri="insights://groups/{group_key}"),
            {"name": "group_key", "value": key[:3]},
        )
    assert key in done.completion.values
    assert all(key[:3].lower() in v.lower() for v in done.completion.values)


async def test_category_completion_lists_score_categories(
    server_factory: Callable[..., Any],
) -> None:
    async with Client(server_factory()) as client:
        done = await client.complete(
            PromptReference(type="ref/prompt", name="investigate_score"),
            {"name": "category", "value": "lead"},
        )
    assert done.completion.values == ["leadTime"]


async def test_metric_group_key_completion_uses_the_project_argument(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    project = emulator.store.projects[0].key
    async with Client(server_factory()) as client:
        done = await client.complete(
            ResourceTemplateReference(
                type="ref/resource",
                uri="insights://projects/{project_key}/metric-groups/{metric_group_key}",
            ),
            {"name": "metric_group_key", "value": ""},
            {"project_key": project},
        )
    assert done.completion.values
    assert set(done.completion.values) <= set(emulator.store.metric_groups[project])


def _groups(emulator: Emulator) -> list[Any]:
    return list(emulator.store.insight_groups.values())


# --- completions see their own session's state (issue 8, defect 4) ---------------------------

METRIC_GROUP_TEMPLATE = ResourceTemplateReference(
    type="ref/resource", uri="insights://projects/{project_key}/metric-groups/{metric_group_key}"
)


async def _metric_group_keys(client: Client, project: str) -> list[str]:
    """Completion values that need the session's LaunchDarkly client on every call (no cache)."""
    done = await client.complete(
        METRIC_GROUP_TEMPLATE, {"name": "metric_group_key", "value": ""}, {"project_key": project}
    )
    return list(done.completion.values)


class _Sessions:
    """Client sessions held open in their own tasks, so they can close in any order."""

    def __init__(self, group: anyio.abc.TaskGroup, connect: Callable[[], Client]) -> None:
        self._group, self._connect = group, connect
        self._closers: dict[int, anyio.Event] = {}

    async def open(self) -> Client:
        close = anyio.Event()

        async def hold(*, task_status: anyio.abc.TaskStatus[Client]) -> None:
            async with self._connect() as client:
                task_status.started(client)
                await close.wait()

        client: Client = await self._group.start(hold)
        self._closers[id(client)] = close
        return client

    async def close(self, client: Client) -> None:
        self._closers.pop(id(client)).set()
        await anyio.wait_all_tasks_blocked()


async def _check_any_closing_order(connect: Callable[[], Client], project: str) -> None:
    async with anyio.create_task_group() as group:
        sessions = _Sessions(group, connect)
        a, b = await sessions.open(), await sessions.open()
        expected = await _metric_group_keys(b, project)
        assert expected
        assert await _metric_group_keys(a, project) == expected
        await sessions.close(b)  # the newest session leaves: the older one still completes
        assert await _metric_group_keys(a, project) == expected
        c = await sessions.open()
        await sessions.close(a)  # the older session leaves: the newer one still completes
        assert await _metric_group_keys(c, project) == expected
        await sessions.close(c)


async def test_completions_survive_another_session_closing_in_memory(
    server_factory: Callable[..., Any], emulator: Emulator
) -> None:
    """Each connection runs the lifespan; closing one must not take another's state."""
    project = emulator.store.projects[0].key
    server = server_factory()
    with anyio.fail_after(30):
        await _check_any_closing_order(lambda: Client(server, mode="legacy"), project)
    assert await _metric_group_keys_once(server, project) == sorted(
        emulator.store.metric_groups[project]
    )


async def _metric_group_keys_once(server: Any, project: str) -> list[str]:
    async with Client(server, mode="legacy") as client:
        return await _metric_group_keys(client, project)


async def test_completions_survive_another_sse_client_disconnecting() -> None:
    """Two real SSE clients of one server process (each connection runs the lifespan)."""
    from mcp.client.sse import sse_client

    from .processes import http_server

    with http_server(["--demo", "--transport", "sse"]) as (base, _):
        with anyio.fail_after(60):
            await _check_any_closing_order(
                lambda: Client(sse_client(f"{base}/sse"), mode="legacy"), "checkout-web"
            )
