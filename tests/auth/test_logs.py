"""A person behind every call in the JSON log, never in a metric; no token and no client
secret in any log line, at DEBUG, whatever happened to the token."""

from __future__ import annotations

import json

import anyio
import httpx
import pytest

from ..processes import HANDSHAKE
from .conftest import SignedIn, mcp_client
from .provider import WRITE

pytestmark = pytest.mark.timeout(180)


def test_no_token_and_no_client_secret_reach_the_log_and_each_call_names_its_person(
    signed_in: SignedIn,
) -> None:
    p = signed_in.provider
    tokens = {
        "ada": p.authorization_code("ada"),
        "reader": p.client_credentials("reader"),
        "opaque": p.client_credentials("opaque-reader"),
        "expired": p.sign(p.claims(exp=1, iat=0)),
        "other resource": p.client_credentials(
            "writer", f"insights:read {WRITE}", p.other_resource
        ),
    }

    async def calls() -> None:
        with anyio.fail_after(120):
            for mode in ("legacy", "modern"):
                for name in ("ada", "reader", "opaque"):
                    async with mcp_client(signed_in.url, tokens[name], mode) as client:
                        await client.list_tools()
                        await client.call_tool("list_insight_groups", {"limit": 1})

    anyio.run(calls)
    for name in ("expired", "other resource"):
        assert signed_in.post(tokens[name], HANDSHAKE[0]).status_code == 401
    write = {
        "jsonrpc": "2.0",
        "id": 3,
        "method": "tools/call",
        "params": {"name": "delete_insight_group", "arguments": {"key": "x"}},
    }
    assert signed_in.post(tokens["reader"], write).status_code == 403
    metrics = httpx.get(f"{signed_in.base}/metrics", timeout=10).text

    log = signed_in.stderr()
    lines = [json.loads(line) for line in log.splitlines() if line.startswith("{")]
    assert any(line["level"] == "DEBUG" for line in lines)  # the log ran at DEBUG
    for name, token in tokens.items():
        for part in {token, *token.split(".")} - {""}:
            if len(part) >= 12:
                assert part not in log, f"{name} token (or part of it) in the log"
    secret = p.secrets["mcp-server"]
    assert secret not in log
    assert secret.removeprefix("secret-")[:12] not in log

    calls = [
        line
        for line in lines
        if line["logger"] == "ld_insights_mcp.http" and line["message"].startswith("POST /mcp")
    ]
    ada = {"subject": "ada", "email": "ada@example.com", "name": "Ada Lovelace"}
    assert any(line.get("person") == ada and line["http_status"] == 200 for line in calls)
    assert any(line.get("person") == {"subject": "reader"} for line in calls)
    refused = [line for line in calls if line["http_status"] == 401]
    assert refused
    assert all("person" not in line for line in refused)

    assert '="ada"' not in metrics
    assert "example.com" not in metrics
    assert "ld_insights_tool_calls" in metrics
