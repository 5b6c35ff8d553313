"""The stdio relay in-process: real pipes for the client, the test plays the client and a
stand-in for the SDK on the relay's in-memory streams.

The stand-in answers the way the SDK does (a ``SessionMessage`` per answer) and, like the SDK,
drops the requests still running when its input ends. Every test runs twice: with the client's
pipes on the event loop (POSIX FIFOs) and through threads (Windows, and anything not a FIFO).
The subprocess tests in ``test_stdio_end_of_input.py`` prove the same promises with the real
SDK and the real descriptors; these make each rule of ``relay.py`` observable.
"""

from __future__ import annotations

import fcntl
import json
import logging
import os
import socket
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import anyio
import mcp.types as types
import pytest
from mcp.shared.message import SessionMessage
from mcp.types import INTERNAL_ERROR

from ld_insights_mcp.transports.stdio import descriptors
from ld_insights_mcp.transports.stdio.descriptors import is_fifo, open_client
from ld_insights_mcp.transports.stdio.framing import INVALID_REQUEST, PARSE_ERROR
from ld_insights_mcp.transports.stdio.relay import (
    ANSWER_GRACE,
    BACKLOG_BYTES,
    Relay,
    SdkInput,
    SdkOutput,
)

from .stdio_standin import StandInSdk, in_daemon_thread, write_all

pytestmark = [
    pytest.mark.anyio,
    pytest.mark.timeout(10),  # a hang fails, not times out
    pytest.mark.filterwarnings("error::RuntimeWarning"),  # e.g. line buffering on a binary pipe
]

LIMIT = 4096
SESSION_TIMEOUT = 8.0
"""A relay that has not finished by then hangs: the test fails instead of waiting forever."""


def request(request_id: Any, method: str = "echo", **params: Any) -> bytes:
    message = {"jsonrpc": "2.0", "id": request_id, "method": method, "params": params}
    return json.dumps(message).encode()


def cancel(request_id: Any) -> bytes:
    message = {"jsonrpc": "2.0", "method": "notifications/cancelled", "params": {}}
    message["params"] = {"requestId": request_id}
    return json.dumps(message).encode()


def _bytes(line: str | bytes) -> bytes:
    return line if isinstance(line, bytes) else line.encode()


@dataclass
class Session:
    output: bytes
    sdk: StandInSdk
    relay: Relay

    def answers(self) -> list[dict[str, Any]]:
        return [json.loads(line) for line in self.output.splitlines() if line.strip()]

    def by_id(self) -> dict[Any, dict[str, Any]]:
        answers = self.answers()
        by_id = {a["id"]: a for a in answers}
        assert len(by_id) == len(answers), f"an id was answered twice: {answers}"
        return by_id


@dataclass
class Wire:
    """The client's two pipes: the test's ends and the relay's."""

    client_in: int
    """The client writes its requests here."""
    client_out: int
    """The client reads the answers here."""
    relay_in: int
    relay_out: int


def _pipe(size: int | None = None) -> tuple[int, int]:
    read_end, write_end = os.pipe()
    if size is not None:
        fcntl.fcntl(write_end, fcntl.F_SETPIPE_SZ, size)
    return read_end, write_end


def wire(*, client_pipe: int | None = None) -> Wire:
    relay_in, client_in = _pipe()
    client_out, relay_out = _pipe(client_pipe)
    return Wire(client_in, client_out, relay_in, relay_out)


THREADS: list[bool] = [False]
"""Whether the running test reads and writes the client through threads."""


@pytest.fixture(autouse=True, params=["event loop", "threads"])
def _io(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test on FIFOs read on the event loop, and through threads as on Windows."""
    THREADS[0] = request.param == "threads"
    if THREADS[0]:
        monkeypatch.setattr(descriptors, "is_fifo", lambda fd: False)


def event_loop_only(why: str) -> None:
    if THREADS[0]:
        pytest.skip(why)


class Reader:
    """Reads the client's stdout in a thread, all at once or ``chunk`` bytes at a time."""

    def __init__(self, fd: int, *, chunk: int = 65_536, start: bool = True) -> None:
        self._fd = fd
        self._chunk = chunk
        self.data = bytearray()
        self.go = threading.Event()
        if start:
            self.go.set()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        self.go.wait()
        with os.fdopen(self._fd, "rb", buffering=0) as stream:
            while chunk := stream.read(self._chunk):
                self.data += chunk

    def join(self) -> bytes:
        self.go.set()
        self._thread.join(SESSION_TIMEOUT)
        assert not self._thread.is_alive(), "the client's stdout was never closed"
        return bytes(self.data)


async def run_session(
    lines: Sequence[str | bytes],
    *,
    budget: float = 30.0,
    max_line: int = LIMIT,
    close_input: bool = True,
    after_writing: Callable[[Wire], None] | None = None,
    the_wire: Wire | None = None,
    reader: Reader | None = None,
    sdk: StandInSdk | None = None,
) -> Session:
    """Write ``lines`` to the client's stdin (then close it), relay, read every answer."""
    w = the_wire or wire()
    sdk = sdk or StandInSdk()
    reader = reader or Reader(w.client_out)
    relay = Relay(call_budget=budget, max_line=max_line)
    payload = b"".join(_bytes(line) + b"\n" for line in lines)

    def client() -> None:
        write_all(w.client_in, payload)
        if after_writing is not None:
            after_writing(w)
        if close_input:
            os.close(w.client_in)

    with anyio.fail_after(SESSION_TIMEOUT):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(in_daemon_thread, client)
            await relay.serve(open_client(w.relay_in, w.relay_out), sdk.serve)
    output = await in_daemon_thread(reader.join)
    if not close_input and w.client_in >= 0:
        if not THREADS[0]:  # a reading thread may block on the pipe until the process exits
            with pytest.raises(BrokenPipeError):  # the relay let go of the client's stdin
                os.write(w.client_in, b"\n")
        os.close(w.client_in)
    return Session(output, sdk, relay)


@pytest.fixture(autouse=True)
def _relay_logs(caplog: pytest.LogCaptureFixture) -> None:
    caplog.set_level(logging.INFO, logger="ld_insights_mcp.transports.stdio")


def _warnings(caplog: pytest.LogCaptureFixture) -> list[str]:
    return [r.getMessage() for r in caplog.records if r.levelno == logging.WARNING]


# forwarding and counting


async def test_requests_are_forwarded_unchanged_and_every_answer_is_relayed() -> None:
    lines = [request(1, value="a"), request("k", value="b"), request(3, "chatty")]
    session = await run_session(lines)
    assert [m["id"] for m in session.sdk.received] == [1, "k", 3]
    assert session.sdk.received[0] == json.loads(lines[0])
    answers = session.answers()
    assert answers[0] == {"jsonrpc": "2.0", "id": 1, "result": {"echo": {"value": "a"}}}
    assert answers[1]["result"] == {"echo": {"value": "b"}}
    # the SDK's own notification and request are relayed too, and answer nothing
    assert [a.get("method") for a in answers[2:]] == ["notifications/progress", "roots/list", None]
    assert answers[-1]["id"] == 3


async def test_notifications_and_answers_from_the_client_pass_through() -> None:
    lines = [
        b'{"jsonrpc":"2.0","method":"notifications/initialized"}',
        b'{"jsonrpc":"2.0","id":0,"result":{"roots":[]}}',
        b"   ",
        b"",
        request(2),
    ]
    session = await run_session(lines)
    assert [m.get("method") for m in session.sdk.received] == [
        "notifications/initialized",
        None,
        "echo",
    ]
    assert [a["id"] for a in session.answers()] == [2]


async def test_a_carriage_return_inside_a_line_does_not_split_it() -> None:
    line = b'{"jsonrpc":"2.0",\r"id":1,"method":"echo","params":{"v":"x"}}\r'
    session = await run_session([line])
    assert session.sdk.received == [json.loads(line)]
    assert session.by_id()[1]["result"] == {"echo": {"v": "x"}}


async def test_a_last_line_without_its_newline_is_served() -> None:
    w = wire()
    reader = Reader(w.client_out)

    def unterminated(wire_: Wire) -> None:
        write_all(wire_.client_in, request(2))

    session = await run_session([request(1)], the_wire=w, reader=reader, after_writing=unterminated)
    assert [a["id"] for a in session.answers()] == [1, 2]


async def test_end_of_input_waits_for_every_request_already_read() -> None:
    # The answers come after the client's stdin closed: the SDK must still be reading then.
    lines = [request(1, "later", delay=0.6), request("2", "later", delay=0.3), request(3)]
    session = await run_session(lines)
    answers = session.by_id()
    assert sorted(answers, key=str) == [1, 2, 3]  # "2" was answered as 2, as the SDK does
    assert answers[1]["result"] == {"late": True}
    assert answers[2]["result"] == {"late": True}


async def test_the_same_id_sent_twice_is_waited_for_twice() -> None:
    lines = [request(5, "later", delay=0.3), request("5", "later", delay=0.6)]
    session = await run_session(lines)
    assert [a["id"] for a in session.answers()] == [5, 5]


async def test_a_request_past_the_budget_gets_an_internal_error_and_no_late_answer(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines = [request(1, "hang"), request("h", "hang"), request(2), request(3, "later", delay=9)]
    session = await run_session(lines, budget=0.2)
    answers = session.by_id()
    assert sorted(answers, key=str) == [1, 2, 3, "h"]
    assert answers[2]["result"] == {"echo": {}}
    for request_id in (1, "h", 3):
        assert answers[request_id]["jsonrpc"] == "2.0"
        error = answers[request_id]["error"]
        assert error["code"] == INTERNAL_ERROR
        assert error["message"].startswith(
            "Internal error: the server's input ended while this request was still running, "
            "and it did not finish within the 0.2 s call budget. It was abandoned and its "
            "outcome is unknown: if it changed something, read the result back before "
            "repeating it."
        )
    abandoned = [w for w in _warnings(caplog) if "answered with error -32603" in w]
    assert len(abandoned) == 3
    assert abandoned[0].startswith("stdio: request 1: the server's input ended")


async def test_the_wait_at_end_of_input_is_the_call_budget_and_a_grace_second() -> None:
    assert ANSWER_GRACE == 1.0
    assert Relay(call_budget=45, max_line=LIMIT).wait_at_end == 46.0


class _OnLog(logging.Handler):
    """Sets ``event`` when a record containing ``text`` is logged."""

    def __init__(self, text: str, event: threading.Event) -> None:
        super().__init__()
        self._text, self._event = text, event

    def emit(self, record: logging.LogRecord) -> None:
        if self._text in record.getMessage():
            self._event.set()


async def test_a_late_answer_to_an_abandoned_request_is_dropped(
    caplog: pytest.LogCaptureFixture,
) -> None:
    # The budget expires while the SDK still holds the request; its answer then comes late.
    late = threading.Event()

    class LateSdk(StandInSdk):
        async def handle(
            self, message: dict[str, Any], write: SdkOutput, running: anyio.abc.TaskGroup
        ) -> bool:
            if message.get("method") == "slow":
                await in_daemon_thread(lambda: late.wait(SESSION_TIMEOUT))  # the relay gave up
                await self.answer(write, message["id"], {"late": True})
                notice = types.JSONRPCNotification(jsonrpc="2.0", method="notifications/message")
                await write.send(SessionMessage(notice))  # what follows is still relayed
                return False
            return await super().handle(message, write, running)

    handler = _OnLog("answered with error", late)
    logging.getLogger("ld_insights_mcp.transports.stdio.relay").addHandler(handler)
    try:
        session = await run_session([request(7, "slow")], budget=0.1, sdk=LateSdk())
    finally:
        logging.getLogger("ld_insights_mcp.transports.stdio.relay").removeHandler(handler)
    answer, notice = session.answers()
    assert answer["id"] == 7
    assert answer["error"]["code"] == INTERNAL_ERROR
    assert notice == {"jsonrpc": "2.0", "method": "notifications/message"}
    assert "stdio: dropped a late answer to abandoned request 7" in [
        r.getMessage() for r in caplog.records
    ]


async def test_a_cancelled_request_is_neither_waited_for_nor_answered() -> None:
    lines = [request(1, "hang"), request("2", "hang"), cancel(1), cancel(2), cancel(99), request(3)]
    session = await run_session(lines, budget=20)  # waiting for them would fail the test
    assert [a["id"] for a in session.answers()] == [3]
    assert [m.get("method") for m in session.sdk.received].count("notifications/cancelled") == 3


async def test_a_cancel_of_an_unknown_id_does_not_stop_the_wait_for_others() -> None:
    lines = [request(1, "later", delay=0.5), cancel("x"), cancel({"bad": 1})]
    session = await run_session(lines)
    assert session.by_id()[1]["result"] == {"late": True}


# malformed and oversized lines


async def test_malformed_lines_are_answered_here_and_logged_and_never_reach_the_sdk(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines = [
        b"not json",
        b'[{"jsonrpc":"2.0","id":4,"method":"echo"},{"jsonrpc":"2.0","id":5,"method":"echo"}]',
        request({"a": 1}),
        request(6),
    ]
    session = await run_session(lines)
    answers = session.answers()
    assert [(a["id"], a.get("error", {}).get("code")) for a in answers] == [
        (None, PARSE_ERROR),
        (4, INVALID_REQUEST),
        (5, INVALID_REQUEST),
        (None, INVALID_REQUEST),
        (6, None),
    ]
    assert [m["id"] for m in session.sdk.received] == [6]
    warnings = _warnings(caplog)
    assert len(warnings) == 3
    assert warnings[0].startswith("stdio: answered a malformed message with an error: parse error")
    assert "not json" not in " ".join(warnings)  # the reason, not the content


async def test_an_oversized_line_is_answered_with_its_id_and_the_next_line_is_served(
    caplog: pytest.LogCaptureFixture,
) -> None:
    big = request(8, pad="x" * (2 * LIMIT))
    cut = b"y" * (3 * LIMIT)  # nothing to read an id from
    session = await run_session([request(1), big, cut, request(2), big])
    answers = session.answers()  # answered here at once, or by the SDK a little later
    assert sorted(str(a["id"]) for a in answers) == ["1", "2", "8", "8", "None"]
    for answer in (a for a in answers if a["id"] in (8, None)):
        assert answer["error"]["code"] == INVALID_REQUEST
        assert answer["error"]["message"] == (
            f"Invalid Request: the message is longer than the {LIMIT}-byte limit; "
            "send a smaller request"
        )
    assert [m["id"] for m in session.sdk.received] == [1, 2]
    warnings = _warnings(caplog)
    assert len(warnings) == 3
    assert set(warnings) == {
        "stdio: answered an oversized message with an error: invalid request: the message is "
        f"longer than the {LIMIT}-byte limit; send a smaller request"
    }


async def test_a_line_at_the_limit_is_served() -> None:
    prefix = request(1, pad="")
    line = request(1, pad="x" * (LIMIT - len(prefix)))
    assert len(line) == LIMIT
    session = await run_session([line])
    assert session.by_id()[1]["result"] == {"echo": {"pad": "x" * (LIMIT - len(prefix))}}


async def test_an_answer_larger_than_the_client_limit_is_relayed_whole() -> None:
    session = await run_session([request(1, "big", size=20 * LIMIT)])
    assert session.by_id()[1]["result"] == {"pad": "x" * (20 * LIMIT)}


async def test_what_the_sdk_writes_reaches_the_client_as_one_json_line_each() -> None:
    # The SDK's output is messages the relay serialises: nothing else can reach stdout.
    session = await run_session([request(1, "chatty"), request(2, pad="a\nb\u2028c")])
    assert session.output.startswith(b'{"jsonrpc":"2.0","method":"notifications/progress"')
    # as the SDK's own stdio loop writes them: no member that was not set
    assert session.output.splitlines()[:2] == [
        b'{"jsonrpc":"2.0","method":"notifications/progress","params":{}}',
        b'{"jsonrpc":"2.0","id":0,"method":"roots/list"}',
    ]
    assert len(session.output.splitlines()) == 4
    assert session.answers()[-1] == {
        "jsonrpc": "2.0",
        "id": 2,
        "result": {"echo": {"pad": "a\nb\u2028c"}},
    }


async def test_an_answer_over_the_backlog_once_written_does_not_stop_the_reading() -> None:
    w = wire()
    reader = Reader(w.client_out)
    size = 2 * BACKLOG_BYTES

    def one_after_the_other(wire_: Wire) -> None:
        deadline = time.monotonic() + SESSION_TIMEOUT
        while len(reader.data) < size and time.monotonic() < deadline:
            time.sleep(0.01)  # the first answer was written whole
        write_all(wire_.client_in, b'{"jsonrpc":"2.0","method":"notifications/x"}\n')
        time.sleep(0.2)  # not a timing assertion: lets the relay take the notice on its own
        write_all(wire_.client_in, request(2) + b"\n")

    session = await run_session(
        [request(1, "big", size=size)], the_wire=w, reader=reader, after_writing=one_after_the_other
    )
    assert [a["id"] for a in session.answers()] == [1, 2]


async def test_a_line_the_sdk_parser_refuses_is_passed_on_as_the_sdk_loop_does() -> None:
    # json.loads takes a lone surrogate escape, pydantic's parser does not: the SDK's own stdio
    # loop hands the SDK the exception (which it logs), and so does the relay.
    session = await run_session([b'{"jsonrpc":"2.0","method":"x","params":{"s":"\\ud800"}}'])
    assert session.sdk.received == []
    assert len(session.sdk.errors) == 1


# ends of the session


async def test_the_sdk_stopping_first_ends_the_session_and_abandons_what_it_left(
    caplog: pytest.LogCaptureFixture,
) -> None:
    lines = [request(1, "hang"), request(2, "stop")]
    session = await run_session(lines, close_input=False)  # only the SDK's stop ends it
    answers = session.answers()
    assert [a["id"] for a in answers] == [1, 2]
    for answer in answers:
        assert answer["error"]["code"] == INTERNAL_ERROR
        assert answer["error"]["message"].startswith(
            "Internal error: the server stopped before answering this request. It was abandoned"
        )
    assert any("stdio: request 1: the server stopped" in w for w in _warnings(caplog))


async def test_once_the_session_ends_the_client_is_no_longer_read() -> None:
    # The SDK stopped; as it does, the client sends one more request. It must stay unread
    # (nobody would serve it), not be taken in and answered as abandoned.
    w = wire()

    class StoppingSdk(StandInSdk):
        async def serve(self, read: SdkInput, write: SdkOutput) -> None:
            await super().serve(read, write)
            write_all(w.client_in, request(2) + b"\n")  # a small write: the pipe takes it

    session = await run_session(
        [request(1, "stop")], close_input=False, the_wire=w, sdk=StoppingSdk()
    )
    assert [a["id"] for a in session.answers()] == [1]


async def test_a_failure_of_the_sdk_is_raised_after_every_answer_was_written() -> None:
    w = wire()
    reader = Reader(w.client_out)
    relay = Relay(call_budget=30, max_line=LIMIT)

    async def failing_sdk(read: SdkInput, write: SdkOutput) -> None:
        await read.receive()
        raise RuntimeError("the SDK failed")

    write_all(w.client_in, request(1, "hang") + b"\n")
    with anyio.fail_after(SESSION_TIMEOUT), pytest.raises(RuntimeError, match="the SDK failed"):
        await relay.serve(open_client(w.relay_in, w.relay_out), failing_sdk)
    os.close(w.client_in)
    output = await in_daemon_thread(reader.join)
    [answer] = [json.loads(line) for line in output.splitlines()]
    assert answer["id"] == 1
    assert answer["error"]["code"] == INTERNAL_ERROR


@pytest.mark.parametrize("stdin_first", [False, True])
async def test_the_session_ends_when_the_client_closes_its_stdout(
    caplog: pytest.LogCaptureFixture, stdin_first: bool
) -> None:
    # stdin_first: the end of input came first, and the relay waits for the two requests
    # (budget 30 s); the closed stdout must end that wait too, since nobody reads answers.
    event_loop_only("a closed stdout that is not a FIFO is seen at the next write")
    w = wire()
    reader = Reader(os.open(os.devnull, os.O_RDONLY))
    sdk = StandInSdk()

    def close_stdout_once_forwarded(wire_: Wire) -> None:
        deadline = time.monotonic() + SESSION_TIMEOUT
        while len(sdk.received) < 2 and time.monotonic() < deadline:
            time.sleep(0.01)
        if stdin_first:
            os.close(wire_.client_in)
            wire_.client_in = -1
            time.sleep(0.2)  # not a timing assertion: lets the relay reach its wait first
        os.close(wire_.client_out)  # nobody will read an answer any more

    session = await run_session(
        [request(1, "hang"), request(2, "hang")],
        close_input=False,  # only the closed stdout ends the session
        the_wire=w,
        reader=reader,
        sdk=sdk,
        after_writing=close_stdout_once_forwarded,
    )
    assert session.output == b""
    assert "stdio: the client closed stdout; 2 request(s) left unanswered" in _warnings(caplog)
    assert not [w for w in _warnings(caplog) if "answered with error" in w]


async def test_a_slow_reader_gets_every_answer_complete() -> None:
    w = wire(client_pipe=4096)
    reader = Reader(w.client_out, chunk=61, start=False)
    lines = [request(n, "big", size=10_000 + n) for n in range(20)]

    def start_reading_later(_: Wire) -> None:
        time.sleep(0.2)  # not a timing assertion: it only lets the output back up first
        reader.go.set()

    session = await run_session(lines, the_wire=w, reader=reader, after_writing=start_reading_later)
    assert session.output.endswith(b"\n")
    answers = session.answers()
    assert [a["id"] for a in answers] == list(range(20))
    assert all(a["result"] == {"pad": "x" * (10_000 + a["id"])} for a in answers)


def _fill(fd: int, line: bytes, limit: int) -> int:
    """Write ``line`` over and over without blocking until the pipe stays full (or
    ``limit`` bytes went in); the number of bytes written."""
    os.set_blocking(fd, False)
    written, stuck_since = 0, None
    while written < limit:
        try:
            written += os.write(fd, line)
            stuck_since = None
        except BlockingIOError:
            stuck_since = stuck_since or time.monotonic()
            if time.monotonic() - stuck_since > 0.5:
                break  # the relay stopped reading (a slower relay only makes this pass)
            time.sleep(0.01)
    os.set_blocking(fd, True)
    return written


@pytest.mark.parametrize("backed_up", ["client", "sdk"])
async def test_the_relay_stops_reading_the_client_while_a_destination_is_backed_up(
    backed_up: str,
) -> None:
    w = wire(client_pipe=4096)
    reader = Reader(w.client_out, start=backed_up == "sdk")
    reading = threading.Event()
    if backed_up == "client":
        reading.set()
    sdk = StandInSdk(reading=reading)
    line = request(1, "big", size=2000, pad="p" * 1000) + b"\n"
    limit = 4 * 1024 * 1024
    written: list[int] = []

    def fill_then_drain(wire_: Wire) -> None:
        written.append(_fill(wire_.client_in, line, limit))
        reader.go.set()
        reading.set()

    session = await run_session(
        [], the_wire=w, reader=reader, sdk=sdk, after_writing=fill_then_drain
    )
    assert written[0] < 1024 * 1024, "the relay kept reading the client while backed up"
    assert len(session.answers()) == written[0] // len(line)


# descriptors that are not pipes


async def test_regular_files_as_stdin_and_stdout(tmp_path: Path) -> None:
    requests = tmp_path / "requests.jsonl"
    requests.write_bytes(b"".join(request(n, "big", size=5000) + b"\n" for n in range(30)))
    answers_file = tmp_path / "answers.jsonl"
    client_in = os.open(requests, os.O_RDONLY)
    client_out = os.open(answers_file, os.O_WRONLY | os.O_CREAT)
    assert not is_fifo(client_in)
    assert not is_fifo(client_out)
    relay = Relay(call_budget=30, max_line=LIMIT)
    with anyio.fail_after(SESSION_TIMEOUT):
        await relay.serve(open_client(client_in, client_out), StandInSdk().serve)
    # serve returns only once every byte reached the file
    lines = answers_file.read_bytes().splitlines()
    assert [json.loads(x)["id"] for x in lines] == list(range(30))
    for fd in (client_in, client_out):  # both were taken over and closed
        with pytest.raises(OSError, match="Bad file descriptor"):
            os.fstat(fd)


async def test_a_socket_as_stdin_and_stdout_is_read_by_a_daemon_thread() -> None:
    client, server = socket.socketpair()
    client_in, client_out = os.dup(server.fileno()), os.dup(server.fileno())
    server.close()
    relay = Relay(call_budget=30, max_line=LIMIT)
    readers: dict[str, bool] = {}
    output: list[bytes] = []

    client.settimeout(SESSION_TIMEOUT)

    def client_side() -> None:
        client.sendall(request(1) + b"\n")
        answer = client.recv(65_536)
        readers.update((t.name, t.daemon) for t in threading.enumerate() if t.name == "stdio-in")
        client.shutdown(socket.SHUT_WR)
        while chunk := client.recv(65_536):
            answer += chunk
        output.append(answer)

    with anyio.fail_after(SESSION_TIMEOUT):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(in_daemon_thread, client_side)
            await relay.serve(open_client(client_in, client_out), StandInSdk().serve)
    client.close()
    assert [json.loads(line)["id"] for line in output[0].splitlines()] == [1]
    # daemon: a reader blocked on a terminal must not keep the process alive at exit
    assert readers == {"stdio-in": True}
