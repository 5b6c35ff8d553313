"""The tools/list surface is snapshotted: a change to a name, schema, annotation or
description shows up as a reviewable diff of tests/snapshots/tools_list.json.

Regenerate after an intended change: ``UPDATE_SNAPSHOTS=1 make test``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from .mcp_helpers import user_declines

pytestmark = pytest.mark.anyio

SNAPSHOT = Path(__file__).parent / "snapshots" / "tools_list.json"


async def test_tools_list_matches_the_snapshot(server_factory: Callable[..., Any]) -> None:
    async with Client(server_factory(), elicitation_callback=user_declines) as client:
        tools = (await client.list_tools()).tools
    current = [
        tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        for tool in sorted(tools, key=lambda t: t.name)
    ]
    rendered = json.dumps(current, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(rendered)
    assert SNAPSHOT.exists(), "no snapshot yet: run UPDATE_SNAPSHOTS=1 make test"
    assert rendered == SNAPSHOT.read_text(), (
        "tools/list changed; review the diff and run UPDATE_SNAPSHOTS=1 make test"
    )


def _walk(schema: Any) -> list[dict[str, Any]]:
    """Every object inside a schema."""
    if isinstance(schema, dict):
        return [schema, *(node for value in schema.values() for node in _walk(value))]
    if isinstance(schema, list):
        return [node for value in schema for node in _walk(value)]
    return []


async def test_published_input_schemas_say_each_thing_once(
    server_factory: Callable[..., Any],
) -> None:
    """No titles, no ``anyOf [X, null]``, no string patterns or lengths: the server checks
    those itself. The surface a model reads stays within the 16 kB budget."""
    async with Client(server_factory(), elicitation_callback=user_declines) as client:
        tools = (await client.list_tools()).tools
    for tool in tools:
        for node in _walk(tool.input_schema):
            assert not {"title", "pattern", "minLength", "maxLength"} & set(node), (tool.name, node)
            assert {"type": "null"} not in node.get("anyOf", []), (tool.name, node)
    read_tools = [t for t in tools if t.annotations and t.annotations.read_only_hint]
    read_surface = sum(
        len(json.dumps({"name": t.name, "description": t.description, "inputSchema": schema}))
        for t in read_tools
        for schema in [t.input_schema]
    )
    assert read_surface <= 16_000, read_surface


async def test_constraints_left_out_of_the_schema_are_still_enforced(
    server_factory: Callable[..., Any], emulator: Any
) -> None:
    """An explicit null still means the default; a key breaking the pattern or the length is
    refused naming the field, and nothing is sent."""
    async with Client(server_factory()) as client:
        ok = await client.call_tool(
            "list_insight_groups", {"query": None, "sort": None, "limit": 2}
        )
        assert not ok.is_error
        emulator.clear_requests()
        for bad in ("-starts-with-dash", "x" * 300, ""):
            refused = await client.call_tool("get_insight_group", {"key": bad})
            assert refused.is_error
            assert "key" in refused.content[0].text  # type: ignore[union-attr]
    assert emulator.requests == []
