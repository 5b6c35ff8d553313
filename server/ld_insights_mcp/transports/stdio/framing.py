"""JSON-RPC framing on stdio, no I/O: split the client's bytes into lines, and answer here each
line the SDK would drop unanswered or misread (docs/stdio-transport.md)."""

from __future__ import annotations

import json
import re
from contextlib import suppress
from dataclasses import dataclass
from typing import Any, Final, cast

from mcp.shared.dispatcher import as_request_id
from mcp.types import INVALID_REQUEST, PARSE_ERROR, RequestId

SALVAGE_BYTES: Final = 65_536  # how much of a line that cannot be parsed is searched for its id
_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")


@dataclass(frozen=True, slots=True)
class Forward:
    """A message for the SDK: a request's id, or the id a ``notifications/cancelled`` cancels."""

    request_id: RequestId | None = None
    cancels: RequestId | None = None


@dataclass(frozen=True, slots=True)
class Reject:
    """A line answered here: the error lines to write, and why (for the log)."""

    answers: tuple[bytes, ...]
    reason: str


@dataclass(frozen=True, slots=True)
class Oversized:
    """A line longer than the limit, skipped: ``prefix`` is its start, to read an id from."""

    prefix: bytes


class Lines:
    """Splits bytes into lines; of a line over ``max_line`` only the first ``keep`` bytes stay."""

    def __init__(self, max_line: int, keep: int = SALVAGE_BYTES) -> None:
        self._max, self._keep = max_line, keep
        self._buffer = bytearray()
        self._skipped: bytes | None = None  # the start of the oversized line being skipped

    def feed(self, data: bytes) -> list[bytes | Oversized]:
        """The lines ``data`` completes; ``b""`` ends the input (and a last unblank line)."""
        if not data and (self._skipped is not None or self._buffer.strip()):
            data = b"\n"
        lines: list[bytes | Oversized] = []
        *complete, rest = data.split(b"\n")
        for piece in complete:
            if self._skipped is not None:
                lines.append(Oversized(self._skipped))
            else:
                line = bytes(self._buffer + piece) if self._buffer else piece
                lines.append(Oversized(line[: self._keep]) if len(line) > self._max else line)
            self._buffer.clear()
            self._skipped = None
        if self._skipped is None:
            self._buffer += rest
            if len(self._buffer) > self._max:
                self._skipped = bytes(self._buffer[: self._keep])
                self._buffer.clear()
        return lines


def error_line(code: int, message: str, request_id: RequestId | None) -> bytes:
    """One JSON-RPC error answer, newline-terminated."""
    answer = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    return json.dumps(answer, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def judge(line: bytes) -> Forward | Reject:
    """Decide what to do with one line from the client (without its newline)."""
    try:
        message = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        problem = "it is not UTF-8"
    except json.JSONDecodeError as exc:
        problem = f"{exc.msg} at character {exc.pos}"
    except RecursionError:
        problem = "it is nested too deeply"
    else:
        return _judge_message(message)
    return _reject(f"the line is not valid JSON ({problem})", salvage_id(line), code=PARSE_ERROR)


def oversized(prefix: bytes, limit: int) -> Reject:
    """The answer to a line longer than ``limit`` bytes, of which ``prefix`` was kept."""
    detail = f"the message is longer than the {limit}-byte limit; send a smaller request"
    return _reject(detail, salvage_id(prefix))


def salvage_id(prefix: bytes) -> RequestId | None:
    """The ``id`` of a line not parsed whole, from the members before the first broken one."""
    data = prefix[:SALVAGE_BYTES]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:  # up to the first byte that is not UTF-8: never guessed
        text = data[: exc.start].decode("utf-8")
    index = _skip_space(text, 0)
    if not text.startswith("{", index):
        return None
    with suppress(ValueError, RecursionError):
        for _ in range(len(text)):  # a member per round; bounded, whatever the text
            key, index = _DECODER.raw_decode(text, _skip_space(text, index + 1))  # past { or ,
            index = _skip_space(text, index)
            if not isinstance(key, str) or not text.startswith(":", index):
                return None
            value, index = _DECODER.raw_decode(text, _skip_space(text, index + 1))
            index = _skip_space(text, index)
            if not text.startswith((",", "}"), index):
                return None  # the value may be cut short, or garbage follows it
            if key == "id":
                return as_request_id(value)
    return None


def _judge_message(message: Any) -> Forward | Reject:
    if isinstance(message, list):  # batches left MCP in 2025-06-18: each request gets an error
        requests = [i for i in message if isinstance(i, dict) and "method" in i]
        ids = [i["id"] for i in requests if as_request_id(i.get("id")) is not None]
        return _reject("batches are not supported; send one JSON-RPC message per line", *ids)
    if not isinstance(message, dict):
        return _reject("a message must be a JSON object")
    is_call = "method" in message
    answer_to = as_request_id(message.get("id")) if is_call else None
    if message.get("jsonrpc") != "2.0":
        return _reject('"jsonrpc" must be "2.0"', answer_to)
    if not is_call:
        return _judge_answer(message)
    if not isinstance(message["method"], str):
        return _reject('"method" must be a string', answer_to)
    if "result" in message or "error" in message:
        return _reject('a message with "method" cannot carry "result" or "error"', answer_to)
    params = message.get("params")
    if params is not None and not isinstance(params, dict):
        return _reject('"params" must be an object', answer_to)
    if "id" in message:
        if answer_to is None:
            return _reject('"id" must be a string or an integer')
        return Forward(request_id=answer_to)
    if message["method"] == "notifications/cancelled" and params is not None:
        return Forward(cancels=as_request_id(params.get("requestId")))
    return Forward()


def _judge_answer(message: dict[str, Any]) -> Forward | Reject:
    """A message without ``method`` must answer one of the server's requests."""
    request_id = message.get("id", False)
    is_id = as_request_id(request_id) is not None
    result, error = message.get("result"), message.get("error")
    answers = isinstance(result, dict) and error is None and is_id
    fails = (
        "result" not in message
        and isinstance(error, dict)
        and type(error.get("code")) is int
        and isinstance(error.get("message"), str)
        and (request_id is None or is_id)
    )
    if answers or fails:
        return Forward()
    return _reject(
        'a message needs a "method" (request, notification) or a "result" or "error" '
        "object (answer)"
    )


def _reject(detail: str, *ids: RequestId | None, code: int = INVALID_REQUEST) -> Reject:
    """An error answer for each of ``ids`` (one with ``id: null`` when there is none)."""
    kind = "Parse error" if code == PARSE_ERROR else "Invalid Request"
    answers = tuple(error_line(code, f"{kind}: {detail}", i) for i in ids or (None,))
    return Reject(answers, f"{kind.lower()}: {detail}")


def _skip_space(text: str, index: int) -> int:
    return cast(re.Match[str], _WHITESPACE.match(text, index)).end()  # "*" always matches
