"""End of input on stdio: every request already read is answered, every byte written, exit 0."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from ..processes import HANDSHAKE, clean_env, server_command
from .stdio_wire import closed_input_session, handshake_and_calls, slow_reader_session, tool_call


def _assert_every_call_answered(answers: list[dict[str, Any]], calls: int) -> None:
    assert sorted(a["id"] for a in answers) == list(range(1, calls + 2)), answers
    for answer in answers:
        assert "result" in answer, answer
        assert not answer["result"].get("isError"), answer


@pytest.mark.parametrize("calls", [1, 2, 3])
def test_requests_written_before_stdin_closes_are_all_answered(calls: int) -> None:
    session = closed_input_session(handshake_and_calls(calls))
    assert session.returncode == 0, session.stderr[-2000:]
    _assert_every_call_answered(session.answers(), calls)


def test_a_last_request_without_a_newline_is_answered_at_end_of_input() -> None:
    payload = "\n".join(handshake_and_calls(2)).encode()  # stdin closes right after the last call
    process = subprocess.run(
        [*server_command(), "--demo"],
        input=payload,
        capture_output=True,
        env=clean_env(),
        timeout=60,
        check=False,
    )
    assert process.returncode == 0, process.stderr[-2000:]
    answers = [json.loads(line) for line in process.stdout.splitlines() if line.strip()]
    _assert_every_call_answered(answers, 2)


@pytest.mark.skipif(not Path("/proc/self/fd").is_dir(), reason="reads /proc")
def test_a_server_started_without_stderr_answers_sends_strays_nowhere_and_exits_0() -> None:
    process = subprocess.Popen(
        [*server_command(), "--demo"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env=clean_env(),
        preexec_fn=lambda: os.close(2),  # the scenario: a process started without stderr
    )
    assert process.stdin is not None
    assert process.stdout is not None
    try:
        process.stdin.write(f"{json.dumps(HANDSHAKE[0])}\n".encode())
        process.stdin.flush()
        assert json.loads(process.stdout.readline())["id"] == 1
        assert os.readlink(f"/proc/{process.pid}/fd/1") == os.devnull
        process.stdin.close()
        assert process.stdout.read() == b""
        assert process.wait(timeout=60) == 0
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        process.stdout.close()


def test_end_of_input_on_the_standard_event_loop() -> None:
    session = closed_input_session(handshake_and_calls(3), env={"LD_INSIGHTS_NO_UVLOOP": "1"})
    assert session.returncode == 0, session.stderr[-2000:]
    _assert_every_call_answered(session.answers(), 3)


def test_slow_reader_on_a_small_pipe_receives_every_answer_complete() -> None:
    session = slow_reader_session(handshake_and_calls(5), pipe_size=4096)
    assert len(session.stdout) > 3 * 4096  # the output really backed up behind the reader
    assert session.stdout.endswith(b"\n")
    assert session.returncode == 0, session.stderr[-2000:]
    _assert_every_call_answered(session.answers(), 5)


def test_the_server_exits_when_the_client_closes_its_stdout() -> None:
    read_end, write_end = os.pipe()
    process = subprocess.Popen(
        [*server_command(), "--demo"],
        stdin=subprocess.PIPE,
        stdout=write_end,
        stderr=subprocess.PIPE,
        env=clean_env(),
    )
    os.close(write_end)
    os.close(read_end)  # nobody will read an answer
    process.stdin.write("".join(f"{x}\n" for x in handshake_and_calls(2)).encode())  # type: ignore[union-attr]
    process.stdin.flush()  # type: ignore[union-attr]
    try:
        returncode = process.wait(timeout=60)  # stdin stays open: only the closed stdout ends it
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
        raise AssertionError("the server kept running with nobody reading its stdout") from None
    finally:
        process.stdin.close()  # type: ignore[union-attr]
        process.stderr.close()  # type: ignore[union-attr]
    assert returncode == 0


def test_stdin_and_stdout_as_regular_files(tmp_path: Path) -> None:
    requests = tmp_path / "requests.jsonl"
    requests.write_text("".join(f"{line}\n" for line in handshake_and_calls(3)))
    answers_file = tmp_path / "answers.jsonl"
    with requests.open("rb") as stdin, answers_file.open("wb") as stdout:
        process = subprocess.run(
            [*server_command(), "--demo"],
            stdin=stdin,
            stdout=stdout,
            stderr=subprocess.PIPE,
            env=clean_env(),
            timeout=60,
            check=False,
        )
    assert process.returncode == 0, process.stderr.decode()[-2000:]
    lines = answers_file.read_bytes().splitlines()
    _assert_every_call_answered([json.loads(line) for line in lines], 3)


HANGING_SERVER = """
import os, sys
import anyio
from mcp.server import MCPServer
from ld_insights_mcp.logging_setup import configure_logging
from ld_insights_mcp.transports.stdio import run_stdio

server = MCPServer("hanging")

@server.tool()
async def hang() -> str:
    await anyio.sleep_forever()
    return "never"

@server.tool()
async def quick() -> str:
    return "quick answer"

@server.tool()
async def threads() -> list[str]:
    import threading
    return sorted(thread.name for thread in threading.enumerate())

@server.tool()
async def noisy() -> str:
    print("stray print from a tool")
    os.write(1, b"stray bytes on fd 1\\n")
    return "noisy answer"

configure_logging("WARNING")
anyio.run(run_stdio, server, float(sys.argv[1]), 64 * 1024 * 1024)
"""
"""A server with a tool that never finishes, served by the project's stdio transport."""


def _hanging_session(lines: list[dict[str, Any]], budget: float = 0.5) -> Any:
    return closed_input_session(
        [json.dumps(m) for m in lines],
        command=[sys.executable, "-c", HANGING_SERVER],
        args=[str(budget)],
    )


def test_a_request_still_running_past_the_call_budget_gets_an_error_answer() -> None:
    session = _hanging_session(
        [*HANDSHAKE, tool_call(2, "hang", {}), tool_call(3, "quick", {})], budget=0.5
    )
    assert session.returncode == 0, session.stderr[-2000:]
    answers = {a["id"]: a for a in session.answers()}
    assert sorted(answers) == [1, 2, 3]
    assert answers[3]["result"]["content"][0]["text"] == "quick answer"
    error = answers[2]["error"]
    assert error["code"] == -32603
    assert "0.5 s" in error["message"]
    assert "outcome is unknown" in error["message"]
    assert "did not finish" in session.stderr


@pytest.mark.parametrize("cancelled_id", [2, "2"])  # the SDK takes "2" for 2 too
def test_a_request_the_client_cancelled_is_not_answered_at_end_of_input(
    cancelled_id: int | str,
) -> None:
    cancel = {
        "jsonrpc": "2.0",
        "method": "notifications/cancelled",
        "params": {"requestId": cancelled_id, "reason": "no longer needed"},
    }
    session = _hanging_session([*HANDSHAKE, tool_call(2, "hang", {}), cancel])
    assert session.returncode == 0, session.stderr[-2000:]
    assert session.answered_ids() == [1]


def test_stray_output_of_a_tool_goes_to_stderr_not_onto_the_wire() -> None:
    session = _hanging_session([*HANDSHAKE, tool_call(2, "noisy", {})])
    assert session.returncode == 0, session.stderr[-2000:]
    answers = session.answers()  # every stdout line is JSON
    assert [a["id"] for a in answers] == [1, 2]
    assert "stray print from a tool" in session.stderr
    assert "stray bytes on fd 1" in session.stderr


AS_ON_WINDOWS = """
import sys
import anyio, mcp.server, mcp.server.stdio  # the SDK, as it imports itself on Windows
for name in ("fcntl", "termios", "tty", "pty", "resource", "grp", "pwd", "uvloop"):
    sys.modules[name] = None  # from here on, importing a POSIX-only module fails
sys.platform = "win32"
"""
"""Makes the server below take the code paths it takes on Windows (pipes read by a thread)."""


def test_the_guarantees_hold_on_the_code_path_windows_takes() -> None:
    lines = [
        *HANDSHAKE,
        tool_call(2, "hang", {}),
        tool_call(3, "quick", {}),
        tool_call(4, "threads", {}),
        tool_call(5, "noisy", {}),
        {"jsonrpc": "2.0", "id": {"bad": 1}, "method": "ping"},
    ]
    session = closed_input_session(
        [*(json.dumps(m) for m in lines), "not json"],
        command=[sys.executable, "-c", AS_ON_WINDOWS + HANGING_SERVER],
        args=["0.5"],
    )
    assert session.returncode == 0, session.stderr[-2000:]
    answers = session.answers()
    errors = [(a["id"], a["error"]["code"]) for a in answers if "error" in a]
    assert sorted(errors, key=str) == [(2, -32603), (None, -32600), (None, -32700)]
    results = {a["id"]: a["result"] for a in answers if "result" in a}
    assert sorted(results) == [1, 3, 4, 5]
    # stdout is written from worker threads (stdin's reading thread ended at its end of input)
    assert "AnyIO worker thread" in results[4]["structuredContent"]["result"]
    assert "stray bytes on fd 1" in session.stderr
