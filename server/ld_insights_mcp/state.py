"""What every tool call shares: the LaunchDarkly client and the settings."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from mcp.server.mcpserver import Context

from .config import Settings
from .launchdarkly import LaunchDarklyClient
from .views.common import DataSource


@dataclass(frozen=True, slots=True)
class AppState:
    """Lifespan state: one client per process."""

    client: LaunchDarklyClient
    settings: Settings

    @property
    def data_source(self) -> DataSource:
        return "demo" if self.settings.demo else "launchdarkly"


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
