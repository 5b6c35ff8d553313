"""Helpers for tests that talk to the server through a real MCP client."""

from __future__ import annotations

from typing import Any

from mcp.types import CallToolResult, ElicitResult, TextContent


def text_of(result: CallToolResult) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


def structured(result: CallToolResult) -> dict[str, Any]:
    assert not result.is_error, text_of(result)
    assert result.structured_content is not None
    return dict(result.structured_content)


async def user_declines(context: Any, params: Any) -> ElicitResult:
    """An elicitation callback: the client can ask its user (so it is offered every tool), who
    says no to every question."""
    return ElicitResult(action="decline")
