"""The stdio transport: the SDK's lowlevel server on in-memory streams, behind a relay that owns
the client's stdin and stdout and keeps its promises on every OS (docs/stdio-transport.md)."""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from contextlib import suppress
from functools import partial

import anyio
import mcp.types as types
from anyio.streams.memory import MemoryObjectReceiveStream, MemoryObjectSendStream
from mcp.server import MCPServer
from mcp.shared.dispatcher import coerce_request_id
from mcp.shared.message import SessionMessage
from mcp.types import INTERNAL_ERROR, JSONRPCError, JSONRPCResponse, RequestId

from ld_insights_mcp.transports.stdio import framing
from ld_insights_mcp.transports.stdio.descriptors import Client, claim_stdio
from ld_insights_mcp.transports.stdio.framing import Forward, Oversized

logger = logging.getLogger(__name__)

ANSWER_GRACE = 1.0  # seconds past the call budget for a request's own budget error to be written
BACKLOG_BYTES = 65_536  # output waiting for the client past which the client is not read

SdkInput = MemoryObjectReceiveStream[SessionMessage | Exception]
SdkOutput = MemoryObjectSendStream[SessionMessage]


async def run_stdio(server: MCPServer, call_budget: float, max_line: int) -> None:
    """Serve ``server`` on stdin and stdout until stdin ends; lines over ``max_line`` get errors."""
    server.streamable_http_app()  # builds the session manager, which holds the lowlevel server
    lowlevel = server.session_manager.app  # the only public way to it (docs/sdk-gaps.md)
    # run as run_stdio_async() does, on the relay's streams
    run_sdk = partial(lowlevel.run, initialization_options=lowlevel.create_initialization_options())
    await Relay(call_budget=call_budget, max_line=max_line).serve(claim_stdio(), run_sdk)


class Relay:
    """One stdio session between a client and the SDK."""

    def __init__(self, *, call_budget: float, max_line: int) -> None:
        self._budget = call_budget
        self.wait_at_end = call_budget + ANSWER_GRACE  # for the requests still running
        self._max_line = max_line
        # requests handed to the SDK and not answered yet: their ids as sent, by SDK key
        self._pending: dict[RequestId, list[RequestId]] = {}
        self._abandoned: set[RequestId] = set()
        self._to_sdk, self._sdk_in = anyio.create_memory_object_stream[SessionMessage | Exception]()
        self._to_client, self._unwritten = anyio.create_memory_object_stream[bytes](float("inf"))
        self._unwritten_bytes = 0
        self._client_gone = False
        self._reading, self._watching = anyio.CancelScope(), anyio.CancelScope()
        self._changed = anyio.Event()

    async def serve(
        self, client: Client, run_sdk: Callable[[SdkInput, SdkOutput], Awaitable[None]]
    ) -> None:
        """Relay until the client's input ends (or its stdout closes, or the SDK stops)."""
        sdk_out, from_sdk = anyio.create_memory_object_stream[SessionMessage]()
        failure: Exception | None = None
        try:
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(self._write_out, client)
                tasks.start_soon(self._relay_answers, from_sdk)
                tasks.start_soon(self._read_client, client)
                tasks.start_soon(self._watch, client)
                try:
                    async with self._sdk_in, sdk_out:
                        await run_sdk(self._sdk_in, sdk_out)
                except Exception as exc:  # raised again once the client has every answer
                    failure = exc
                self._reading.cancel()
                self._watching.cancel()
        finally:
            client.close()
        if failure is not None:
            raise failure

    async def _read_client(self, client: Client) -> None:
        lines = framing.Lines(self._max_line)
        with self._reading, suppress(anyio.BrokenResourceError):  # the SDK stopped reading
            while chunk := await client.read():
                for line in lines.feed(chunk):
                    await self._client_line(line)
                await self._until(lambda: self._unwritten_bytes < BACKLOG_BYTES)
            for line in lines.feed(b""):
                await self._client_line(line)
            with anyio.move_on_after(self.wait_at_end):
                await self._until(lambda: not self._pending)
            self._abandon_pending(
                "the server's input ended while this request was still running, and it "
                f"did not finish within the {self._budget:g} s call budget"
            )
        self._to_sdk.close()  # now the SDK reads the end of its input

    async def _watch(self, client: Client) -> None:
        with self._watching:
            await client.closed()
            self._lost_client()

    async def _client_line(self, line: bytes | Oversized) -> None:
        if isinstance(line, Oversized):
            reject = framing.oversized(line.prefix, self._max_line)
            logger.warning("stdio: answered an oversized message with an error: %s", reject.reason)
        elif not line or line.isspace():
            return
        elif isinstance(verdict := framing.judge(line), Forward):
            await self._forward(line, verdict)
            return
        else:
            reject = verdict
            logger.warning("stdio: answered a malformed message with an error: %s", reject.reason)
        for answer in reject.answers:
            self._send(answer)

    async def _forward(self, line: bytes, verdict: Forward) -> None:
        if verdict.request_id is not None:
            key = coerce_request_id(verdict.request_id)
            self._pending.setdefault(key, []).append(verdict.request_id)
        elif verdict.cancels is not None:  # the SDK does not answer it: stop waiting for it
            self._pending.pop(coerce_request_id(verdict.cancels), None)
            self._poke()
        try:
            message = types.jsonrpc_message_adapter.validate_json(line, by_name=False)
        except Exception as exc:  # passed on, as the SDK's own stdio loop does (it logs it)
            await self._to_sdk.send(exc)
        else:
            await self._to_sdk.send(SessionMessage(message))

    async def _relay_answers(self, from_sdk: MemoryObjectReceiveStream[SessionMessage]) -> None:
        async for item in from_sdk:
            message = item.message
            if isinstance(message, JSONRPCResponse | JSONRPCError) and (
                message.id is not None and self._is_late(message.id)
            ):
                continue
            self._send(message.model_dump_json(by_alias=True, exclude_unset=True).encode() + b"\n")
        self._abandon_pending("the server stopped before answering this request")
        self._to_client.close()

    def _is_late(self, request_id: RequestId) -> bool:
        """Settles a request this answers; True when it was abandoned: the answer is dropped."""
        key = coerce_request_id(request_id)
        if key in self._abandoned:
            logger.info("stdio: dropped a late answer to abandoned request %r", request_id)
            return True
        if (waiting := self._pending.get(key)) is not None:
            waiting.remove(request_id if request_id in waiting else waiting[-1])  # "7" for 7
            if not waiting:
                del self._pending[key]
                self._poke()
        return False

    def _send(self, data: bytes) -> None:
        self._unwritten_bytes += len(data)
        self._to_client.send_nowait(data)

    async def _write_out(self, client: Client) -> None:
        async for data in self._unwritten:
            try:
                if not self._client_gone:
                    await client.write(data)
            except OSError:
                self._lost_client()
            self._unwritten_bytes -= len(data)
            self._poke()

    def _lost_client(self) -> None:
        """Nobody can read an answer any more: the session ends."""
        self._client_gone = True
        self._reading.cancel()  # and _read_client then closes the SDK's input

    def _abandon_pending(self, why: str) -> None:
        ids = [request_id for ids in self._pending.values() for request_id in ids]
        self._abandoned.update(self._pending)
        self._pending.clear()
        if ids and self._client_gone:
            logger.warning(
                "stdio: the client closed stdout; %d request(s) left unanswered", len(ids)
            )
            return
        message = (
            f"Internal error: {why}. It was abandoned and its outcome is unknown: if it "
            "changed something, read the result back before repeating it."
        )
        for request_id in ids:
            logger.warning(
                "stdio: request %r: %s; answered with error %d", request_id, why, INTERNAL_ERROR
            )
            self._send(framing.error_line(INTERNAL_ERROR, message, request_id))

    def _poke(self) -> None:
        """Wakes the tasks waiting in ``_until``."""
        self._changed.set()
        self._changed = anyio.Event()

    async def _until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            await self._changed.wait()
