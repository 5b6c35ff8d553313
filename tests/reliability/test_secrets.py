"""A canary token run: through every error path, the token appears nowhere."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client

from ld_insights_mcp.logging_setup import FORMAT, RedactingFormatter
from ld_insights_mcp.surface.server import create_server
from tests.support import Emulator, Fault, serve_on_loopback

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
        project = emulator.store.projects[0]
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


def _error_body(message: str, **extra: Any) -> bytes:
    return json.dumps({"code": "invalid_request", "message": message, **extra}).encode()


async def test_token_echoed_by_upstream_is_redacted_from_results_and_logs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    """LaunchDarkly's error texts pass through to the model, but never the token in them,
    whole or as a long prefix, nor where a header or content type carries it."""
    caplog.set_level(logging.DEBUG)
    # As configure_logging does: the HTTP libraries log raw headers at DEBUG, so they stay
    # at WARNING (and the stderr formatter redacts whatever gets through: see below).
    caplog.set_level(logging.WARNING, logger="httpcore")
    caplog.set_level(logging.WARNING, logger="httpx")
    emulator = Emulator(token=CANARY)
    prefix = CANARY[:12]
    with serve_on_loopback(emulator) as url:
        server = create_server(
            make_settings(access_token=CANARY, base_uri=url, max_retries=0, log_level="DEBUG")
        )
        project = emulator.store.projects[0]
        scores = {"project_key": project.key, "environment_key": project.environments[0]}
        emulator.faults.push(
            "getInsightsScores",
            Fault(
                status=400,
                body=_error_body(
                    f"token {CANARY} may not read scores",
                    errors=[{"attribute": f"auth:{prefix}", "reason": f"{CANARY} is read-only"}],
                ),
            ),
            Fault(status=401, body=_error_body(f"Invalid access token {prefix}...")),
            Fault(status=429, headers={"Retry-After": CANARY}),
            Fault(status=200, body=b"{oops", content_type=f"text/plain; key={CANARY}"),
        )
        emulator.faults.push(
            "getInsightGroups", Fault(status=500, body=_error_body(f"upstream saw {CANARY}"))
        )
        emulator.faults.push(
            "createInsightGroup", Fault(status=409, body=_error_body(f"{prefix} already made it"))
        )
        texts: list[str] = []
        async with Client(server, mode="legacy") as client:
            for name, arguments in [
                *[("get_insight_scores", scores)] * 4,
                ("list_insight_groups", {}),
                ("create_insight_group", {"name": "A", "key": "a", **scores}),
            ]:
                result = await client.call_tool(name, arguments)
                assert result.is_error, text_of(result)
                texts += [text_of(result), json.dumps(result.structured_content)]
    said = "\n".join(texts)
    assert "may not read scores" in said  # the message itself does reach the model
    assert "[redacted]" in said
    assert "Retry-After" in said
    for where in (said, caplog.text):
        assert CANARY not in where
        assert CANARY[:8] not in where


def test_stderr_log_lines_have_the_token_redacted_whoever_wrote_them() -> None:
    """The formatter configure_logging installs redacts message and traceback alike."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(RedactingFormatter(FORMAT, secret=CANARY))
    logger = logging.getLogger("tests.redaction")
    logger.addHandler(handler)
    logger.propagate = False
    try:
        logger.warning("headers: %s", {"retry-after": CANARY})
        try:
            raise RuntimeError(f"boom {CANARY[:10]}")
        except RuntimeError:
            logger.exception("failed")
    finally:
        logger.removeHandler(handler)
        logger.propagate = True
    text = stream.getvalue()
    assert "[redacted]" in text
    assert "RuntimeError" in text
    assert CANARY[:8] not in text
