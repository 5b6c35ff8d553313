"""Load over streamable HTTP: parallel calls all succeed, upstream concurrency is bounded,
sessions come and go without growth. Bounded loops, loopback only, no timing asserts."""

from __future__ import annotations

import gc
import resource
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from ld_insights_mcp.surface.server import create_server
from ld_insights_mcp.transports.http.app import HttpOptions, build_http_app
from tests.support import Emulator

from ..conftest import TOKEN, make_settings
from ..processes import HANDSHAKE, serve_asgi

pytestmark = pytest.mark.anyio

CALLS = 200
CLIENTS = 20
BOUND = 8


@contextmanager
def _server_url(emulator_url: str, *, stateless: bool, **http: Any) -> Iterator[str]:
    # cache off: these calls are identical, and the bound is measured on the upstream path
    settings = make_settings(base_uri=emulator_url, max_concurrency=BOUND, cache_ttl=0)
    server = create_server(settings)
    app = build_http_app(server, HttpOptions(stateless=stateless, **http))
    with serve_asgi(app) as url:
        yield f"{url}/mcp"


@pytest.mark.parametrize("stateless", [False, True], ids=["stateful", "stateless"])
async def test_200_concurrent_calls_succeed_within_the_upstream_bound(
    emulator: Emulator, emulator_url: str, stateless: bool
) -> None:
    emulator.latency = 0.05
    project = emulator.store.projects[0]
    arguments = {"project_key": project.key, "environment_key": project.environments[0]}
    errors: list[str] = []
    done = 0
    with _server_url(emulator_url, stateless=stateless) as url:

        async def client_worker() -> None:
            nonlocal done
            mode = "auto" if stateless else "legacy"
            async with Client(url, mode=mode) as client:  # type: ignore[arg-type]

                async def call() -> None:
                    nonlocal done
                    result = await client.call_tool("get_insight_scores", arguments)
                    if result.is_error:
                        errors.append(str(result.content))
                    done += 1

                async with anyio.create_task_group() as tg:
                    for _ in range(CALLS // CLIENTS):
                        tg.start_soon(call)

        with anyio.fail_after(120):
            async with anyio.create_task_group() as tg:
                for _ in range(CLIENTS):
                    tg.start_soon(client_worker)
    assert errors == []
    assert done == CALLS
    assert 1 < emulator.max_in_flight <= BOUND
    assert len([r for r in emulator.requests if r.operation_id == "getInsightsScores"]) == CALLS


async def test_client_credentials_are_never_forwarded_upstream(
    emulator: Emulator, emulator_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    with _server_url(emulator_url, stateless=True, bearer_tokens=("client-bearer",)) as url:
        http = httpx2.AsyncClient(headers={"Authorization": "Bearer client-bearer"})
        async with http, Client(streamable_http_client(url, http_client=http)) as client:
            await client.call_tool("list_insight_groups", {"limit": 1})
    assert emulator.requests
    for request in emulator.requests:
        assert request.headers["authorization"] == TOKEN
        assert "client-bearer" not in str(request.headers)


async def test_1000_session_cycles_leave_no_growth(emulator_url: str) -> None:
    """Open a session (initialize), use it (tools/list), close it (DELETE), 1,000 times."""
    initialize = HANDSHAKE[0]
    accept = {"accept": "application/json, text/event-stream"}
    with _server_url(emulator_url, stateless=False, json_response=True) as url:
        async with httpx.AsyncClient(timeout=10) as http:

            async def cycle() -> None:
                opened = await http.post(url, json=initialize, headers=accept)
                assert opened.status_code == 200, opened.text
                session = {
                    **accept,
                    "mcp-session-id": opened.headers["mcp-session-id"],
                    "mcp-protocol-version": "2025-11-25",
                }
                listed = await http.post(
                    url, json={"jsonrpc": "2.0", "id": 2, "method": "tools/list"}, headers=session
                )
                assert "get_insight_scores" in listed.text
                closed = await http.delete(url, headers=session)
                assert closed.status_code in (200, 204)
                gone = await http.post(
                    url, json={"jsonrpc": "2.0", "id": 3, "method": "tools/list"}, headers=session
                )
                assert gone.status_code == 404

            with anyio.fail_after(300):
                for _ in range(100):
                    await cycle()
                gc.collect()
                before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
                for _ in range(1000):
                    await cycle()
                gc.collect()
                after = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    growth_mb = (after - before) / 1024
    assert growth_mb < 30, f"peak RSS grew {growth_mb:.1f} MB over 1000 sessions"
