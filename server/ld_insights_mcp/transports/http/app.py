"""The HTTP transports: Host/Origin checks on every bind, bearer tokens or sign-in (OAuth,
docs/auth.md), uvicorn. Each token (or signed-in person) is a distinct user, so the SDK binds
every session to whoever opened it."""

from __future__ import annotations

import asyncio
import hmac
import os
from collections.abc import Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Literal

from mcp.server import MCPServer
from mcp.server.auth.middleware.bearer_auth import AuthenticatedUser
from mcp.server.auth.provider import AccessToken
from mcp.server.transport_security import TransportSecuritySettings
from starlette.authentication import AuthCredentials
from starlette.responses import JSONResponse
from starlette.types import ASGIApp, Receive, Scope, Send

from ld_insights_mcp.auth.options import SignInOptions
from ld_insights_mcp.auth.scopes import hide_write_tools
from ld_insights_mcp.config import ConfigurationError, is_loopback_host
from ld_insights_mcp.shared.services import services_of
from ld_insights_mcp.transports.http.session_ids import ReplicaSessionIds
from ld_insights_mcp.transports.http.sessions import SessionCap
from ld_insights_mcp.transports.ops.endpoints import OpsApp

if TYPE_CHECKING:
    from ld_insights_mcp.auth.resource import SignIn

LOOPBACK_HOSTS = ("127.0.0.1", "localhost", "[::1]")


@dataclass(frozen=True, slots=True)
class HttpOptions:
    transport: Literal["sse", "streamable-http"] = "streamable-http"
    host: str = "127.0.0.1"
    port: int = 8000
    path: str = "/mcp"
    stateless: bool = False
    json_response: bool = False
    allowed_hosts: Sequence[str] = ()
    allowed_origins: Sequence[str] = ()
    bearer_tokens: Sequence[str] = field(default=(), repr=False)
    header_timeout: float = 10.0
    body_timeout: float = 30.0
    max_connections: int = 512
    sessions_per_client: int = 256
    session_idle_timeout: float = 300.0
    max_sessions: int = 2_000
    graceful_timeout: float = 50.0
    """Seconds a SIGTERM waits for calls in flight (the call budget plus a margin)."""
    replica_id: str | None = None
    sign_in: SignInOptions | None = None


def transport_security(options: HttpOptions) -> TransportSecuritySettings:
    """Host/Origin validation for any bind (loopback names always allowed); a non-loopback bind
    must name its hosts and origins and require a bearer token or sign-in."""
    if options.sign_in is not None and options.bearer_tokens:
        raise ConfigurationError(
            "LD_INSIGHTS_HTTP_BEARER_TOKENS and LD_INSIGHTS_OAUTH_ISSUER are both set: use one. "
            "With sign-in every call has a person behind it; a shared static token would not. "
            "For automation, give it an OAuth client (the client-credentials grant) instead."
        )
    if options.sign_in is not None:
        served = "/sse" if options.transport == "sse" else options.path  # the MCP endpoint
        options.sign_in.check_served_path(served)
    if not is_loopback_host(options.host):
        needed = {
            "--allowed-host": options.allowed_hosts,
            "--allowed-origin": options.allowed_origins,
            "LD_INSIGHTS_HTTP_BEARER_TOKENS or LD_INSIGHTS_OAUTH_ISSUER": options.bearer_tokens
            or options.sign_in,
        }
        missing = [name for name, value in needed.items() if not value]
        if missing:
            raise ConfigurationError(
                f"refusing to listen on non-loopback address {options.host!r} without "
                f"{', '.join(missing)}: anyone who can reach it could use your LaunchDarkly "
                "token. Set them, or bind 127.0.0.1."
            )
    hosts = [h for name in LOOPBACK_HOSTS for h in (name, f"{name}:*")]
    origins = [f"http://{name}{port}" for port in (":*", "") for name in LOOPBACK_HOSTS]
    return TransportSecuritySettings(
        enable_dns_rebinding_protection=True,
        allowed_hosts=[*hosts, *options.allowed_hosts],
        allowed_origins=[*origins, *options.allowed_origins],
    )


class BearerAuthMiddleware:
    """Requires ``Authorization: Bearer <token>`` matching a configured token (constant-time);
    the request goes on as ``bearer-token-<n>``, the owner the SDK binds sessions to, without
    the header, so a client's credential cannot be forwarded upstream."""

    def __init__(self, app: ASGIApp, tokens: Sequence[str]) -> None:
        self._app = app
        self._tokens = [t.encode() for t in tokens if t]

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self._app(scope, receive, send)
            return
        user = self._user(scope)
        if user is not None:
            headers = [(k, v) for k, v in scope.get("headers", []) if k != b"authorization"]
            authed = {**scope, "headers": headers, "user": user, "auth": AuthCredentials([])}
            await self._app(authed, receive, send)
            return
        refused = JSONResponse(
            {"error": "invalid_token", "error_description": "a valid bearer token is required"},
            401,
            {"www-authenticate": 'Bearer realm="ld-insights-mcp", error="invalid_token"'},
        )
        await refused(scope, receive, send)

    def _user(self, scope: Scope) -> AuthenticatedUser | None:
        """The user the presented token stands for, or None if it matches no token."""
        value = next((v for k, v in scope.get("headers", []) if k == b"authorization"), b"")
        scheme, _, credential = value.partition(b" ")
        presented = credential.strip() if scheme.lower() == b"bearer" else b""
        # every token compared, so the time taken does not tell which one matched
        matched = [i for i, t in enumerate(self._tokens, 1) if hmac.compare_digest(presented, t)]
        if not matched or not presented:
            return None
        label = f"bearer-token-{matched[0]}"
        return AuthenticatedUser(AccessToken(token=label, client_id=label, scopes=[]))


def build_http_app(
    server: MCPServer, options: HttpOptions, sign_in: SignIn | None = None
) -> ASGIApp:
    """The ASGI app for ``options.transport``; ``sign_in`` is ``options.sign_in`` started."""
    security = transport_security(options)
    if (options.sign_in is None) != (sign_in is None):
        raise ValueError("pass the started SignIn exactly when options.sign_in is set")
    app: ASGIApp
    if options.transport == "sse":
        app = server.sse_app(transport_security=security, host=options.host)
    else:
        app = server.streamable_http_app(
            streamable_http_path=options.path,
            json_response=options.json_response,
            stateless_http=options.stateless,
            transport_security=security,
            host=options.host,
            session_idle_timeout=options.session_idle_timeout,  # unused when stateless
            max_sessions=options.max_sessions,
        )
        if not options.stateless and (options.bearer_tokens or sign_in):
            app = SessionCap(
                app,
                path=options.path,
                per_client=options.sessions_per_client,
                idle_timeout=options.session_idle_timeout,
            )
        if not options.stateless and options.replica_id:  # outside the cap: it counts SDK ids
            app = ReplicaSessionIds(app, options.replica_id)
    if options.bearer_tokens:
        app = BearerAuthMiddleware(app, options.bearer_tokens)
    if sign_in is not None:
        app = sign_in.protect(app, lambda: write_tools(server))
        server.middleware.append(hide_write_tools(sign_in.options.write_scope))
    services = services_of(server)
    if services is not None:  # /healthz, /readyz, /metrics: outside auth, no MCP session
        app = OpsApp(app, services, security)
    if sign_in is not None:  # outermost, so the access log line knows the person
        app = sign_in.authenticate(app)
    return app


async def write_tools(server: MCPServer) -> frozenset[str]:
    """The server's tools not listed as read-only (``readOnlyHint``): they need the write scope."""
    return frozenset(
        tool.name
        for tool in await server.list_tools()
        if tool.annotations is None or tool.annotations.read_only_hint is not True
    )


async def serve_http(server: MCPServer, options: HttpOptions, *, log_level: str) -> None:
    """Serve until cancelled, SIGINT or SIGTERM, then let calls in flight finish (up to
    ``options.graceful_timeout``); with sign-in, the issuer is read before listening."""
    if options.sign_in is None:
        await _serve(server, build_http_app(server, options), options, log_level)
        return
    from ld_insights_mcp.auth.resource import SignIn

    async with SignIn.opened(options.sign_in) as sign_in:
        await _serve(server, build_http_app(server, options, sign_in), options, log_level)


async def _serve(server: MCPServer, app: ASGIApp, options: HttpOptions, log_level: str) -> None:
    import signal

    import anyio
    import uvicorn
    from sse_starlette.sse import AppStatus

    from ld_insights_mcp.transports.http.guard import SHUTDOWN_GRACE, Limits, guarded_protocol

    limits = Limits(options.header_timeout, options.body_timeout, options.max_connections)
    config = uvicorn.Config(
        app,
        host=options.host.strip("[]"),
        port=options.port,
        log_config=None,
        log_level=log_level.lower(),
        access_log=False,
        lifespan="on",
        http=guarded_protocol(limits),
        limit_concurrency=options.max_connections + 64,
        timeout_keep_alive=5,
        timeout_graceful_shutdown=max(1, int(options.graceful_timeout)),
    )
    services = services_of(server)
    # The SDK answers over SSE streams, whose library ends every stream the moment SIGTERM
    # arrives, cutting calls in flight. Instead: calls in flight finish, then the streams
    # still open (standalone GET streams) end, and the process exits.
    AppStatus.disable_automatic_graceful_drain()  # type: ignore[no-untyped-call]

    async def end_streams_after_calls() -> None:
        with anyio.move_on_after(options.graceful_timeout):
            # a request written as the signal arrived is answered first (see ``guard``)
            await anyio.sleep(SHUTDOWN_GRACE)
            while services is not None and services.calls_in_flight:  # noqa: ASYNC110
                await anyio.sleep(0.05)
        AppStatus.should_exit = True

    class Server(uvicorn.Server):
        async def shutdown(self, sockets: list[Any] | None = None) -> None:
            if services is not None:
                services.stopping = True  # /readyz answers 503 from now on
            await _take_waiting_connections(self.servers)
            async with anyio.create_task_group() as tasks:
                tasks.start_soon(end_streams_after_calls)
                await super().shutdown(sockets)
                tasks.cancel_scope.cancel()

    runner = Server(config)

    def stop(*_: object) -> None:
        # Before uvicorn installs its handlers, and when it re-raises the signal after its
        # graceful shutdown: stop (or keep stopping) without the default "killed" exit.
        runner.should_exit = True

    previous = signal.signal(signal.SIGTERM, stop)
    try:
        await runner.serve()
    finally:
        signal.signal(signal.SIGTERM, previous)


async def _take_waiting_connections(servers: list[Any]) -> None:
    """Accept every connection waiting in the listening queues and close the listeners in the
    same step, with nothing awaited in between: closing a listening socket resets the
    connections still queued, whose requests a proxy has already written (nginx answers 502
    for a POST it will not resend), while one that arrives after the close is refused and
    tried on another replica. Taken, they are served as any other (see ``guard``). asyncio
    has no public way to do this; ``_protocol_factory`` is its Server's own attribute."""
    import socket

    taken: list[tuple[Any, socket.socket]] = []
    for listening in servers:
        factory = getattr(listening, "_protocol_factory", None)
        if factory is None:
            continue
        for sock in [*listening.sockets]:
            with socket.socket(fileno=os.dup(sock.fileno())) as raw:
                raw.setblocking(False)
                with suppress(BlockingIOError, InterruptedError):
                    while True:
                        taken.append((factory, raw.accept()[0]))
        listening.close()
    loop = asyncio.get_running_loop()
    for factory, accepted in taken:
        accepted.setblocking(False)
        await loop.connect_accepted_socket(factory, accepted)
