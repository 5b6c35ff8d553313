"""A faster stdio transport for the SDK: asyncio pipes instead of a worker thread per line.

The SDK's default stdio transport reads and writes through ``anyio.wrap_file``, a thread hop
per message. Where stdin and stdout are pipes or sockets (how MCP clients start servers), this
module feeds the same SDK loop from non-blocking asyncio pipes; otherwise (a file, a terminal)
it falls back to the SDK's transport. Either way fd 1 is pointed at stderr while serving, so
stray output can never corrupt the JSON-RPC stream.
"""

from __future__ import annotations

import asyncio
import os
import stat
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

from mcp.server import MCPServer
from mcp.server.stdio import stdio_server

MAX_LINE_BYTES = 64 * 1024 * 1024
"""Longest JSON-RPC line accepted; longer ones are skipped and answered as a parse error."""


def _is_pipe_or_socket(fd: int) -> bool:
    try:
        mode = os.fstat(fd).st_mode
    except OSError:
        return False
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


class _Lines:
    """``async for line in ...`` over an asyncio StreamReader, tolerant of oversized lines."""

    def __init__(self, reader: asyncio.StreamReader) -> None:
        self._reader = reader

    def __aiter__(self) -> _Lines:
        return self

    async def __anext__(self) -> str:
        try:
            line = await self._reader.readuntil(b"\n")
        except asyncio.IncompleteReadError as partial:
            if not partial.partial:
                raise StopAsyncIteration from None
            line = partial.partial
        except asyncio.LimitOverrunError:
            await self._skip_line()
            return "{oversized line}\n"  # not JSON: the SDK answers it as a parse error
        return line.decode("utf-8", errors="replace")

    async def _skip_line(self) -> None:
        while True:
            try:
                await self._reader.readuntil(b"\n")
                return
            except asyncio.LimitOverrunError as overrun:
                await self._reader.readexactly(overrun.consumed)
            except asyncio.IncompleteReadError:
                return


class _Writer:
    """The ``write``/``flush`` pair the SDK's stdio loop awaits."""

    def __init__(self, writer: asyncio.StreamWriter) -> None:
        self._writer = writer

    async def write(self, text: str) -> None:
        self._writer.write(text.encode("utf-8"))

    async def flush(self) -> None:
        await self._writer.drain()


@asynccontextmanager
async def _pipe_streams() -> AsyncIterator[tuple[Any, Any]]:
    loop = asyncio.get_running_loop()
    stdin_fd, stdout_fd = os.dup(0), os.dup(1)
    null = os.open(os.devnull, os.O_RDONLY)
    os.dup2(null, 0)
    os.close(null)
    os.dup2(2, 1)  # anything printed now goes to stderr, never onto the wire
    reader = asyncio.StreamReader(limit=MAX_LINE_BYTES)
    read_transport, _ = await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(stdin_fd, "rb", buffering=0)
    )
    write_transport, write_protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(stdout_fd, "wb", buffering=0)
    )
    writer = asyncio.StreamWriter(write_transport, write_protocol, None, loop)
    try:
        yield _Lines(reader), _Writer(writer)
    finally:
        read_transport.close()
        write_transport.close()


async def run_stdio(server: MCPServer) -> None:
    """Serve ``server`` over stdio until stdin closes."""
    if _is_pipe_or_socket(0) and _is_pipe_or_socket(1):
        async with _pipe_streams() as (lines, writer), stdio_server(lines, writer) as streams:
            read_stream, write_stream = streams
            # What the SDK's run_stdio_async does, with our streams: the SDK has no public hook.
            lowlevel = server._lowlevel_server
            await lowlevel.run(read_stream, write_stream, lowlevel.create_initialization_options())
    else:
        await server.run_stdio_async()
