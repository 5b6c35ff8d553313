"""``auth.current_person()``: who is calling, read from the SDK's auth context, for the write
tools' previews and results ("deleted by Ada Lovelace <ada@example.com>, confirmed")."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import anyio
import mcp.types as t
import pytest
from mcp.server.auth.middleware.auth_context import auth_context_var
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken

from ld_insights_mcp.auth import current_person
from ld_insights_mcp.auth.options import SignInOptions
from ld_insights_mcp.auth.person import MAX_CHARS, person_fields
from ld_insights_mcp.auth.resource import SignIn
from ld_insights_mcp.surface.server import create_server
from ld_insights_mcp.transports.http.app import HttpOptions, build_http_app

from ..conftest import make_settings
from ..mcp_helpers import structured, text_of
from .conftest import mcp_client, serving
from .provider import OpenIdProvider


@pytest.fixture
def signed_in_as() -> Iterator[object]:
    tokens = []

    def sign_in(subject: str | None, **claims: str) -> None:
        token = AccessToken(
            token="sha256:0", client_id="app", scopes=[], subject=subject, claims=claims
        )
        tokens.append(auth_context_var.set(AuthenticatedUser(token)))

    yield sign_in
    for token in reversed(tokens):
        auth_context_var.reset(token)


@pytest.mark.parametrize(
    ("subject", "claims", "shown"),
    [
        (
            "ada",
            {"name": "Ada Lovelace", "email": "ada@example.com"},
            "Ada Lovelace <ada@example.com>",
        ),
        ("ada", {"email": "ada@example.com"}, "ada@example.com"),
        ("ada", {"name": "Ada Lovelace"}, "Ada Lovelace"),
        ("auth0|5f0c2b7e", {}, "auth0|5f0c2b7e"),
        ("bob", {"name": "Bob \u202eevil\u200b\nBuilder\x1b[31m"}, "Bob evil Builder [31m"),
    ],
    ids=["name and email", "email", "name", "subject only", "controls, bidi, zero-width"],
)
def test_the_person_is_named_on_one_clean_line(
    signed_in_as: object, subject: str, claims: dict[str, str], shown: str
) -> None:
    signed_in_as(subject, **claims)  # type: ignore[operator]
    assert current_person() == shown


def test_a_very_long_name_is_cut(signed_in_as: object) -> None:
    signed_in_as("ada", name="A" * 1000)  # type: ignore[operator]
    person = current_person()
    assert person is not None
    assert len(person) == MAX_CHARS
    assert person.endswith("…")


def test_nobody_is_named_without_a_signed_in_person(signed_in_as: object) -> None:
    assert current_person() is None
    assert person_fields() == {}
    signed_in_as(None)  # type: ignore[operator]  # a static bearer token: no subject
    assert current_person() is None


@pytest.mark.anyio
@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["legacy", "modern"])
async def test_a_tool_reads_the_person_behind_the_call(provider: OpenIdProvider, mode: str) -> None:
    """Over streamable HTTP, each call's own person reaches the tool: Ada, then Bob."""
    server = create_server(make_settings(demo=True))

    def whoami() -> str:
        """Who is calling."""
        return current_person() or "nobody"

    server.add_tool(whoami)
    port = provider.resource_port
    options = SignInOptions(issuer=provider.issuer, resource=provider.resource)
    seen = []
    with anyio.fail_after(60):
        async with SignIn.opened(options) as sign_in:
            app = build_http_app(server, HttpOptions(port=port, sign_in=options), sign_in)
            async with serving(app, port) as base:
                for account in ("ada", "bob"):
                    token = provider.authorization_code(account)
                    async with mcp_client(f"{base}/mcp", token, mode) as client:
                        seen.append(text_of(await client.call_tool("whoami", {})))
    assert seen == ["Ada Lovelace <ada@example.com>", "Bob evil Builder <bob@example.com>"]


@pytest.mark.anyio
@pytest.mark.timeout(120)
@pytest.mark.parametrize("mode", ["legacy", "modern"])
async def test_a_confirmed_delete_names_the_signed_in_person_in_its_question_and_result(
    provider: OpenIdProvider, mode: str
) -> None:
    """The user is asked with the person named, and the result says who asked for it."""
    server = create_server(make_settings(demo=True))
    asked: list[str] = []

    async def user(context: Any, params: t.ElicitRequestParams) -> t.ElicitResult:
        asked.append(getattr(params, "message", ""))
        return t.ElicitResult(action="accept", content={"confirm": True})

    port = provider.resource_port
    options = SignInOptions(issuer=provider.issuer, resource=provider.resource)
    with anyio.fail_after(60):
        async with SignIn.opened(options) as sign_in:
            app = build_http_app(server, HttpOptions(port=port, sign_in=options), sign_in)
            async with serving(app, port) as base:
                token = provider.authorization_code("ada")
                async with mcp_client(
                    f"{base}/mcp", token, mode, elicitation_callback=user
                ) as client:
                    groups = await client.call_tool("list_insight_groups", {})
                    key = structured(groups)["groups"][0]["key"]
                    deleted = await client.call_tool("delete_insight_group", {"key": key})
    ada = '"Ada Lovelace <ada@example.com>"'
    assert structured(deleted)["status"] == "done"
    assert structured(deleted)["person"] == "Ada Lovelace <ada@example.com>"
    assert f"Asked for by {ada} (signed in)." in text_of(deleted)
    assert len(asked) == 1
    assert f"Asked for by {ada} (signed in)." in asked[0]
