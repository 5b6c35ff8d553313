"""Every malformed stdio line gets the JSON-RPC error the spec gives, and a WARNING on stderr."""

from __future__ import annotations

import json
from typing import Any

from ..processes import HANDSHAKE
from .stdio_wire import closed_input_session

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
LIMIT = 65_536


def _request(request_id: Any, **extra: Any) -> dict[str, Any]:
    return {"jsonrpc": "2.0", "id": request_id, "method": "ping", **extra}


# (line sent, the errors expected back as (code, id), in order)
CASES: list[tuple[str | bytes, list[tuple[int, Any]]]] = [
    ("this is not json", [(PARSE_ERROR, None)]),
    ('{"jsonrpc": "2.0", "id": 21, "method": "tools/list"', [(PARSE_ERROR, 21)]),
    ("[" * 30_000 + "]" * 30_000, [(PARSE_ERROR, None)]),  # within the limit, too deep
    (b'{"jsonrpc": "2.0", "id": 1\xff\xfe}', [(PARSE_ERROR, None)]),
    (
        json.dumps([_request(22), _request(23)]),
        [(INVALID_REQUEST, 22), (INVALID_REQUEST, 23)],
    ),
    ("[]", [(INVALID_REQUEST, None)]),
    (json.dumps(_request({"a": 1})), [(INVALID_REQUEST, None)]),
    (json.dumps(_request(1.5)), [(INVALID_REQUEST, None)]),
    (json.dumps(_request(True)), [(INVALID_REQUEST, None)]),
    (json.dumps(_request(None)), [(INVALID_REQUEST, None)]),
    ("42", [(INVALID_REQUEST, None)]),
    ("{}", [(INVALID_REQUEST, None)]),
    (json.dumps({"jsonrpc": "1.0", "id": 24, "method": "ping"}), [(INVALID_REQUEST, 24)]),
    (json.dumps(_request(25, params="x")), [(INVALID_REQUEST, 25)]),
    (json.dumps({"jsonrpc": "2.0", "id": 26, "method": 7}), [(INVALID_REQUEST, 26)]),
    (json.dumps({"jsonrpc": "2.0", "id": 29}), [(INVALID_REQUEST, None)]),
    (
        json.dumps(
            {
                "jsonrpc": "2.0",
                "id": "big-27",
                "method": "tools/call",
                "params": {"name": "list_insight_groups", "arguments": {"pad": "x" * LIMIT}},
            }
        ),
        [(INVALID_REQUEST, "big-27")],
    ),
    ("x" * (3 * LIMIT), [(INVALID_REQUEST, None)]),
]


def test_malformed_lines_are_answered_and_logged_and_the_server_carries_on() -> None:
    lines = [
        *(json.dumps(m) for m in HANDSHAKE),
        *(line for line, _ in CASES),
        json.dumps(_request(99)),
    ]
    session = closed_input_session(lines, env={"LD_INSIGHTS_STDIO_MAX_LINE_BYTES": str(LIMIT)})
    assert session.returncode == 0, session.stderr[-2000:]
    answers = session.answers()
    errors = [a for a in answers if "error" in a]
    assert [(e["error"]["code"], e["id"]) for e in errors] == [
        expected for _, errors in CASES for expected in errors
    ]
    for error in errors:
        name = "Parse error" if error["error"]["code"] == PARSE_ERROR else "Invalid Request"
        assert error["error"]["message"].startswith(name), error
        assert error["jsonrpc"] == "2.0"
    assert {a["id"] for a in answers if "result" in a} == {1, 99}
    warnings = [line for line in session.stderr.splitlines() if " WARNING " in line]
    assert len([w for w in warnings if "ld_insights_mcp.transports.stdio" in w]) == len(CASES), (
        warnings
    )


def test_the_line_limit_is_checked_when_it_is_set_wrongly() -> None:
    session = closed_input_session(
        [json.dumps(m) for m in HANDSHAKE], env={"LD_INSIGHTS_STDIO_MAX_LINE_BYTES": "lots"}
    )
    assert session.returncode == 2
    assert "LD_INSIGHTS_STDIO_MAX_LINE_BYTES" in session.stderr
    assert session.stdout == b""
