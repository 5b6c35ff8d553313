"""The client's descriptors as the relay reads and writes them, on real pipes: on the event
loop (POSIX FIFOs) and through threads (Windows, and anything that is not a FIFO)."""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import suppress

import anyio
import pytest

from ld_insights_mcp.stdio import descriptors
from ld_insights_mcp.stdio.descriptors import open_client

from .stdio_standin import in_daemon_thread

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(10)]


@pytest.fixture(params=["event loop", "threads"])
def threads(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    if request.param == "threads":
        monkeypatch.setattr(descriptors, "is_fifo", lambda fd: False)
    return bool(request.param == "threads")


def _read_exactly(fd: int, size: int) -> bytes:
    received = bytearray()
    while len(received) < size:
        received += os.read(fd, 65_536)
    return bytes(received)


@pytest.fixture
def pipes() -> Iterator[tuple[int, int, int, int]]:
    """(relay's stdin, client's write end, client's read end, relay's stdout)."""
    relay_in, client_in = os.pipe()
    client_out, relay_out = os.pipe()
    yield relay_in, client_in, client_out, relay_out
    for fd in (client_in, client_out):
        with suppress(OSError):
            os.close(fd)


async def test_stdin_is_read_as_it_comes_until_its_end(
    threads: bool, pipes: tuple[int, int, int, int]
) -> None:
    relay_in, client_in, _, relay_out = pipes
    client = open_client(relay_in, relay_out)
    try:
        with anyio.fail_after(5):
            os.write(client_in, b"one\n")
            assert await client.read() == b"one\n"
            os.write(client_in, b"two")
            os.close(client_in)
            assert await client.read() == b"two"
            assert await client.read() == b""
    finally:
        client.close()
    names = [t.name for t in threading.enumerate()]
    assert (
        ("stdio-in" in names or not threads) and not [n for n in names if "AnyIO" in n]
    ) or threads


async def test_a_write_waits_while_the_pipe_is_full_and_fails_once_the_reader_left(
    threads: bool, pipes: tuple[int, int, int, int]
) -> None:
    relay_in, _, client_out, relay_out = pipes
    client = open_client(relay_in, relay_out)
    try:
        with anyio.fail_after(5):
            await client.write("é\n".encode())
            assert os.read(client_out, 10) == "é\n".encode()
            data = b"x" * (1 << 20)  # more than a pipe holds: the write must wait
            writing = anyio.Event()

            async def write() -> None:
                await client.write(data)
                writing.set()

            async with anyio.create_task_group() as tasks:
                tasks.start_soon(write)
                await anyio.sleep(0.1)  # not a timing assertion: only lets the pipe fill
                assert not writing.is_set()
                received = await in_daemon_thread(lambda: _read_exactly(client_out, len(data)))
            assert received == data  # every byte, in order
            os.close(client_out)  # the reader went away
            with pytest.raises(OSError, match="Broken pipe"):
                await client.write(b"y\n")
    finally:
        client.close()


async def test_a_closed_stdout_is_seen_without_writing_on_a_fifo(
    pipes: tuple[int, int, int, int],
) -> None:
    relay_in, _, client_out, relay_out = pipes
    client = open_client(relay_in, relay_out)
    try:
        with anyio.fail_after(5):
            os.close(client_out)
            await client.closed()
    finally:
        client.close()


async def test_the_reading_thread_is_a_daemon_and_closes_stdin_at_its_end(
    pipes: tuple[int, int, int, int], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(descriptors, "is_fifo", lambda fd: False)
    relay_in, client_in, _, relay_out = pipes
    before = set(threading.enumerate())
    client = open_client(relay_in, relay_out)
    [thread] = [t for t in threading.enumerate() if t not in before]
    assert thread.name == "stdio-in"
    assert thread.daemon  # a read blocked on a terminal cannot keep the process alive
    os.close(client_in)
    with anyio.fail_after(5):
        assert await client.read() == b""
    thread.join(5)
    with pytest.raises(OSError, match="Bad file descriptor"):
        os.fstat(relay_in)
    client.close()
