"""Serving the emulator (or any ASGI app) with uvicorn on 127.0.0.1 in a background thread."""

from __future__ import annotations

import asyncio
import logging
import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Literal

import anyio

from ld_insights_mcp.emulator.app import Emulator
from tests.support.faults import EmulatedConnectionReset

LOOPBACK = "127.0.0.1"
START_TIMEOUT = 15.0
STOP_TIMEOUT = 5.0
TICK = 0.01
"""How often the server checks whether to stop (uvicorn's own loop waits 0.1 s)."""


class _HideEmulatedResets(logging.Filter):
    """uvicorn logs every app exception; a ``reset`` fault is one on purpose."""

    def filter(self, record: logging.LogRecord) -> bool:
        return not (record.exc_info and isinstance(record.exc_info[1], EmulatedConnectionReset))


def _quiet_resets() -> None:
    logger = logging.getLogger("uvicorn.error")
    if not any(isinstance(f, _HideEmulatedResets) for f in logger.filters):
        logger.addFilter(_HideEmulatedResets())


def _bind(port: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((LOOPBACK, port))
    except OSError:
        sock.close()
        raise
    sock.set_inheritable(True)
    return sock


@contextmanager
def serve_app_on_loopback(
    app: Any,
    port: int = 0,
    *,
    lifespan: Literal["on", "off"] = "off",
    date_header: bool = True,
    tls: tuple[str, str] | None = None,
) -> Iterator[str]:
    """Serve an ASGI app on 127.0.0.1 (``port`` 0: any free port) until the block ends;
    yield its base URL such as ``http://127.0.0.1:54321``. ``date_header=False`` leaves
    ``Date`` to the app (uvicorn would otherwise send a second one). ``tls`` (a certificate
    file and its key file) serves https."""
    import uvicorn

    class Server(uvicorn.Server):
        async def main_loop(self) -> None:
            counter = 0
            while not await self.on_tick(counter):
                await asyncio.sleep(TICK)
                counter = (counter + 1) % 864_000

    _quiet_resets()
    sock = _bind(port)
    chosen = int(sock.getsockname()[1])
    config = uvicorn.Config(
        app,
        log_config=None,
        log_level="warning",
        access_log=False,
        lifespan=lifespan,
        timeout_graceful_shutdown=1,
        date_header=date_header,
        ssl_certfile=tls[0] if tls else None,
        ssl_keyfile=tls[1] if tls else None,
    )
    server = Server(config)
    thread = threading.Thread(
        target=server.run, kwargs={"sockets": [sock]}, name=f"loopback:{chosen}", daemon=True
    )
    thread.start()
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while not server.started:
            if not thread.is_alive() or time.monotonic() > deadline:
                raise RuntimeError(f"the loopback server did not start on port {chosen}")
            time.sleep(0.002)
        yield f"{'https' if tls else 'http'}://{LOOPBACK}:{chosen}"
    finally:
        server.should_exit = True
        thread.join(timeout=STOP_TIMEOUT)
        if thread.is_alive():
            server.force_exit = True
            thread.join(timeout=STOP_TIMEOUT)
        sock.close()


@contextmanager
def serve_on_loopback(
    emulator: Emulator,
    port: int = 0,
    host: str = LOOPBACK,
    *,
    tls: tuple[str, str] | None = None,
) -> Iterator[str]:
    """Serve ``emulator`` on 127.0.0.1 until the block ends; yield its base URL (https with
    ``tls``, a certificate file and its key file).

    Only the loopback address is allowed: the emulator is a test and demo backend."""
    if host != LOOPBACK:
        raise ValueError(f"the emulator only listens on {LOOPBACK}, not {host!r}")
    with serve_app_on_loopback(emulator.app, port, date_header=False, tls=tls) as url:
        yield url


@asynccontextmanager
async def aserve_on_loopback(
    emulator: Emulator, port: int = 0, host: str = LOOPBACK
) -> AsyncIterator[str]:
    """``serve_on_loopback`` for async code: starts and stops without blocking the loop."""
    manager = serve_on_loopback(emulator, port, host)
    url = await anyio.to_thread.run_sync(manager.__enter__)
    try:
        yield url
    finally:
        await anyio.to_thread.run_sync(manager.__exit__, None, None, None)
