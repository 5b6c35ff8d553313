"""Raw stdio sessions with the installed server: write lines, close stdin, read every byte."""

from __future__ import annotations

import fcntl
import json
import os
import subprocess
import threading
import time
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from ..processes import HANDSHAKE, clean_env, server_command

SCORES_ARGS = {"project_key": "checkout-web", "environment_key": "production"}
"""A demo project environment that has scores."""


def tool_call(request_id: int, name: str, arguments: dict[str, Any]) -> dict[str, Any]:
    return {
        "jsonrpc": "2.0",
        "id": request_id,
        "method": "tools/call",
        "params": {"name": name, "arguments": arguments},
    }


def handshake_and_calls(calls: int) -> list[str]:
    """The 2025 handshake (id 1) and ``calls`` tool calls (ids 2..), alternating two tools."""
    messages: list[dict[str, Any]] = list(HANDSHAKE)
    for n in range(calls):
        if n % 2 == 0:
            messages.append(tool_call(2 + n, "list_insight_groups", {"include_scores": True}))
        else:
            messages.append(tool_call(2 + n, "get_insight_scores", SCORES_ARGS))
    return [json.dumps(m) for m in messages]


@dataclass
class Session:
    stdout: bytes
    stderr: str
    returncode: int

    @property
    def lines(self) -> list[bytes]:
        return [line for line in self.stdout.split(b"\n") if line.strip()]

    def answers(self) -> list[dict[str, Any]]:
        """Every stdout line as JSON (fails the test if any line is not JSON)."""
        return [json.loads(line) for line in self.lines]

    def answered_ids(self) -> list[Any]:
        return [a["id"] for a in self.answers() if "result" in a or "error" in a]


def _env(extra: dict[str, str] | None) -> dict[str, str]:
    return clean_env(**(extra or {}))


def closed_input_session(
    lines: Sequence[str | bytes],
    *,
    args: Sequence[str] = ("--demo",),
    env: dict[str, str] | None = None,
    command: Sequence[str] | None = None,
    timeout: float = 60,
) -> Session:
    """Write every line at once, close stdin, read stdout and stderr to EOF, wait for exit."""
    payload = b"".join((x if isinstance(x, bytes) else x.encode()) + b"\n" for x in lines)
    process = subprocess.Popen(
        [*(command or server_command()), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=_env(env),
    )
    try:
        out, err = process.communicate(payload, timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        out, err = process.communicate()
        raise AssertionError(
            f"server did not exit after end of input; stdout so far: {out[-2000:]!r}"
        ) from None
    return Session(out, err.decode(errors="replace"), process.returncode)


def slow_reader_session(
    lines: Sequence[str],
    *,
    pipe_size: int = 4096,
    chunk: int = 61,
    pause_before_reading: float = 1.0,
    timeout: float = 120,
) -> Session:
    """Like ``closed_input_session`` but stdout is a small pipe read a few bytes at a time,
    starting only after stdin was closed and the server had time to reach end of input."""
    read_fd, write_fd = os.pipe()
    fcntl.fcntl(write_fd, fcntl.F_SETPIPE_SZ, pipe_size)
    process = subprocess.Popen(
        [*server_command(), "--demo"],
        stdin=subprocess.PIPE,
        stdout=write_fd,
        stderr=subprocess.PIPE,
        env=_env(None),
    )
    os.close(write_fd)
    errors: list[bytes] = []
    pump = threading.Thread(target=lambda: errors.append(process.stderr.read()), daemon=True)  # type: ignore[union-attr]
    pump.start()
    process.stdin.write("".join(f"{line}\n" for line in lines).encode())  # type: ignore[union-attr]
    process.stdin.close()  # type: ignore[union-attr]
    time.sleep(pause_before_reading)  # not a timing assertion: only lets the output back up
    received = bytearray()
    deadline = time.monotonic() + timeout
    with os.fdopen(read_fd, "rb", buffering=0) as reader:
        while time.monotonic() < deadline:
            data = reader.read(chunk)
            if not data:
                break
            received += data
            time.sleep(0.0005)
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    pump.join(timeout=10)
    return Session(bytes(received), b"".join(errors).decode(errors="replace"), process.returncode)
