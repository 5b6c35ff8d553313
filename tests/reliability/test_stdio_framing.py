"""The stdio framing against the SDK's own message parser, and the line splitter."""

from __future__ import annotations

import json
from typing import Any

import mcp.types as types
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ld_insights_mcp.transports.stdio.framing import (
    INTERNAL_ERROR,
    INVALID_REQUEST,
    PARSE_ERROR,
    SALVAGE_BYTES,
    Forward,
    Lines,
    Oversized,
    Reject,
    error_line,
    judge,
    oversized,
    salvage_id,
)

SDK = types.jsonrpc_message_adapter

pytestmark = pytest.mark.timeout(5)  # a mutant that loops forever fails, not times out

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


def _split(chunks: list[bytes], max_line: int = 10, keep: int = 4) -> list[bytes | Oversized]:
    lines = Lines(max_line, keep)
    found = [line for chunk in chunks for line in lines.feed(chunk)]
    return found + lines.feed(b"")  # the end of input


def test_lines_are_split_across_chunks_and_a_last_line_needs_no_newline() -> None:
    assert _split([b"ab", b"c\nde\n\nf", b"g"]) == [b"abc", b"de", b"", b"fg"]


def test_a_line_at_the_limit_passes_and_a_longer_one_is_skipped_to_its_newline() -> None:
    ten, eleven = b"0123456789", b"0123456789x"
    assert _split([ten + b"\n" + eleven + b"\nok\n"]) == [ten, Oversized(b"0123"), b"ok"]
    assert _split([b"01234", b"56789x", b"yz", b"\nok\n"]) == [Oversized(b"0123"), b"ok"]
    assert _split([b"0123456789xyz"]) == [Oversized(b"0123")]
    assert _split([b"0123456789xyz"], max_line=2**60) == [b"0123456789xyz"]


# Every judged case, in-process, with its exact answer.

_BATCH = "Invalid Request: batches are not supported; send one JSON-RPC message per line"
_NEEDS = (
    'Invalid Request: a message needs a "method" (request, notification) or a "result" or '
    '"error" object (answer)'
)
_BAD_ID = 'Invalid Request: "id" must be a string or an integer'
_ERROR = '"error":{"code":1,"message":"m"}'


@pytest.mark.parametrize(
    ("line", "expected", "reason"),
    [
        pytest.param(
            b"garbage",
            [
                (
                    PARSE_ERROR,
                    None,
                    "Parse error: the line is not valid JSON (Expecting value at character 0)",
                )
            ],
            "parse error: the line is not valid JSON (Expecting value at character 0)",
            id="garbage",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","id":"\xff"}',
            [(PARSE_ERROR, None, "Parse error: the line is not valid JSON (it is not UTF-8)")],
            "parse error: the line is not valid JSON (it is not UTF-8)",
            id="bad-utf-8",
        ),
        pytest.param(
            b"[" * 100_000 + b"]" * 100_000,
            [
                (
                    PARSE_ERROR,
                    None,
                    "Parse error: the line is not valid JSON (it is nested too deeply)",
                )
            ],
            "parse error: the line is not valid JSON (it is nested too deeply)",
            id="deep-nesting",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","id":1,"method":"a","params":',
            [
                (
                    PARSE_ERROR,
                    1,
                    "Parse error: the line is not valid JSON (Expecting value at character 46)",
                )
            ],
            "parse error: the line is not valid JSON (Expecting value at character 46)",
            id="cut-line-salvaged-id",
        ),
        pytest.param(
            b'[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":"b","method":"a"},'
            b'{"jsonrpc":"2.0","method":"n"},{"id":3},1,{"jsonrpc":"2.0","id":true,"method":"a"},'
            b'{"jsonrpc":"2.0","id":4,"method":"a"}]',
            [
                (INVALID_REQUEST, 1, _BATCH),
                (INVALID_REQUEST, "b", _BATCH),
                (INVALID_REQUEST, 4, _BATCH),
            ],
            "invalid request: batches are not supported; send one JSON-RPC message per line",
            id="batch-each-request",
        ),
        pytest.param(
            b"[]",
            [(INVALID_REQUEST, None, _BATCH)],
            "invalid request: batches are not supported; send one JSON-RPC message per line",
            id="empty-batch",
        ),
        pytest.param(
            b'[{"jsonrpc":"2.0","method":"n"},{"id":3}]',
            [(INVALID_REQUEST, None, _BATCH)],
            "invalid request: batches are not supported; send one JSON-RPC message per line",
            id="batch-without-requests",
        ),
        *(
            pytest.param(
                b'{"jsonrpc":"2.0","id":' + bad + b',"method":"a"}',
                [(INVALID_REQUEST, None, _BAD_ID)],
                'invalid request: "id" must be a string or an integer',
                id=f"id-{kind}",
            )
            for kind, bad in [
                ("object", b'{"a":1}'),
                ("array", b"[1]"),
                ("float", b"1.0"),
                ("bool", b"true"),
                ("null", b"null"),
            ]
        ),
        pytest.param(
            b'"x"',
            [(INVALID_REQUEST, None, "Invalid Request: a message must be a JSON object")],
            "invalid request: a message must be a JSON object",
            id="not-an-object",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","id":1,"method":"a","params":"s"}',
            [(INVALID_REQUEST, 1, 'Invalid Request: "params" must be an object')],
            'invalid request: "params" must be an object',
            id="params-string",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","method":"a","params":[]}',
            [(INVALID_REQUEST, None, 'Invalid Request: "params" must be an object')],
            'invalid request: "params" must be an object',
            id="notification-params-array",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","id":"s","method":5}',
            [(INVALID_REQUEST, "s", 'Invalid Request: "method" must be a string')],
            'invalid request: "method" must be a string',
            id="method-number",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","id":1}',
            [(INVALID_REQUEST, None, _NEEDS)],
            "invalid request: " + _NEEDS.removeprefix("Invalid Request: "),
            id="neither-result-nor-error",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","id":1,"method":"a",' + _ERROR.encode() + b"}",
            [
                (
                    INVALID_REQUEST,
                    1,
                    'Invalid Request: a message with "method" cannot carry "result" or "error"',
                )
            ],
            'invalid request: a message with "method" cannot carry "result" or "error"',
            id="method-and-error",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","id":2,"method":"a","result":{}}',
            [
                (
                    INVALID_REQUEST,
                    2,
                    'Invalid Request: a message with "method" cannot carry "result" or "error"',
                )
            ],
            'invalid request: a message with "method" cannot carry "result" or "error"',
            id="method-and-result",
        ),
        pytest.param(
            b'{"id":2,"method":"a"}',
            [(INVALID_REQUEST, 2, 'Invalid Request: "jsonrpc" must be "2.0"')],
            'invalid request: "jsonrpc" must be "2.0"',
            id="no-jsonrpc",
        ),
        pytest.param(
            b'{"jsonrpc":"1.0","id":true,"method":"a"}',
            [(INVALID_REQUEST, None, 'Invalid Request: "jsonrpc" must be "2.0"')],
            'invalid request: "jsonrpc" must be "2.0"',
            id="old-jsonrpc-bad-id",
        ),
        pytest.param(
            b'{"jsonrpc":"1.0","id":5,"result":{}}',
            [(INVALID_REQUEST, None, 'Invalid Request: "jsonrpc" must be "2.0"')],
            'invalid request: "jsonrpc" must be "2.0"',
            id="old-jsonrpc-answer",
        ),
        *(
            pytest.param(
                answer,
                [(INVALID_REQUEST, None, _NEEDS)],
                "invalid request: " + _NEEDS.removeprefix("Invalid Request: "),
                id=f"answer-{kind}",
            )
            for kind, answer in [
                ("false-id", b'{"jsonrpc":"2.0","id":false,"result":{}}'),
                ("float-id", b'{"jsonrpc":"2.0","id":1.5,"result":{}}'),
                ("no-id", b'{"jsonrpc":"2.0","result":{}}'),
                ("result-not-object", b'{"jsonrpc":"2.0","id":1,"result":[]}'),
                (
                    "result-and-error",
                    b'{"jsonrpc":"2.0","id":1,"result":{},' + _ERROR.encode() + b"}",
                ),
                (
                    "null-result-and-error",
                    b'{"jsonrpc":"2.0","id":1,"result":null,' + _ERROR.encode() + b"}",
                ),
                ("error-without-id", b'{"jsonrpc":"2.0",' + _ERROR.encode() + b"}"),
                ("error-float-id", b'{"jsonrpc":"2.0","id":1.5,' + _ERROR.encode() + b"}"),
                (
                    "error-bool-code",
                    b'{"jsonrpc":"2.0","id":1,"error":{"code":true,"message":"m"}}',
                ),
                (
                    "error-float-code",
                    b'{"jsonrpc":"2.0","id":1,"error":{"code":1.0,"message":"m"}}',
                ),
                ("error-no-message", b'{"jsonrpc":"2.0","id":1,"error":{"code":1}}'),
                (
                    "error-number-message",
                    b'{"jsonrpc":"2.0","id":1,"error":{"code":1,"message":5}}',
                ),
                ("error-string", b'{"jsonrpc":"2.0","id":1,"error":"e"}'),
            ]
        ),
    ],
)
def test_every_judged_case_gets_its_exact_answer(
    line: bytes, expected: list[tuple[int, Any, str]], reason: str
) -> None:
    verdict = judge(line)
    assert isinstance(verdict, Reject)
    assert [json.loads(answer) for answer in verdict.answers] == [
        {"jsonrpc": "2.0", "id": i, "error": {"code": code, "message": message}}
        for code, i, message in expected
    ]
    assert verdict.reason == reason


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"jsonrpc":"2.0","id":0,"method":"a"}', Forward(request_id=0)),
        (b'{"jsonrpc":"2.0","id":"","method":"a","params":null}', Forward(request_id="")),
        (b'{"jsonrpc":"2.0","id":1,"method":"a","params":{}}', Forward(request_id=1)),
        (b'{"jsonrpc":"2.0","method":"a"}', Forward()),
        (b'{"jsonrpc":"2.0","method":"a","params":{"requestId":1}}', Forward()),
        (b'{"jsonrpc":"2.0","method":"notifications/cancelled"}', Forward()),
        (b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{}}', Forward()),
        (
            b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":"r"}}',
            Forward(cancels="r"),
        ),
        (
            b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":1.5}}',
            Forward(),
        ),
        (
            b'{"jsonrpc":"2.0","id":3,"method":"notifications/cancelled","params":{"requestId":1}}',
            Forward(request_id=3),
        ),
        (b'{"jsonrpc":"2.0","id":"s","result":{}}', Forward()),
        (b'{"jsonrpc":"2.0","id":1,"result":{},"error":null}', Forward()),
        (b'{"jsonrpc":"2.0","id":null,' + _ERROR.encode() + b"}", Forward()),
        (b'{"jsonrpc":"2.0","id":"s",' + _ERROR.encode() + b"}", Forward()),
    ],
)
def test_well_formed_messages_are_forwarded(line: bytes, expected: Forward) -> None:
    verdict = judge(line)
    assert verdict == expected
    assert type(verdict.request_id) is type(expected.request_id)


def test_error_line_is_compact_json_rpc_with_a_newline() -> None:
    assert (
        error_line(-32600, 'ünï "q"', "ïd")
        == (
            '{"jsonrpc":"2.0","id":"ïd","error":{"code":-32600,"message":"ünï \\"q\\""}}\n'
        ).encode()
    )
    assert error_line(PARSE_ERROR, "m", None) == (
        b'{"jsonrpc":"2.0","id":null,"error":{"code":-32700,"message":"m"}}\n'
    )
    assert (PARSE_ERROR, INVALID_REQUEST, INTERNAL_ERROR) == (-32700, -32600, -32603)


def _at(position: int, request_id: bytes = b"1") -> bytes:
    """A cut line whose ``id`` member ends (with its ",") at byte ``position``."""
    tail = b'","id":' + request_id + b","
    return b'{"pad":"' + b"x" * (position + 1 - len(b'{"pad":"') - len(tail)) + tail + b'"more'


@pytest.mark.parametrize(
    ("prefix", "expected"),
    [
        (b'{"a":{"b":[1,2]},"c":"d","id":"x",', "x"),
        (b'{"a":{"b":[1,2]},"id":"x"', None),
        (b'{"id":5}', 5),
        (b'\n\t\r {\r\n\t "id"\t\n\r :\n\r\t 5 \r\n\t,', 5),
        (b'{   "id"   :   6   ,', 6),
        (b'{"id":7,"x":"\xff', 7),
        (b'{"id":"\xff",', None),  # not read as "\ufffd": the client never sent that id
        (b'{"id":"\xef\xbf\xbd",', "\ufffd"),
        (b'{"id":"\xc3\xbc","p":"\xc3', "\xfc"),  # cut inside a character after the id
        (b'{1:2,"id":3,', None),
        (b'{"id" 5,', None),
        (b'{"id":true,', None),
        (b"{}", None),
        (b"", None),
        (b"   ", None),
        (b'{"a":' + b"[" * 100_000, None),
        (_at(SALVAGE_BYTES - 1), 1),
        (_at(SALVAGE_BYTES), None),
    ],
)
def test_salvage_id_cases(prefix: bytes, expected: Any) -> None:
    assert salvage_id(prefix) == expected


def test_the_salvage_window_is_64_kib() -> None:
    assert SALVAGE_BYTES == 65_536
    assert len(_at(SALVAGE_BYTES - 1).split(b'"more')[0]) == SALVAGE_BYTES


def test_an_oversized_line_answer_is_exact() -> None:
    verdict = oversized(b'{"id":"big",', 4096)
    assert verdict.answers == (
        b'{"jsonrpc":"2.0","id":"big","error":{"code":-32600,"message":"Invalid Request: '
        b'the message is longer than the 4096-byte limit; send a smaller request"}}\n',
    )
    assert verdict.reason == (
        "invalid request: the message is longer than the 4096-byte limit; send a smaller request"
    )


def test_lines_keep_64_kib_of_an_oversized_line_by_default() -> None:
    lines = Lines(10)
    assert lines.feed(b"y" * 70_000 + b"\nok\n") == [Oversized(b"y" * 65_536), b"ok"]
    assert lines.feed(b"z" * 70_000) == []
    assert lines.feed(b"z" * 10) == []
    assert lines.feed(b"") == [Oversized(b"z" * 65_536)]


def test_a_blank_last_fragment_is_no_line() -> None:
    lines = Lines(10)
    assert lines.feed(b"a\n  ") == [b"a"]
    assert lines.feed(b"") == []


def test_a_line_of_exactly_the_limit_arriving_in_pieces_is_a_line() -> None:
    assert _split([b"0123456789", b"\n"]) == [b"0123456789"]
    assert _split([b"01234", b"56789", b"\nok\n"]) == [b"0123456789", b"ok"]
