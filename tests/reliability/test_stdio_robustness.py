"""Malformed JSON-RPC on stdio does not kill the server; stdout stays pure JSON-RPC."""

from __future__ import annotations

import json

import pytest

from ..processes import HANDSHAKE, stdio_exchange


@pytest.mark.parametrize(
    "garbage",
    [
        "this is not json",
        '{"jsonrpc": "2.0", "id": ',
        "[" * 100_000 + "]" * 100_000,
        json.dumps({"jsonrpc": "2.0", "id": 7, "method": "tools/call", "params": "x" * 2_000_000}),
        json.dumps({"jsonrpc": "2.0", "id": 8, "method": "no/such/method"}),
        "\x00\x01\x02",
    ],
    ids=["garbage", "truncated", "deep-nesting", "huge-line", "unknown-method", "control-bytes"],
)
@pytest.mark.parametrize("log_level", ["WARNING", "DEBUG"])
def test_server_answers_the_next_valid_request_after_garbage(garbage: str, log_level: str) -> None:
    lines = [
        *(json.dumps(message) for message in HANDSHAKE),
        garbage,
        json.dumps({"jsonrpc": "2.0", "id": 2, "method": "ping"}),
        json.dumps({"jsonrpc": "2.0", "id": 3, "method": "tools/list"}),
    ]
    answered, _ = stdio_exchange(
        ["--demo", "--log-level", log_level], lines, expect_ids={1, 2, 3}, timeout=60
    )
    answers = [json.loads(line) for line in answered]
    ids = {a.get("id") for a in answers}
    assert {1, 2, 3} <= ids
    assert all(a.get("jsonrpc") == "2.0" for a in answers)
