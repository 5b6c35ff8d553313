"""The SDK's end of the relay: its own stdio loop on two pipes, without a thread per line.

The SDK's ``stdio_server()`` reads each line and writes each answer through a worker thread
(``anyio.wrap_file``) unless it is given its input and output; waking those threads was a
third of the time a tool call spent in this server. Here it is given them: a line reader and
a writer on the event loop (``pipes``), with the same flow control as the relay's side. The
lowlevel server runs exactly as ``MCPServer.run_stdio_async()`` runs it. ``MCPServer`` has no
public way to serve caller-supplied streams, so the lowlevel server is taken from the public
``session_manager`` (see docs/sdk-gaps.md).
"""

from __future__ import annotations

import asyncio
from collections import deque
from dataclasses import dataclass
from typing import Any, cast

import anyio
from mcp.server import MCPServer, Server
from mcp.server.stdio import stdio_server

from .pipes import LineReader, PipeWriter, read_lines, write_pipe

BACKLOG_LINES = 64
"""Lines read ahead of the SDK; past this the pipe is not read, so the relay sees it fill."""


@dataclass(frozen=True)
class SdkPipes:
    """The SDK's ends of the relay's two pipes (private descriptors, not fd 0 and fd 1)."""

    stdin: int
    """Read end of the pipe the relay writes the client's requests into."""
    stdout: int
    """Write end of the pipe the relay reads the SDK's answers from."""


def lowlevel_server(server: MCPServer) -> Server[Any]:
    """The lowlevel server behind ``server``, reached through public API only."""
    server.streamable_http_app()  # builds the session manager, which holds the lowlevel server
    return server.session_manager.app


async def serve_on_pipes(server: MCPServer, pipes: SdkPipes) -> None:
    """Serve ``server`` on ``pipes`` until its input ends; every answer is in the pipe when
    this returns."""
    lowlevel = lowlevel_server(server)
    lines = InputLines()
    reader = LineReader(lines)
    lines.bind(reader)
    await read_lines(pipes.stdin, reader)
    output = OutputText()
    writer, _ = await write_pipe(pipes.stdout, output.paused, output.lost)
    output.attach(writer)
    try:
        async with stdio_server(
            stdin=cast(anyio.AsyncFile[str], lines), stdout=cast(anyio.AsyncFile[str], output)
        ) as (read_stream, write_stream):
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
    finally:
        await writer.close()


class InputLines:
    """The SDK's stdin: an async iterator of text lines fed by a ``LineReader``.

    Stands in for the ``anyio.AsyncFile`` the SDK iterates; it holds at most
    ``BACKLOG_LINES`` lines before it stops reading the pipe.
    """

    def __init__(self) -> None:
        self._lines: deque[bytes] = deque()
        self._ended = False
        self._ready = asyncio.Event()
        self._reader: LineReader | None = None

    # LineSink: called by the LineReader on the event loop

    def line(self, line: bytes) -> None:
        self._lines.append(line)
        self._ready.set()
        if len(self._lines) >= BACKLOG_LINES:
            self._pause(True)

    def oversized(self, prefix: bytes) -> None:  # pragma: no cover - no limit on this side
        raise AssertionError("the relay forwards no line over the limit")

    def end(self) -> None:
        self._ended = True
        self._ready.set()

    # what the SDK uses

    def __aiter__(self) -> InputLines:
        return self

    async def __anext__(self) -> str:
        while not self._lines:
            if self._ended:
                raise StopAsyncIteration
            self._ready.clear()
            await self._ready.wait()
        line = self._lines.popleft()
        if len(self._lines) < BACKLOG_LINES // 2:
            self._pause(False)
        return line.decode("utf-8", errors="replace")

    def _pause(self, paused: bool) -> None:
        """Stop or resume reading the pipe (asyncio ignores a repeated call)."""
        transport = self._reader.transport if self._reader is not None else None
        if transport is None:  # not connected yet: nothing is read before it is
            return
        if paused:
            transport.pause_reading()
        else:
            transport.resume_reading()

    def bind(self, reader: LineReader) -> None:
        self._reader = reader


class OutputText:
    """The SDK's stdout: ``write`` queues text on the pipe, ``flush`` waits while it is full."""

    def __init__(self) -> None:
        self._writer: PipeWriter | None = None
        self._writable = asyncio.Event()
        self._writable.set()

    def attach(self, writer: PipeWriter) -> None:
        self._writer = writer

    def lost(self) -> None:
        self._writable.set()  # nobody reads any more: nothing to wait for

    def paused(self, paused: bool) -> None:
        if paused:
            self._writable.clear()
        else:
            self._writable.set()

    async def write(self, text: str) -> int:
        if self._writer is not None:
            self._writer.write(text.encode("utf-8", errors="replace"))
        return len(text)

    async def flush(self) -> None:
        writer = self._writer
        while writer is not None and writer.open and not self._writable.is_set():
            await self._writable.wait()
