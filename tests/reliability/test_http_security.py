"""HTTP transports: loopback by default, Host/Origin checks, bearer auth, safe binds."""

from __future__ import annotations

import subprocess

import httpx
import pytest
from mcp import Client

from ..processes import clean_env, http_server, server_command

PING = {"jsonrpc": "2.0", "id": 1, "method": "ping"}
ACCEPT = {"accept": "application/json, text/event-stream"}


def test_non_loopback_bind_without_hosts_origins_and_token_refuses_to_start() -> None:
    done = subprocess.run(
        [*server_command(), "--demo", "--transport", "streamable-http", "--host", "0.0.0.0"],  # noqa: S104
        capture_output=True,
        timeout=30,
        env=clean_env(),
        check=False,
    )
    assert done.returncode == 2
    err = done.stderr.decode()
    assert "--allowed-host" in err
    assert "LD_INSIGHTS_HTTP_BEARER_TOKENS" in err
    assert done.stdout == b""


def test_bearer_token_is_required_when_configured() -> None:
    env = clean_env(LD_INSIGHTS_HTTP_BEARER_TOKENS="s3cret-one,s3cret-two")
    with http_server(["--demo", "--transport", "streamable-http"], env=env) as (base, _):
        missing = httpx.post(f"{base}/mcp", json=PING, headers=ACCEPT)
        wrong = httpx.post(
            f"{base}/mcp", json=PING, headers={**ACCEPT, "authorization": "Bearer nope"}
        )
        right = httpx.post(
            f"{base}/mcp", json=PING, headers={**ACCEPT, "authorization": "Bearer s3cret-two"}
        )
    assert missing.status_code == 401
    assert missing.headers["www-authenticate"].startswith("Bearer")
    assert wrong.status_code == 401
    assert right.status_code != 401


@pytest.mark.anyio
async def test_a_real_client_with_the_bearer_token_gets_through() -> None:
    import httpx2

    env = clean_env(LD_INSIGHTS_HTTP_BEARER_TOKENS="s3cret")
    with http_server(["--demo", "--transport", "streamable-http"], env=env) as (base, _):
        from mcp.client.streamable_http import streamable_http_client

        http = httpx2.AsyncClient(headers={"Authorization": "Bearer s3cret"})
        async with http, Client(streamable_http_client(f"{base}/mcp", http_client=http)) as client:
            tools = (await client.list_tools()).tools
    assert tools


def test_origin_and_host_checks_apply_with_extra_allowed_values() -> None:
    args = [
        "--demo",
        "--transport",
        "streamable-http",
        "--allowed-origin",
        "https://agent.example",
        "--allowed-host",
        "agent.example",
    ]
    with http_server(args) as (base, _):
        ok_origin = httpx.post(
            f"{base}/mcp", json=PING, headers={**ACCEPT, "origin": "https://agent.example"}
        )
        bad_origin = httpx.post(
            f"{base}/mcp", json=PING, headers={**ACCEPT, "origin": "https://evil.example"}
        )
        ok_host = httpx.post(f"{base}/mcp", json=PING, headers={**ACCEPT, "host": "agent.example"})
    assert ok_origin.status_code not in (403, 421)
    assert bad_origin.status_code == 403
    assert ok_host.status_code not in (403, 421)


@pytest.mark.parametrize("json_response", [True, False], ids=["json", "sse"])
def test_a_session_belongs_to_the_bearer_token_that_opened_it(json_response: bool) -> None:
    """Token B, even knowing the session id, can neither call tools in nor end the session
    token A opened; to B it does not exist. A keeps using it, then ends it."""
    from ld_insights_mcp.surface.server import create_server
    from ld_insights_mcp.transports.http.app import HttpOptions, build_http_app

    from ..conftest import make_settings
    from ..processes import HANDSHAKE, serve_asgi

    server = create_server(make_settings(demo=True))
    options = HttpOptions(bearer_tokens=("token-a", "token-b"), json_response=json_response)
    with serve_asgi(build_http_app(server, options)) as base, httpx.Client(timeout=10) as http:
        url = f"{base}/mcp"

        def headers(token: str, session: str | None = None) -> dict[str, str]:
            found = {**ACCEPT, "authorization": f"Bearer {token}"}
            if session is not None:
                found |= {"mcp-session-id": session, "mcp-protocol-version": "2025-11-25"}
            return found

        opened = http.post(url, json=HANDSHAKE[0], headers=headers("token-a"))
        assert opened.status_code == 200, opened.text
        session = opened.headers["mcp-session-id"]
        http.post(url, json=HANDSHAKE[1], headers=headers("token-a", session))
        call = {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "list_insight_groups", "arguments": {"limit": 1}},
        }
        as_b = http.post(url, json=call, headers=headers("token-b", session))
        b_deletes = http.delete(url, headers=headers("token-b", session))
        as_a = http.post(url, json=call, headers=headers("token-a", session))
        a_deletes = http.delete(url, headers=headers("token-a", session))
        after = http.post(url, json=call, headers=headers("token-a", session))
    assert as_b.status_code == 404, as_b.text
    assert "insight" not in as_b.text.lower()
    assert b_deletes.status_code == 404
    assert as_a.status_code == 200
    assert '"isError":false' in as_a.text.replace(" ", "")
    assert a_deletes.status_code in (200, 204)
    assert after.status_code == 404


@pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics"])
def test_operations_paths_apply_the_same_host_check_as_mcp(path: str) -> None:
    """A DNS-rebinding page (Host: its own name) cannot read health, readiness or metrics;
    the loopback names and the allowed hosts can."""
    args = ["--demo", "--transport", "streamable-http", "--allowed-host", "agent.example"]
    with http_server(args) as (base, _):
        port = base.rsplit(":", 1)[1]
        rebound = httpx.get(f"{base}{path}", headers={"host": f"evil.example:{port}"})
        mcp_rebound = httpx.post(
            f"{base}/mcp", json=PING, headers={**ACCEPT, "host": f"evil.example:{port}"}
        )
        allowed = httpx.get(f"{base}{path}", headers={"host": "agent.example"})
        loopback = httpx.get(f"{base}{path}")
        bad_origin = httpx.get(f"{base}{path}", headers={"origin": "https://evil.example"})
    assert mcp_rebound.status_code == 421
    assert rebound.status_code == 421, rebound.text
    assert allowed.status_code == 200
    assert loopback.status_code == 200
    assert bad_origin.status_code == 403


def test_text_log_lines_escape_control_characters_from_requests() -> None:
    """A path with an encoded newline and an ESC cannot start a forged log line or send a raw
    terminal escape: every record stays one line (continuations indented)."""
    args = ["--demo", "--transport", "streamable-http", "--log-level", "INFO"]
    forged = "2099-01-01 00:00:00,000 CRITICAL ld_insights_mcp: forged"
    with http_server(args) as (base, process):
        httpx.get(f"{base}/x%0A{forged.replace(' ', '%20')}%1B[31mred%0D%E2%80%A8tail")
        process.terminate()
        _, stderr = process.communicate(timeout=15)
    text = stderr.decode()
    assert "/x" in text, text[-2000:]
    assert "\x1b" not in text
    assert "\r" not in text
    assert "\u2028" not in text
    lines = text.splitlines()
    assert not any(line.startswith("2099-01-01") for line in lines), text[-2000:]
    request_line = next(line for line in lines if "/x" in line)
    assert "\\n2099-01-01" in request_line
    assert "\\x1b[31mred" in request_line
