"""Shared fixtures: the emulator as the LaunchDarkly API, clients over real HTTP semantics."""

from __future__ import annotations

import os
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest
from pydantic import SecretStr

from ld_insights_mcp.config import Settings
from ld_insights_mcp.launchdarkly import ClientOptions, LaunchDarklyClient, RetryPolicy
from ld_insights_mcp.surface.server import create_server
from tests.support import Emulator

TOKEN = "api-test-5f0c2b7e-token"
"""The access token every test configures; tests assert it never leaks."""

NOW_MS = 1_763_769_600_000
"""2025-11-22T00:00:00Z: seeded data is anchored here so results are deterministic."""

FAST_RETRY = RetryPolicy(max_attempts=4, backoff_initial=0.01, backoff_max=0.05, max_wait=2.0)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(autouse=True)
def _clean_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    """Tests never read the developer's LaunchDarkly settings."""
    for name in list(os.environ):
        if name.startswith(("LD_", "LAUNCHDARKLY_")):
            monkeypatch.delenv(name)


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(token=TOKEN, now_ms=NOW_MS)


@pytest.fixture
def transport(emulator: Emulator) -> httpx.AsyncBaseTransport:
    return httpx.ASGITransport(app=emulator.app)


@pytest.fixture
async def ld(transport: httpx.AsyncBaseTransport) -> AsyncIterator[LaunchDarklyClient]:
    client = LaunchDarklyClient.create(
        base_url="https://app.launchdarkly.com",
        token=SecretStr(TOKEN),
        options=ClientOptions(retry=FAST_RETRY),
        transport=transport,
    )
    async with client:
        yield client


def make_settings(**overrides: Any) -> Settings:
    values: dict[str, Any] = {"access_token": TOKEN, "max_retries": 3, "max_retry_wait": 2.0}
    values.update(overrides)
    return Settings(**values)


@pytest.fixture
def settings() -> Settings:
    return make_settings()


@pytest.fixture
def server_factory(
    transport: httpx.AsyncBaseTransport,
) -> Callable[..., Any]:
    """``server_factory(**settings_overrides)`` -> a server talking to the emulator."""

    def build(**overrides: Any) -> Any:
        return create_server(make_settings(**overrides), transport=transport)

    return build


@pytest.fixture(params=["auto", "legacy"])
def client_mode(request: pytest.FixtureRequest) -> str:
    """Both protocol generations: the stateless 2026-07-28 revision and the 2025 handshake."""
    return str(request.param)
