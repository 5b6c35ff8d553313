"""The client's real network (httpx, as ``LaunchDarklyClient.create`` builds it) over loopback
sockets: what each failure is reported as, and above all that a request whose connection was
open is never reported as "not sent" (a write is retried only when it cannot have arrived)."""

from __future__ import annotations

import socket
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager, suppress

import anyio
import pytest
from anyio.abc import SocketAttribute, SocketStream
from pydantic import SecretStr

from ld_insights_mcp.launchdarkly import (
    APIConnectionError,
    APITimeoutError,
    ClientOptions,
    LaunchDarklyClient,
    NotFoundError,
    RetryPolicy,
)
from ld_insights_mcp.launchdarkly.client import http_client
from ld_insights_mcp.launchdarkly.transport import Exchange, RawTokenAuth
from tests.support import Emulator

from ..conftest import TOKEN

pytestmark = pytest.mark.anyio

Handler = Callable[[SocketStream], Awaitable[None]]


@asynccontextmanager
async def raw_server(handle: Handler) -> AsyncIterator[str]:
    """A loopback HTTP 'server' that runs ``handle`` on every connection; yields its URL."""
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(SocketAttribute.local_port)  # noqa: S610 - anyio, not Django

    async def serve(stream: SocketStream) -> None:
        async with stream:
            await handle(stream)

    async with listener, anyio.create_task_group() as tasks:
        tasks.start_soon(listener.serve, serve)
        try:
            yield f"http://127.0.0.1:{port}"
        finally:
            tasks.cancel_scope.cancel()


async def read_request(stream: SocketStream) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        data += await stream.receive()
    return data


async def drop_after_reading(stream: SocketStream) -> None:
    """Reads the whole request, then closes the connection without a word."""
    await read_request(stream)


async def drop_mid_answer(stream: SocketStream) -> None:
    """Starts a 100-byte answer, sends 10 bytes of it, and closes the connection."""
    await read_request(stream)
    await stream.send(b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n")
    await stream.send(b'Content-Length: 100\r\n\r\n{"items":[')


@asynccontextmanager
async def exchange(url: str, **options: float) -> AsyncIterator[Exchange]:
    """The exchange on the network the client builds for ``url`` (no transport injected)."""
    opts = ClientOptions(max_concurrency=2, **options)  # type: ignore[arg-type]
    async with http_client(url, opts, auth=RawTokenAuth(SecretStr(TOKEN))) as http:
        yield Exchange(http, max_response_bytes=1_000_000, max_concurrency=2)


@pytest.mark.parametrize("method", ["GET", "POST", "PATCH", "DELETE"])
@pytest.mark.parametrize("handler", [drop_after_reading, drop_mid_answer])
async def test_a_connection_that_drops_after_the_request_is_reported_as_sent(
    method: str, handler: Handler
) -> None:
    async with raw_server(handler) as url, exchange(url) as ex:
        body = {"key": "k"} if method in ("POST", "PATCH") else None
        with pytest.raises(APIConnectionError) as caught:
            await ex.send(method, "/api/v2/x", json_body=body)
    assert caught.value.sent is True
    assert "after the request was sent" in str(caught.value)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_refused_connection_is_reported_as_not_sent(method: str) -> None:
    listener = await anyio.create_tcp_listener(local_host="127.0.0.1", local_port=0)
    port = listener.extra(SocketAttribute.local_port)  # noqa: S610 - anyio, not Django
    await listener.aclose()  # nothing listens there now
    async with exchange(f"http://127.0.0.1:{port}") as ex:
        with pytest.raises(APIConnectionError) as caught:
            await ex.send(method, "/api/v2/x", json_body={"key": "k"} if method == "POST" else None)
    assert caught.value.sent is False
    assert "before the request was sent" in str(caught.value)


@pytest.mark.parametrize("method", ["GET", "POST"])
async def test_a_connect_timeout_is_reported_as_not_sent(method: str) -> None:
    """A listener whose backlog is full never completes the handshake: the connect times out."""
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    port = listener.getsockname()[1]
    fillers = [socket.socket() for _ in range(4)]
    try:
        for filler in fillers:
            filler.setblocking(False)
            with suppress(BlockingIOError):
                filler.connect(("127.0.0.1", port))
        async with exchange(f"http://127.0.0.1:{port}", connect_timeout=0.3) as ex:
            body = {"key": "k"} if method == "POST" else None
            with pytest.raises(APITimeoutError) as caught:
                await ex.send(method, "/api/v2/x", json_body=body)
    finally:
        for sock in (*fillers, listener):
            sock.close()
    assert caught.value.sent is False
    assert "ConnectTimeout, before the request was sent" in str(caught.value)


async def test_a_read_dropped_mid_answer_is_retried_and_then_answered() -> None:
    """The first connection breaks mid-answer; the retry gets the whole answer."""
    connections = 0

    async def flaky(stream: SocketStream) -> None:
        nonlocal connections
        connections += 1
        if connections == 1:
            await drop_mid_answer(stream)
            return
        await read_request(stream)
        body = b'{"items": [], "totalCount": 0}'
        await stream.send(
            b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n"
            + f"Content-Length: {len(body)}\r\n\r\n".encode()
            + body
        )

    policy = RetryPolicy(max_attempts=2, backoff_initial=0.0, backoff_max=0.0, max_wait=0.0)
    async with raw_server(flaky) as url:
        client = LaunchDarklyClient.create(
            base_url=url, token=SecretStr(TOKEN), options=ClientOptions(retry=policy)
        )
        async with client:
            page = await client.list_insight_groups()
    assert page.items == []
    assert connections == 2


async def test_reads_and_writes_reach_the_emulator_on_a_loopback_port(
    emulator_url: str, emulator: Emulator
) -> None:
    """Both paths of the real network against the emulator: a read, then a write."""
    project = emulator.store.projects[0]
    client = LaunchDarklyClient.create(base_url=emulator_url, token=SecretStr(TOKEN))
    async with client:
        scores = await client.get_insight_scores(project.key, project.environments[0])
        with pytest.raises(NotFoundError):
            await client.delete_insight_group("no-such-group")
    assert scores is not None
    assert [(r.method, r.status) for r in emulator.requests] == [("GET", 200), ("DELETE", 404)]
