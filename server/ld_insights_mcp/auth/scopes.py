"""Scopes gate the tools: without the write scope a person sees no tool that changes data, and
calling one is refused with HTTP 403 ``insufficient_scope`` naming the scopes to ask for
(step-up). The SDK checks one set of scopes per endpoint, and the 403 must be decided before
it answers, so ``WriteScopeGate`` reads the body of a POST from a caller without the scope.
"""

from __future__ import annotations

import json
from collections.abc import Awaitable, Callable, Iterable
from typing import Any

from mcp.server import ServerRequestContext
from mcp.server.auth.middleware.auth_context import get_access_token
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.context import CallNext, HandlerResult, ServerMiddleware
from mcp.server.transport_security import DEFAULT_MAX_REQUEST_BODY_SIZE, RequestBodyLimitMiddleware
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

WriteTools = Callable[[], Awaitable[frozenset[str]]]
"""The names of the server's tools that are not read-only (its tools are fixed at start)."""


def hide_write_tools(write_scope: str) -> ServerMiddleware[Any]:
    """Server middleware: ``tools/list`` without the tools that change data unless the
    caller's token has ``write_scope``; the list then differs by caller: ``private``."""

    async def middleware(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
        result = await call_next(ctx)
        if ctx.method != "tools/list" or not isinstance(result, dict):
            return result
        token = get_access_token()
        shown = dict(result)
        if token is None or write_scope not in token.scopes:
            tools = result.get("tools", [])  # those that only read: readOnlyHint true
            shown["tools"] = [
                t for t in tools if (t.get("annotations") or {}).get("readOnlyHint") is True
            ]
        if "cacheScope" in shown:
            shown["cacheScope"] = "private"
        return shown

    return middleware


class WriteScopeGate:
    """ASGI: 403 with a step-up challenge for a POST from a signed-in caller without the
    write scope that calls one of ``write_tools()`` (a name the server lacks is no write)."""

    def __init__(
        self,
        app: ASGIApp,
        *,
        write_tools: WriteTools,
        write_scope: str,
        challenge_scopes: Iterable[str],
        resource_metadata_url: str,
    ) -> None:
        self.app = app
        self._write_tools = write_tools
        self._writes: frozenset[str] | None = None
        self.write_scope = write_scope
        self.challenge_scopes = " ".join(challenge_scopes)
        self.resource_metadata_url = resource_metadata_url

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        user = scope.get("user")
        if (
            scope["type"] != "http"
            or scope.get("method") != "POST"
            or not isinstance(user, AuthenticatedUser)
            or self.write_scope in user.scopes
        ):
            await self.app(scope, receive, send)
            return
        # larger than the SDK accepts: 413 with the rest unread, as the SDK would answer
        await RequestBodyLimitMiddleware(self._gate, DEFAULT_MAX_REQUEST_BODY_SIZE)(
            scope, receive, send
        )

    async def _gate(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, replay = await buffered_body(receive)
        if self._writes is None:
            self._writes = await self._write_tools()
        writes = [name for name in called_tools(body) if name in self._writes]
        if writes:
            await self._refusal(writes[0])(scope, replay, send)
            return
        await self.app(scope, replay, send)

    def _refusal(self, tool: str) -> JSONResponse:
        description = (
            f"{tool[:64]} changes data and needs the {self.write_scope} scope, which this "
            "sign-in was not granted: sign in again granting it"
        )
        challenge = (
            f'Bearer error="insufficient_scope", scope="{self.challenge_scopes}", '
            f'resource_metadata="{self.resource_metadata_url}", '
            f'error_description="{_quotable(description)}"'
        )
        error = {"error": "insufficient_scope", "error_description": description}
        return JSONResponse(error, 403, {"www-authenticate": challenge})


def jsonrpc_messages(body: bytes) -> list[dict[str, Any]]:
    """The messages of a JSON-RPC body (one or a batch); none when it is not JSON (the SDK
    answers that)."""
    try:
        payload = json.loads(body)
    except (ValueError, RecursionError):
        return []
    return [m for m in (payload if isinstance(payload, list) else [payload]) if isinstance(m, dict)]


def called_tools(body: bytes) -> list[str]:
    """The tool names of the ``tools/call`` requests in a JSON-RPC body."""
    calls = [m.get("params") for m in jsonrpc_messages(body) if m.get("method") == "tools/call"]
    names = [params.get("name") if isinstance(params, dict) else None for params in calls]
    return [name if isinstance(name, str) else "" for name in names]


def _quotable(text: str) -> str:
    """Text for a quoted-string in a header: printable ASCII without quotes or backslashes."""
    return "".join(c if 0x20 <= ord(c) < 0x7F and c not in '"\\' else "?" for c in text)


async def buffered_body(receive: Receive) -> tuple[bytes, Receive]:
    """The body (whole and bounded: ``RequestBodyLimitMiddleware`` read it), and a
    ``receive`` replaying what was read."""
    messages = [await receive()]
    body = messages[0].get("body", b"") if messages[0]["type"] == "http.request" else b""

    async def replay() -> Message:
        return messages.pop(0) if messages else await receive()

    return body, replay
