"""A cap on the MCP sessions one bearer token, or one signed-in person, keeps open
(streamable HTTP, stateful).

The SDK caps sessions per process (``max_sessions``) and closes idle ones
(``session_idle_timeout``), but has no cap per client: one token could take every slot.
This middleware counts, per bearer token's user, each session over its life in the SDK:
from the SDK's answer that opened it (a new ``Mcp-Session-Id``) until the SDK answered its
DELETE, or until it has had no request in flight for the SDK's idle timeout (the SDK's own
rule for closing it). Only requests to the MCP endpoint count; what any other path answers
(a 404 from ``/anything``) ends nothing. The SDK offers no public hook for a session's end
(docs/sdk-gaps.md), hence this mirror; it errs on the side of counting. The first request
after each minute drops the expired sessions of every client, so a client that never comes
back leaves nothing behind. An ``initialize`` holds a slot from the moment it is admitted
until its answer, so a burst of them cannot slip past the cap. To tell an ``initialize``,
the body of a POST without a session id is read, up to the size the SDK accepts (larger:
413, the rest unread). A token at its cap that asks to ``initialize`` another gets 429 with
a JSON-RPC error saying what to do; its open sessions keep working.

Without bearer tokens or sign-in there is no client identity to count by: the server then listens on
loopback only, every client has the same address, and only the per-process cap applies.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import principal_components
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, RequestBodyLimitMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ld_insights_mcp.auth.scopes import buffered_body

SESSION_HEADER = b"mcp-session-id"


@dataclass
class _Session:
    last_seen: float
    in_flight: int = 0


class SessionCap:
    """ASGI middleware limiting each client to ``per_client`` open sessions."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        path: str,
        per_client: int,
        idle_timeout: float,
        max_body: int = DEFAULT_MAX_REQUEST_BODY_SIZE,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.max_body = max_body
        self.path = path
        self.per_client = per_client
        self.idle_timeout = idle_timeout
        self.clock = clock
        self._sessions: dict[str, dict[str, _Session]] = {}
        self._opening: dict[str, int] = {}
        self.prune_interval = min(idle_timeout, 60.0)
        self._pruned_at = clock()
        self.refused = 0

    def open_sessions(self, client: str) -> int:
        """Sessions counted for ``client`` now (expired ones dropped), opening ones included."""
        return len(self._live(client)) + self._opening.get(client, 0)

    def tracked_sessions(self) -> int:
        """Sessions held in the count, of every client (expired ones until pruned)."""
        return sum(len(sessions) for sessions in self._sessions.values())

    def _prune(self) -> None:
        """Drop every client's expired sessions, at most once per ``prune_interval``: the
        entries of a client that never comes back go too."""
        if self.clock() - self._pruned_at < self.prune_interval:
            return
        self._pruned_at = self.clock()
        for client in list(self._sessions):
            self._live(client)

    def _live(self, client: str) -> dict[str, _Session]:
        sessions = self._sessions.get(client, {})
        now = self.clock()
        for sid in [
            s
            for s, v in sessions.items()
            if not v.in_flight and now - v.last_seen > self.idle_timeout
        ]:
            del sessions[sid]
        if not sessions:
            self._sessions.pop(client, None)
        return sessions

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            await self.app(scope, receive, send)
            return
        self._prune()
        client = _client_of(scope)
        if client is None:  # no bearer tokens: nobody to count for
            await self.app(scope, receive, send)
            return
        sid = _header(scope, SESSION_HEADER)
        if sid is None:
            await self._new(scope, receive, send, client)
            return
        session = self._sessions.get(client, {}).get(sid)
        if session is not None:
            session.in_flight += 1
        status = 0

        async def watch(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = int(message["status"])
            await send(message)

        try:
            await self.app(scope, receive, watch)
        finally:
            if session is not None:
                session.in_flight -= 1
                session.last_seen = self.clock()
                if scope.get("method") == "DELETE" and 200 <= status < 300:
                    self._sessions.get(client, {}).pop(sid, None)

    async def _new(self, scope: Scope, receive: Receive, send: Send, client: str) -> None:
        if scope.get("method") != "POST":
            await self.app(scope, receive, send)
            return

        async def admit(scope: Scope, receive: Receive, send: Send) -> None:
            await self._admit(scope, receive, send, client)

        # the SDK bounds bodies only after this: read no more than it would accept (413)
        await RequestBodyLimitMiddleware(admit, self.max_body)(scope, receive, send)

    async def _admit(self, scope: Scope, receive: Receive, send: Send, client: str) -> None:
        body, replay = await buffered_body(receive)
        if not _is_initialize(body):
            await self.app(scope, replay, send)
            return
        if self.open_sessions(client) >= self.per_client:
            self.refused += 1
            await _too_many(self.per_client, self.idle_timeout)(scope, replay, send)
            return
        self._opening[client] = self._opening.get(client, 0) + 1  # held until the answer
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                left = self._opening[client] - 1
                if left:
                    self._opening[client] = left
                else:
                    del self._opening[client]

        async def record(message: Message) -> None:
            if message["type"] == "http.response.start":
                new = _header_of(message.get("headers", []), SESSION_HEADER)
                if new is not None and 200 <= int(message["status"]) < 300:
                    self._sessions.setdefault(client, {})[new] = _Session(self.clock())
                release()
            await send(message)

        try:
            await self.app(scope, replay, record)
        finally:
            release()


def _client_of(scope: Scope) -> str | None:
    """Whom the request's token stands for: the static token, or with sign-in the person
    (client, issuer, subject: what the SDK binds sessions to); None without either."""
    user = scope.get("user")
    if isinstance(user, AuthenticatedUser):
        return "principal:" + json.dumps(principal_components(user.access_token))
    return None


def _header(scope: Scope, name: bytes) -> str | None:
    return _header_of(scope.get("headers", []), name)


def _header_of(headers: object, name: bytes) -> str | None:
    for key, value in headers:  # type: ignore[attr-defined]
        if bytes(key).lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _is_initialize(body: bytes) -> bool:
    try:
        payload = json.loads(body)
    except ValueError:
        return False
    items = payload if isinstance(payload, list) else [payload]
    return any(isinstance(i, dict) and i.get("method") == "initialize" for i in items)


def _too_many(cap: int, idle: float) -> JSONResponse:
    message = (
        f"Too many open MCP sessions for this client: {cap} of {cap} are open. Close the "
        "sessions you no longer use (HTTP DELETE with their Mcp-Session-Id), or wait until "
        f"they have been idle for {idle:.0f} s, then initialize again."
    )
    error = {"jsonrpc": "2.0", "id": None, "error": {"code": -32000, "message": message}}
    return JSONResponse(error, 429, {"retry-after": str(int(idle))})
