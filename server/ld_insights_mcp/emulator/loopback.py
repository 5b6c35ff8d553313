"""Serving the emulator on a loopback port (uvicorn in a background thread)."""

from __future__ import annotations

import socket
import threading
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from typing import Any, Literal

import anyio

from .app import Emulator

LOOPBACK = "127.0.0.1"


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return int(sock.getsockname()[1])


@contextmanager
def serve_app_on_loopback(
    app: Any, port: int = 0, *, lifespan: Literal["on", "off"] = "off"
) -> Iterator[str]:
    """Serve any ASGI app with uvicorn on 127.0.0.1 in a background thread; yield its URL."""
    import uvicorn

    chosen = port or _free_port()
    config = uvicorn.Config(
        app,
        host=LOOPBACK,
        port=chosen,
        log_config=None,
        log_level="critical",
        access_log=False,
        lifespan=lifespan,
        interface="asgi3",
        timeout_graceful_shutdown=1,
    )
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name=f"loopback:{chosen}", daemon=True)
    thread.start()
    deadline = time.monotonic() + 15
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            raise RuntimeError(f"server did not start on port {chosen}")
        time.sleep(0.005)
    try:
        yield f"http://{LOOPBACK}:{chosen}"
    finally:
        server.should_exit = True
        thread.join(timeout=5)


@contextmanager
def serve_on_loopback(emulator: Emulator, port: int = 0, host: str = LOOPBACK) -> Iterator[str]:
    """Serve ``emulator`` on 127.0.0.1 until the block ends; yield its base URL."""
    if host != LOOPBACK:
        raise ValueError("the emulator only listens on 127.0.0.1")
    with serve_app_on_loopback(emulator.app, port) as url:
        yield url


@asynccontextmanager
async def aserve_on_loopback(emulator: Emulator, port: int = 0) -> AsyncIterator[str]:
    """Async variant: start and stop the loopback server without blocking the event loop."""
    manager = serve_on_loopback(emulator, port)
    url = await anyio.to_thread.run_sync(manager.__enter__)
    try:
        yield url
    finally:
        await anyio.to_thread.run_sync(manager.__exit__, None, None, None)
