"""Two replicas behind nginx (Debian's), each checking tokens on its own: the same token
works on either, through nginx (which passes ``Authorization`` on) and directly, and keeps
working through nginx when one replica is gone."""

from __future__ import annotations

import json
import signal
from collections.abc import Iterator
from pathlib import Path

import anyio
import httpx
import pytest

from ..mcp_helpers import text_of
from ..processes import HANDSHAKE
from ..scale.conftest import NGINX, scale
from .conftest import ACCEPT, LEGACY, mcp_client, running_provider
from .provider import OpenIdProvider

pytestmark = [
    pytest.mark.timeout(180),
    pytest.mark.skipif(NGINX is None, reason="nginx is not installed: apt-get install nginx"),
]


@pytest.fixture
def provider_for_nginx(tmp_path: Path) -> Iterator[OpenIdProvider]:
    """The resource is nginx's URL: the public one, not a replica's."""
    with running_provider(tmp_path, f"http://127.0.0.1:{scale.free_port()}/mcp") as provider:
        yield provider


def _persons(log: Path) -> list[dict[str, str]]:
    lines = [json.loads(x) for x in log.read_text().splitlines() if x.startswith("{")]
    return [x["person"] for x in lines if x["message"].startswith("POST /mcp") and "person" in x]


def test_the_same_token_works_on_either_replica_and_through_nginx(
    provider_for_nginx: OpenIdProvider, tmp_path: Path
) -> None:
    p = provider_for_nginx
    public = p.resource
    nginx_port = p.resource_port
    env = scale.replica_env(
        "http://127.0.0.1:9",
        "unused-in-demo",
        None,
        LD_INSIGHTS_OAUTH_ISSUER=p.issuer,
        LD_INSIGHTS_OAUTH_RESOURCE=public,
        LD_INSIGHTS_LOG_LEVEL="INFO",  # the access lines, with the person
    )
    replicas = []
    started = []
    try:
        for name in ("replica1", "replica2"):
            port = scale.free_port()
            started.append(scale.start_replica(tmp_path, name, port, env, ["--demo"]))
            replicas.append((name, port, tmp_path / f"{name}.log"))
        started.append(
            scale.start_nginx(tmp_path, nginx_port, [(name, port) for name, port, _ in replicas])
        )
        token = p.authorization_code("ada")
        headers = {**ACCEPT, **LEGACY, "authorization": f"Bearer {token}"}
        for _, port, _ in replicas:  # each replica checks the token itself
            direct = httpx.post(f"http://127.0.0.1:{port}/mcp", json=HANDSHAKE[0], headers=headers)
            assert direct.status_code == 200, direct.text

        async def through_nginx() -> str:
            with anyio.fail_after(60):
                async with mcp_client(public, token, "modern") as client:
                    result = await client.call_tool("list_insight_groups", {"limit": 1})
            assert not result.is_error, text_of(result)
            return text_of(result)

        anyio.run(through_nginx)
        unsigned = httpx.post(public, json=HANDSHAKE[0], headers={**ACCEPT, **LEGACY})
        assert unsigned.status_code == 401
        metadata_url = f"http://127.0.0.1:{nginx_port}/.well-known/oauth-protected-resource/mcp"
        assert f'resource_metadata="{metadata_url}"' in unsigned.headers["www-authenticate"]
        assert httpx.get(metadata_url).json()["resource"] == public

        served = [len(_persons(log)) for _, _, log in replicas]
        busy = served.index(max(served))  # the replica nginx chose
        scale.stop(started[busy], signal.SIGTERM, timeout=30)
        anyio.run(through_nginx)  # the other replica checks the same token
        other = replicas[1 - busy][2]
        assert _persons(other)[-1]["subject"] == "ada"
        assert len(_persons(other)) > served[1 - busy]
    finally:
        for process in reversed(started):
            scale.stop(process, timeout=20)
