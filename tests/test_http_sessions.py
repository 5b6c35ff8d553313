"""Stateful streamable HTTP under a team's load: many sessions at once, each answered; the
per-token session cap counts every session, even ones opened at the same instant."""

from __future__ import annotations

from contextlib import AsyncExitStack

import anyio
import httpx
import pytest
from mcp import Client

from .mcp_helpers import text_of
from .processes import HANDSHAKE, clean_env, http_server

ACCEPT = {"accept": "application/json, text/event-stream"}


@pytest.mark.anyio
async def test_fifty_open_stateful_sessions_on_loopback_each_get_their_answers() -> None:
    """50 clients on one machine (one address, no bearer tokens), each keeping its session
    open, all call a tool at once: every one is answered, none is refused."""
    with http_server(["--demo", "--transport", "streamable-http"]) as (base, _):
        with anyio.fail_after(120):
            async with AsyncExitStack() as stack:
                clients = [
                    await stack.enter_async_context(Client(f"{base}/mcp", mode="legacy"))
                    for _ in range(50)
                ]
                answers: list[str] = []

                async def call(client: Client) -> None:
                    result = await client.call_tool("list_insight_groups", {"limit": 1})
                    assert not result.is_error, text_of(result)
                    answers.append(text_of(result))

                async with anyio.create_task_group() as tasks:
                    for client in clients:
                        tasks.start_soon(call, client)
    assert len(answers) == 50
    assert all("demo data" in answer for answer in answers)


def test_the_per_token_cap_counts_sessions_opened_at_the_same_instant() -> None:
    """Twelve initializes with one token at once, cap 5: exactly five sessions open, the rest
    are told why (429); another token is not affected."""
    env = clean_env(
        LD_INSIGHTS_HTTP_BEARER_TOKENS="token-one-0000000000,token-two-0000000000",
        LD_INSIGHTS_HTTP_SESSIONS_PER_CLIENT="5",
    )
    with http_server(["--demo", "--transport", "streamable-http"], env=env) as (base, _):

        async def initialize(token: str) -> httpx.Response:
            headers = {**ACCEPT, "authorization": f"Bearer {token}"}
            async with httpx.AsyncClient(timeout=30) as http:
                return await http.post(f"{base}/mcp", json=HANDSHAKE[0], headers=headers)

        async def burst() -> list[httpx.Response]:
            answers: list[httpx.Response] = []

            async def one() -> None:
                answers.append(await initialize("token-one-0000000000"))

            async with anyio.create_task_group() as tasks:
                for _ in range(12):
                    tasks.start_soon(one)
            return answers

        answers = anyio.run(burst)
        other = anyio.run(initialize, "token-two-0000000000")
    statuses = sorted(a.status_code for a in answers)
    assert statuses == [200] * 5 + [429] * 7
    refused = next(a for a in answers if a.status_code == 429)
    assert (
        "Too many open MCP sessions for this client: 5 of 5" in refused.json()["error"]["message"]
    )
    assert other.status_code == 200
