"""The client's descriptors as the relay reads and writes them, on real pipes: on the event
loop (POSIX FIFOs) and through threads (Windows, and anything that is not a FIFO)."""

from __future__ import annotations

import os
import sys
import threading
from collections.abc import AsyncIterator
from contextlib import suppress
from dataclasses import dataclass

import anyio
import pytest

from ld_insights_mcp.transports.stdio import descriptors
from ld_insights_mcp.transports.stdio.descriptors import Client, is_fifo, open_client

from .stdio_standin import in_daemon_thread

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(10)]


@dataclass
class Ends:
    client: Client
    """The relay's view."""
    stdin: int
    """The client's end of the relay's stdin (it writes)."""
    stdout: int
    """The client's end of the relay's stdout (it reads)."""
    relay_stdin: int
    threads: list[threading.Thread]
    """Threads the client started."""


@pytest.fixture(params=["event loop", "threads"])
async def ends(
    request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch
) -> AsyncIterator[Ends]:
    if request.param == "threads":
        monkeypatch.setattr(descriptors, "is_fifo", lambda fd: False)
    relay_in, stdin = os.pipe()
    stdout, relay_out = os.pipe()
    before = set(threading.enumerate())
    client = open_client(relay_in, relay_out)
    started = [t for t in threading.enumerate() if t not in before]
    yield Ends(client, stdin, stdout, relay_in, started)
    client.close()
    for fd in (stdin, stdout):
        with suppress(OSError):
            os.close(fd)


def _read_exactly(fd: int, size: int) -> bytes:
    received = bytearray()
    while len(received) < size:
        received += os.read(fd, 65_536)
    return bytes(received)


async def test_stdin_is_read_as_it_comes_until_its_end(ends: Ends) -> None:
    with anyio.fail_after(5):
        os.write(ends.stdin, b"one\n")
        assert await ends.client.read() == b"one\n"
        os.write(ends.stdin, b"two")
        os.close(ends.stdin)
        assert await ends.client.read() == b"two"
        assert await ends.client.read() == b""


async def test_a_write_waits_while_the_pipe_is_full_and_fails_once_the_reader_left(
    ends: Ends,
) -> None:
    with anyio.fail_after(5):
        await ends.client.write("é\n".encode())
        assert os.read(ends.stdout, 10) == "é\n".encode()
        data = b"x" * (1 << 20)  # more than a pipe holds: the write must wait
        written = anyio.Event()

        async def write() -> None:
            await ends.client.write(data)
            written.set()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(write)
            await anyio.sleep(0.1)  # not a timing assertion: only lets the pipe fill
            assert not written.is_set()  # nobody has read: it cannot have finished
            received = await in_daemon_thread(lambda: _read_exactly(ends.stdout, len(data)))
        assert received == data  # every byte, in order
        os.close(ends.stdout)  # the reader went away
        with pytest.raises(OSError, match="Broken pipe"):
            await ends.client.write(b"y\n")


async def test_a_closed_stdout_is_seen_without_writing_on_a_fifo(ends: Ends) -> None:
    if ends.threads:
        pytest.skip("not a FIFO: a closed stdout is seen at the next write")
    with anyio.fail_after(5):
        os.close(ends.stdout)
        await ends.client.closed()


async def test_the_reading_thread_is_a_daemon_and_closes_stdin_at_its_end(ends: Ends) -> None:
    if not ends.threads:
        pytest.skip("a FIFO is read on the event loop: no thread")
    [thread] = ends.threads
    assert thread.name == "stdio-in"
    assert thread.daemon  # a read blocked on a terminal cannot keep the process alive
    os.close(ends.stdin)
    with anyio.fail_after(5):
        assert await ends.client.read() == b""
    thread.join(5)
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(ends.relay_stdin)


async def test_a_fifo_is_read_and_written_without_threads(ends: Ends) -> None:
    if ends.threads:
        pytest.skip("the thread path")
    assert ends.threads == []
    before = set(threading.enumerate())
    os.write(ends.stdin, b"x")
    with anyio.fail_after(5):
        assert await ends.client.read() == b"x"
        await ends.client.write(b"y")
    assert [t for t in threading.enumerate() if t not in before] == []


def test_is_fifo(monkeypatch: pytest.MonkeyPatch) -> None:
    read_end, write_end = os.pipe()
    try:
        assert is_fifo(read_end)
        assert is_fifo(write_end)
    finally:
        os.close(read_end)
        os.close(write_end)
    assert not is_fifo(read_end)  # a closed descriptor is not a FIFO
    null = os.open(os.devnull, os.O_RDONLY)
    try:
        assert not is_fifo(null)
    finally:
        os.close(null)
    read_end, write_end = os.pipe()
    monkeypatch.setattr(sys, "platform", "win32")
    try:
        assert not is_fifo(read_end)  # Windows pipes cannot be polled
    finally:
        os.close(read_end)
        os.close(write_end)


async def test_a_stdin_that_cannot_be_read_is_at_its_end() -> None:
    read_end, write_end = os.pipe()
    client = open_client(write_end, os.dup(write_end))  # a write end: reading it fails
    try:
        with anyio.fail_after(5):
            assert await client.read() == b""
    finally:
        client.close()
        os.close(read_end)


async def test_the_reading_thread_ends_once_the_session_stops_taking_chunks(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(descriptors, "is_fifo", lambda fd: False)
    relay_in, stdin = os.pipe()
    stdout, relay_out = os.pipe()
    before = set(threading.enumerate())
    client = open_client(relay_in, relay_out)
    [thread] = [t for t in threading.enumerate() if t not in before]
    os.write(stdin, b"never taken")
    await anyio.sleep(0.1)  # not a timing assertion: lets the thread wait to hand it over
    client.close()  # the session ended without reading it
    await in_daemon_thread(lambda: thread.join(5))
    assert not thread.is_alive()
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(relay_in)  # closed by the thread, once nothing blocks on it
    for fd in (stdin, stdout):
        os.close(fd)


def test_the_reading_thread_ends_quietly_after_the_event_loop(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(descriptors, "is_fifo", lambda fd: False)
    failures: list[threading.ExceptHookArgs] = []
    monkeypatch.setattr(threading, "excepthook", failures.append)
    relay_in, stdin = os.pipe()
    stdout, relay_out = os.pipe()
    before = set(threading.enumerate())

    async def opened() -> Client:
        return open_client(relay_in, relay_out)

    client = anyio.run(opened)
    [thread] = [t for t in threading.enumerate() if t not in before]
    os.close(stdin)  # its end of input comes when the event loop is gone
    thread.join(5)
    assert not thread.is_alive()
    assert failures == []
    client.close()
    os.close(stdout)
