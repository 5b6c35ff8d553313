"""Connection limits uvicorn lacks, through its ``http=`` option (a protocol class).

uvicorn times out idle keep-alive connections but not a request that never finishes
arriving, and ``limit_concurrency`` answers 503 only once a request is complete, so
connections that send a request line and stop hold a file descriptor each forever. This
protocol (uvicorn's own h11 protocol, subclassed):

- closes a connection whose request headers have not all arrived ``header_timeout`` seconds
  after it opened (or after the previous answer), and one whose body has not all arrived
  ``body_timeout`` seconds after its headers; a request already answered is never cut;
- closes at once a connection beyond ``max_connections`` open ones;
- at a graceful shutdown, answers a request that arrives within ``SHUTDOWN_GRACE`` seconds on
  a connection that had none in progress (a proxy writes its request as soon as it has
  connected, so it may sit unread in the socket), with ``Connection: close``, instead of
  closing the connection under it (the proxy would answer 502 for a POST it cannot resend).
"""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE = 1.0
"""Seconds a connection without a request in progress stays open once shutdown begins."""


class Limits:
    """Shared by every connection of one server (the class is built per server)."""

    def __init__(self, header_timeout: float, body_timeout: float, max_connections: int) -> None:
        self.header_timeout = header_timeout
        self.body_timeout = body_timeout
        self.max_connections = max_connections
        self.timed_out = 0
        self.refused = 0
        self._last_warning = -float("inf")

    def warn(self, what: str) -> None:
        now = time.monotonic()
        if now - self._last_warning >= 60:
            self._last_warning = now
            logger.warning("HTTP connections %s (logged once a minute)", what)


def guarded_protocol(limits: Limits) -> type[asyncio.Protocol]:
    """uvicorn's h11 protocol with ``limits`` applied."""

    class GuardedH11Protocol(H11Protocol):
        _deadline: asyncio.TimerHandle | None = None
        _reading_body = False
        _stopping = False

        def connection_made(self, transport: Any) -> None:
            super().connection_made(transport)
            if len(self.connections) > limits.max_connections:
                limits.refused += 1
                limits.warn(f"over the cap of {limits.max_connections} were closed")
                transport.close()
                return
            self._arm(limits.header_timeout)

        def data_received(self, data: bytes) -> None:
            super().data_received(data)
            if self._stopping and self.cycle is not None:
                self.cycle.keep_alive = False  # answered, then closed
            state = self.conn.their_state
            if state is h11.SEND_BODY and not self._reading_body:
                self._reading_body = True
                self._arm(limits.body_timeout)
            elif state is not h11.IDLE and state is not h11.SEND_BODY:
                self._disarm()  # the whole request is in (or the connection is closing)
            elif state is h11.IDLE and self._deadline is None:
                self._arm(limits.header_timeout)  # a new request on a kept-alive connection

        def on_response_complete(self) -> None:
            super().on_response_complete()
            self._disarm()
            self._reading_body = False

        def shutdown(self) -> None:
            if self.cycle is None and not self.transport.is_closing():
                self._stopping = True
                self.loop.call_later(SHUTDOWN_GRACE, self._close_if_idle)
                return
            super().shutdown()

        def _close_if_idle(self) -> None:
            if self.transport.is_closing():
                return
            if self.cycle is None or self.cycle.response_complete:
                super().shutdown()
            else:
                self.cycle.keep_alive = False

        def connection_lost(self, exc: Exception | None) -> None:
            self._disarm()
            super().connection_lost(exc)

        def _arm(self, seconds: float) -> None:
            self._disarm()
            self._deadline = self.loop.call_later(seconds, self._expired)

        def _disarm(self) -> None:
            if self._deadline is not None:
                self._deadline.cancel()
                self._deadline = None

        def _expired(self) -> None:
            self._deadline = None
            if self.cycle is not None and self.cycle.response_started:
                return
            limits.timed_out += 1
            limits.warn("that did not send a whole request in time were closed")
            self.transport.close()

    return GuardedH11Protocol
