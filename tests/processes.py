"""Start the installed server as a real subprocess, on stdio or a loopback port."""

from __future__ import annotations

import os
import random
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import IO, Any

HANDSHAKE: list[dict[str, object]] = [
    {
        "jsonrpc": "2.0",
        "id": 1,
        "method": "initialize",
        "params": {
            "protocolVersion": "2025-11-25",
            "capabilities": {},
            "clientInfo": {"name": "t", "version": "1"},
        },
    },
    {"jsonrpc": "2.0", "method": "notifications/initialized"},
]
"""The 2025 handshake (request id 1) for raw stdio exchanges."""


def server_command() -> list[str]:
    """The installed console script (falls back to ``python -m`` beside this interpreter)."""
    script = Path(sys.executable).with_name("ld-insights-mcp")
    if script.exists():
        return [str(script)]
    found = shutil.which("ld-insights-mcp")
    return [found] if found else [sys.executable, "-m", "ld_insights_mcp"]


def free_port() -> int:
    """A loopback port free now, outside the kernel's range for outgoing connections: a port
    chosen now and bound later (a module's server) cannot be taken meanwhile as the source
    port of a connection the tests open (one took a sign-in test's port for a whole module)."""
    low, high = 32768, 60999
    with suppress(OSError, ValueError):
        low, high = map(int, Path("/proc/sys/net/ipv4/ip_local_port_range").read_text().split())
    ports = range(10_000, low) if low > 11_000 else range(high + 1, 65_536)
    while True:
        with socket.socket() as sock, suppress(OSError):  # taken: try another
            sock.bind(("127.0.0.1", port := random.choice(ports)))
            return port


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LD_", "LAUNCHDARKLY_"))}
    env.update(extra)
    return env


@contextmanager
def http_server(
    args: Sequence[str], *, env: dict[str, str] | None = None, stderr: IO[Any] | None = None
) -> Iterator[tuple[str, subprocess.Popen[bytes]]]:
    """Run ``ld-insights-mcp ARGS --port N`` until it accepts connections; yield its base URL.
    ``stderr``: a file for the server's log (default: a pipe, for short logs only)."""
    port = free_port()
    process = subprocess.Popen(
        [*server_command(), *args, "--port", str(port)],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE if stderr is None else stderr,
        env=env or clean_env(),
    )
    base = f"http://127.0.0.1:{port}"
    try:
        wait_listening(
            process,
            port,
            timeout=20,
            exited=lambda: _exited(process),
        )
        yield base, process
    finally:
        stop(process, timeout=10)


def _exited(process: subprocess.Popen[bytes]) -> str:
    log = process.stderr.read().decode() if process.stderr else "(see its log file)"
    return f"server exited: {log[-2000:]}"


def wait_listening(
    process: subprocess.Popen[bytes], port: int, *, timeout: float, exited: Callable[[], str]
) -> None:
    """Return once something accepts connections on ``port``; raise ``exited()`` if the
    process ends first, or after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        if process.poll() is not None:
            raise RuntimeError(exited())
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"nothing listened on {port} within {timeout:g} s")
        time.sleep(0.05)


def stop(process: subprocess.Popen[bytes], *, timeout: float) -> None:
    """Terminate, then kill after ``timeout`` seconds."""
    process.terminate()
    try:
        process.wait(timeout=timeout)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def stdio_exchange(
    args: Sequence[str],
    messages: Sequence[str],
    *,
    expect_ids: set[int],
    env: dict[str, str] | None = None,
    timeout: float = 30.0,
) -> tuple[list[str], str]:
    """Send raw lines to ``ld-insights-mcp ARGS`` over stdio; collect stdout lines until every
    id in ``expect_ids`` was answered (or the timeout). Returns (stdout lines, stderr)."""
    import json
    import queue
    import threading

    process = subprocess.Popen(
        [*server_command(), *args],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env or clean_env(),
    )
    lines: queue.Queue[bytes] = queue.Queue()
    errors: list[bytes] = []

    def pump_stdout() -> None:
        for line in process.stdout:  # type: ignore[union-attr]
            lines.put(line)

    def pump_stderr() -> None:
        errors.append(process.stderr.read())  # type: ignore[union-attr]

    threading.Thread(target=pump_stdout, daemon=True).start()
    threading.Thread(target=pump_stderr, daemon=True).start()
    for message in messages:
        process.stdin.write(message.encode() + b"\n")  # type: ignore[union-attr]
    process.stdin.flush()  # type: ignore[union-attr]
    seen: list[str] = []
    answered: set[int] = set()
    deadline = time.monotonic() + timeout
    while not expect_ids <= answered and time.monotonic() < deadline:
        try:
            line = lines.get(timeout=0.1).decode()
        except queue.Empty:
            continue
        if line.strip():
            seen.append(line)
            with suppress(ValueError):
                answered.add(json.loads(line).get("id"))
    process.stdin.close()  # type: ignore[union-attr]
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    time.sleep(0.05)
    while not lines.empty():
        extra = lines.get().decode()
        if extra.strip():
            seen.append(extra)
    return seen, b"".join(errors).decode(errors="replace")


@contextmanager
def serve_asgi(app: object) -> Iterator[str]:
    """Serve an ASGI app (with its lifespan) on a free loopback port in a thread."""
    from tests.support import serve_app_on_loopback

    with serve_app_on_loopback(app, lifespan="on") as url:
        yield url
