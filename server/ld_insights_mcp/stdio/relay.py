"""The relay between the client and the SDK: judges each line, and decides when a session ends.

Every request the client sends is either answered here (malformed, see ``framing``) or
handed to the SDK and counted as pending until the SDK's answer passes back. At the end of
the client's input the SDK keeps its input open until every pending request is answered,
for at most the call budget (plus a second for the answer to be written); a request still
running then is answered with an error, and the SDK's late answer to it is dropped. Only
then does the SDK read end of input; once its last byte has been relayed, the client's
stdout is flushed and closed.
"""

from __future__ import annotations

import asyncio
import logging
import os
import secrets
from collections.abc import Awaitable, Callable

import anyio

from .framing import (
    INTERNAL_ERROR,
    Forward,
    RequestId,
    answered_id,
    error_line,
    judge,
    oversized,
)
from .pipes import LineReader, PipeWriter, read_lines, write_pipe
from .plumbing import Plumbing

logger = logging.getLogger(__name__)

ANSWER_GRACE = 1.0
"""Seconds past the call budget for a request's own budget error to be written."""

# Why the relay stops reading the client (any of them is enough).
_CLIENT_BACKED_UP = "the client's stdout is backed up"
_SDK_BACKED_UP = "the SDK's input is backed up"
_ENDING = "the session is ending"


def _key(request_id: RequestId) -> RequestId:
    """The SDK correlates "7" and 7 as one id (``coerce_request_id``); so does the relay."""
    if isinstance(request_id, str):
        try:
            return int(request_id)
        except ValueError:
            pass
    return request_id


class Relay:
    """One stdio session between the client's pipes and an SDK serving fd 0/1."""

    def __init__(self, *, call_budget: float, max_line: int) -> None:
        self._budget = call_budget
        self.wait_at_end = call_budget + ANSWER_GRACE
        """How long the end of input waits for the requests still running."""
        self._max_line = max_line
        self._pending: dict[RequestId, list[RequestId]] = {}
        """Requests handed to the SDK and not answered yet: their ids as sent, by ``_key``."""
        self._abandoned: set[RequestId] = set()
        self._paused: set[str] = set()
        self._wake = asyncio.Event()
        self._input_ended = False
        self._sdk_drained = False
        self._end_marker = secrets.token_hex(16).encode() + b"\n"
        self._client_reader = LineReader(_FromClient(self), max_line=max_line)
        self._to_client: PipeWriter
        self._to_sdk: PipeWriter

    async def serve(
        self,
        fds: Plumbing,
        run_sdk: Callable[[], Awaitable[None]],
        sdk_stopped: Callable[[], None] = lambda: None,
    ) -> None:
        """Relay until the client's input ends (or its stdout closes, or the SDK stops).

        ``sdk_stopped`` runs once the SDK has returned (``plumbing.unplumb`` for a process).
        """
        self._to_client, delivered = await write_pipe(
            fds.client_out, lambda paused: self._pause(_CLIENT_BACKED_UP, paused), self._poke
        )
        self._to_sdk, _ = await write_pipe(
            fds.sdk_in, lambda paused: self._pause(_SDK_BACKED_UP, paused)
        )
        await read_lines(fds.sdk_out, LineReader(_FromSdk(self)))
        reader = await read_lines(fds.client_in, self._client_reader)
        sdk_done = False
        sdk_failure: Exception | None = None

        async def sdk() -> None:
            nonlocal sdk_done, sdk_failure
            try:
                await run_sdk()
            except Exception as exc:  # re-raised once the client has every answer
                sdk_failure = exc
            finally:
                sdk_done = True
                self._poke()

        async with anyio.create_task_group() as tasks:
            tasks.start_soon(sdk)
            await self._until(lambda: self._input_ended or not self._to_client.open or sdk_done)
            self._pause(_ENDING, True)
            if self._input_ended and self._to_client.open and not sdk_done:
                with anyio.move_on_after(self.wait_at_end):
                    await self._until(
                        lambda: not self._pending or sdk_done or not self._to_client.open
                    )
                self._abandon_pending(
                    f"the server's input ended while this request was still running, and it "
                    f"did not finish within the {self._budget:g} s call budget"
                )
            await self._to_sdk.close()  # now the SDK reads the end of its input
        sdk_stopped()  # the SDK has given fd 1 back: point it at stderr before anything else
        # The newline ends any stray partial line, so the marker arrives as a line of its own.
        marker = b"\n" + self._end_marker
        await anyio.to_thread.run_sync(_write_and_close, fds.sdk_out_tail, marker)
        await self._until(lambda: self._sdk_drained)
        self._abandon_pending("the server stopped before answering this request")
        await self._to_client.close()
        if reader.transport is not None:
            reader.transport.close()  # when the session ended before the client's input did
        await anyio.to_thread.run_sync(delivered)
        if sdk_failure is not None:
            raise sdk_failure

    # lines from the client

    def client_line(self, line: bytes) -> None:
        if line.isspace():  # a blank line (never empty: it ends with its newline)
            return
        verdict = judge(line)
        if isinstance(verdict, Forward):
            if verdict.request_id is not None:
                self._pending.setdefault(_key(verdict.request_id), []).append(verdict.request_id)
            elif verdict.cancels is not None:
                # The SDK does not answer a cancelled request: stop waiting for it.
                self._pending.pop(_key(verdict.cancels), None)
                self._poke()
            self._to_sdk.write(line.replace(b"\r", b" "))  # the SDK would split the line there
            return
        logger.warning("stdio: answered a malformed message with an error: %s", verdict.reason)
        for answer in verdict.answers:
            self._to_client.write(answer)

    def client_oversized(self, prefix: bytes) -> None:
        verdict = oversized(prefix, self._max_line)
        logger.warning("stdio: answered an oversized message with an error: %s", verdict.reason)
        for answer in verdict.answers:
            self._to_client.write(answer)

    def client_ended(self) -> None:
        self._input_ended = True
        self._poke()

    # lines from the SDK

    def sdk_line(self, line: bytes) -> None:
        if line == self._end_marker:
            self.sdk_ended()
            return
        if line.isspace():  # a blank line (never empty: it ends with its newline)
            return
        if not line.startswith(b"{"):
            logger.warning("stdio: kept output that is not JSON-RPC off stdout: %r", line[:500])
            return
        request_id = answered_id(line)
        if request_id is not None:
            key = _key(request_id)
            if key in self._abandoned:
                logger.info("stdio: dropped a late answer to abandoned request %r", request_id)
                return
            waiting = self._pending.get(key)
            if waiting is not None:
                if request_id in waiting:
                    waiting.remove(request_id)
                else:
                    waiting.pop()  # the same id written differently ("7" for 7)
                if not waiting:
                    del self._pending[key]
                    self._poke()
        self._to_client.write(line)

    def sdk_ended(self) -> None:
        self._sdk_drained = True
        self._poke()

    # internals

    def _abandon_pending(self, why: str) -> None:
        if self._pending and not self._to_client.open:
            logger.warning(
                "stdio: the client closed stdout; %d request(s) left unanswered",
                sum(len(ids) for ids in self._pending.values()),
            )
            self._pending.clear()
        message = (
            f"Internal error: {why}. It was abandoned and its outcome is unknown: if it "
            "changed something, read the result back before repeating it."
        )
        for key, ids in self._pending.items():
            for request_id in ids:
                logger.warning(
                    "stdio: request %r: %s; answered with error %d", request_id, why, INTERNAL_ERROR
                )
                self._to_client.write(error_line(INTERNAL_ERROR, message, request_id))
            self._abandoned.add(key)
        self._pending.clear()

    def _pause(self, reason: str, paused: bool) -> None:
        """Stop reading the client while any of its destinations is backed up."""
        if paused:
            self._paused.add(reason)
        else:
            self._paused.discard(reason)
        transport = self._client_reader.transport
        if transport is None:  # not connected yet: nothing is read before it is
            return
        # Both calls do nothing when the transport is already in that state, or closing.
        if self._paused:
            transport.pause_reading()
        else:
            transport.resume_reading()

    def _poke(self) -> None:
        self._wake.set()

    async def _until(self, condition: Callable[[], bool]) -> None:
        while not condition():
            await self._wake.wait()
            self._wake.clear()  # then the condition is checked again


class _FromClient:
    def __init__(self, relay: Relay) -> None:
        self._relay = relay

    def line(self, line: bytes) -> None:
        self._relay.client_line(line)

    def oversized(self, prefix: bytes) -> None:
        self._relay.client_oversized(prefix)

    def end(self) -> None:
        self._relay.client_ended()


class _FromSdk:
    def __init__(self, relay: Relay) -> None:
        self._relay = relay

    def line(self, line: bytes) -> None:
        self._relay.sdk_line(line)

    def oversized(self, prefix: bytes) -> None:  # pragma: no cover - no limit on this side
        raise AssertionError("the SDK's output has no line limit")

    def end(self) -> None:
        self._relay.sdk_ended()


def _write_and_close(fd: int, data: bytes) -> None:
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
    finally:
        os.close(fd)
