"""The stdio framing against the SDK's own message parser, and the line splitter."""

from __future__ import annotations

import json
from typing import Any

import mcp.types as types
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ld_insights_mcp.stdio.framing import (
    INVALID_REQUEST,
    PARSE_ERROR,
    Forward,
    Reject,
    answered_id,
    judge,
    oversized,
    salvage_id,
)
from ld_insights_mcp.stdio.pipes import LineReader

SDK = types.jsonrpc_message_adapter

IDS = st.one_of(
    st.integers(),
    st.text(max_size=8),
    st.none(),
    st.booleans(),
    st.floats(allow_nan=False),
    st.dictionaries(st.text(max_size=3), st.integers(), max_size=2),
    st.lists(st.integers(), max_size=2),
)
SCALARS = st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=8))
PARAMS = st.one_of(SCALARS, st.dictionaries(st.text(max_size=5), SCALARS, max_size=3))
MESSAGES = st.fixed_dictionaries(
    {},
    optional={
        "jsonrpc": st.sampled_from(["2.0", "1.0", 2.0]),
        "id": IDS,
        "method": st.one_of(st.sampled_from(["ping", "tools/list"]), st.integers()),
        "params": PARAMS,
        "result": PARAMS,
        "error": st.one_of(
            st.fixed_dictionaries({"code": st.integers(), "message": st.text(max_size=5)}),
            SCALARS,
        ),
    },
)


def _line(message: Any) -> bytes:
    return json.dumps(message).encode()


@settings(max_examples=400, deadline=None)
@given(MESSAGES)
def test_a_forwarded_message_is_one_the_sdk_parses_as_the_same_kind(
    message: dict[str, Any],
) -> None:
    verdict = judge(_line(message))
    if isinstance(verdict, Reject):
        assert len(verdict.answers) == 1
        return
    parsed = SDK.validate_json(_line(message))
    if verdict.request_id is not None:
        assert isinstance(parsed, types.JSONRPCRequest)
        assert parsed.id == verdict.request_id
    else:
        assert not isinstance(parsed, types.JSONRPCRequest)


@settings(max_examples=200, deadline=None)
@given(IDS)
def test_a_request_is_forwarded_exactly_when_its_id_is_a_string_or_an_integer(
    request_id: Any,
) -> None:
    verdict = judge(_line({"jsonrpc": "2.0", "id": request_id, "method": "ping"}))
    if type(request_id) in (int, str):
        assert verdict == Forward(request_id=request_id)
    else:
        assert isinstance(verdict, Reject)
        assert json.loads(verdict.answers[0])["id"] is None


def _errors(verdict: Forward | Reject) -> list[tuple[int, Any, str]]:
    assert isinstance(verdict, Reject)
    answers = [json.loads(a) for a in verdict.answers]
    assert all(a["jsonrpc"] == "2.0" and a is not None for a in answers)
    return [(a["error"]["code"], a["id"], a["error"]["message"]) for a in answers]


@pytest.mark.parametrize(
    ("line", "code", "request_id"),
    [
        (b"not json", PARSE_ERROR, None),
        (b'{"jsonrpc":"2.0","id":"a\\"b","method":"x",', PARSE_ERROR, 'a"b'),
        (b'{"jsonrpc":"2.0","method":"x","id":5,"params":{', PARSE_ERROR, 5),
        (b"\xff", PARSE_ERROR, None),
        (b"[]", INVALID_REQUEST, None),
        (b"[1]", INVALID_REQUEST, None),
        (b"null", INVALID_REQUEST, None),
        (b"{}", INVALID_REQUEST, None),
        (b'{"jsonrpc":"2.0","id":3,"method":"x","params":[1]}', INVALID_REQUEST, 3),
        (b'{"jsonrpc":"2.0","id":3,"result":{},"error":{}}', INVALID_REQUEST, None),
        (b'{"jsonrpc":"2.0","id":3}', INVALID_REQUEST, None),
    ],
)
def test_errors_follow_json_rpc(line: bytes, code: int, request_id: Any) -> None:
    [(got_code, got_id, message)] = _errors(judge(line))
    assert (got_code, got_id) == (code, request_id)
    assert message.startswith("Parse error: " if code == PARSE_ERROR else "Invalid Request: ")


def test_a_batch_gets_one_error_per_request_it_holds() -> None:
    batch = [
        {"jsonrpc": "2.0", "id": 1, "method": "ping"},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": "two", "method": "ping"},
    ]
    errors = _errors(judge(_line(batch)))
    assert [(code, i) for code, i, _ in errors] == [(INVALID_REQUEST, 1), (INVALID_REQUEST, "two")]
    assert "one JSON-RPC message per line" in errors[0][2]


def test_notifications_and_answers_pass_and_a_cancel_names_its_request() -> None:
    assert judge(b'{"jsonrpc":"2.0","method":"notifications/initialized"}') == Forward()
    assert judge(b'{"jsonrpc":"2.0","id":9,"result":{}}') == Forward()
    assert judge(b'{"jsonrpc":"2.0","id":9,"error":{"code":1,"message":"m"}}') == Forward()
    cancel = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {"requestId": 4}}
    assert judge(_line(cancel)) == Forward(cancels=4)


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        (b'{"jsonrpc":"2.0","id":123,"method":"x","params":{"a":"', 123),
        (b' { "id" : "k" , "x": ', "k"),
        (b'{"jsonrpc":"2.0","id":12', None),  # the number may continue past the cut
        (b'{"jsonrpc":"2.0","id":1.5,', None),
        (b'{"jsonrpc":"2.0","id":null,', None),
        (b'{"params":{"a":"', None),
        (b'["id", 1]', None),
        (b'{"a":1 "id":2,', None),
    ],
)
def test_an_id_is_salvaged_only_when_it_can_be_read_whole(prefix: bytes, expected: Any) -> None:
    assert salvage_id(prefix) == expected


def test_an_oversized_line_is_answered_with_its_id_and_the_limit() -> None:
    [(code, request_id, message)] = _errors(oversized(b'{"jsonrpc":"2.0","id":7,"params":', 4096))
    assert (code, request_id) == (INVALID_REQUEST, 7)
    assert "4096-byte limit" in message


@pytest.mark.parametrize("request_id", [0, -3, 2**70, "", 'a"b\\c', "ünï", "1"])
def test_the_id_of_every_sdk_answer_is_read(request_id: Any) -> None:
    result = types.JSONRPCResponse(jsonrpc="2.0", id=request_id, result={"x": [1]})
    error = types.JSONRPCError(
        jsonrpc="2.0", id=request_id, error=types.ErrorData(code=-1, message="m")
    )
    for answer in (result, error):
        line = answer.model_dump_json(by_alias=True, exclude_unset=True).encode()
        assert answered_id(line) == request_id
        reordered = json.dumps(dict(reversed(json.loads(line).items()))).encode()
        assert answered_id(reordered) == request_id


def test_requests_and_notifications_from_the_sdk_answer_nothing() -> None:
    request = types.JSONRPCRequest(jsonrpc="2.0", id=4, method="sampling/createMessage")
    notification = types.JSONRPCNotification(jsonrpc="2.0", method="notifications/progress")
    for message in (request, notification):
        assert answered_id(message.model_dump_json(by_alias=True).encode()) is None
    assert answered_id(b'{"jsonrpc":"2.0","id":null,"error":{"code":1,"message":"m"}}') is None
    assert answered_id(b"not json") is None


class _Sink:
    def __init__(self) -> None:
        self.events: list[tuple[str, bytes]] = []

    def line(self, line: bytes) -> None:
        self.events.append(("line", line))

    def oversized(self, prefix: bytes) -> None:
        self.events.append(("oversized", prefix))

    def end(self) -> None:
        self.events.append(("end", b""))


def _split(
    chunks: list[bytes], max_line: int | None = 10, keep: int = 4
) -> list[tuple[str, bytes]]:
    sink = _Sink()
    reader = LineReader(sink, max_line=max_line, keep=keep)
    for chunk in chunks:
        reader.data_received(chunk)
    reader.eof_received()
    reader.connection_lost(None)  # a second end is not reported twice
    return sink.events


def test_lines_are_split_across_chunks_and_a_last_line_needs_no_newline() -> None:
    assert _split([b"ab", b"c\nde\n\nf", b"g"]) == [
        ("line", b"abc\n"),
        ("line", b"de\n"),
        ("line", b"\n"),
        ("line", b"fg\n"),
        ("end", b""),
    ]


def test_a_line_at_the_limit_passes_and_a_longer_one_is_skipped_to_its_newline() -> None:
    ten, eleven = b"0123456789", b"0123456789x"
    assert _split([ten + b"\n" + eleven + b"\nok\n"]) == [
        ("line", ten + b"\n"),
        ("oversized", b"0123"),
        ("line", b"ok\n"),
        ("end", b""),
    ]
    assert _split([b"01234", b"56789x", b"yz", b"\nok\n"]) == [
        ("oversized", b"0123"),
        ("line", b"ok\n"),
        ("end", b""),
    ]
    assert _split([b"0123456789xyz"]) == [("oversized", b"0123"), ("end", b"")]
    assert _split([b"0123456789xyz"], max_line=None) == [("line", b"0123456789xyz\n"), ("end", b"")]
