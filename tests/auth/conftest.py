"""A real OpenID provider (oidc-provider) and the server signed in to it, on loopback ports.

Skipped, saying why, when the provider is not installed (``make real-clients-install``;
``.ci/run`` installs it before the tests)."""

from __future__ import annotations

import socket
import subprocess
import time
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager, contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.streamable_http import streamable_http_client

from ..processes import clean_env, free_port, server_command
from .provider import MISSING, OpenIdProvider

ACCEPT = {"accept": "application/json, text/event-stream"}
LEGACY = {"mcp-protocol-version": "2025-11-25"}


@dataclass
class SignedIn:
    """The server, started with sign-in against ``provider``; its stderr in ``log``."""

    provider: OpenIdProvider
    base: str
    process: subprocess.Popen[bytes]
    log: Path

    @property
    def url(self) -> str:
        return f"{self.base}/mcp"

    def stderr(self) -> str:
        return self.log.read_text(errors="replace")

    def post(self, token: str | None, message: Any, **headers: str) -> httpx.Response:
        found = {**ACCEPT, **LEGACY, **headers}
        if token is not None:
            found["authorization"] = f"Bearer {token}"
        return httpx.post(self.url, json=message, headers=found, timeout=30)


def sign_in_env(provider: OpenIdProvider, **extra: str) -> dict[str, str]:
    return clean_env(
        LD_INSIGHTS_OAUTH_ISSUER=provider.issuer,
        LD_INSIGHTS_OAUTH_RESOURCE=provider.resource,
        LD_INSIGHTS_LOG_LEVEL="DEBUG",
        **extra,
    )


@contextmanager
def signed_in_server(
    provider: OpenIdProvider, port: int, *args: str, **env: str
) -> Iterator[SignedIn]:
    """``ld-insights-mcp --demo --transport streamable-http`` with sign-in and JSON logs
    at DEBUG, until it listens."""
    log = provider.run_dir / f"server-{port}.log"
    command = [
        *server_command(),
        "--demo",
        "--transport",
        "streamable-http",
        "--port",
        str(port),
        "--log-format",
        "json",
        *args,
    ]
    with log.open("ab") as sink:
        process = subprocess.Popen(
            command, stdout=subprocess.DEVNULL, stderr=sink, env=sign_in_env(provider, **env)
        )
    try:
        wait_for_port(port, process, log)
        yield SignedIn(provider, f"http://127.0.0.1:{port}", process, log)
    finally:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_for_port(port: int, process: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while True:
        if process.poll() is not None:
            raise RuntimeError(f"server exited: {log.read_text()[-2000:]}")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        if time.monotonic() > deadline:
            raise RuntimeError(f"server did not listen on {port}")
        time.sleep(0.05)


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIdProvider]:
    """The provider, for a server to come on a port chosen now (its resource URL)."""
    if MISSING is not None:
        pytest.skip(MISSING)
    found = OpenIdProvider(
        tmp_path_factory.mktemp("oidc"), resource=f"http://127.0.0.1:{free_port()}/mcp"
    )
    found.start()
    try:
        yield found
    finally:
        found.stop()


@pytest.fixture(scope="module")
def signed_in(provider: OpenIdProvider) -> Iterator[SignedIn]:
    """The server signed in to ``provider``, opaque tokens introspected by its own client."""
    port = int(provider.resource.split(":")[2].split("/")[0])
    with signed_in_server(
        provider,
        port,
        LD_INSIGHTS_OAUTH_INTROSPECTION_CLIENT_ID="mcp-server",
        LD_INSIGHTS_OAUTH_INTROSPECTION_CLIENT_SECRET=provider.secrets["mcp-server"],
    ) as server:
        yield server


@asynccontextmanager
async def serving(app: Any, port: int) -> AsyncIterator[str]:
    """Serve ``app`` (lifespan on) with uvicorn on ``port`` in this event loop: an app
    holding this loop's HTTP client (a started ``SignIn``) can be served in-process."""
    import anyio
    import uvicorn

    listening = anyio.Event()

    class Server(uvicorn.Server):
        async def startup(self, sockets: Any = None) -> None:
            await super().startup(sockets)
            listening.set()

    config = uvicorn.Config(
        app, host="127.0.0.1", port=port, log_config=None, lifespan="on", access_log=False
    )
    server = Server(config)
    async with anyio.create_task_group() as tasks:
        tasks.start_soon(server.serve)
        with anyio.fail_after(20):
            await listening.wait()
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            server.should_exit = True


@asynccontextmanager
async def mcp_client(url: str, token: str, mode: str) -> AsyncIterator[Client]:
    """The SDK's client over streamable HTTP sending ``token``; ``mode`` "legacy" (2025
    handshake) or "modern" (2026-07-28)."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    options: dict[str, Any] = {"mode": "legacy"} if mode == "legacy" else {}
    async with http, Client(streamable_http_client(url, http_client=http), **options) as client:
        yield client
