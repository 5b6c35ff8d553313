"""Session ids that name the replica holding the session (``replica2.<sdk id>``), so nginx
routes every request of a 2025-handshake session to the process that holds it
(``deploy/nginx.conf``). The SDK has no public hook to choose session ids (docs/sdk-gaps.md):
the prefix is added going out and taken off coming in; an id without it is not found here (404,
as the SDK answers an unknown session), so everything inside sees the SDK's own ids.
"""

from __future__ import annotations

from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Message, Receive, Scope, Send

SESSION_HEADER = b"mcp-session-id"
NOT_FOUND = JSONResponse(
    {"jsonrpc": "2.0", "id": None, "error": {"code": -32600, "message": "Session not found"}},
    status_code=404,
)
"""The SDK's answer to an unknown session id."""


class ReplicaSessionIds:
    """ASGI middleware: ``<replica>.`` before every session id going out, off coming in;
    an id without it is not found."""

    def __init__(self, app: ASGIApp, replica_id: str) -> None:
        self.app = app
        self.prefix = f"{replica_id}.".encode()

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        headers = []
        for name, value in scope.get("headers", []):
            if name == SESSION_HEADER:
                if not value.startswith(self.prefix):
                    await NOT_FOUND(scope, receive, send)
                    return
                value = value.removeprefix(self.prefix)
            headers.append((name, value))

        async def named(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {
                    **message,
                    "headers": [
                        (name, self.prefix + value if name.lower() == SESSION_HEADER else value)
                        for name, value in message.get("headers", [])
                    ],
                }
            await send(message)

        await self.app({**scope, "headers": headers}, receive, named)
