"""Published output schemas are flat: no ``$ref``/``$defs`` and no ``anyOf [X, null]``, so a
validating client checks each result cheaply; every real result still validates."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from jsonschema.validators import validator_for
from mcp import Client

from ld_insights_mcp.surface.schemas import flat_output_schema

from .mcp_helpers import user_declines

pytestmark = pytest.mark.anyio


def _walk(schema: Any) -> list[dict[str, Any]]:
    if isinstance(schema, dict):
        return [schema, *(node for value in schema.values() for node in _walk(value))]
    if isinstance(schema, list):
        return [node for value in schema for node in _walk(value)]
    return []


async def test_published_output_schemas_are_flat_and_results_validate(
    server_factory: Callable[..., Any],
) -> None:
    async with Client(server_factory(), elicitation_callback=user_declines) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        for tool in tools.values():
            for node in _walk(tool.output_schema):
                assert not {"$ref", "$defs"} & set(node), (tool.name, node)
                assert {"type": "null"} not in node.get("anyOf", []), (tool.name, node)
        groups = await client.call_tool("list_insight_groups", {"include_scores": True})
        item = (groups.structured_content or {})["groups"][0]
        scope = {"project_key": item["project_key"], "environment_key": item["environment_key"]}
        scores = await client.call_tool("get_insight_scores", scope)
    for name, result in (("list_insight_groups", groups), ("get_insight_scores", scores)):
        schema = tools[name].output_schema
        assert schema is not None
        validator_for(schema)(schema).validate(result.structured_content)


def test_flattening_keeps_the_meaning() -> None:
    schema = {
        "$defs": {
            "Leaf": {"type": "object", "properties": {"n": {"type": "integer"}}},
            "Tree": {"type": "object", "properties": {"child": {"$ref": "#/$defs/Tree"}}},
        },
        "type": "object",
        "properties": {
            "leaf": {"anyOf": [{"$ref": "#/$defs/Leaf"}, {"type": "null"}], "default": None},
            "count": {"anyOf": [{"type": "integer"}, {"type": "null"}], "description": "d"},
            "kind": {"anyOf": [{"enum": ["a", "b"], "type": "string"}, {"type": "null"}]},
            "tree": {"$ref": "#/$defs/Tree"},
        },
    }
    flat = flat_output_schema(schema)
    props = flat["properties"]
    assert props["count"] == {"type": ["integer", "null"], "description": "d"}
    assert props["leaf"] == {
        "type": ["object", "null"],
        "properties": {"n": {"type": "integer"}},
        "default": None,
    }
    # a recursive definition stays a reference, and its definitions stay with it
    assert flat["$defs"]["Tree"] == schema["$defs"]["Tree"]
    validator = validator_for(flat)(flat)
    assert validator.is_valid({"count": None, "leaf": {"n": 1}, "tree": {"child": {}}})
    assert validator.is_valid({"leaf": None, "kind": None})
    assert validator.is_valid({"kind": "a"})
    assert not validator.is_valid({"kind": "c"})
    assert not validator.is_valid({"count": "1"})
    assert not validator.is_valid({"leaf": {"n": "x"}})
