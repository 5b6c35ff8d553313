"""This server as an OAuth resource server: its metadata (RFC 9728) and the ASGI layers that
authenticate every request and refuse what the token does not allow. The layers are the SDK's,
assembled here because ``MCPServer(auth=...)`` leaves no place for the per-tool scope check,
the per-person session cap and the access log line's person (docs/sdk-gaps.md). Outside in::

    authenticate: BearerAuthBackend (token -> scope["user"]) -> AuthContextMiddleware
      (the operations layer: request id, access log line with the person)
        protect: metadata (no token needed) | RequireAuthMiddleware (401, read scope: 403)
          -> WriteScopeGate (write tools: 403 step-up) -> the session cap -> the MCP app
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from urllib.parse import urlsplit

import httpx
from mcp.server.auth.handlers.metadata import ProtectedResourceMetadataHandler
from mcp.server.auth.middleware.auth_context import AuthContextMiddleware
from mcp.server.auth.middleware.bearer_auth import BearerAuthBackend, RequireAuthMiddleware
from mcp.server.auth.routes import build_resource_metadata_url, cors_middleware
from mcp.shared.auth import ProtectedResourceMetadata
from pydantic import AnyHttpUrl
from starlette.authentication import AuthenticationError
from starlette.middleware.authentication import AuthenticationMiddleware
from starlette.requests import HTTPConnection
from starlette.responses import JSONResponse, Response
from starlette.routing import Route
from starlette.types import ASGIApp, Receive, Scope, Send

from ld_insights_mcp.auth.discovery import issuer_http_client
from ld_insights_mcp.auth.introspection import IntrospectionBusy
from ld_insights_mcp.auth.options import SignInOptions
from ld_insights_mcp.auth.scopes import WriteScopeGate, WriteTools
from ld_insights_mcp.auth.verifier import SignInVerifier

ROOT_METADATA_PATH = "/.well-known/oauth-protected-resource"
RESOURCE_NAME = "LaunchDarkly Engineering Insights"


class SignIn:
    """Sign-in, started: the options and a verifier whose issuer metadata and keys are loaded."""

    def __init__(self, options: SignInOptions, verifier: SignInVerifier) -> None:
        self.options = options
        self.verifier = verifier
        self.metadata_url = build_resource_metadata_url(AnyHttpUrl(options.resource))

    @classmethod
    @asynccontextmanager
    async def opened(
        cls, options: SignInOptions, transport: httpx.AsyncBaseTransport | None = None
    ) -> AsyncIterator[SignIn]:
        """Reads the issuer's metadata and keys first: ``ConfigurationError`` if unusable."""
        async with issuer_http_client(options, transport) as http:
            verifier = SignInVerifier(options, http)
            await verifier.start()
            yield cls(options, verifier)

    def authenticate(self, app: ASGIApp) -> ASGIApp:
        """Outermost: a request's token becomes its user (``scope["user"]``, the SDK's auth
        context); nothing is refused here, but a token not checkable now is answered 503."""
        backend = BearerAuthBackend(
            self.verifier, resource_server_url=AnyHttpUrl(self.options.resource)
        )
        return AuthenticationMiddleware(
            AuthContextMiddleware(app), backend=backend, on_error=_not_checked_now
        )

    def protect(self, app: ASGIApp, write_tools: WriteTools) -> ASGIApp:
        """The metadata for anyone; everything else needs the read scope, a write tool's call
        the write scope."""
        options = self.options
        gated = WriteScopeGate(
            app,
            write_tools=write_tools,
            write_scope=options.write_scope,
            challenge_scopes=options.scopes,
            resource_metadata_url=str(self.metadata_url),
        )
        required = RequireAuthMiddleware(gated, [options.read_scope], self.metadata_url)
        return _Protected(app, required, self.metadata_route())

    def metadata_route(self) -> Route:
        """RFC 9728 metadata as the SDK serves it, with the issuer exactly as configured (a URL
        type would add a slash to a path-less issuer; clients compare issuers as strings)."""
        metadata = ProtectedResourceMetadata.model_validate(
            {
                "resource": self.options.resource,
                "authorization_servers": [self.options.issuer],
                "scopes_supported": self.options.scopes,
                "resource_name": RESOURCE_NAME,
            }
        )
        handler = ProtectedResourceMetadataHandler(metadata)
        return Route(
            urlsplit(str(self.metadata_url)).path,
            endpoint=cors_middleware(handler.handle, ["GET", "OPTIONS"]),
            methods=["GET", "OPTIONS"],
        )


class _Protected:
    """The metadata paths (RFC 9728: path-suffixed and root) to the metadata, other HTTP
    requests to ``required``, the lifespan to the app itself."""

    def __init__(self, app: ASGIApp, required: ASGIApp, metadata: Route) -> None:
        self.app = app
        self.required = required
        self.metadata = metadata
        self.metadata_paths = frozenset((metadata.path, ROOT_METADATA_PATH))

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
        elif scope["path"] in self.metadata_paths:
            await self.metadata.handle(scope, receive, send)
        else:
            await self.required(scope, receive, send)


def _not_checked_now(conn: HTTPConnection, exc: AuthenticationError) -> Response:
    """A token not checkable now (introspection at its bound) may well be valid: 503, not 401."""
    retry = exc.retry_after if isinstance(exc, IntrospectionBusy) else 1
    return JSONResponse(
        {"error": "temporarily_unavailable", "error_description": str(exc)},
        status_code=503,
        headers={"Retry-After": str(retry)},
    )
