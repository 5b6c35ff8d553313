"""An embedded LaunchDarkly API emulator: the ``--demo`` backend and the tests' HTTP server.

It answers the Engineering Insights insight-group and insight-score operations and the
metric-group operations as the official contract describes them: raw-token auth (401),
``LD-API-Version: beta`` (403 without it), validation (400 naming the attribute), 404, 405,
409, 422, limit/offset pagination with ``totalCount`` and ``_links``, expansions, filters,
sorts, rate-limit headers, and deterministic seeded data.

    emu = Emulator(token="api-...", now_ms=None, clock=None, request_log_limit=10_000)
    emu.app                      # Starlette ASGI app (httpx.ASGITransport(app=emu.app))
    emu.requests                 # list[RecordedRequest], in order, rejected ones included
                                 # (the request_log_limit most recent; None keeps all)
    emu.clock()                  # epoch ms that stamps writes and rate-limit windows
    emu.writes(); emu.clear_requests()
    emu.latency = 0.2            # seconds added to every request
    emu.rewrite_text = hostile_text  # every answer's strings rewritten (see ``hostile``)
    emu.in_flight; emu.max_in_flight; emu.reset_max_in_flight()
    emu.faults.push("createInsightGroup", Fault(status=500, after_handling=True))
    emu.charts.empty_metrics = "notCalculated"  # a metric over nothing (see ``charts``)
    emu.store                    # the data (see ``store``); emu.projects() -> [SeedProject]
    with serve_on_loopback(emu) as base_url: ...

``python -m ld_insights_mcp.emulator --port 8777`` serves the demo data on 127.0.0.1.
"""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from .app import Emulator
    from .constants import DEMO_TOKEN
    from .faults import EmulatedConnectionReset, Fault
    from .loopback import aserve_on_loopback, serve_app_on_loopback, serve_on_loopback
    from .recording import RecordedRequest
    from .seed import SeedProject

_HOMES = {
    "DEMO_TOKEN": "constants",
    "EmulatedConnectionReset": "faults",
    "Emulator": "app",
    "Fault": "faults",
    "RecordedRequest": "recording",
    "SeedProject": "seed",
    "aserve_on_loopback": "loopback",
    "serve_app_on_loopback": "loopback",
    "serve_on_loopback": "loopback",
}
"""Where each name lives: imported on first use, so ``emulator.constants`` (all a real
start-up needs) does not load the app (Starlette, the seed)."""

__all__ = [
    "DEMO_TOKEN",
    "EmulatedConnectionReset",
    "Emulator",
    "Fault",
    "RecordedRequest",
    "SeedProject",
    "aserve_on_loopback",
    "serve_app_on_loopback",
    "serve_on_loopback",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(import_module(f".{home}", __name__), name)
    globals()[name] = value
    return value
