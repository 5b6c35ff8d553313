"""The stdio framing against the SDK's own message parser, and the line splitter."""

from __future__ import annotations

import json
from typing import Any

import mcp.types as types
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from mcp.types import INTERNAL_ERROR

from ld_insights_mcp.transports.stdio.framing import (
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


# Every judged line, in-process, with its exact answers; the reason logged is the first
# answer's message with its kind ("Parse error", "Invalid Request") in lower case.

_BATCH = "batches are not supported; send one JSON-RPC message per line"
_NEEDS = (
    'a message needs a "method" (request, notification) or a "result" or "error" object (answer)'
)
_BAD_ID = '"id" must be a string or an integer'
_NOT_2_0 = '"jsonrpc" must be "2.0"'
_BOTH = 'a message with "method" cannot carry "result" or "error"'
_ERROR = b'"error":{"code":1,"message":"m"}'

Answers = list[tuple[int, Any, str]]


def _unparsed(detail: str, request_id: Any = None) -> Answers:
    return [(PARSE_ERROR, request_id, f"Parse error: the line is not valid JSON ({detail})")]


def _refused(detail: str, *request_ids: Any) -> Answers:
    return [(INVALID_REQUEST, i, f"Invalid Request: {detail}") for i in request_ids or (None,)]


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        pytest.param(b"garbage", _unparsed("Expecting value at character 0"), id="garbage"),
        pytest.param(b"not json", _unparsed("Expecting value at character 0"), id="not-json"),
        pytest.param(b"\xff", _unparsed("it is not UTF-8"), id="not-utf-8"),
        pytest.param(
            b'{"jsonrpc":"2.0","id":"\xff"}', _unparsed("it is not UTF-8"), id="bad-utf-8-id"
        ),
        pytest.param(
            b"[" * 100_000 + b"]" * 100_000, _unparsed("it is nested too deeply"), id="deep"
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","id":1,"method":"a","params":',
            _unparsed("Expecting value at character 46", 1),
            id="cut-line-salvaged-id",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","id":"a\\"b","method":"x",',
            _unparsed("Expecting property name enclosed in double quotes at character 42", 'a"b'),
            id="cut-line-salvaged-escaped-id",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","method":"x","id":5,"params":{',
            _unparsed("Expecting property name enclosed in double quotes at character 47", 5),
            id="cut-line-id-after-method",
        ),
        pytest.param(
            b'[{"jsonrpc":"2.0","id":1,"method":"a"},{"jsonrpc":"2.0","id":"b","method":"a"},'
            b'{"jsonrpc":"2.0","method":"n"},{"id":3},1,{"jsonrpc":"2.0","id":true,"method":"a"},'
            b'{"jsonrpc":"2.0","id":4,"method":"a"}]',
            _refused(_BATCH, 1, "b", 4),
            id="batch-each-request",
        ),
        pytest.param(
            b'[{"jsonrpc":"2.0","id":1,"method":"ping"},'
            b'{"jsonrpc":"2.0","method":"notifications/initialized"},'
            b'{"jsonrpc":"2.0","id":"two","method":"ping"}]',
            _refused(_BATCH, 1, "two"),
            id="batch-with-a-notification",
        ),
        pytest.param(b"[]", _refused(_BATCH), id="empty-batch"),
        pytest.param(b"[1]", _refused(_BATCH), id="batch-of-a-number"),
        pytest.param(
            b'[{"jsonrpc":"2.0","method":"n"},{"id":3}]',
            _refused(_BATCH),
            id="batch-without-requests",
        ),
        *(
            pytest.param(
                b'{"jsonrpc":"2.0","id":' + bad + b',"method":"a"}',
                _refused(_BAD_ID),
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
        pytest.param(b'"x"', _refused("a message must be a JSON object"), id="not-an-object"),
        pytest.param(b"null", _refused("a message must be a JSON object"), id="null"),
        pytest.param(b"{}", _refused(_NOT_2_0), id="empty-object"),
        pytest.param(
            b'{"jsonrpc":"2.0","id":1,"method":"a","params":"s"}',
            _refused('"params" must be an object', 1),
            id="params-string",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","id":3,"method":"x","params":[1]}',
            _refused('"params" must be an object', 3),
            id="params-array",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","method":"a","params":[]}',
            _refused('"params" must be an object'),
            id="notification-params-array",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","id":"s","method":5}',
            _refused('"method" must be a string', "s"),
            id="method-number",
        ),
        pytest.param(b'{"jsonrpc":"2.0","id":1}', _refused(_NEEDS), id="neither-result-nor-error"),
        pytest.param(b'{"jsonrpc":"2.0","id":3}', _refused(_NEEDS), id="id-alone"),
        pytest.param(
            b'{"jsonrpc":"2.0","id":3,"result":{},"error":{}}',
            _refused(_NEEDS),
            id="result-and-empty-error",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","id":1,"method":"a",' + _ERROR + b"}",
            _refused(_BOTH, 1),
            id="method-and-error",
        ),
        pytest.param(
            b'{"jsonrpc":"2.0","id":2,"method":"a","result":{}}',
            _refused(_BOTH, 2),
            id="method-and-result",
        ),
        pytest.param(b'{"id":2,"method":"a"}', _refused(_NOT_2_0, 2), id="no-jsonrpc"),
        pytest.param(
            b'{"jsonrpc":"1.0","id":true,"method":"a"}', _refused(_NOT_2_0), id="old-jsonrpc-bad-id"
        ),
        pytest.param(
            b'{"jsonrpc":"1.0","id":5,"result":{}}', _refused(_NOT_2_0), id="old-jsonrpc-answer"
        ),
        *(
            pytest.param(answer, _refused(_NEEDS), id=f"answer-{kind}")
            for kind, answer in [
                ("false-id", b'{"jsonrpc":"2.0","id":false,"result":{}}'),
                ("float-id", b'{"jsonrpc":"2.0","id":1.5,"result":{}}'),
                ("no-id", b'{"jsonrpc":"2.0","result":{}}'),
                ("result-not-object", b'{"jsonrpc":"2.0","id":1,"result":[]}'),
                ("result-and-error", b'{"jsonrpc":"2.0","id":1,"result":{},' + _ERROR + b"}"),
                (
                    "null-result-and-error",
                    b'{"jsonrpc":"2.0","id":1,"result":null,' + _ERROR + b"}",
                ),
                ("error-without-id", b'{"jsonrpc":"2.0",' + _ERROR + b"}"),
                ("error-float-id", b'{"jsonrpc":"2.0","id":1.5,' + _ERROR + b"}"),
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
def test_every_judged_case_gets_its_exact_answer(line: bytes, expected: Answers) -> None:
    verdict = judge(line)
    assert isinstance(verdict, Reject)
    assert [json.loads(answer) for answer in verdict.answers] == [
        {"jsonrpc": "2.0", "id": i, "error": {"code": code, "message": message}}
        for code, i, message in expected
    ]
    kind, _, detail = expected[0][2].partition(": ")
    assert verdict.reason == f"{kind.lower()}: {detail}"


@pytest.mark.parametrize(
    ("line", "expected"),
    [
        (b'{"jsonrpc":"2.0","id":0,"method":"a"}', Forward(request_id=0)),
        (b'{"jsonrpc":"2.0","id":"","method":"a","params":null}', Forward(request_id="")),
        (b'{"jsonrpc":"2.0","id":1,"method":"a","params":{}}', Forward(request_id=1)),
        (b'{"jsonrpc":"2.0","method":"a"}', Forward()),
        (b'{"jsonrpc":"2.0","method":"notifications/initialized"}', Forward()),
        (b'{"jsonrpc":"2.0","method":"a","params":{"requestId":1}}', Forward()),
        (b'{"jsonrpc":"2.0","method":"notifications/cancelled"}', Forward()),
        (b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{}}', Forward()),
        (
            b'{"jsonrpc":"2.0","method":"notifications/cancelled","params":{"requestId":4}}',
            Forward(cancels=4),
        ),
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
        (b'{"jsonrpc":"2.0","id":9,"result":{}}', Forward()),
        (b'{"jsonrpc":"2.0","id":"s","result":{}}', Forward()),
        (b'{"jsonrpc":"2.0","id":1,"result":{},"error":null}', Forward()),
        (b'{"jsonrpc":"2.0","id":9,' + _ERROR + b"}", Forward()),
        (b'{"jsonrpc":"2.0","id":null,' + _ERROR + b"}", Forward()),
        (b'{"jsonrpc":"2.0","id":"s",' + _ERROR + b"}", Forward()),
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
        (b'{"jsonrpc":"2.0","id":123,"method":"x","params":{"a":"', 123),
        (b' { "id" : "k" , "x": ', "k"),
        (b'{"jsonrpc":"2.0","id":12', None),  # the number may continue past the cut
        (b'{"jsonrpc":"2.0","id":1.5,', None),
        (b'{"jsonrpc":"2.0","id":null,', None),
        (b'{"params":{"a":"', None),
        (b'["id", 1]', None),
        (b'{"a":1 "id":2,', None),
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
def test_an_id_is_salvaged_only_when_it_can_be_read_whole(prefix: bytes, expected: Any) -> None:
    assert salvage_id(prefix) == expected


def test_the_salvage_window_is_64_kib() -> None:
    assert SALVAGE_BYTES == 65_536
    assert len(_at(SALVAGE_BYTES - 1).split(b'"more')[0]) == SALVAGE_BYTES


@pytest.mark.parametrize(
    ("prefix", "request_id"),
    [(b'{"jsonrpc":"2.0","id":7,"params":', b"7"), (b'{"id":"big",', b'"big"')],
)
def test_an_oversized_line_is_answered_with_its_id_and_the_limit(
    prefix: bytes, request_id: bytes
) -> None:
    verdict = oversized(prefix, 4096)
    message = "the message is longer than the 4096-byte limit; send a smaller request"
    assert verdict.answers == (
        b'{"jsonrpc":"2.0","id":' + request_id + b',"error":{"code":-32600,"message":"Invalid '
        b"Request: " + message.encode() + b'"}}\n',
    )
    assert verdict.reason == f"invalid request: {message}"


TEN = b"0123456789"


@pytest.mark.parametrize(
    ("chunks", "max_line", "expected"),
    [
        pytest.param(
            [b"ab", b"c\nde\n\nf", b"g"], 10, [b"abc", b"de", b"", b"fg"], id="across-chunks"
        ),
        pytest.param(
            [TEN + b"\n" + TEN + b"x\nok\n"],
            10,
            [TEN, Oversized(b"0123"), b"ok"],
            id="at-the-limit-and-one-over",
        ),
        pytest.param(
            [b"01234", b"56789x", b"yz", b"\nok\n"],
            10,
            [Oversized(b"0123"), b"ok"],
            id="over-the-limit-in-pieces",
        ),
        pytest.param([TEN + b"xyz"], 10, [Oversized(b"0123")], id="over-the-limit-at-the-end"),
        pytest.param([TEN + b"xyz"], 2**60, [TEN + b"xyz"], id="a-huge-limit"),
        pytest.param([TEN, b"\n"], 10, [TEN], id="the-limit-then-its-newline"),
        pytest.param([b"01234", b"56789", b"\nok\n"], 10, [TEN, b"ok"], id="the-limit-in-pieces"),
    ],
)
def test_lines_are_split_across_chunks_capped_and_a_last_line_needs_no_newline(
    chunks: list[bytes], max_line: int, expected: list[bytes | Oversized]
) -> None:
    lines = Lines(max_line, keep=4)
    found = [line for chunk in chunks for line in lines.feed(chunk)]
    assert found + lines.feed(b"") == expected  # b"": the end of input


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
