"""What every tool call shares: the LaunchDarkly client and the settings."""

from __future__ import annotations

import logging
import threading
from collections.abc import Awaitable, Callable
from contextvars import ContextVar
from typing import TYPE_CHECKING, Any

import anyio
from mcp.server import ServerRequestContext
from mcp.server.context import CallNext, HandlerResult
from mcp.server.mcpserver import Context

from ld_insights_mcp.config import Settings
from ld_insights_mcp.launchdarkly.cache import observe_reads
from ld_insights_mcp.views.common import DataSource

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient

logger = logging.getLogger(__name__)


class AppState:
    """Lifespan state (one per lifespan run: the SDK runs it per process or per connection):
    the settings and a LaunchDarkly client, built off start-up by the warm-up the first
    ``tools/list`` starts, or by a call that comes first."""

    def __init__(
        self,
        settings: Settings,
        connect: Callable[[], LaunchDarklyClient],
        rehearse: Callable[[], Awaitable[int]] | None = None,
    ) -> None:
        self.settings = settings
        self._connect = connect
        self._rehearse = rehearse
        self._client: LaunchDarklyClient | None = None
        self._building = threading.Lock()
        self._warmer: threading.Thread | None = None
        self.rehearsed = 0
        """Calls the warm-up rehearsed (see ``warmup``); 0 until it has, or if it failed."""

    @property
    def client(self) -> LaunchDarklyClient:
        client = self._client
        if client is None:
            with self._building:
                if self._client is None:
                    self._client = self._connect()
                client = self._client
        return client

    @property
    def client_ready(self) -> bool:
        """Whether the LaunchDarkly client has been built (by the warm-up or a call)."""
        return self._client is not None

    def start_warming(self) -> None:
        """Build the client and the response validators in a background thread, then run
        ``rehearse`` there (on its own event loop) if given; once per state."""
        if self._warmer is None:
            self._warmer = threading.Thread(target=self._warm, name="ld-insights-warm", daemon=True)
            self._warmer.start()

    def _warm(self) -> None:
        try:
            with self._building:
                if self._client is None:
                    self._client = self._connect()
                from ld_insights_mcp.launchdarkly.prepare import build_validators, warm_network

                built = build_validators()
            warm_network()
            if self._rehearse is not None:
                self.rehearsed = anyio.run(self._rehearse)
            logger.debug(
                "warm-up finished: client built, %d validators built, %d calls rehearsed",
                built,
                self.rehearsed,
            )
        except Exception:  # a call builds what it needs itself, and reports what fails
            logger.debug("warm-up failed", exc_info=True)

    async def warmed(self) -> None:
        """Return once the warm-up has finished (at once if it never started)."""
        warmer = self._warmer
        if warmer is not None and warmer.is_alive():
            await anyio.to_thread.run_sync(warmer.join)

    @property
    def data_source(self) -> DataSource:
        return "demo" if self.settings.demo else "launchdarkly"

    async def aclose(self) -> None:
        await self.warmed()
        client, self._client = self._client, None
        if client is not None:
            await client.aclose()


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
    gives them the state of the connection that asked, and of no other. The first
    ``tools/list`` answered starts the warm-up: start-up and the listing do not wait for it."""
    state = ctx.lifespan_context
    if not isinstance(state, AppState):
        return await call_next(ctx)
    token = _REQUEST_STATE.set(state)
    try:
        with observe_reads():  # the request's cached reads and their age (see tool_result)
            return await call_next(ctx)
    finally:
        _REQUEST_STATE.reset(token)
        if ctx.method == "tools/list":
            state.start_warming()


def request_app_state() -> AppState:
    """The state of the session whose request is being handled (see ``bind_app_state``)."""
    state = _REQUEST_STATE.get()
    if state is None:
        raise LookupError("no request is being handled")
    return state
