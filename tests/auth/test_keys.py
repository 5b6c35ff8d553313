"""The provider's signing keys: rotated at the provider, picked up without a restart; a
token naming a made-up key costs the provider at most one key-set fetch per interval; the
keys held keep working while the provider is down."""

from __future__ import annotations

import anyio
import httpx
import jwt
import pytest
from cryptography.hazmat.primitives.asymmetric import rsa

from ld_insights_mcp.auth.discovery import fetch_json
from ld_insights_mcp.auth.keys import SigningKeys, usable_keys

from ..processes import HANDSHAKE
from .conftest import SignedIn, provider_and_server, running_provider

UNUSED = "http://127.0.0.1:9/mcp"
"""A resource no server serves: these tests read the provider's keys only."""

pytestmark = pytest.mark.timeout(180)


def test_a_key_rotated_at_the_provider_works_at_once_without_a_restart(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    with provider_and_server(tmp_path_factory.mktemp("oidc")) as server:
        provider = server.provider
        old = provider.client_credentials("reader")
        assert server.post(old, HANDSHAKE[0]).status_code == 200
        new_kid = provider.rotate()  # restarts the provider: its counters start at 0
        new = provider.client_credentials("reader")
        assert jwt.get_unverified_header(new)["kid"] == new_kid
        assert server.post(new, HANDSHAKE[0]).status_code == 200
        assert server.post(old, HANDSHAKE[0]).status_code == 200  # the old key is still published
        another = provider.client_credentials("reader")
        assert server.post(another, HANDSHAKE[0]).status_code == 200
        assert provider.stats()["jwks"] == 1  # one refetch, for the first unknown kid


def test_tokens_naming_made_up_keys_cost_one_key_set_fetch_per_interval(
    signed_in: SignedIn,
) -> None:
    p = signed_in.provider
    stranger = rsa.generate_private_key(public_exponent=65537, key_size=2048)

    def made_up(n: int) -> str:
        return jwt.encode(p.claims(), stranger, algorithm="RS256", headers={"kid": f"made-up-{n}"})

    async def burst(first: int) -> list[int]:
        statuses: list[int] = []

        async def one(n: int) -> None:
            async with httpx.AsyncClient(timeout=30) as http:
                answer = await http.post(
                    signed_in.url,
                    json=HANDSHAKE[0],
                    headers={
                        "authorization": f"Bearer {made_up(n)}",
                        "accept": "application/json, text/event-stream",
                    },
                )
                statuses.append(answer.status_code)

        async with anyio.create_task_group() as tasks:
            for n in range(first, first + 20):
                tasks.start_soon(one, n)
        return statuses

    before = p.stats()["jwks"]
    assert anyio.run(burst, 0) == [401] * 20
    after_first = p.stats()["jwks"]
    assert anyio.run(burst, 20) == [401] * 20
    assert after_first - before == 1  # twenty unknown kids at once: one fetch
    assert p.stats()["jwks"] == after_first  # within the interval: none


@pytest.mark.anyio
async def test_the_keys_held_keep_working_while_the_provider_is_down_and_refresh_by_age(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    now = [1000.0]
    with running_provider(tmp_path_factory.mktemp("oidc"), UNUSED) as provider:
        async with httpx.AsyncClient(timeout=10) as http:
            keys = SigningKeys(
                lambda: fetch_json(http, f"{provider.issuer}/jwks"),
                min_refresh_interval=30,
                max_age=3600,
                clock=lambda: now[0],
            )
            await keys.load()
            assert await keys.find("rsa-1", "RS256") is not None
            assert await keys.find("rsa-1", "ES256") is None  # the key's algorithm, only
            assert await keys.find(None, "EdDSA") is not None  # one EdDSA key: no kid needed
            assert keys.fetches == 1
            now[0] += 3600  # stale: refetched on the next use
            assert await keys.find("rsa-1", "RS256") is not None
            assert keys.fetches == 2
            provider.stop()
            now[0] += 3600  # stale again, the provider down: the keys held still answer
            assert await keys.find("rsa-1", "RS256") is not None
            assert keys.fetches == 3
            assert await keys.find("rsa-1", "RS256") is not None  # tried again after 30 s
            assert keys.fetches == 3
            now[0] += 30
            await keys.find("rsa-1", "RS256")
            assert keys.fetches == 4


@pytest.mark.anyio
async def test_twenty_lookups_of_an_unknown_kid_at_once_share_one_fetch(
    tmp_path_factory: pytest.TempPathFactory,
) -> None:
    found: list[object] = []
    with running_provider(tmp_path_factory.mktemp("oidc"), UNUSED) as provider:
        async with httpx.AsyncClient(timeout=10) as http:
            keys = SigningKeys(lambda: fetch_json(http, f"{provider.issuer}/jwks"))
            await keys.load()

            async def look_up() -> None:
                found.append(await keys.find("made-up", "RS256"))

            with anyio.fail_after(30):
                async with anyio.create_task_group() as tasks:
                    for _ in range(20):
                        tasks.start_soon(look_up)
    assert found == [None] * 20
    assert keys.fetches == 2  # the load, and one refetch for all twenty


def test_only_signing_keys_for_the_accepted_algorithms_are_kept() -> None:
    rsa_key = {"kty": "RSA", "kid": "r", "n": "sXch" * 64, "e": "AQAB"}
    jwks = {
        "keys": [
            rsa_key,
            {**rsa_key, "kid": "enc", "use": "enc"},
            {**rsa_key, "kid": "ps", "alg": "PS256"},
            {"kty": "oct", "kid": "hmac", "k": "c2VjcmV0"},
            {"kty": "OKP", "kid": "x", "crv": "X25519", "x": "a" * 43},
            {"kty": "EC", "kid": "p384", "crv": "P-384", "x": "a" * 64, "y": "a" * 64},
            "not a key",
        ]
    }
    assert [kid for kid, _ in usable_keys(jwks)] == ["r"]
