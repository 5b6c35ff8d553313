"""A cap on the MCP sessions one bearer token, or one signed-in person, keeps open
(streamable HTTP, stateful): the SDK caps sessions per process only.

A session counts from the SDK's answer that opened it until the SDK answered its DELETE or it
had no request in flight for the idle timeout (the SDK's own rule). The SDK has no public hook
for a session's end (docs/sdk-gaps.md), hence this mirror; it errs on the side of counting. An
``initialize`` holds a slot from its admission until its answer, so a burst cannot slip past
the cap; one over the cap gets 429. Without bearer tokens or sign-in there is no one to count.
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import principal_components
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, RequestBodyLimitMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from ld_insights_mcp.auth.scopes import buffered_body, jsonrpc_messages
from ld_insights_mcp.transports.http.session_ids import SESSION_HEADER


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
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.app = app
        self.path = path
        self.per_client = per_client
        self.idle_timeout = idle_timeout
        self.clock = clock
        self._sessions: dict[str, dict[str, _Session]] = {}
        self._opening: dict[str, int] = {}
        self.prune_interval = min(idle_timeout, 60.0)
        self._pruned_at = clock()

    def tracked_sessions(self) -> int:
        """Sessions held in the count, of every client (expired ones until pruned)."""
        return sum(len(sessions) for sessions in self._sessions.values())

    def _prune(self) -> None:
        """Drop every client's expired sessions (at most once per ``prune_interval``)."""
        if self.clock() - self._pruned_at < self.prune_interval:
            return
        self._pruned_at = self.clock()
        for client in list(self._sessions):
            self._live(client)

    def _live(self, client: str) -> dict[str, _Session]:
        sessions = self._sessions.get(client, {})
        now = self.clock()
        for sid, session in list(sessions.items()):
            if not session.in_flight and now - session.last_seen > self.idle_timeout:
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
        sid = _header_of(scope.get("headers", []), SESSION_HEADER)
        if sid is None:
            if scope.get("method") != "POST":
                await self.app(scope, receive, send)
                return
            # the SDK bounds bodies only after this: read no more than it would accept (413)
            admit = partial(self._admit, client=client)
            limited = RequestBodyLimitMiddleware(admit, DEFAULT_MAX_REQUEST_BODY_SIZE)
            await limited(scope, receive, send)
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

    async def _admit(self, scope: Scope, receive: Receive, send: Send, client: str) -> None:
        body, replay = await buffered_body(receive)
        if not any(m.get("method") == "initialize" for m in jsonrpc_messages(body)):
            await self.app(scope, replay, send)
            return
        # open now (expired ones dropped), opening ones included
        if len(self._live(client)) + self._opening.get(client, 0) >= self.per_client:
            await _too_many(self.per_client, self.idle_timeout)(scope, replay, send)
            return
        self._opening[client] = self._opening.get(client, 0) + 1  # held until the answer
        held = True

        def release() -> None:
            nonlocal held
            if held:
                held = False
                self._opening[client] -= 1
                if not self._opening[client]:
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


def _header_of(headers: object, name: bytes) -> str | None:
    for key, value in headers:  # type: ignore[attr-defined]
        if bytes(key).lower() == name:
            return bytes(value).decode("latin-1")
    return None


def _too_many(cap: int, idle: float) -> JSONResponse:
    message = (
        f"Too many open MCP sessions for this client: {cap} of {cap} are open. Close the "
        "sessions you no longer use (HTTP DELETE with their Mcp-Session-Id), or wait until "
        f"they have been idle for {idle:.0f} s, then initialize again."
    )
    error = {"jsonrpc": "2.0", "id": None, "error": {"code": -32000, "message": message}}
    return JSONResponse(error, 429, {"retry-after": str(int(idle))})
