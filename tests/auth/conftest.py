"""A real OpenID provider (oidc-provider) and the server signed in to it, on loopback ports
(started as the replica tests start theirs, ``deploy/scale.py``).

Skipped, saying why, when the provider is not installed (``make real-clients-install``;
``.ci/run`` installs it before the tests)."""

from __future__ import annotations

import subprocess
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

from ..processes import clean_env, free_port
from ..scale.conftest import scale
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
def running_provider(run_dir: Path, resource: str) -> Iterator[OpenIdProvider]:
    """The provider, for ``resource``; skips the test when it is not installed."""
    if MISSING is not None:
        pytest.skip(MISSING)
    provider = OpenIdProvider(run_dir, resource=resource)
    provider.start()
    try:
        yield provider
    finally:
        provider.stop()


@contextmanager
def signed_in_server(provider: OpenIdProvider, *args: str, **env: str) -> Iterator[SignedIn]:
    """``ld-insights-mcp --demo`` (streamable HTTP unless ``args`` say otherwise) on the
    resource's port, signed in to ``provider``, JSON logs at DEBUG, until it listens."""
    port = provider.resource_port
    name = f"server-{port}"
    process = scale.start_replica(
        provider.run_dir, name, port, sign_in_env(provider, **env), ["--demo", *args]
    )
    try:
        yield SignedIn(
            provider, f"http://127.0.0.1:{port}", process, provider.run_dir / f"{name}.log"
        )
    finally:
        scale.stop(process, timeout=20)


@contextmanager
def provider_and_server(
    run_dir: Path, *args: str, path: str = "/mcp", **env: str
) -> Iterator[SignedIn]:
    """A provider and a server of their own (for tests that change either)."""
    resource = f"http://127.0.0.1:{free_port()}{path}"
    with (
        running_provider(run_dir, resource) as provider,
        signed_in_server(provider, *args, **env) as server,
    ):
        yield server


@pytest.fixture(scope="module")
def provider(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OpenIdProvider]:
    """The module's provider, for a server to come on a port chosen now (its resource)."""
    resource = f"http://127.0.0.1:{free_port()}/mcp"
    with running_provider(tmp_path_factory.mktemp("oidc"), resource) as found:
        yield found


@pytest.fixture(scope="module")
def signed_in(provider: OpenIdProvider) -> Iterator[SignedIn]:
    """The server signed in to ``provider``, opaque tokens introspected by its own client."""
    with signed_in_server(
        provider,
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
async def mcp_client(
    url: str, token: str, mode: str, **client_options: Any
) -> AsyncIterator[Client]:
    """The SDK's client over streamable HTTP sending ``token``; ``mode`` "legacy" (2025
    handshake) or "modern" (2026-07-28); ``client_options`` go to ``Client``."""
    http = httpx2.AsyncClient(headers={"Authorization": f"Bearer {token}"}, timeout=30)
    options: dict[str, Any] = {"mode": "legacy"} if mode == "legacy" else {}
    options |= client_options
    async with http, Client(streamable_http_client(url, http_client=http), **options) as client:
        yield client
