"""Warm-up after the first ``tools/list``: the LaunchDarkly client and the response validators
are built in the background and a few tool calls are rehearsed on a network that never leaves
the process; nothing is sent upstream, cached or counted, and start-up does not wait for it."""

from __future__ import annotations

import json
import queue
import re
import subprocess
import threading
import time
from typing import IO, Any

import httpx
import pytest
from mcp import Client
from prometheus_client import generate_latest
from pydantic import SecretStr

from ld_insights_mcp.launchdarkly.cache import CacheStats
from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient
from ld_insights_mcp.shared.services import services_of
from ld_insights_mcp.state import AppState
from ld_insights_mcp.surface.server import create_server
from tests.support import Emulator, serve_on_loopback

from .conftest import TOKEN, make_settings
from .mcp_helpers import structured
from .processes import HANDSHAKE, clean_env, server_command

SCORES = {"project_key": "checkout-web", "environment_key": "production"}


@pytest.mark.anyio
async def test_the_client_is_built_after_start_up_and_nothing_is_sent(
    transport: httpx.AsyncBaseTransport, emulator: Emulator, client_mode: str
) -> None:
    states: list[AppState] = []
    server = create_server(make_settings(), transport=transport, states=states)
    async with Client(server, mode=client_mode) as client:
        (state,) = states
        await state.warmed()
        assert not state.client_ready  # nothing is built before the tools are listed
        await client.list_tools()
        await state.warmed()
        assert state.client_ready
        assert emulator.requests == []
        result = await client.call_tool("get_insight_scores", SCORES)
        assert structured(result)["project_key"] == "checkout-web"
    assert [r.operation_id for r in emulator.requests] == ["getInsightsScores"]
    assert states == []


@pytest.mark.anyio
async def test_the_warm_up_rehearses_calls_without_sending_caching_or_counting(
    transport: httpx.AsyncBaseTransport, emulator: Emulator, client_mode: str
) -> None:
    settings = make_settings()
    cache = settings.read_cache()
    assert cache.enabled
    states: list[AppState] = []
    server = create_server(settings, transport=transport, cache=cache, states=states)
    services = services_of(server)
    assert services is not None
    async with Client(server, mode=client_mode) as client:
        (state,) = states
        await client.list_tools()
        await state.warmed()
        assert state.rehearsed > 0
        assert emulator.requests == []  # nothing upstream
        assert len(cache.store) == 0
        assert cache.stats == CacheStats()
        exposed = generate_latest(services.metrics.registry).decode()
        assert "tool_calls_total{" not in exposed  # nothing counted
        assert "upstream_requests_total{" not in exposed
        result = await client.call_tool("get_insight_scores", SCORES)
        assert structured(result)["project_key"] == "checkout-web"
    assert [r.operation_id for r in emulator.requests] == ["getInsightsScores"]
    assert cache.stats.misses == 1
    assert (
        'tool_calls_total{outcome="ok",tool="get_insight_scores"} 1.0'
        in generate_latest(services.metrics.registry).decode()
    )


@pytest.mark.anyio
async def test_a_failed_rehearsal_leaves_a_working_client(
    transport: httpx.AsyncBaseTransport, emulator: Emulator
) -> None:
    def connect() -> LaunchDarklyClient:
        return LaunchDarklyClient.create(
            base_url="https://app.launchdarkly.com", token=SecretStr(TOKEN), transport=transport
        )

    async def failing() -> int:
        raise RuntimeError("rehearsal failed")

    state = AppState(make_settings(), connect, failing)
    state.start_warming()
    await state.warmed()
    assert state.client_ready
    assert state.rehearsed == 0
    scores = await state.client.get_insight_scores("checkout-web", "production")
    assert scores.scores.overall.score >= 0
    assert [r.operation_id for r in emulator.requests] == ["getInsightsScores"]
    await state.aclose()


def _lines(stream: IO[bytes], into: queue.Queue[bytes]) -> None:
    for line in iter(stream.readline, b""):
        into.put(line)


def _next(lines: queue.Queue[bytes], what: str, *, until: float) -> bytes:
    try:
        return lines.get(timeout=max(until - time.monotonic(), 0.1))
    except queue.Empty:
        raise AssertionError(f"no {what} from the server") from None


def test_the_warm_up_follows_the_first_listing_and_sends_nothing(
    emulator: Emulator,
) -> None:
    """A real stdio subprocess against the emulator on a loopback port (no timing asserted)."""
    with serve_on_loopback(emulator) as url:
        process = subprocess.Popen(
            [*server_command(), "--log-level", "DEBUG"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=clean_env(LD_ACCESS_TOKEN=TOKEN, LD_BASE_URI=url),
        )
        out: queue.Queue[bytes] = queue.Queue()
        err: queue.Queue[bytes] = queue.Queue()
        for stream, into in ((process.stdout, out), (process.stderr, err)):
            threading.Thread(target=_lines, args=(stream, into), daemon=True).start()
        assert process.stdin is not None
        deadline = time.monotonic() + 60

        def send(message: dict[str, Any]) -> None:
            assert process.stdin is not None
            process.stdin.write(json.dumps(message).encode() + b"\n")
            process.stdin.flush()

        try:
            send(HANDSHAKE[0])
            answer = json.loads(_next(out, "initialize answer", until=deadline))
            assert answer["id"] == 1
            assert answer["result"]["serverInfo"]["name"] == "ld-insights-mcp"
            send(HANDSHAKE[1])
            send({"jsonrpc": "2.0", "id": 3, "method": "tools/list"})
            listed = json.loads(_next(out, "tools/list answer", until=deadline))
            assert listed["id"] == 3
            assert listed["result"]["tools"]
            while b"warm-up finished" not in (line := _next(err, "warm-up log", until=deadline)):
                pass
            assert re.search(rb"[1-9]\d* calls rehearsed", line), line
            assert emulator.requests == []
            send(
                {
                    "jsonrpc": "2.0",
                    "id": 2,
                    "method": "tools/call",
                    "params": {"name": "get_insight_scores", "arguments": SCORES},
                }
            )
            called = json.loads(_next(out, "tools/call answer", until=deadline))
            assert called["id"] == 2
            assert called["result"]["isError"] is False
            assert [r.operation_id for r in emulator.requests] == ["getInsightsScores"]
        finally:
            process.stdin.close()
            try:
                process.wait(timeout=20)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
