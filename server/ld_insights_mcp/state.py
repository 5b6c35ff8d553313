"""What every tool call shares: the LaunchDarkly client and the settings."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from mcp.server.mcpserver import Context

from .config import Settings
from .views.common import DataSource

if TYPE_CHECKING:
    from .launchdarkly.client import LaunchDarklyClient


class AppState:
    """Lifespan state: the settings and one LaunchDarkly client per process.

    The client is made on first use, so start-up does not pay for the HTTP stack.
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


class StateCell:
    """Holds the lifespan state for handlers the SDK gives no request context (completions)."""

    def __init__(self) -> None:
        self._state: AppState | None = None

    def set(self, state: AppState | None) -> None:
        self._state = state

    def get(self) -> AppState:
        if self._state is None:
            raise LookupError("the server is not running")
        return self._state
