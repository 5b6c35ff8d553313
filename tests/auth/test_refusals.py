"""Every bearer token the server must refuse, each with the right status and challenge, and
the reason in its log; and the tokens it must accept (so each refusal is for its reason)."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from collections.abc import Callable
from typing import Any

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from mcp import MCPError

from ..processes import HANDSHAKE
from .conftest import SignedIn, mcp_client
from .provider import READ, WRITE, OpenIdProvider

pytestmark = pytest.mark.timeout(180)
BROWSER = {"origin": "https://client.example"}


def _b64(data: dict[str, Any]) -> str:
    raw = json.dumps(data, separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def _hs256_keyed_with_the_public_key(p: OpenIdProvider) -> str:
    """The algorithm-confusion attack: HMAC keyed with the published RSA public key."""
    public = p.ring.keys["rsa-1"].public_key()
    pem = public.public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    signing_input = f"{_b64({'alg': 'HS256', 'typ': 'at+jwt', 'kid': 'rsa-1'})}.{_b64(p.claims())}"
    mac = hmac.new(pem, signing_input.encode(), hashlib.sha256).digest()
    return f"{signing_input}.{base64.urlsafe_b64encode(mac).rstrip(b'=').decode()}"


def _unsigned(p: OpenIdProvider) -> str:
    return f"{_b64({'alg': 'none', 'typ': 'at+jwt', 'kid': 'rsa-1'})}.{_b64(p.claims())}."


def _unknown_key(p: OpenIdProvider) -> str:
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    return jwt.encode(p.claims(), stranger, algorithm="RS256", headers={"kid": "rsa-unknown"})


def _expired(p: OpenIdProvider) -> str:
    now = int(time.time())
    return p.sign(p.claims(iat=now - 900, exp=now - 120))


Case = tuple[Callable[[OpenIdProvider], str | None], str]
REFUSED: dict[str, Case] = {
    "no token": (lambda p: None, ""),
    "wrong audience": (
        lambda p: p.sign(p.claims(aud="https://elsewhere.example/mcp")),
        "not issued for this resource (aud)",
    ),
    "wrong issuer": (
        lambda p: p.sign(p.claims(iss="https://impostor.example")),
        "issued by another issuer (iss)",
    ),
    "expired": (_expired, "bearer token refused: expired"),
    "not yet valid": (
        lambda p: p.sign(p.claims(nbf=int(time.time()) + 300)),
        "not yet valid (nbf or iat in the future)",
    ),
    "unknown kid": (_unknown_key, "signed with a key the issuer does not publish"),
    "alg none": (_unsigned, "algorithm 'none' is not accepted"),
    "HS256 keyed with the public key": (
        _hs256_keyed_with_the_public_key,
        "algorithm 'HS256' is not accepted",
    ),
    "a real token for another resource": (
        lambda p: p.client_credentials("reader", resource=p.other_resource),
        "not issued for this resource (aud)",
    ),
    "signature of another token": (
        lambda p: p.sign(p.claims()).rsplit(".", 1)[0] + "." + p.sign(p.claims(sub="x"))[-20:],
        "bad signature",
    ),
    "no subject": (lambda p: p.sign(p.claims(sub=None)), "missing claim: sub"),
    "an ID token (typ)": (lambda p: p.sign(p.claims(), typ="id+jwt"), "is not an access token"),
    "bound to a key (cnf)": (
        lambda p: p.sign(p.claims(cnf={"jkt": "0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I"})),
        "bound to a key (cnf)",
    ),
    "an unknown opaque token": (lambda p: "opaque-" + "x" * 40, "inactive (introspection)"),
}


@pytest.mark.parametrize("case", list(REFUSED), ids=list(REFUSED))
def test_a_token_that_is_not_for_this_server_gets_401_with_the_metadata_url(
    signed_in: SignedIn, case: str
) -> None:
    make, reason = REFUSED[case]
    answer = signed_in.post(make(signed_in.provider), HANDSHAKE[0])
    assert answer.status_code == 401, answer.text
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith("Bearer ")
    assert 'error="invalid_token"' in challenge
    metadata = f"{signed_in.base}/.well-known/oauth-protected-resource/mcp"
    assert f'resource_metadata="{metadata}"' in challenge
    assert answer.json()["error"] == "invalid_token"
    if reason:
        assert reason in signed_in.stderr()


ACCEPTED: dict[str, Callable[[OpenIdProvider], str]] = {
    "RS256 (client credentials)": lambda p: p.client_credentials("reader"),
    "ES256 (client credentials)": lambda p: p.client_credentials("es"),
    "EdDSA (client credentials)": lambda p: p.client_credentials("ed"),
    "RS256 (authorization code + PKCE)": lambda p: p.authorization_code("ada"),
    "opaque, introspected": lambda p: p.client_credentials("opaque-reader"),
    "signed here with the provider's key (the forging is sound)": lambda p: p.sign(p.claims()),
    "expired within the leeway": lambda p: p.sign(p.claims(exp=int(time.time()) - 5)),
    "several audiences, this one among them": lambda p: p.sign(
        p.claims(aud=[p.other_resource, p.resource])
    ),
}


@pytest.mark.parametrize("case", list(ACCEPTED), ids=list(ACCEPTED))
def test_a_token_for_this_server_is_served(signed_in: SignedIn, case: str) -> None:
    answer = signed_in.post(ACCEPTED[case](signed_in.provider), HANDSHAKE[0])
    assert answer.status_code == 200, answer.text
    assert "serverInfo" in answer.text


def test_a_token_without_the_read_scope_gets_nothing(signed_in: SignedIn) -> None:
    token = signed_in.provider.client_credentials("outsider", scope="insights:audit")
    answer = signed_in.post(token, HANDSHAKE[0])
    assert answer.status_code == 403, answer.text
    challenge = answer.headers["www-authenticate"]
    assert 'error="insufficient_scope"' in challenge
    assert READ in challenge


def test_a_write_call_without_the_write_scope_gets_403_with_a_step_up_challenge(
    signed_in: SignedIn,
) -> None:
    reader = signed_in.provider.client_credentials("reader")
    call = {
        "jsonrpc": "2.0",
        "id": 7,
        "method": "tools/call",
        "params": {"name": "delete_insight_group", "arguments": {"key": "x"}},
    }
    answer = signed_in.post(reader, call)
    assert answer.status_code == 403, answer.text
    challenge = answer.headers["www-authenticate"]
    assert challenge.startswith('Bearer error="insufficient_scope"')
    assert f'scope="{READ} {WRITE}"' in challenge
    assert f'resource_metadata="{signed_in.base}/.well-known/oauth-protected-resource/mcp"' in (
        challenge
    )
    assert WRITE in answer.json()["error_description"]
    # in a batch, and for a name the server does not list as read-only: refused too
    batch = [{**call, "params": {"name": "list_insight_groups", "arguments": {}}}, call]
    assert signed_in.post(reader, batch).status_code == 403


@pytest.mark.anyio
@pytest.mark.parametrize("mode", ["legacy", "modern"])
async def test_a_tool_the_server_does_not_have_is_unknown_not_a_write(
    signed_in: SignedIn, mode: str
) -> None:
    """Without the write scope, a name the server has no tool for is not refused as a write
    (no step-up for it): the SDK answers that the tool is unknown."""
    reader = signed_in.provider.client_credentials("reader")
    with anyio.fail_after(60):
        async with mcp_client(signed_in.url, reader, mode) as client:
            try:
                result = await client.call_tool("no_such_tool", {})
            except MCPError as exc:
                answer = str(exc)
            else:
                assert result.is_error
                answer = "\n".join(getattr(c, "text", "") for c in result.content)
    assert "no_such_tool" in answer
    assert "unknown" in answer.lower()
    assert WRITE not in answer


def test_the_metadata_is_published_at_both_well_known_forms_without_a_token(
    signed_in: SignedIn,
) -> None:
    """RFC 9728: at the path-suffixed form for the MCP endpoint and at the root form,
    readable by browser-based clients from any origin."""
    p = signed_in.provider
    expected = {
        "resource": p.resource,
        "authorization_servers": [p.issuer],
        "scopes_supported": [READ, WRITE],
        "bearer_methods_supported": ["header"],
        "resource_name": "LaunchDarkly Engineering Insights",
    }
    for path in (
        "/.well-known/oauth-protected-resource/mcp",
        "/.well-known/oauth-protected-resource",
    ):
        answer = httpx.get(f"{signed_in.base}{path}", headers=BROWSER, timeout=10)
        assert answer.status_code == 200, (path, answer.text)
        assert answer.json() == expected
        assert answer.headers["access-control-allow-origin"] == "*"
