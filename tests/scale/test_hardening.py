"""Limits for an exposed server: unfinished requests, idle sessions per client, graceful stop,
JSON logs with request ids."""

from __future__ import annotations

import contextlib
import json
import signal
import socket
import time
from collections.abc import Callable

import anyio
import httpx
import pytest
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE

from ld_insights_mcp.surface.server import create_server
from ld_insights_mcp.transports.http.app import BearerAuthMiddleware
from ld_insights_mcp.transports.http.sessions import SessionCap
from tests.support import Emulator, Fault

from ..conftest import make_settings
from .conftest import Replica, Replicas

pytestmark = pytest.mark.anyio
TOKENS = "first-client-token-000000,second-client-token-00000"
HEADERS = {"accept": "application/json, text/event-stream", "content-type": "application/json"}
INITIALIZE = {
    "jsonrpc": "2.0",
    "id": 1,
    "method": "initialize",
    "params": {
        "protocolVersion": "2025-11-25",
        "capabilities": {},
        "clientInfo": {"name": "t", "version": "1"},
    },
}


def _initialize(url: str, token: str) -> httpx.Response:
    headers = {**HEADERS, "authorization": f"Bearer {token}"}
    return httpx.post(url, json=INITIALIZE, headers=headers, timeout=15)


def _request_lines(port: int, count: int) -> list[socket.socket]:
    """Connections that send a request line and nothing more."""
    sockets = []
    for _ in range(count):
        sock = socket.create_connection(("127.0.0.1", port), timeout=15)
        sock.sendall(b"POST /mcp HTTP/1.1\r\n")
        sockets.append(sock)
    return sockets


def test_unfinished_requests_do_not_lock_out_a_client_and_are_closed(replicas: Replicas) -> None:
    (replica,) = replicas.start(
        1, LD_INSIGHTS_HTTP_BEARER_TOKENS=TOKENS, LD_INSIGHTS_HTTP_HEADER_TIMEOUT="1"
    )
    stalled = _request_lines(replica.port, 300)
    try:
        answer = _initialize(replica.url, "first-client-token-000000")
        assert answer.status_code == 200, answer.text
        assert "mcp-session-id" in answer.headers
        # each stalled connection is closed by the server (not by us): recv sees the end
        for sock in stalled[:20]:
            assert sock.recv(1024) in (b"", b"HTTP/1.1 408")
    finally:
        for sock in stalled:
            sock.close()


def test_connections_beyond_the_cap_are_closed_at_once(replicas: Replicas) -> None:
    (replica,) = replicas.start(1, LD_INSIGHTS_HTTP_MAX_CONNECTIONS="16")
    stalled = _request_lines(replica.port, 16)
    try:
        extra = socket.create_connection(("127.0.0.1", replica.port), timeout=15)
        with extra:
            extra.sendall(b"GET /healthz HTTP/1.1\r\nhost: 127.0.0.1\r\n\r\n")
            with contextlib.suppress(ConnectionResetError):  # reset: closed before reading
                assert extra.recv(1024) == b""  # closed, no answer
    finally:
        for sock in stalled:
            sock.close()


def test_one_token_cannot_hold_every_session(replicas: Replicas) -> None:
    (replica,) = replicas.start(
        1, LD_INSIGHTS_HTTP_BEARER_TOKENS=TOKENS, LD_INSIGHTS_HTTP_SESSIONS_PER_CLIENT="5"
    )
    opened = [_initialize(replica.url, "first-client-token-000000") for _ in range(5)]
    assert [a.status_code for a in opened] == [200] * 5
    refused = _initialize(replica.url, "first-client-token-000000")
    assert refused.status_code == 429
    message = refused.json()["error"]["message"]
    assert "Too many open MCP sessions for this client: 5 of 5" in message
    assert "DELETE" in message
    assert _initialize(replica.url, "second-client-token-00000").status_code == 200
    ended = httpx.delete(
        replica.url,
        headers={
            **HEADERS,
            "authorization": "Bearer first-client-token-000000",
            "mcp-session-id": opened[0].headers["mcp-session-id"],
            "mcp-protocol-version": "2025-11-25",
        },
    )
    assert ended.status_code == 200
    assert _initialize(replica.url, "first-client-token-000000").status_code == 200


def test_a_request_elsewhere_with_a_session_id_does_not_free_its_slot(
    replicas: Replicas,
) -> None:
    """Sessions are counted from the SDK's answer to DELETE or idle expiry: a 404 from any
    other path (or a forged id) frees nothing, so a token stays at its cap."""
    (replica,) = replicas.start(
        1, LD_INSIGHTS_HTTP_BEARER_TOKENS=TOKENS, LD_INSIGHTS_HTTP_SESSIONS_PER_CLIENT="5"
    )
    token = "first-client-token-000000"
    opened = [_initialize(replica.url, token) for _ in range(5)]
    assert [a.status_code for a in opened] == [200] * 5
    for answer in opened:
        headers = {
            **HEADERS,
            "authorization": f"Bearer {token}",
            "mcp-session-id": answer.headers["mcp-session-id"],
            "mcp-protocol-version": "2025-11-25",
        }
        elsewhere = replica.url.replace("/mcp", "/anything")
        assert httpx.post(elsewhere, json={}, headers=headers).status_code == 404
        assert httpx.delete(elsewhere, headers=headers).status_code in (404, 405)
    assert _initialize(replica.url, token).status_code == 429
    assert _initialize(replica.url, "second-client-token-00000").status_code == 200


def _ping(url: str, token: str, session: str) -> int:
    headers = {
        **HEADERS,
        "authorization": f"Bearer {token}",
        "mcp-session-id": session,
        "mcp-protocol-version": "2025-11-25",
    }
    ping = {"jsonrpc": "2.0", "id": 7, "method": "ping"}
    return httpx.post(url, json=ping, headers=headers, timeout=15).status_code


def test_a_session_id_without_its_replica_prefix_keeps_no_session_alive_past_the_cap(
    replicas: Replicas,
) -> None:
    """A replica issues ``<replica>.<id>``; the same id without the prefix names no session
    (404), so it cannot keep a session alive that the per-token cap no longer counts. After
    the idle timeout a token again opens at most its cap, and another token is served."""
    (replica,) = replicas.start(
        1,
        LD_INSIGHTS_HTTP_BEARER_TOKENS=TOKENS,
        LD_INSIGHTS_HTTP_SESSIONS_PER_CLIENT="3",
        LD_INSIGHTS_HTTP_SESSION_IDLE_TIMEOUT="5",
        LD_INSIGHTS_HTTP_MAX_SESSIONS="6",
    )
    token = "first-client-token-000000"
    opened = [_initialize(replica.url, token) for _ in range(3)]
    assert [a.status_code for a in opened] == [200] * 3
    assert _initialize(replica.url, token).status_code == 429
    issued = [a.headers["mcp-session-id"] for a in opened]
    assert all(s.startswith(f"{replica.name}.") for s in issued)
    bare = [s.removeprefix(f"{replica.name}.") for s in issued]
    deadline = time.monotonic() + 8  # past the idle timeout, touching only the bare ids
    while time.monotonic() < deadline:
        assert [_ping(replica.url, token, s) for s in bare] == [404] * 3
        time.sleep(1)
    later = []
    for _ in range(4):
        answer = _initialize(replica.url, token)
        if answer.status_code != 200:
            assert answer.status_code == 429
            break
        later.append(answer.headers["mcp-session-id"])
    live = [s for s in issued + later if _ping(replica.url, token, s) == 200]
    assert len(live) <= 3
    assert _initialize(replica.url, "second-client-token-00000").status_code == 200


def _oversized_post(port: int, framing: str) -> bytes:
    """A POST of a new session's body larger than the SDK accepts, from a client with a
    token: declared (Content-Length: 400 MB, nothing sent) or chunked (one byte past the
    limit sent, no end). What the server answers, read before any more is sent."""
    head = (
        "POST /mcp HTTP/1.1\r\nhost: 127.0.0.1\r\n"
        "authorization: Bearer first-client-token-000000\r\n"
        "accept: application/json, text/event-stream\r\ncontent-type: application/json\r\n"
    )
    with socket.create_connection(("127.0.0.1", port), timeout=15) as sock:
        if framing == "declared":
            sock.sendall(f"{head}content-length: 400000000\r\n\r\n".encode())
        else:
            sock.sendall(f"{head}transfer-encoding: chunked\r\n\r\n".encode())
            left = DEFAULT_MAX_REQUEST_BODY_SIZE + 1
            while left:
                chunk = min(left, 1 << 20)
                sock.sendall(f"{chunk:x}\r\n".encode() + b" " * chunk + b"\r\n")
                left -= chunk
        return sock.recv(1024)


@pytest.mark.parametrize("framing", ["declared", "chunked"])
def test_a_body_larger_than_the_sdk_accepts_is_refused_before_it_is_read(
    replicas: Replicas, framing: str
) -> None:
    """The session cap reads a new session's body to see whether it initializes: never more
    than the SDK would accept (one 400 MB POST read whole took the process to 1.26 GB)."""
    (replica,) = replicas.start(1, LD_INSIGHTS_HTTP_BEARER_TOKENS=TOKENS)
    answer = _oversized_post(replica.port, framing)
    assert answer.startswith(b"HTTP/1.1 413"), answer[:200]
    assert _initialize(replica.url, "first-client-token-000000").status_code == 200


async def test_the_session_cap_forgets_the_sessions_of_clients_that_never_come_back() -> None:
    """Fifty tokens open a session each and never return: once their sessions have been
    idle past the timeout, the next request from anyone prunes them all (not only its own
    client's), so the count holds no memory of clients gone."""
    clock = _Clock()
    server = create_server(make_settings(demo=True))
    sdk = server.streamable_http_app(streamable_http_path="/mcp", json_response=True)
    cap = SessionCap(sdk, path="/mcp", per_client=5, idle_timeout=300, clock=clock)
    tokens = [f"client-token-{n:03}-0000000000" for n in range(51)]
    app = BearerAuthMiddleware(cap, tokens)
    transport = httpx.ASGITransport(app=app)
    with anyio.fail_after(60):
        async with (
            server.session_manager.run(),
            httpx.AsyncClient(transport=transport, base_url="http://127.0.0.1:8000") as http,
        ):

            async def initialize(token: str) -> int:
                headers = {**HEADERS, "authorization": f"Bearer {token}"}
                return (await http.post("/mcp", json=INITIALIZE, headers=headers)).status_code

            assert [await initialize(t) for t in tokens[:50]] == [200] * 50
            assert cap.tracked_sessions() == 50
            clock.now += 301
            assert await initialize(tokens[50]) == 200
            assert cap.tracked_sessions() == 1


class _Clock:
    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now


def _jsonrpc(answer: httpx.Response) -> dict[str, object]:
    """The JSON-RPC message of a JSON answer or of an SSE stream's data lines."""
    if answer.headers.get("content-type", "").startswith("application/json"):
        return answer.json()  # type: ignore[no-any-return]
    data = [line[5:].strip() for line in answer.text.splitlines() if line.startswith("data:")]
    messages = [json.loads(d) for d in data if d]
    return next(m for m in messages if "result" in m or "error" in m)


def test_a_request_written_as_sigterm_arrives_is_answered_not_cut(replicas: Replicas) -> None:
    """A proxy connects and writes its request at once; when SIGTERM lands between the two,
    the request is answered (then the connection closes) instead of the connection being
    closed under it, which the proxy would turn into a 502 it cannot retry for a POST."""
    (replica,) = replicas.start(1)
    body = json.dumps(INITIALIZE).encode()
    request = (
        f"POST /mcp HTTP/1.1\r\nHost: 127.0.0.1:{replica.port}\r\n"
        f"Accept: {HEADERS['accept']}\r\nContent-Type: application/json\r\n"
        f"Content-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    with socket.create_connection(("127.0.0.1", replica.port), timeout=15) as connection:
        time.sleep(0.2)  # accepted: the replica holds the connection, no request yet
        replica.process.send_signal(signal.SIGTERM)
        time.sleep(0.4)  # the replica has begun its graceful shutdown
        connection.sendall(request)
        answer = b""
        while chunk := connection.recv(65536):
            answer += chunk
    head = answer.split(b"\r\n\r\n", 1)[0].lower()
    assert head.startswith(b"http/1.1 200"), answer[:200]
    assert b'"result"' in answer  # the whole answer, then the replica closed the connection
    assert replica.process.wait(timeout=30) == 0


@pytest.mark.parametrize("answers_as", ["json", "sse"])
async def test_sigterm_finishes_the_call_in_flight_and_exits_zero(
    replicas: Replicas, upstream: tuple[Emulator, str], answers_as: str
) -> None:
    """A 2025-handshake session's call in flight when SIGTERM arrives gets its whole answer,
    as JSON or as an SSE stream (the SSE library would end every stream at the signal), and
    an open GET stream does not hold the exit for the whole grace period."""
    emulator, _ = upstream
    (replica,) = replicas.start(1, *(["--json-response"] if answers_as == "json" else []))
    opened = httpx.post(replica.url, json=INITIALIZE, headers=HEADERS, timeout=15)  # noqa: ASYNC210
    session = {
        **HEADERS,
        "mcp-session-id": opened.headers["mcp-session-id"],
        "mcp-protocol-version": "2025-11-25",
    }
    httpx.post(  # noqa: ASYNC210
        replica.url,
        json={"jsonrpc": "2.0", "method": "notifications/initialized"},
        headers=session,
        timeout=15,
    )
    if answers_as == "sse":  # a standalone GET stream, open while the replica stops
        stream = httpx.AsyncClient(timeout=30)
        opened_get = await stream.send(
            stream.build_request("GET", replica.url, headers=session), stream=True
        )
        assert opened_get.status_code == 200
    emulator.faults.push("getInsightGroup", Fault(delay=2.0))
    call = {
        "jsonrpc": "2.0",
        "id": 2,
        "method": "tools/call",
        "params": {"name": "get_insight_group", "arguments": {"key": "ios-team"}},
    }
    answers: list[httpx.Response] = []

    def send() -> None:
        answers.append(httpx.post(replica.url, json=call, headers=session, timeout=30))

    with anyio.fail_after(60):
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(anyio.to_thread.run_sync, send)
            while emulator.in_flight == 0:  # noqa: ASYNC110 - another thread's counter
                await anyio.sleep(0.01)
            replica.process.send_signal(signal.SIGTERM)
        assert answers[0].status_code == 200
        result = _jsonrpc(answers[0])["result"]
        assert result["isError"] is False  # type: ignore[index]
        assert "ios-team" in json.dumps(result)
        assert await anyio.to_thread.run_sync(lambda: replica.process.wait(timeout=30)) == 0
    if answers_as == "sse":
        await opened_get.aclose()
        await stream.aclose()


def test_json_logs_carry_the_request_id_returned_in_a_header(replicas: Replicas) -> None:
    (replica,) = replicas.start(1, "--log-level", "INFO")
    given = replica.get("/healthz")
    echoed = httpx.get(
        f"http://127.0.0.1:{replica.port}/readyz", headers={"x-request-id": "probe-42"}
    )
    assert echoed.headers["x-request-id"] == "probe-42"
    minted = given.headers["x-request-id"]
    replica.process.send_signal(signal.SIGTERM)
    replica.process.wait(timeout=30)
    lines = [line for line in replica.log.read_text().splitlines() if line.strip()]
    records = [json.loads(line) for line in lines]  # every line is one JSON object
    ids = {r.get("request_id") for r in records}
    assert {"probe-42", minted} <= ids
    assert all({"time", "level", "logger", "message"} <= r.keys() for r in records)
    assert "api-demo" not in replica.log.read_text()


def test_nginx_keeps_serving_past_unfinished_requests(
    replicas: Replicas, nginx: Callable[[list[Replica]], str]
) -> None:
    group = replicas.start(1)
    url = nginx(group)
    port = int(url.split(":")[2].split("/")[0])
    stalled = _request_lines(port, 300)
    try:
        answer = httpx.post(url, json=INITIALIZE, headers=HEADERS, timeout=15)
        assert answer.status_code == 200, answer.text
        health = httpx.get(url.replace("/mcp", "/readyz"), timeout=15)
        assert health.status_code == 200
        assert health.json()["status"] == "ready"
    finally:
        for sock in stalled:
            sock.close()
