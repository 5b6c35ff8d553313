"""Sessions belong to the person who opened them (the SDK binds them to client, issuer and
subject); the per-client session cap counts per person, not per OAuth client."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from ..processes import HANDSHAKE
from .conftest import SignedIn, provider_and_server

pytestmark = pytest.mark.timeout(180)
CALL = {
    "jsonrpc": "2.0",
    "id": 2,
    "method": "tools/call",
    "params": {"name": "list_insight_groups", "arguments": {"limit": 1}},
}


@pytest.fixture(scope="module")
def capped(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SignedIn]:
    """A provider and a server allowing two sessions per person."""
    run_dir = tmp_path_factory.mktemp("oidc")
    with provider_and_server(run_dir, LD_INSIGHTS_HTTP_SESSIONS_PER_CLIENT="2") as server:
        yield server


def test_a_session_opened_by_one_person_does_not_exist_for_another(capped: SignedIn) -> None:
    """Ada and Bob signed in through the same OAuth client: Bob, even with Ada's session id,
    is told it does not exist; Ada keeps using it."""
    p = capped.provider
    ada, bob = p.authorization_code("ada"), p.authorization_code("bob")
    opened = capped.post(ada, HANDSHAKE[0])
    assert opened.status_code == 200, opened.text
    session = {"mcp-session-id": opened.headers["mcp-session-id"]}
    assert capped.post(ada, HANDSHAKE[1], **session).status_code == 202
    as_bob = capped.post(bob, CALL, **session)
    as_ada = capped.post(ada, CALL, **session)
    assert as_bob.status_code == 404, as_bob.text
    assert "insight" not in as_bob.text.lower()
    assert as_ada.status_code == 200, as_ada.text
    assert '"isError":false' in as_ada.text.replace(" ", "")


def test_the_session_cap_counts_each_person_not_their_shared_client(capped: SignedIn) -> None:
    p = capped.provider
    carol, dave = p.authorization_code("carol"), p.authorization_code("dave")
    carols = [capped.post(carol, HANDSHAKE[0]).status_code for _ in range(3)]
    daves = capped.post(dave, HANDSHAKE[0]).status_code
    assert carols == [200, 200, 429]
    assert daves == 200
