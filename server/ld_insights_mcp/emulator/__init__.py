"""An embedded LaunchDarkly API emulator (the ``--demo`` backend), true to the contract.

    emu = Emulator(token="api-...", now_ms=None, clock=None)
    emu.app                      # Starlette ASGI app (httpx.ASGITransport(app=emu.app))
    emu.clock()                  # epoch ms that stamps writes and rate-limit windows
    emu.charts.empty_metrics = "notCalculated"  # a metric over nothing (see ``charts``)
    emu.windows.future_to = "refuse"  # a ``to`` after now is a 400 (see ``evidence_params``)
    emu.store                    # the data (see ``store``): projects, insight groups, ...

The tests' emulator (``tests/support``, not installed) adds a request log, faults, latency
and hostile text around ``Emulator.serve``.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ld_insights_mcp.emulator.app import Emulator
    from ld_insights_mcp.emulator.constants import DEMO_TOKEN

_HOMES = {"DEMO_TOKEN": "constants", "Emulator": "app"}
"""Imported on first use, so a start-up needing only ``DEMO_TOKEN`` loads no Starlette."""

__all__ = ["DEMO_TOKEN", "Emulator"]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value
