"""The SDK client's own OAuth, as MCP clients sign people in: from the server's 401 to its
metadata, the provider's metadata, registration, the provider's sign-in pages and the
token; then a write with a read-only sign-in: 403, the client signs in again for the write
scope (step-up) and the call goes through."""

from __future__ import annotations

from typing import Any
from urllib.parse import parse_qs, urlsplit

import anyio
import httpx
import httpx2
import pytest
from mcp import Client
from mcp.client.auth import OAuthClientProvider
from mcp.client.streamable_http import streamable_http_client
from mcp.shared.auth import (
    AuthorizationCodeResult,
    OAuthClientInformationFull,
    OAuthClientMetadata,
    OAuthToken,
)

from ..mcp_helpers import text_of, user_declines
from .conftest import SignedIn
from .provider import READ, REDIRECT_URI, WRITE, OpenIdProvider

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(180)]


class Storage:
    """The client's token storage, in memory."""

    def __init__(
        self, tokens: OAuthToken | None = None, client: OAuthClientInformationFull | None = None
    ) -> None:
        self.tokens, self.client = tokens, client

    async def get_tokens(self) -> OAuthToken | None:
        return self.tokens

    async def set_tokens(self, tokens: OAuthToken) -> None:
        self.tokens = tokens

    async def get_client_info(self) -> OAuthClientInformationFull | None:
        return self.client

    async def set_client_info(self, client_info: OAuthClientInformationFull) -> None:
        self.client = client_info


class Person:
    """Plays the person at the browser: signs in as ``account`` on the provider's pages."""

    def __init__(self, provider: OpenIdProvider, account: str) -> None:
        self.provider, self.account = provider, account
        self.callbacks: list[str] = []
        self.asked_scopes: list[str] = []

    async def open(self, authorization_url: str) -> None:
        self.asked_scopes.append(parse_qs(urlsplit(authorization_url).query)["scope"][0])

        def browse() -> str:
            with httpx.Client(timeout=10) as browser:
                return self.provider.sign_in_pages(browser, authorization_url, self.account)

        self.callbacks.append(await anyio.to_thread.run_sync(browse))

    async def callback(self) -> AuthorizationCodeResult:
        query = parse_qs(urlsplit(self.callbacks[-1]).query)
        return AuthorizationCodeResult(
            code=query["code"][0], state=query["state"][0], iss=query.get("iss", [None])[0]
        )


def oauth(url: str, person: Person, storage: Storage) -> OAuthClientProvider:
    metadata = OAuthClientMetadata(
        client_name="sign-in tests",
        redirect_uris=[REDIRECT_URI],  # type: ignore[list-item]
        grant_types=["authorization_code", "refresh_token"],
        response_types=["code"],
        token_endpoint_auth_method="none",
    )
    return OAuthClientProvider(
        url, metadata, storage, redirect_handler=person.open, callback_handler=person.callback
    )


def client(url: str, auth: OAuthClientProvider, mode: str) -> Client:
    options: dict[str, Any] = {"mode": "legacy"} if mode == "legacy" else {}
    http = httpx2.AsyncClient(auth=auth, timeout=30)
    # a client that can ask its user: it is offered the tools that ask first
    return Client(
        streamable_http_client(url, http_client=http), elicitation_callback=user_declines, **options
    )


@pytest.mark.parametrize("mode", ["legacy", "modern"])
async def test_the_sdk_client_finds_the_provider_from_the_401_registers_and_signs_in(
    signed_in: SignedIn, mode: str
) -> None:
    person = Person(signed_in.provider, "ada")
    storage = Storage()
    with anyio.fail_after(90):
        async with client(signed_in.url, oauth(signed_in.url, person, storage), mode) as c:
            names = {tool.name for tool in (await c.list_tools()).tools}
    assert storage.client is not None  # registered itself at the provider (RFC 7591)
    (asked,) = person.asked_scopes  # scopes_supported of our metadata (+ offline_access)
    assert {READ, WRITE} <= set(asked.split())
    assert "delete_insight_group" in names


@pytest.mark.parametrize("mode", ["legacy", "modern"])
async def test_a_write_with_a_read_only_sign_in_steps_up_and_goes_through(
    signed_in: SignedIn, mode: str
) -> None:
    provider = signed_in.provider
    reader = provider.authorization_code("ada", scope=READ)
    storage = Storage(
        OAuthToken(access_token=reader, token_type="Bearer", expires_in=600, scope=READ),
        OAuthClientInformationFull(
            client_id="app",
            redirect_uris=[REDIRECT_URI],  # type: ignore[list-item]
            grant_types=["authorization_code", "refresh_token"],
            response_types=["code"],
            token_endpoint_auth_method="none",
        ),
    )
    person = Person(provider, "ada")
    with anyio.fail_after(90):
        async with client(signed_in.url, oauth(signed_in.url, person, storage), mode) as c:
            before = {tool.name for tool in (await c.list_tools()).tools}
            result = await c.call_tool("delete_insight_group", {"key": "no-such-group"})
    assert "delete_insight_group" not in before
    (asked,) = person.asked_scopes  # one step-up, for the scopes the 403 named
    assert {READ, WRITE} <= set(asked.split())
    assert storage.tokens is not None
    assert storage.tokens.access_token != reader
    assert "no-such-group" in text_of(result)  # the tool itself answered
