"""Confirmation through elicitation over a real stdio subprocess, on both protocol generations."""

from __future__ import annotations

from typing import Any

import pytest
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.client.stdio import StdioServerParameters
from mcp.types import ElicitRequestParams, ElicitResult, ErrorData, TextContent

from .processes import server_command

pytestmark = pytest.mark.anyio


def _text(result: Any) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


@pytest.mark.parametrize("mode", ["auto", "legacy"])
@pytest.mark.parametrize("action", ["accept", "decline", "cancel"])
async def test_delete_over_stdio_asks_the_user_and_obeys_the_answer(mode: str, action: str) -> None:
    asked: list[str] = []

    async def answer(
        context: ClientRequestContext, params: ElicitRequestParams
    ) -> ElicitResult | ErrorData:
        asked.append(params.message)
        content = {"confirm": True} if action == "accept" else None
        return ElicitResult(action=action, content=content)  # type: ignore[arg-type]

    command, *args = server_command()
    params = StdioServerParameters(command=command, args=[*args, "--demo"], env={})
    async with Client(params, mode=mode, elicitation_callback=answer) as client:  # type: ignore[arg-type]
        deleted = await client.call_tool("delete_insight_group", {"key": "ios-team"})
        after = await client.call_tool("get_insight_group", {"key": "ios-team"})
    assert len(asked) == 1, asked
    assert "ios-team" in asked[0]
    assert "Current overall score" in asked[0]
    if action == "accept":
        assert not deleted.is_error, _text(deleted)
        assert "Deleted insight group ios-team" in _text(deleted)
        assert after.is_error
        assert "404" in _text(after)
    else:
        assert "ios-team" in _text(deleted)
        assert "Deleted insight group" not in _text(deleted)
        assert not after.is_error, _text(after)
