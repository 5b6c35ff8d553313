"""Connection limits uvicorn lacks, as its ``http=`` protocol (its h11 one, subclassed).

uvicorn never times out a request that stops arriving (each holds a descriptor forever), so a
connection is closed when its headers are not in ``header_timeout`` seconds after it opened (or
after its last answer), or its body ``body_timeout`` after its headers; an answered request is
never cut; one beyond ``max_connections`` is closed at once. At a graceful shutdown, a request
arriving within ``SHUTDOWN_GRACE`` on an idle connection (a proxy writes as soon as it has
connected) is answered with ``Connection: close``, not cut (nginx would answer 502).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import Any

import h11
from uvicorn.protocols.http.h11_impl import H11Protocol

logger = logging.getLogger(__name__)

SHUTDOWN_GRACE = 1.0
"""Seconds a connection without a request in progress stays open once shutdown begins."""


@dataclass
class Limits:
    """Shared by every connection of one server (the class is built per server)."""

    header_timeout: float
    body_timeout: float
    max_connections: int
    _last_warning: float = -float("inf")

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
            limits.warn("that did not send a whole request in time were closed")
            self.transport.close()

    return GuardedH11Protocol
