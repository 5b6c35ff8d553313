"""Non-blocking pipe ends on the event loop: lines in, bytes out, with flow control.

Only public asyncio API (``connect_read_pipe``, ``connect_write_pipe``, ``asyncio.Protocol``).
A descriptor that is not a FIFO (a regular file, a terminal, a socket) is bridged to one by a
copying thread, so the event loop only ever polls pipes: files cannot be polled, and asyncio's
write-pipe transport takes a readable socket (stdin and stdout on one socketpair) for a
closed one.
"""

from __future__ import annotations

import asyncio
import os
import stat
import threading
from collections.abc import Callable
from typing import Protocol, cast

NEWLINE = b"\n"


class LineSink(Protocol):
    def line(self, line: bytes) -> None:
        """One complete line, newline included."""

    def oversized(self, prefix: bytes) -> None:
        """A line longer than the limit was dropped; ``prefix`` is its start."""

    def end(self) -> None:
        """No more lines."""


class LineReader(asyncio.Protocol):
    """Splits the bytes of a read pipe into lines for a ``LineSink``.

    Lines longer than ``max_line`` bytes (newline excluded) are never buffered whole: their
    first ``keep`` bytes are kept and the rest is skipped up to the next newline.
    """

    def __init__(self, sink: LineSink, *, max_line: int | None = None, keep: int = 65_536):
        self._sink = sink
        self._max = max_line
        self._keep = keep
        self._buffer = bytearray()
        self._skipping: bytes | None = None
        self._ended = False
        self.transport: asyncio.ReadTransport | None = None

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport = cast(asyncio.ReadTransport, transport)  # uvloop's are not subclasses

    def data_received(self, data: bytes) -> None:
        position, size = 0, len(data)
        while position < size:
            end = data.find(NEWLINE, position)
            if self._skipping is not None:
                if end < 0:
                    return
                position = end + 1
                prefix, self._skipping = self._skipping, None
                self._sink.oversized(prefix)
                continue
            if end < 0:
                self._buffer += data[position:]
                if self._max is not None and len(self._buffer) > self._max:
                    self._skipping = bytes(self._buffer[: self._keep])
                    self._buffer.clear()
                return
            if self._buffer:
                self._buffer += data[position : end + 1]
                line = bytes(self._buffer)
                self._buffer.clear()
            else:
                line = data[position : end + 1]
            position = end + 1
            if self._max is not None and len(line) - 1 > self._max:
                self._sink.oversized(line[: self._keep])
            else:
                self._sink.line(line)

    def eof_received(self) -> bool:
        self._finish()
        return False

    def connection_lost(self, exc: Exception | None) -> None:
        self._finish()

    def _finish(self) -> None:
        if self._ended:
            return
        self._ended = True
        if self._skipping is not None:
            self._sink.oversized(self._skipping)
        elif self._buffer.strip():
            self.data_received(NEWLINE)  # a last line without its newline
        self._sink.end()


class PipeWriter(asyncio.Protocol):
    """The write end of a pipe: ``write`` never blocks; ``close`` returns once every byte
    was written (or the reader went away). ``on_pause(True/False)`` reports back-pressure,
    ``on_lost()`` the end of the pipe."""

    def __init__(
        self,
        on_pause: Callable[[bool], None] = lambda paused: None,
        on_lost: Callable[[], None] = lambda: None,
    ) -> None:
        self._on_pause = on_pause
        self._on_lost = on_lost
        self._transport: asyncio.WriteTransport | None = None
        self._lost = asyncio.get_running_loop().create_future()
        self._closing = False

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self._transport = cast(asyncio.WriteTransport, transport)

    def pause_writing(self) -> None:
        self._on_pause(True)

    def resume_writing(self) -> None:
        self._on_pause(False)

    def connection_lost(self, exc: Exception | None) -> None:
        if not self._lost.done():
            self._lost.set_result(None)
            self._on_lost()

    @property
    def open(self) -> bool:
        """True until ``close`` was called or the reader went away."""
        return not self._closing and not self._lost.done()

    def write(self, data: bytes) -> None:
        if self._transport is not None and self.open:
            self._transport.write(data)

    async def close(self) -> None:
        if self._transport is not None and not self._closing:
            self._closing = True
            self._transport.close()
        await asyncio.shield(self._lost)


def is_fifo(fd: int) -> bool:
    try:
        return stat.S_ISFIFO(os.fstat(fd).st_mode)
    except OSError:
        return False


async def read_lines(fd: int, reader: LineReader) -> LineReader:
    """Feed the lines of ``fd`` (which this takes over) to ``reader``."""
    if not is_fifo(fd):
        fd = _bridge_in(fd)
    loop = asyncio.get_running_loop()
    await loop.connect_read_pipe(lambda: reader, os.fdopen(fd, "rb", buffering=0))
    return reader


async def write_pipe(
    fd: int,
    on_pause: Callable[[bool], None] = lambda paused: None,
    on_lost: Callable[[], None] = lambda: None,
) -> tuple[PipeWriter, Callable[[], None]]:
    """A ``PipeWriter`` on ``fd`` (which this takes over), and a blocking call that returns
    once every byte written has reached ``fd`` itself (at once for a FIFO)."""
    delivered: Callable[[], None] = _nothing
    if not is_fifo(fd):
        fd, copier = _bridge_out(fd)
        delivered = copier.join
    writer = PipeWriter(on_pause, on_lost)
    loop = asyncio.get_running_loop()
    await loop.connect_write_pipe(lambda: writer, os.fdopen(fd, "wb", buffering=0))
    return writer, delivered


def _nothing() -> None:
    return None


def _bridge_in(source: int) -> int:
    """A pipe whose read end carries what a thread reads from ``source``."""
    read_end, write_end = os.pipe()
    copier = threading.Thread(target=_copy, args=(source, write_end), name="stdio-in")
    copier.daemon = True  # may block on a terminal forever; must not keep the process alive
    copier.start()
    return read_end


def _bridge_out(target: int) -> tuple[int, threading.Thread]:
    """A pipe whose bytes a thread copies to ``target``, ending at the end of the pipe."""
    read_end, write_end = os.pipe()
    copier = threading.Thread(target=_copy, args=(read_end, target), name="stdio-out")
    copier.daemon = True
    copier.start()
    return write_end, copier


def _copy(source: int, target: int) -> None:
    try:
        while chunk := os.read(source, 65_536):
            view = memoryview(chunk)
            while view:
                view = view[os.write(target, view) :]
    except OSError:
        pass  # the other side went away: nothing left to copy to or from
    finally:
        os.close(source)
        os.close(target)
