"""The SDK's end of the stdio relay on real pipes, in this process: its input stops reading the
pipe while the SDK falls behind (so the relay sees the pipe fill and stops reading the client),
its output waits while the relay's pipe is full, and neither can hang or crash the session."""

from __future__ import annotations

import asyncio
import os
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import pytest

from ld_insights_mcp.stdio.pipes import LineReader, read_lines, write_pipe
from ld_insights_mcp.stdio.sdk_side import BACKLOG_LINES, InputLines, OutputText

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(10)]


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@asynccontextmanager
async def sdk_input() -> AsyncIterator[tuple[InputLines, LineReader, int]]:
    """``InputLines`` on the read end of a fresh pipe; yields it, its reader and the write end."""
    read_end, write_end = os.pipe()
    lines = InputLines()
    reader = LineReader(lines)
    lines.bind(reader)
    await read_lines(read_end, reader)
    try:
        yield lines, reader, write_end
    finally:
        with suppress(OSError):
            os.close(write_end)
        if reader.transport is not None:
            reader.transport.close()


async def settle() -> None:
    """Let the event loop run its pending reads."""
    for _ in range(20):
        await asyncio.sleep(0)
    await asyncio.sleep(0.05)


async def test_the_sdk_input_stops_reading_while_the_sdk_falls_behind_and_resumes() -> None:
    async with sdk_input() as (lines, reader, write_end):
        os.write(write_end, b"".join(b'{"n": %d}\n' % i for i in range(3 * BACKLOG_LINES)))
        await settle()
        assert reader.transport is not None
        assert not reader.transport.is_reading()  # the SDK has read nothing yet: the pipe waits
        total = 3 * BACKLOG_LINES  # written at once (under PIPE_BUF): all read in one go
        got: list[str] = []
        while not reader.transport.is_reading():
            got.append(await lines.__anext__())
        # reading resumes as soon as fewer than half the backlog are waiting, not before
        assert total - len(got) == BACKLOG_LINES // 2 - 1
        os.close(write_end)
        got += [line async for line in lines]
    assert got == [f'{{"n": {i}}}\n' for i in range(3 * BACKLOG_LINES)]


async def test_the_sdk_input_keeps_reading_while_the_sdk_keeps_up() -> None:
    async with sdk_input() as (lines, reader, write_end):
        for i in range(2 * BACKLOG_LINES):
            os.write(write_end, b'{"n": %d}\n' % i)
            if i % 16 == 0:
                await settle()
            assert await lines.__anext__() == f'{{"n": {i}}}\n'
        assert reader.transport is not None
        assert reader.transport.is_reading()


async def test_the_sdk_input_ends_after_its_last_line_and_replaces_bytes_not_utf8() -> None:
    async with sdk_input() as (lines, _, write_end):
        os.write(write_end, b'{"a": "\xff"}\nlast line without newline')
        os.close(write_end)
        got = [line async for line in lines]
        assert got == ['{"a": "\ufffd"}\n', "last line without newline\n"]
        with pytest.raises(StopAsyncIteration):
            await lines.__anext__()


async def test_the_sdk_output_waits_while_the_pipe_is_full_and_not_after_the_reader_left() -> None:
    read_end, write_end = os.pipe()
    output = OutputText()
    writer, _ = await write_pipe(write_end, output.paused, output.lost)
    output.attach(writer)
    try:
        assert await output.write("é\n") == 2
        await output.flush()  # nothing is backed up: returns at once
        assert os.read(read_end, 10) == "é\n".encode()
        chunk = "x" * 65_535 + "\n"
        for _ in range(16):  # more than a pipe holds: the transport pauses the writer
            await output.write(chunk)
        flushing = asyncio.ensure_future(output.flush())
        await settle()
        assert not flushing.done()  # the relay has not read: the SDK waits
        os.close(read_end)  # the reader went away: nobody will read, nothing to wait for
        await asyncio.wait_for(flushing, 5)
    finally:
        await writer.close()
        with suppress(OSError):
            os.close(read_end)
