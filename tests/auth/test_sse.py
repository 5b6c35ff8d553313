"""Sign-in on the legacy SSE transport: the resource is the ``/sse`` endpoint; the stream and
its message posts need a token; a reader's write call is refused on the post."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest
from mcp import Client
from mcp.client.sse import sse_client

from ..mcp_helpers import text_of
from .conftest import SignedIn, provider_and_server

pytestmark = pytest.mark.timeout(120)


@pytest.fixture
def over_sse(tmp_path: Path) -> Iterator[SignedIn]:
    with provider_and_server(tmp_path, "--transport", "sse", path="/sse") as server:
        yield server


def test_the_sse_transport_serves_a_signed_in_reader_and_refuses_its_writes(
    over_sse: SignedIn,
) -> None:
    p = over_sse.provider
    token = p.client_credentials("reader")
    unsigned = httpx.get(f"{over_sse.base}/sse", timeout=10)
    write = {
        "jsonrpc": "2.0",
        "id": 9,
        "method": "tools/call",
        "params": {"name": "delete_insight_group", "arguments": {"key": "x"}},
    }

    async def session() -> tuple[set[str], str, httpx.Response]:
        headers = {"Authorization": f"Bearer {token}"}
        sessions: list[str] = []
        transport = sse_client(
            f"{over_sse.base}/sse", headers=headers, on_session_created=sessions.append
        )
        with anyio.fail_after(60):
            async with Client(transport, mode="legacy") as c:
                names = {t.name for t in (await c.list_tools()).tools}
                read = text_of(await c.call_tool("list_insight_groups", {"limit": 1}))
                async with httpx.AsyncClient(headers=headers, timeout=10) as http:
                    refused = await http.post(
                        f"{over_sse.base}/messages/?session_id={sessions[0]}", json=write
                    )
        return names, read, refused

    names, read, refused = anyio.run(session)
    assert unsigned.status_code == 401
    assert "resource_metadata" in unsigned.headers["www-authenticate"]
    assert "delete_insight_group" not in names
    assert "list_insight_groups" in names
    assert "demo data" in read
    assert refused.status_code == 403
    assert 'error="insufficient_scope"' in refused.headers["www-authenticate"]
