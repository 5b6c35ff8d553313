"""The SDK's own client, both protocol generations, over streamable HTTP with tokens from a
real provider: what a reader and a writer see and may call."""

from __future__ import annotations

import anyio
import pytest
from mcp.shared.exceptions import MCPError

from ..mcp_helpers import text_of, user_declines
from .conftest import SignedIn, mcp_client

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]
MODES = ["legacy", "modern"]
WRITE_TOOLS = {
    "create_insight_group",
    "delete_insight_group",
    "update_insight_group",
    "update_deployment",
    "link_repository",
    "unlink_repository",
}


@pytest.mark.parametrize("mode", MODES)
async def test_a_reader_sees_and_calls_only_the_tools_that_read(
    signed_in: SignedIn, mode: str
) -> None:
    token = signed_in.provider.client_credentials("reader")
    with anyio.fail_after(60):
        async with mcp_client(signed_in.url, token, mode) as client:
            listed = await client.list_tools()
            result = await client.call_tool("list_insight_groups", {"limit": 1})
    names = {tool.name for tool in listed.tools}
    assert names, "the reader sees the read tools"
    assert not names & WRITE_TOOLS
    assert all(t.annotations and t.annotations.read_only_hint for t in listed.tools)
    assert not result.is_error, text_of(result)
    if mode == "modern":
        assert listed.cache_scope == "private"  # the list depends on who asks


@pytest.mark.parametrize("mode", MODES)
async def test_a_writer_signed_in_with_pkce_sees_the_write_tools_and_may_call_them(
    signed_in: SignedIn, mode: str
) -> None:
    token = signed_in.provider.authorization_code("ada")
    with anyio.fail_after(60):
        # a client that can ask its user: it is offered the tools that ask first
        async with mcp_client(
            signed_in.url, token, mode, elicitation_callback=user_declines
        ) as client:
            names = {tool.name for tool in (await client.list_tools()).tools}
            result = await client.call_tool("delete_insight_group", {"key": "no-such-group"})
    assert names >= WRITE_TOOLS
    # past the scope check: the tool itself answers (here: no such group)
    assert "no-such-group" in text_of(result) or result.is_error is False, text_of(result)


@pytest.mark.parametrize("mode", MODES)
async def test_a_reader_calling_a_write_tool_is_refused_before_it_runs(
    signed_in: SignedIn, mode: str
) -> None:
    """Without OAuth of its own the client only reports the HTTP error; the server's log
    shows the 403 (the step-up itself: test_step_up.py)."""
    token = signed_in.provider.client_credentials("reader")
    refusals = signed_in.stderr().count("-> 403")
    with anyio.fail_after(60):
        async with mcp_client(signed_in.url, token, mode) as client:
            with pytest.raises(MCPError, match="error response"):
                await client.call_tool("delete_insight_group", {"key": "checkout"})
            still = await client.call_tool("list_insight_groups", {"limit": 1})
    assert signed_in.stderr().count("-> 403") == refusals + 1
    assert not still.is_error
