"""What every tool call shares: the LaunchDarkly client and the settings."""

from __future__ import annotations

from collections.abc import Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

from mcp.server import ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from mcp.server.mcpserver import Context

from .config import Settings
from .views.common import DataSource

if TYPE_CHECKING:
    from .launchdarkly.client import LaunchDarklyClient


class AppState:
    """Lifespan state: the settings and one LaunchDarkly client per lifespan.

    The client is made on first use, so start-up does not pay for the HTTP stack. The SDK may
    run the lifespan once per process or once per connection (SSE, in memory): each run has
    its own state, closed when that run ends.
    """

    def __init__(self, settings: Settings, connect: Callable[[], LaunchDarklyClient]) -> None:
        self.settings = settings
        self._connect = connect
        self._client: LaunchDarklyClient | None = None

    @property
    def client(self) -> LaunchDarklyClient:
        if self._client is None:
            self._client = self._connect()
        return self._client

    @property
    def data_source(self) -> DataSource:
        return "demo" if self.settings.demo else "launchdarkly"

    async def aclose(self) -> None:
        if self._client is not None:
            await self._client.aclose()
            self._client = None


def app_state(ctx: Context[Any, Any]) -> AppState:
    """The lifespan state from a tool's, resource's or prompt's context."""
    state = ctx.request_context.lifespan_context
    if not isinstance(state, AppState):  # pragma: no cover - wiring error
        raise RuntimeError("server lifespan did not provide AppState")
    return state


_REQUEST_STATE: ContextVar[AppState | None] = ContextVar("ld_insights_app_state", default=None)


async def bind_app_state(ctx: ServerRequestContext[Any, Any], call_next: CallNext) -> HandlerResult:
    """Server middleware: while a request is handled, its own session's state is
    ``request_app_state()``. The SDK calls completion handlers without a context; this
    gives them the state of the connection that asked, and of no other."""
    state = ctx.lifespan_context
    if not isinstance(state, AppState):
        return await call_next(ctx)
    token = _REQUEST_STATE.set(state)
    try:
        return await call_next(ctx)
    finally:
        _REQUEST_STATE.reset(token)


def request_app_state() -> AppState:
    """The state of the session whose request is being handled (see ``bind_app_state``)."""
    state = _REQUEST_STATE.get()
    if state is None:
        raise LookupError("no request is being handled")
    return state
