"""A canary token run: through every error path, the token appears nowhere."""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client

from ld_insights_mcp.emulator import Emulator, Fault, serve_on_loopback
from ld_insights_mcp.server import create_server

from ..conftest import make_settings
from ..mcp_helpers import text_of
from ..processes import HANDSHAKE, clean_env, stdio_exchange

CANARY = "api-canary-7d1e9f4a-0b2c-4e6f-9a8b-c3d5e7f90123"

pytestmark = pytest.mark.anyio


async def test_canary_token_never_leaks_on_any_error_path(
    caplog: pytest.LogCaptureFixture, capsys: pytest.CaptureFixture[str]
) -> None:
    caplog.set_level(logging.DEBUG)
    emulator = Emulator(token=CANARY)
    seen: list[str] = []
    with serve_on_loopback(emulator) as url:
        server = create_server(
            make_settings(
                access_token=CANARY,
                base_uri=url,
                read_timeout=0.3,
                call_budget=3,
                max_retries=1,
                log_level="DEBUG",
            )
        )
        project = emulator.projects()[0]
        scores = {"project_key": project.key, "environment_key": project.environments[0]}
        emulator.faults.push("getInsightsScores", Fault(status=401), Fault(status=403))
        emulator.faults.push("getInsightGroups", *[Fault(status=500)] * 2)
        emulator.faults.push("getInsightGroup", *[Fault(delay=5.0)] * 2)
        emulator.faults.push(
            "createInsightGroup", Fault(status=400), Fault(status=200, body=b"<html>")
        )
        calls: list[tuple[str, dict[str, Any]]] = [
            ("get_insight_scores", scores),
            ("get_insight_scores", scores),
            ("list_insight_groups", {}),
            ("get_insight_group", {"key": "slow"}),
            ("get_insight_group", {"key": "../bad"}),
            ("list_insight_groups", {"limit": 1000}),
            ("create_insight_group", {"name": "A", "key": "a", **scores}),
            ("create_insight_group", {"name": "B", "key": "b", **scores}),
            ("get_metric_group", {"project_key": "nope", "key": "nope"}),
        ]
        async with Client(server, mode="legacy") as client:
            for name, arguments in calls:
                result = await client.call_tool(name, arguments)
                seen.append(text_of(result))
                seen.append(json.dumps(result.structured_content))
            seen.append(repr(server))
    wrong = create_server(make_settings(access_token=CANARY, base_uri="http://127.0.0.1:9"))
    async with Client(wrong) as client:
        seen.append(text_of(await client.call_tool("list_insight_groups", {})))
    captured = capsys.readouterr()
    seen += [captured.out, captured.err, caplog.text]
    seen += [str(r.exc_info) for r in caplog.records if r.exc_info]
    haystack = "\n".join(seen)
    assert "401" in haystack
    assert "403" in haystack
    assert CANARY not in haystack


def test_canary_token_absent_from_stdio_output_at_debug_level() -> None:
    requests = [
        *HANDSHAKE,
        {
            "jsonrpc": "2.0",
            "id": 2,
            "method": "tools/call",
            "params": {"name": "list_insight_groups", "arguments": {}},
        },
    ]
    lines, err = stdio_exchange(
        ["--base-uri", "http://127.0.0.1:9", "--log-level", "DEBUG"],
        [json.dumps(r) for r in requests],
        expect_ids={1, 2},
        env=clean_env(LD_ACCESS_TOKEN=CANARY, LD_INSIGHTS_MAX_RETRIES="0"),
        timeout=60,
    )
    out = "".join(lines)
    assert any(json.loads(line).get("id") == 2 for line in lines)
    assert CANARY not in out
    assert CANARY not in err


def test_token_absent_from_reprs(server_factory: Callable[..., Any]) -> None:
    server = server_factory(access_token=CANARY)
    assert CANARY not in repr(server)
    assert CANARY not in repr(make_settings(access_token=CANARY))
