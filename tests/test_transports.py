"""End to end: the installed console script over stdio, streamable HTTP and SSE."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.sse import sse_client
from mcp.client.stdio import StdioServerParameters

from .mcp_helpers import structured, text_of
from .processes import HANDSHAKE, clean_env, http_server, server_command, stdio_exchange

pytestmark = pytest.mark.anyio


async def _exercise(client: Client) -> None:
    tools = {t.name for t in (await client.list_tools()).tools}
    assert "get_insight_scores" in tools
    page = structured(await client.call_tool("list_insight_groups", {"limit": 2}))
    group = page["groups"][0]
    scores = await client.call_tool(
        "get_insight_scores",
        {"project_key": group["project_key"], "environment_key": group["environment_key"]},
    )
    assert "demo data" in text_of(scores)


@pytest.mark.parametrize("mode", ["auto", "legacy"])
async def test_stdio_console_script_serves_a_real_client(mode: str) -> None:
    command, *args = server_command()
    params = StdioServerParameters(command=command, args=[*args, "--demo"], env=clean_env())
    with anyio.fail_after(30):
        async with Client(params, mode=mode) as client:  # type: ignore[arg-type]
            await _exercise(client)


@pytest.mark.parametrize("stateless", [False, True])
async def test_streamable_http_on_loopback_serves_a_real_client(stateless: bool) -> None:
    args = ["--demo", "--transport", "streamable-http", *(["--stateless"] if stateless else [])]
    with http_server(args) as (base, _):
        with anyio.fail_after(30):
            async with Client(f"{base}/mcp") as client:
                await _exercise(client)


async def test_sse_on_loopback_serves_a_real_client() -> None:
    with http_server(["--demo", "--transport", "sse"]) as (base, _):
        with anyio.fail_after(30):
            async with Client(sse_client(f"{base}/sse"), mode="legacy") as client:
                await _exercise(client)


def test_http_rejects_foreign_host_and_origin_headers() -> None:
    with http_server(["--demo", "--transport", "streamable-http"]) as (base, _):
        body = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
        headers = {"accept": "application/json, text/event-stream"}
        bad_origin = httpx.post(
            f"{base}/mcp", json=body, headers={**headers, "origin": "http://evil.example"}
        )
        bad_host = httpx.post(f"{base}/mcp", json=body, headers={**headers, "host": "evil.example"})
    assert bad_origin.status_code == 403
    assert bad_host.status_code in (403, 421)


def test_stdio_stdout_carries_only_json_rpc_even_at_debug_level() -> None:
    requests = [
        *HANDSHAKE,
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "get_insight_group", "arguments": {"key": "no-such-group"}},
        },
        {"jsonrpc": "2.0", "id": 3, "method": "tools/list"},
    ]
    lines, stderr = stdio_exchange(
        ["--demo", "--log-level", "DEBUG"], [json.dumps(r) for r in requests], expect_ids={1, 2, 3}
    )
    answers = [json.loads(line) for line in lines]
    assert {a["id"] for a in answers} == {1, 2, 3}
    assert all(a["jsonrpc"] == "2.0" for a in answers)
    assert "DEBUG" in stderr
