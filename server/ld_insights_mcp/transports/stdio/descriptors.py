"""The client's stdin and stdout: the only OS-specific part, on portable calls. A POSIX FIFO is
served on the event loop, anything else (every descriptor on Windows) through threads."""

from __future__ import annotations

import os
import stat
import sys
import threading
from collections.abc import Awaitable, Callable
from contextlib import suppress
from dataclasses import dataclass
from functools import partial

import anyio
from anyio.lowlevel import current_token
from mcp.os.win32.utilities import rebind_std_handle_to_fd

CHUNK = 65_536


@dataclass(frozen=True)
class Client:
    """``read`` gives b"" at the end of stdin; ``write`` returns once stdout took every byte
    (OSError: the client closed it, which ``closed`` awaits on a FIFO, and never sees elsewhere)."""

    read: Callable[[], Awaitable[bytes]]
    write: Callable[[bytes], Awaitable[None]]
    closed: Callable[[], Awaitable[None]]
    close: Callable[[], None]


def claim_stdio() -> Client:
    """The client on private duplicates of fd 0 and fd 1; fd 0 then reads the null device and
    fd 1 writes to stderr, so nothing else in the process can reach the client."""
    client = open_client(private(0), private(1))
    null = os.open(os.devnull, os.O_RDWR)
    os.dup2(null, 0)
    # started without stderr (Python then sets sys.stderr to None), fd 2 may be anything since
    os.dup2(null if sys.stderr is None else 2, 1)
    os.close(null)
    for fd in (0, 1):  # on Windows, child processes inherit the Win32 handle
        with suppress(OSError):
            rebind_std_handle_to_fd(fd)
    return client


def private(fd: int) -> int:
    """A duplicate of ``fd`` above the standard range, not inherited by child processes."""
    duplicates = [os.dup(fd)]
    while duplicates[-1] <= 2:  # a standard descriptor was closed: keep it free
        duplicates.append(os.dup(fd))
    for low in duplicates[:-1]:
        os.close(low)
    return duplicates[-1]


def is_fifo(fd: int) -> bool:
    """A FIFO the event loop can wait for (on Windows it cannot)."""
    with suppress(OSError):
        return sys.platform != "win32" and stat.S_ISFIFO(os.fstat(fd).st_mode)
    return False


def open_client(fd_in: int, fd_out: int) -> Client:
    """The client on ``fd_in`` and ``fd_out``, which this takes over."""
    read: Callable[[], Awaitable[bytes]] = partial(_read_ready, fd_in)
    stop_reading: Callable[[], None] = partial(os.close, fd_in)
    if is_fifo(fd_in):
        os.set_blocking(fd_in, False)
    else:
        read, stop_reading = _reader_thread(fd_in)
    write: Callable[[bytes], Awaitable[None]] = partial(_write_ready, fd_out)
    closed: Callable[[], Awaitable[None]] = partial(anyio.wait_readable, fd_out)
    if is_fifo(fd_out):
        os.set_blocking(fd_out, False)
    else:
        write = partial(anyio.to_thread.run_sync, partial(_write_all, fd_out))
        closed = anyio.sleep_forever

    def close() -> None:
        stop_reading()
        os.close(fd_out)

    return Client(read, write, closed, close)


async def _read_ready(fd: int) -> bytes:
    while True:
        try:
            return os.read(fd, CHUNK)
        except BlockingIOError:
            await anyio.wait_readable(fd)
        except OSError:
            return b""


async def _write_ready(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        try:
            view = view[os.write(fd, view) :]
        except BlockingIOError:
            await anyio.wait_writable(fd)


def _write_all(fd: int, data: bytes) -> None:
    view = memoryview(data)
    while view:
        view = view[os.write(fd, view) :]


def _reader_thread(fd: int) -> tuple[Callable[[], Awaitable[bytes]], Callable[[], None]]:
    """Reads ``fd`` in a daemon thread, which closes it: a read blocked on a terminal cannot
    keep the process alive, and ``fd`` is never closed under it."""
    chunks, received = anyio.create_memory_object_stream[bytes]()
    token = current_token()

    def pump() -> None:
        with suppress(Exception):  # the client or the session went away
            while chunk := os.read(fd, CHUNK):
                anyio.from_thread.run(chunks.send, chunk, token=token)
        os.close(fd)
        with suppress(Exception):  # the event loop may be gone
            anyio.from_thread.run_sync(chunks.close, token=token)

    threading.Thread(target=pump, name="stdio-in", daemon=True).start()
    return partial(anext, received, b""), received.close
