"""The descriptors of a stdio session and ``run_stdio``, in this process: fd 0, 1 and 2 are
swapped for pipes inside the test and put back afterwards."""

from __future__ import annotations

import json
import os
import select
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from functools import partial
from typing import Any

import anyio
import pytest
from mcp.server import MCPServer
from pydantic import ValidationError

from ld_insights_mcp.config import Settings, format_validation_error
from ld_insights_mcp.transports.stdio import run_stdio
from ld_insights_mcp.transports.stdio.descriptors import claim_stdio, private

from .stdio_standin import write_all


@contextmanager
def standard_fds() -> Iterator[dict[str, int]]:
    """Pipes as fd 0 and fd 1 (the client's stdin and stdout); the real ones restored after.
    (Inside the test body: pytest points fd 1 at its capture file when a test starts.)

    Yields the client's ends, "stdin" (write end) and "stdout" (read end); a test that
    closes one removes it from the dict."""
    saved = os.dup(0), os.dup(1), os.dup(2)
    stdin_r, stdin_w = os.pipe()
    stdout_r, stdout_w = os.pipe()
    os.dup2(stdin_r, 0)
    os.dup2(stdout_w, 1)
    os.close(stdin_r)
    os.close(stdout_w)
    ends = {"stdin": stdin_w, "stdout": stdout_r}
    try:
        yield ends
    finally:
        for fd, original in enumerate(saved):
            os.dup2(original, fd)
        for fd in (*saved, *ends.values()):
            with suppress(OSError):  # a test may have closed the client's end
                os.close(fd)


pytestmark = pytest.mark.timeout(5)


def _read(fd: int) -> bytes:
    """What ``fd`` holds now; fails (instead of blocking) when nothing arrives."""
    readable, _, _ = select.select([fd], [], [], 2.0)
    assert readable, f"nothing to read on fd {fd}"
    return os.read(fd, 100)


def _is_null(fd: int) -> bool:
    return os.fstat(fd).st_rdev == os.stat(os.devnull).st_rdev and _read(fd) == b""


def _same_file(a: int, b: int) -> bool:
    first, second = os.fstat(a), os.fstat(b)
    return (first.st_dev, first.st_ino) == (second.st_dev, second.st_ino)


def test_claim_keeps_the_client_private_and_points_fd_0_at_nothing_and_fd_1_at_stderr() -> None:
    with standard_fds() as ends:
        anyio.run(_check_claim, ends["stdin"], ends["stdout"])


async def _check_claim(client_stdin: int, client_stdout: int, *, stderr: bool = True) -> None:
    client = claim_stdio()
    try:
        # the client's pipes now reach the relay's private descriptors only
        os.write(client_stdin, b"from the client\n")
        assert await client.read() == b"from the client\n"
        await client.write(b"to the client\n")
        assert _read(client_stdout) == b"to the client\n"
        # fd 0 and fd 1 reach neither: stray output goes to stderr (without one, nowhere),
        # and children inherit them
        assert _is_null(0)
        assert _same_file(1, 2) if stderr else _is_null(1)
        assert os.get_inheritable(0)
        assert os.get_inheritable(1)
    finally:
        client.close()
    # no other descriptor holds the client's pipes: closing the relay's ends them
    assert _read(client_stdout) == b""
    with pytest.raises(BrokenPipeError):
        os.write(client_stdin, b"x")


def test_claim_without_stderr_points_fd_1_at_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    """Python started with fd 2 closed sets ``sys.stderr`` to None; fd 2 is then whatever took
    the free slot (the event loop's epoll descriptor, here and in a real process)."""
    with standard_fds() as ends:
        os.close(2)
        monkeypatch.setattr(sys, "stderr", None)
        anyio.run(partial(_check_claim, stderr=False), ends["stdin"], ends["stdout"])


def test_the_private_descriptors_stay_above_the_standard_range_when_one_is_free() -> None:
    with standard_fds():
        os.close(2)  # a process may be started with stderr closed
        fd = private(0)
        try:
            assert fd > 2
            assert not os.get_inheritable(fd)  # close-on-exec: child processes never get it
            with pytest.raises(OSError, match="Bad file descriptor"):
                os.fstat(2)  # and fd 2 stays free
        finally:
            os.close(fd)


def _echo_server() -> MCPServer:
    server = MCPServer("echo")

    @server.tool()
    async def echo(text: str) -> str:
        """Echo the text back."""
        return text

    @server.tool()
    async def threads() -> list[str]:
        """The names of this process's threads (on the event loop: an async tool)."""
        return sorted(thread.name for thread in threading.enumerate())

    return server


INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 0,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "test", "version": "1"},
    },
}


def _serve_in_process(lines: list[bytes], monkeypatch: pytest.MonkeyPatch) -> list[Any]:
    """``run_stdio`` in this process on pipes as fd 0 and fd 1; the answers the client got."""
    with standard_fds() as ends:
        write_all(ends["stdin"], b"".join(line + b"\n" for line in lines))
        os.close(ends.pop("stdin"))
        anyio.run(run_stdio, _echo_server(), 30.0, 4096)
        # after the session fd 0 is the null device and fd 1 is stderr, for good
        assert _is_null(0)
        assert _same_file(1, 2)
        output = b""
        while chunk := _read(ends["stdout"]):
            output += chunk
    return [json.loads(line) for line in output.splitlines()]


def test_run_stdio_serves_the_sdk_behind_the_relay_in_process(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    initialized = {"jsonrpc": "2.0", "method": "notifications/initialized"}
    call = {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "tools/call",
        "params": {"name": "echo", "arguments": {"text": "hello"}},
    }
    too_long = {"jsonrpc": "2.0", "id": 2, "method": "ping", "params": {"pad": "x" * 5000}}
    threads = {"jsonrpc": "2.0", "id": 3, "method": "tools/call", "params": {"name": "threads"}}
    messages = (INITIALIZE, initialized, call, too_long, threads)
    answers = _serve_in_process([json.dumps(m).encode() for m in messages], monkeypatch)
    by_id = {answer["id"]: answer for answer in answers}
    assert sorted(by_id) == [0, 1, 2, 3]
    assert len(answers) == 4
    # the SDK reads and writes on the event loop: no worker thread per line (anyio.wrap_file)
    names = by_id[3]["result"]["structuredContent"]["result"]
    assert not [name for name in names if name.startswith("AnyIO worker")], names
    assert by_id[0]["result"]["serverInfo"]["name"] == "echo"
    assert by_id[1]["result"]["content"] == [{"type": "text", "text": "hello"}]
    assert by_id[2] == {
        "jsonrpc": "2.0",
        "id": 2,
        "error": {
            "code": -32600,
            "message": "Invalid Request: the message is longer than the 4096-byte limit; "
            "send a smaller request",
        },
    }


@pytest.mark.parametrize(
    ("raw", "expected"),
    [(" 4096 ", 4096), (str(1024**3), 1024**3)],
)
def test_the_line_limit_setting(raw: str, expected: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LD_INSIGHTS_STDIO_MAX_LINE_BYTES", raw)
    assert Settings().stdio_max_line_bytes == expected


def test_the_line_limit_defaults_to_64_mib_when_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("LD_INSIGHTS_STDIO_MAX_LINE_BYTES", raising=False)
    assert Settings().stdio_max_line_bytes == 64 * 1024 * 1024


@pytest.mark.parametrize(
    ("raw", "fix"),
    [
        ("4095", "greater than or equal to 4096"),
        (str(1024**3 + 1), "less than or equal to 1073741824"),
        ("lots", "valid integer"),
        ("-1", "greater than or equal to 4096"),
        ("4096.5", "valid integer"),
        ("0x1000", "valid integer"),
    ],
)
def test_a_bad_line_limit_names_the_variable_and_the_fix(
    raw: str, fix: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("LD_INSIGHTS_STDIO_MAX_LINE_BYTES", raw)
    with pytest.raises(ValidationError) as caught:
        Settings()
    message = format_validation_error(caught.value)
    assert message.startswith("LD_INSIGHTS_STDIO_MAX_LINE_BYTES: ")
    assert fix in message
    assert raw not in message
