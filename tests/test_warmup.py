"""Warm-up after start-up: the LaunchDarkly client and the response validators are built in
the background, nothing is sent upstream, and ``initialize`` is answered meanwhile."""

from __future__ import annotations

import json
import queue
import subprocess
import threading
import time
from typing import IO, Any

import httpx
import pytest
from mcp import Client

from ld_insights_mcp.emulator import Emulator, serve_on_loopback
from ld_insights_mcp.server import create_server
from ld_insights_mcp.state import AppState

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
        assert state.client_ready
        assert emulator.requests == []
        result = await client.call_tool("get_insight_scores", SCORES)
        assert structured(result)["project_key"] == "checkout-web"
    assert [r.operation_id for r in emulator.requests] == ["getInsightsScores"]
    assert states == []


def _lines(stream: IO[bytes], into: queue.Queue[bytes]) -> None:
    for line in iter(stream.readline, b""):
        into.put(line)


def _next(lines: queue.Queue[bytes], what: str, *, until: float) -> bytes:
    try:
        return lines.get(timeout=max(until - time.monotonic(), 0.1))
    except queue.Empty:
        raise AssertionError(f"no {what} from the server") from None


def test_initialize_is_answered_while_warming_and_warming_sends_nothing(
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
            while b"warm-up finished" not in _next(err, "warm-up log line", until=deadline):
                pass
            assert emulator.requests == []
            send(HANDSHAKE[1])
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
