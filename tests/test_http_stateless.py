"""Stateless streamable HTTP builds a fresh MCP transport per request, but the server's
LaunchDarkly client (and its connection pool) is one per process: successive requests reuse
one upstream connection instead of opening one each."""

from __future__ import annotations

from typing import Any

import anyio
import pytest
from mcp import Client

from ld_insights_mcp.emulator import DEMO_TOKEN, Emulator
from tests.support import serve_app_on_loopback

from .mcp_helpers import structured
from .processes import clean_env, http_server

pytestmark = pytest.mark.anyio


class ConnectionLog:
    """ASGI wrapper noting the client address and port (one per TCP connection) of each request."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.peers: list[tuple[str, int]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.peers.append(tuple(scope["client"]))  # type: ignore[arg-type]
        await self.app(scope, receive, send)


@pytest.mark.parametrize("mode", ["legacy", "auto"])
async def test_stateless_requests_share_one_upstream_client_and_connection(mode: str) -> None:
    upstream = ConnectionLog(Emulator(token=DEMO_TOKEN).app)
    env = clean_env(LD_ACCESS_TOKEN=DEMO_TOKEN, LD_INSIGHTS_CACHE_TTL="0")
    with serve_app_on_loopback(upstream, date_header=False) as emulator_url:
        args = ["--base-uri", emulator_url, "--transport", "streamable-http", "--stateless"]
        with http_server([*args, "--json-response"], env=env) as (base, _):
            with anyio.fail_after(60):
                async with Client(f"{base}/mcp", mode=mode) as client:  # type: ignore[arg-type]
                    page = structured(await client.call_tool("list_insight_groups", {"limit": 1}))
                    group = page["groups"][0]
                    arguments = {
                        "project_key": group["project_key"],
                        "environment_key": group["environment_key"],
                    }
                    for _ in range(20):
                        result = await client.call_tool("get_insight_scores", arguments)
                        assert not result.is_error
    assert len(upstream.peers) == 21  # the cache is off: every call went upstream
    assert len(set(upstream.peers)) == 1  # over one kept-alive connection
