"""The README's tables stay true: they are compared with what the server offers."""

from __future__ import annotations

import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

from ld_insights_mcp.cli import build_parser
from ld_insights_mcp.config import Settings

from .mcp_helpers import user_declines

README = Path(__file__).parents[1] / "README.md"
CONFIGURATION = Path(__file__).parents[1] / "docs" / "configuration.md"
"""The settings and flags tables (the README links to them)."""


def table_names(section: str, document: Path = README) -> set[str]:
    text = document.read_text()
    match = re.search(rf"<!-- {section}:start -->(.*?)<!-- {section}:end -->", text, re.S)
    assert match, f"README has no {section} table"
    names = set()
    for line in match.group(1).splitlines():
        cell = re.match(r"\|\s*`([^`]+)`", line)
        if cell:
            names.add(cell.group(1).split(" ")[0])
    return names


@pytest.mark.anyio
async def test_tool_resource_and_prompt_tables_match_the_server(
    server_factory: Callable[..., Any],
) -> None:
    async with Client(server_factory(), elicitation_callback=user_declines) as client:
        tools = {t.name for t in (await client.list_tools()).tools}
        resources = {str(r.uri) for r in (await client.list_resources()).resources}
        templates = {
            t.uri_template for t in (await client.list_resource_templates()).resource_templates
        }
        prompts = {p.name for p in (await client.list_prompts()).prompts}
    assert table_names("tools") == tools
    assert table_names("resources") == resources | templates
    assert table_names("prompts") == prompts


def test_environment_table_matches_the_settings() -> None:
    documented = table_names("env", CONFIGURATION)
    expected = {"LD_INSIGHTS_HTTP_BEARER_TOKENS"}
    for name, field in Settings.model_fields.items():
        aliases = getattr(field.validation_alias, "choices", None)
        if aliases:
            expected.add(str(aliases[1]))
        else:
            expected.add(f"LD_INSIGHTS_{name.upper()}")
    assert documented == expected


def test_flag_table_matches_the_cli() -> None:
    flags = {
        option
        for action in build_parser()._actions
        for option in action.option_strings
        if option.startswith("--") and option != "--help"
    }
    assert table_names("flags", CONFIGURATION) == flags
