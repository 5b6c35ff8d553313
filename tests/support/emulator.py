"""The tests' emulator: the product's ``Emulator`` with what tests need and the demo does not,
added around ``Emulator.serve``.

    emu = Emulator(token="api-...", now_ms=None, clock=None, request_log_limit=10_000)
    emu.requests                 # list[RecordedRequest], in order, rejected ones included
                                 # (the request_log_limit most recent; None keeps all)
    emu.writes(); emu.clear_requests()
    emu.latency = 0.2            # seconds added to every request
    emu.rewrite_text = hostile_text  # every answer's strings rewritten (see ``hostile``)
    emu.in_flight; emu.max_in_flight; emu.reset_max_in_flight()
    emu.faults.push("createInsightGroup", Fault(status=500, after_handling=True))

Faults and latency act before auth: the order of a request is latency, a fault's delay and
answer (or the real answer, then an ``after_handling`` fault), then the product's pipeline.
"""

from __future__ import annotations

import json
import threading
from collections import deque
from collections.abc import Callable

import anyio
from starlette.types import Receive, Scope, Send

from ld_insights_mcp.emulator import app
from ld_insights_mcp.emulator.app import Answer, encode, send_answer
from ld_insights_mcp.emulator.request import IncomingRequest, read_body
from ld_insights_mcp.emulator.routes import OPERATIONS, Target
from tests.support.faults import (
    EmulatedConnectionReset,
    Exhausted,
    Fault,
    FaultQueues,
    exhaust,
    fault_answer,
)
from tests.support.hostile import rewrite_strings
from tests.support.recording import RecordedRequest

DEFAULT_REQUEST_LOG_LIMIT = 10_000
"""Requests the log keeps by default (the most recent): enough for any test, bounded for an
emulator that serves a benchmark or a soak for long."""


class Emulator(app.Emulator):
    """``Emulator(token, now_ms=None, *, clock=None, request_log_limit=DEFAULT_REQUEST_LOG_LIMIT)``:
    the product's emulator (see its docstring), recording the ``request_log_limit`` most
    recent requests (None: all)."""

    def __init__(
        self,
        token: str,
        now_ms: int | None = None,
        *,
        clock: Callable[[], int] | None = None,
        request_log_limit: int | None = DEFAULT_REQUEST_LOG_LIMIT,
    ) -> None:
        super().__init__(token, now_ms, clock=clock)
        self.faults = FaultQueues([operation_id for *_, operation_id in OPERATIONS])
        self._log: deque[RecordedRequest] = deque(maxlen=request_log_limit)
        self.latency = 0.0
        self.rewrite_text: Callable[[str, str], str] | None = None
        """``(field name, value) -> value`` applied to every string of every JSON answer the
        handlers make, errors included (e.g. ``hostile.hostile_text``); None: as seeded."""
        self._in_flight = 0
        self._max_in_flight = 0
        self._lock = threading.Lock()

    # --- inspection -----------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """The recorded requests, oldest first (the most recent ``request_log_limit``)."""
        with self._lock:
            return list(self._log)

    @property
    def request_log_limit(self) -> int | None:
        return self._log.maxlen

    @property
    def in_flight(self) -> int:
        """Requests being handled right now."""
        return self._in_flight

    @property
    def max_in_flight(self) -> int:
        """The most requests handled at once since creation or ``reset_max_in_flight()``."""
        return self._max_in_flight

    def reset_max_in_flight(self) -> None:
        with self._lock:
            self._max_in_flight = self._in_flight

    def clear_requests(self) -> None:
        with self._lock:
            self._log.clear()

    def writes(self) -> list[RecordedRequest]:
        """Recorded POST, PATCH, PUT and DELETE requests, in order."""
        return [r for r in self.requests if r.is_write]

    # --- the pipeline, wrapped --------------------------------------------------------------

    async def serve(self, scope: Scope, receive: Receive, send: Send, target: Target) -> None:
        with self._lock:
            self._in_flight += 1
            self._max_in_flight = max(self._max_in_flight, self._in_flight)
        try:
            body, gone = await read_body(receive)
            record = RecordedRequest.of(scope, body, target.operation_id)
            record.cut_short = gone
            with self._lock:
                self._log.append(record)
            if gone:
                record.disconnected = True
                return
            try:
                await self._run(_Exchange(self, record, receive, send), target)
            except anyio.get_cancelled_exc_class():
                if record.status is None:
                    record.disconnected = True
                raise
        finally:
            with self._lock:
                self._in_flight -= 1

    async def _run(self, exchange: _Exchange, target: Target) -> None:
        fault = self.faults.take(target.operation_id)
        if not await exchange.pause(self.latency):
            return
        if fault is not None and not fault.after_handling:
            if not await exchange.pause(fault.delay):
                return
            if fault.reset:
                await exchange.reset(fault.status or 200, b'{"items":[')
            if fault.status is not None:
                await exchange.answer(fault_answer(fault, fault.status), fault.limit)
                return
        answer = self.answer(exchange.record, target)
        if fault is not None and fault.after_handling:
            if not await exchange.pause(fault.delay):
                return
            if fault.reset:
                await exchange.reset(fault.status or answer.status, answer.body[:16])
            if fault.status is not None:
                await exchange.answer(fault_answer(fault, fault.status), fault.limit)
                return
        if fault is not None:
            _amend(answer, fault)
        await exchange.answer(answer)

    def answer(self, request: IncomingRequest, target: Target) -> Answer:
        answer = super().answer(request, target)
        if self.rewrite_text is not None and answer.body:
            answer.body = encode(rewrite_strings(json.loads(answer.body), self.rewrite_text))
        return answer


def _amend(answer: Answer, fault: Fault) -> None:
    """A fault without a status changes the real answer: its JSON, its body, its headers."""
    if fault.edit is not None and answer.body:
        answer.body = json.dumps(fault.edit(json.loads(answer.body))).encode()
    if fault.body is not None:
        answer.body, answer.content_type = fault.body, fault.content_type
    answer.headers.update(fault.headers)


class _Exchange:
    """One request's conversation with the client: waits, the answer, or a reset."""

    def __init__(
        self, emulator: Emulator, record: RecordedRequest, receive: Receive, send: Send
    ) -> None:
        self._emulator, self.record, self._receive, self._send = emulator, record, receive, send

    async def pause(self, seconds: float) -> bool:
        """Wait ``seconds``; False (and the request marked disconnected) if the client left."""
        if seconds <= 0:
            return True
        with anyio.move_on_after(seconds):
            while True:
                message = await self._receive()
                if message["type"] == "http.disconnect":
                    self.record.disconnected = True
                    return False
        return True

    async def answer(self, answer: Answer, limit: Exhausted | None = None) -> None:
        """Send ``answer``; a 429 with a ``limit`` reports that limit exhausted."""
        headers = self._emulator.headers(self.record.operation_id, answer)
        if answer.status == 429 and limit is not None:
            exhaust(headers, limit)
        self.record.status = answer.status
        await send_answer(self._send, answer, headers)

    async def reset(self, status: int, partial: bytes) -> None:
        """Start an answer that promises more than it sends, then break the connection."""
        await self._send(
            {
                "type": "http.response.start",
                "status": status,
                "headers": [
                    (b"content-type", app.JSON.encode()),
                    (b"content-length", str(len(partial) + 4096).encode()),
                ],
            }
        )
        await self._send({"type": "http.response.body", "body": partial, "more_body": True})
        raise EmulatedConnectionReset()
