"""JSON-RPC framing on stdio: split the client's bytes into lines, judge each line.

Pure functions, no I/O. A line either goes on to the SDK (``Forward``) or is answered here
with the error JSON-RPC 2.0 gives for it (``Reject``): -32700 when it is not JSON, -32600
when it is JSON but not one message the SDK can take. The SDK would otherwise drop such a
line without an answer, or take a request whose ``id`` is an object for a notification.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Final, cast

PARSE_ERROR: Final = -32700
INVALID_REQUEST: Final = -32600
INTERNAL_ERROR: Final = -32603

SALVAGE_BYTES: Final = 65_536
"""How much of a line that cannot be parsed whole is searched for its ``id``."""

RequestId = int | str

_DECODER = json.JSONDecoder()
_WHITESPACE = re.compile(r"[ \t\n\r]*")


@dataclass(frozen=True, slots=True)
class Forward:
    """A well-formed message for the SDK: a request (with its id) or anything else."""

    request_id: RequestId | None = None
    cancels: RequestId | None = None
    """For ``notifications/cancelled``: the id of the request the client gave up on."""


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
    """Splits bytes into lines without their newline. A line longer than ``max_line`` is never
    held whole: its first ``keep`` bytes stand for it (``Oversized``), the rest is skipped."""

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


def is_request_id(value: object) -> bool:
    """MCP request ids are strings or integers (not booleans, floats or null)."""
    return type(value) is int or type(value) is str


def error_line(code: int, message: str, request_id: RequestId | None) -> bytes:
    """One JSON-RPC error answer, newline-terminated."""
    answer = {"jsonrpc": "2.0", "id": request_id, "error": {"code": code, "message": message}}
    return json.dumps(answer, separators=(",", ":"), ensure_ascii=False).encode() + b"\n"


def judge(line: bytes) -> Forward | Reject:
    """Decide what to do with one line from the client (without its newline)."""
    try:
        message = json.loads(line.decode("utf-8"))
    except UnicodeDecodeError:
        return _parse_error(line, "it is not UTF-8")
    except json.JSONDecodeError as exc:
        return _parse_error(line, f"{exc.msg} at character {exc.pos}")
    except RecursionError:
        return _parse_error(line, "it is nested too deeply")
    if isinstance(message, dict):
        return _judge_object(message)
    if isinstance(message, list):
        return _judge_batch(message)
    return _invalid("a message must be a JSON object", None)


def oversized(prefix: bytes, limit: int) -> Reject:
    """The answer to a line longer than ``limit`` bytes, of which ``prefix`` was kept."""
    return _invalid(
        f"the message is longer than the {limit}-byte limit; send a smaller request",
        salvage_id(prefix),
    )


def salvage_id(prefix: bytes) -> RequestId | None:
    """The ``id`` of a request that cannot be parsed whole, read from the members that come
    before the first broken one; None when it cannot be read."""
    data = prefix[:SALVAGE_BYTES]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:  # up to the first byte that is not UTF-8: never guessed
        text = data[: exc.start].decode("utf-8")
    index = _skip_space(text, 0)
    if not text.startswith("{", index):
        return None
    index += 1
    try:
        for _ in range(len(text)):  # a member per round; bounded, whatever the text
            key, index = _DECODER.raw_decode(text, _skip_space(text, index))
            index = _skip_space(text, index)
            if not isinstance(key, str) or not text.startswith(":", index):
                return None
            value, index = _DECODER.raw_decode(text, _skip_space(text, index + 1))
            index = _skip_space(text, index)
            if not text.startswith((",", "}"), index):
                return None  # the value may be cut short, or garbage follows it
            if key == "id":
                return value if is_request_id(value) else None
            index += 1
    except (ValueError, RecursionError):
        pass
    return None


def _judge_object(message: dict[str, Any]) -> Forward | Reject:
    is_call = "method" in message
    request_id = message.get("id")
    answer_to = request_id if is_call and is_request_id(request_id) else None
    if message.get("jsonrpc") != "2.0":
        return _invalid('"jsonrpc" must be "2.0"', answer_to)
    if not is_call:
        return _judge_answer(message)
    if not isinstance(message["method"], str):
        return _invalid('"method" must be a string', answer_to)
    if "result" in message or "error" in message:
        return _invalid('a message with "method" cannot carry "result" or "error"', answer_to)
    params = message.get("params")
    if params is not None and not isinstance(params, dict):
        return _invalid('"params" must be an object', answer_to)
    if "id" in message:
        if answer_to is None:
            return _invalid('"id" must be a string or an integer', None)
        return Forward(request_id=answer_to)
    if message["method"] == "notifications/cancelled" and params is not None:
        cancelled = params.get("requestId")
        return Forward(cancels=cancelled if is_request_id(cancelled) else None)
    return Forward()


def _judge_answer(message: dict[str, Any]) -> Forward | Reject:
    """A message without ``method`` must answer one of the server's requests."""
    request_id = message.get("id", False)
    result, error = message.get("result"), message.get("error")
    answers = isinstance(result, dict) and error is None and is_request_id(request_id)
    fails = (
        "result" not in message
        and isinstance(error, dict)
        and type(error.get("code")) is int
        and isinstance(error.get("message"), str)
        and (request_id is None or is_request_id(request_id))
    )
    if answers or fails:
        return Forward()
    return _invalid(
        'a message needs a "method" (request, notification) or a "result" or "error" '
        "object (answer)",
        None,
    )


def _judge_batch(batch: list[Any]) -> Reject:
    """Batches are not part of MCP since 2025-06-18: each request in one gets an error."""
    message = "batches are not supported; send one JSON-RPC message per line"
    requests = [i for i in batch if isinstance(i, dict) and "method" in i]
    ids = [i["id"] for i in requests if is_request_id(i.get("id"))] or [None]
    answers = tuple(error_line(INVALID_REQUEST, f"Invalid Request: {message}", i) for i in ids)
    return Reject(answers, f"invalid request: {message}")


def _parse_error(line: bytes, detail: str) -> Reject:
    message = f"the line is not valid JSON ({detail})"
    answer = error_line(PARSE_ERROR, f"Parse error: {message}", salvage_id(line))
    return Reject((answer,), f"parse error: {message}")


def _invalid(detail: str, request_id: RequestId | None) -> Reject:
    answer = error_line(INVALID_REQUEST, f"Invalid Request: {detail}", request_id)
    return Reject((answer,), f"invalid request: {detail}")


def _skip_space(text: str, index: int) -> int:
    return cast(re.Match[str], _WHITESPACE.match(text, index)).end()  # "*" always matches
