"""Opaque tokens, introspected at the real provider, sparingly: each answer remembered (an
active token until its expiry or a minute, a refusal for seconds) under a digest, never the
token; the provider asked at most ``RATE`` times a second (bursts of ``BURST``), beyond which
a token not remembered gets 503 with Retry-After, while remembered tokens and JWTs work.
Clocks are injected where the bound or the memory's end is the subject (no sleeps)."""

from __future__ import annotations

import secrets
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

import anyio
import httpx
import pytest
from pydantic import SecretStr

from ld_insights_mcp.auth.discovery import issuer_http_client
from ld_insights_mcp.auth.introspection import (
    BURST,
    RATE,
    REMEMBER_ACTIVE,
    REMEMBER_REFUSED,
    Answers,
    Budget,
    IntrospectionBusy,
)
from ld_insights_mcp.auth.options import SignInOptions
from ld_insights_mcp.auth.resource import SignIn
from ld_insights_mcp.auth.verifier import SignInVerifier
from ld_insights_mcp.surface.server import create_server
from ld_insights_mcp.transports.http.app import HttpOptions, build_http_app

from ..conftest import make_settings
from ..processes import HANDSHAKE, free_port
from .conftest import ACCEPT, LEGACY, SignedIn, running_provider, serving
from .provider import OpenIdProvider

pytestmark = pytest.mark.timeout(180)


class Clock:
    """Seconds that move only when a test says so."""

    def __init__(self, now: float) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def options_for(provider: OpenIdProvider) -> SignInOptions:
    return SignInOptions(
        issuer=provider.issuer,
        resource=provider.resource,
        introspection_client_id="mcp-server",
        introspection_client_secret=SecretStr(provider.secrets["mcp-server"]),
    )


@asynccontextmanager
async def started(
    provider: OpenIdProvider, *, clock: Clock | None = None, budget: Budget | None = None
) -> AsyncIterator[SignInVerifier]:
    options = options_for(provider)
    async with issuer_http_client(options) as http:
        verifier = SignInVerifier(options, http, clock=clock or time.time, budget=budget)
        await verifier.start()
        yield verifier


async def introspections(provider: OpenIdProvider) -> int:
    return (await anyio.to_thread.run_sync(provider.stats))["introspection"]


async def opaque(provider: OpenIdProvider) -> str:
    return await anyio.to_thread.run_sync(provider.client_credentials, "opaque-reader")


def made_up() -> str:
    return "opaque-" + secrets.token_urlsafe(30)


def test_an_opaque_token_sent_again_and_again_is_introspected_once(signed_in: SignedIn) -> None:
    """Twenty requests with one valid opaque token, then twenty with one made-up token:
    one introspection each (every request asked before)."""
    p = signed_in.provider
    valid, invalid = p.client_credentials("opaque-reader"), made_up()
    before = p.stats()["introspection"]
    assert [signed_in.post(valid, HANDSHAKE[0]).status_code for _ in range(20)] == [200] * 20
    assert p.stats()["introspection"] - before == 1
    before = p.stats()["introspection"]
    assert [signed_in.post(invalid, HANDSHAKE[0]).status_code for _ in range(20)] == [401] * 20
    # a refusal is remembered for REMEMBER_REFUSED (10 s): twenty requests take far less
    assert p.stats()["introspection"] - before <= 2
    assert "inactive (introspection), remembered" in signed_in.stderr()


@pytest.mark.anyio
async def test_made_up_tokens_cost_the_provider_the_burst_then_the_rate(
    provider: OpenIdProvider,
) -> None:
    ticks = Clock(0.0)
    async with started(provider, budget=Budget(clock=ticks)) as verifier:
        valid = await opaque(provider)
        before = await introspections(provider)
        assert await verifier.verify_token(valid) is not None
        busy: list[int] = []
        for _ in range(2 * BURST):
            try:
                assert await verifier.verify_token(made_up()) is None
            except IntrospectionBusy as exc:
                busy.append(exc.retry_after)
        assert await introspections(provider) - before == BURST
        assert busy == [1] * (BURST + 1)
        # while the bound holds: a remembered token and a JWT still work, unasked
        assert await verifier.verify_token(valid) is not None
        jwt = await anyio.to_thread.run_sync(provider.client_credentials, "reader")
        assert await verifier.verify_token(jwt) is not None
        assert await introspections(provider) - before == BURST
        ticks.advance(1.0)  # RATE more a second
        asked = []
        for _ in range(2 * int(RATE)):
            try:
                await verifier.verify_token(made_up())
                asked.append(True)
            except IntrospectionBusy:
                asked.append(False)
        assert asked.count(True) == RATE
        assert await introspections(provider) - before == BURST + RATE


@pytest.mark.anyio
async def test_a_revoked_opaque_token_stops_working_once_its_answer_is_forgotten(
    provider: OpenIdProvider,
) -> None:
    """The price of remembering: a token revoked at the provider works here for at most
    REMEMBER_ACTIVE seconds more. A refusal is asked again after REMEMBER_REFUSED."""
    clock = Clock(time.time())
    async with started(provider, clock=clock) as verifier:
        token = await opaque(provider)
        assert await verifier.verify_token(token) is not None
        revoked = await anyio.to_thread.run_sync(provider.revoke, "opaque-reader", token)
        assert revoked.status_code == 200, revoked.text
        clock.advance(REMEMBER_ACTIVE - 1)
        assert await verifier.verify_token(token) is not None
        clock.advance(1)
        before = await introspections(provider)
        assert await verifier.verify_token(token) is None  # asked again: inactive
        assert await verifier.verify_token(token) is None  # remembered
        assert await introspections(provider) - before == 1
        clock.advance(REMEMBER_REFUSED)
        assert await verifier.verify_token(token) is None
        assert await introspections(provider) - before == 2
        assert token not in repr(vars(verifier.answers))  # kept under a digest


@pytest.mark.anyio
async def test_a_token_that_cannot_be_checked_now_gets_503_with_retry_after(
    tmp_path: Path,
) -> None:
    """Over HTTP, with the budget spent: 503 and Retry-After for a token not remembered (it
    may be valid: not 401); a remembered one is served."""
    resource = f"http://127.0.0.1:{free_port()}/mcp"
    with running_provider(tmp_path, resource) as p:
        options = options_for(p)
        async with started(p, budget=Budget(burst=1, clock=Clock(0.0))) as verifier:
            server = create_server(make_settings(demo=True))
            app = build_http_app(
                server,
                HttpOptions(port=p.resource_port, sign_in=options),
                SignIn(options, verifier),
            )
            valid = await opaque(p)
            with anyio.fail_after(60):
                async with serving(app, p.resource_port) as base, httpx.AsyncClient() as http:

                    async def post(token: str) -> httpx.Response:
                        headers = {**ACCEPT, **LEGACY, "authorization": f"Bearer {token}"}
                        return await http.post(f"{base}/mcp", json=HANDSHAKE[0], headers=headers)

                    first = await post(valid)
                    busy = await post(made_up())
                    again = await post(valid)
    assert first.status_code == 200, first.text
    assert busy.status_code == 503, busy.text
    assert busy.headers["retry-after"] == "1"
    assert busy.json()["error"] == "temporarily_unavailable"
    assert again.status_code == 200, again.text


def test_the_answers_remembered_are_bounded_the_oldest_dropped_first() -> None:
    clock = Clock(0.0)
    answers = Answers(clock=clock, max_entries=3)
    for n in range(5):
        answers.remember(f"token-{n}", f"refused {n}", until=10.0)
    assert [answers.get(f"token-{n}") for n in range(5)] == [
        None,
        None,
        "refused 2",
        "refused 3",
        "refused 4",
    ]
    clock.advance(10.0)
    assert answers.get("token-4") is None
