"""Sign-in settings that cannot work stop the server before it listens, with one line naming
the setting and the fix (exit status 2)."""

from __future__ import annotations

import json
import subprocess
from dataclasses import replace

import pytest

from ld_insights_mcp.auth.options import SignInOptions
from ld_insights_mcp.config import ConfigurationError
from ld_insights_mcp.transports.http.app import HttpOptions, transport_security

from ..processes import HANDSHAKE, clean_env, free_port, server_command, stdio_exchange
from .provider import OpenIdProvider

pytestmark = pytest.mark.timeout(120)


def refusal(port: int, *args: str, **env: str) -> str:
    """Start the server; it must exit 2 without listening. Returns its stderr."""
    done = subprocess.run(
        [*server_command(), "--demo", "--transport", "streamable-http", "--port", str(port), *args],
        env=clean_env(**env),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 2, done.stderr.decode()
    return done.stderr.decode()


ISSUER, RESOURCE = "https://sso.example.com", "https://insights.example.com/mcp"


def env(
    issuer: str | None = ISSUER, resource: str | None = RESOURCE, **extra: str
) -> dict[str, str]:
    found = {"LD_INSIGHTS_OAUTH_ISSUER": issuer, "LD_INSIGHTS_OAUTH_RESOURCE": resource}
    return {k: v for k, v in {**found, **extra}.items() if v is not None}


CASES = {
    "http issuer off loopback": (
        env(issuer="http://sso.example.com"),
        "LD_INSIGHTS_OAUTH_ISSUER: must use https; plain http is allowed only for loopback",
    ),
    "relative resource": (
        env(resource="mcp"),
        "LD_INSIGHTS_OAUTH_RESOURCE: must be an absolute https URL",
    ),
    "issuer with a query": (
        env(issuer=ISSUER + "?tenant=1"),
        "must not carry a user name, password, query or fragment",
    ),
    "resource without issuer": (
        env(issuer=None),
        "set both LD_INSIGHTS_OAUTH_ISSUER and LD_INSIGHTS_OAUTH_RESOURCE",
    ),
    "same scope twice": (env(LD_INSIGHTS_OAUTH_WRITE_SCOPE="insights:read"), "must differ"),
    "scope with a space": (
        env(LD_INSIGHTS_OAUTH_READ_SCOPE="read write"),
        "LD_INSIGHTS_OAUTH_READ_SCOPE: must be one scope name",
    ),
    "resource for another path": (
        env(resource="https://insights.example.com/api/mcp"),
        "LD_INSIGHTS_OAUTH_RESOURCE must be the public URL of the MCP endpoint this server "
        "serves, ending in '/mcp'",
    ),
    "with static bearer tokens": (
        env(LD_INSIGHTS_HTTP_BEARER_TOKENS="static-token"),
        "LD_INSIGHTS_HTTP_BEARER_TOKENS and LD_INSIGHTS_OAUTH_ISSUER are both set: use one",
    ),
    "introspection id without secret": (
        env(LD_INSIGHTS_OAUTH_INTROSPECTION_CLIENT_ID="mcp"),
        "set both LD_INSIGHTS_OAUTH_INTROSPECTION_CLIENT_ID and its _SECRET",
    ),
}


@pytest.mark.parametrize("case", list(CASES), ids=list(CASES))
def test_a_setting_that_cannot_work_is_named_with_its_fix(case: str) -> None:
    settings, said = CASES[case]
    assert said in refusal(free_port(), **settings)


def test_an_unreachable_issuer_stops_the_server_before_it_listens() -> None:
    closed = free_port()
    port = free_port()
    said = refusal(
        port,
        LD_INSIGHTS_OAUTH_ISSUER=f"http://127.0.0.1:{closed}",
        LD_INSIGHTS_OAUTH_RESOURCE=f"http://127.0.0.1:{port}/mcp",
    )
    assert "cannot read the authorization server's metadata for LD_INSIGHTS_OAUTH_ISSUER" in said
    assert f"http://127.0.0.1:{closed}/.well-known/oauth-authorization-server" in said
    assert f"http://127.0.0.1:{closed}/.well-known/openid-configuration" in said
    assert "ConnectError" in said


def test_an_issuer_spelt_differently_from_its_metadata_is_refused(
    provider: OpenIdProvider,
) -> None:
    said = refusal(
        free_port(),
        LD_INSIGHTS_OAUTH_ISSUER=provider.issuer + "/",
        LD_INSIGHTS_OAUTH_RESOURCE=provider.resource,
    )
    assert "set LD_INSIGHTS_OAUTH_ISSUER to exactly that value" in said
    assert repr(provider.issuer) in said


def test_an_introspection_client_the_provider_refuses_stops_the_server(
    provider: OpenIdProvider,
) -> None:
    said = refusal(
        provider.resource_port,
        LD_INSIGHTS_OAUTH_ISSUER=provider.issuer,
        LD_INSIGHTS_OAUTH_RESOURCE=provider.resource,
        LD_INSIGHTS_OAUTH_INTROSPECTION_CLIENT_ID="mcp-server",
        LD_INSIGHTS_OAUTH_INTROSPECTION_CLIENT_SECRET="not-the-secret-0123456789",
    )
    assert "does not accept this server's client" in said
    assert "HTTP 401" in said
    assert "not-the-secret" not in said


def test_off_loopback_sign_in_stands_in_for_static_tokens() -> None:
    sign_in = SignInOptions(issuer=ISSUER, resource=RESOURCE)
    public = HttpOptions(
        host="10.0.0.5",
        allowed_hosts=("insights.example.com",),
        allowed_origins=("https://insights.example.com",),
    )
    transport_security(replace(public, sign_in=sign_in))
    with pytest.raises(ConfigurationError, match="LD_INSIGHTS_OAUTH_ISSUER"):
        transport_security(public)
    sse = HttpOptions(transport="sse", sign_in=sign_in)
    with pytest.raises(ConfigurationError, match="ending in '/sse'"):
        transport_security(sse)


def test_sign_in_and_bearer_token_settings_over_stdio_are_named_once_as_having_no_effect() -> None:
    """Over stdio there is no HTTP client to authenticate: one WARNING at start names the
    settings set that have no effect (never their values); the server still answers."""
    secret = "introspection-secret-value-0000"
    settings = env(
        LD_INSIGHTS_OAUTH_INTROSPECTION_CLIENT_ID="mcp-server",
        LD_INSIGHTS_OAUTH_INTROSPECTION_CLIENT_SECRET=secret,
        LD_INSIGHTS_HTTP_BEARER_TOKENS="static-token-value-0000",
    )
    lines, stderr = stdio_exchange(
        ["--demo"], [json.dumps(HANDSHAKE[0])], expect_ids={1}, env=clean_env(**settings)
    )
    assert any('"id": 1' in line or '"id":1' in line for line in lines)
    warnings = [line for line in stderr.splitlines() if "no effect on stdio" in line]
    assert len(warnings) == 1, stderr
    for name in (
        "LD_INSIGHTS_HTTP_BEARER_TOKENS",
        "LD_INSIGHTS_OAUTH_ISSUER",
        "LD_INSIGHTS_OAUTH_RESOURCE",
        "LD_INSIGHTS_OAUTH_INTROSPECTION_CLIENT_ID",
        "LD_INSIGHTS_OAUTH_INTROSPECTION_CLIENT_SECRET",
    ):
        assert name in warnings[0]
    assert "WARNING" in warnings[0]
    for value in (secret, "static-token-value-0000", ISSUER):
        assert value not in stderr


def test_stdio_without_those_settings_warns_of_nothing() -> None:
    _, stderr = stdio_exchange(["--demo"], [json.dumps(HANDSHAKE[0])], expect_ids={1})
    assert "no effect on stdio" not in stderr
