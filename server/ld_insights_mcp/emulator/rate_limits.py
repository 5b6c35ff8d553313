"""Plausible rate-limit headers: counts per 10-second window, never enforced.

LaunchDarkly does not publish its limits; the emulator reports a global budget of
``GLOBAL_LIMIT`` and a per-route budget of ``ROUTE_LIMIT`` requests per window, counting down
(floored at 0). Only faults answer 429, and a fault says which limit its 429 reports
exhausted (``Fault.limit``), since LaunchDarkly documents the headers but not which of them a
429 carries:

- ``both``: global and route remaining 0, with the window's reset (the default);
- ``route``: this route's remaining 0, the global budget left as counted;
- ``global``: global remaining 0, the route's left as counted;
- ``token``: both left as counted, ``X-Ratelimit-Auth-Token-Remaining: 0`` (and its limit and
  reset), the per-token limit newer documentation names;
- ``ip``: no ``X-Ratelimit-*`` header at all (IP-based limits send ``Retry-After`` only: put
  it in the fault's ``headers``).

``Retry-After`` is never added by the emulator: a fault's ``headers`` add it, with any value.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable
from typing import Literal

WINDOW_MS = 10_000
GLOBAL_LIMIT = 5_000
ROUTE_LIMIT = 1_000
TOKEN_LIMIT = 2_000

Exhausted = Literal["both", "route", "global", "token", "ip"]


class RateLimitWindow:
    """Counts answers per window of ``clock()`` (epoch ms): the emulator's clock."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._total = 0
        self._routes: Counter[str] = Counter()

    def headers(self, route: str, *, exhausted: Exhausted | None = None) -> dict[str, str]:
        """Headers for one answer on ``route``; ``exhausted`` (a 429) says which limit reports
        0 remaining (see the module docstring)."""
        now_ms = self._clock()
        with self._lock:
            window = now_ms // WINDOW_MS
            if window != self._window:
                self._window, self._total = window, 0
                self._routes.clear()
            self._total += 1
            self._routes[route] += 1
            global_left = max(0, GLOBAL_LIMIT - self._total)
            route_left = max(0, ROUTE_LIMIT - self._routes[route])
        if exhausted == "ip":
            return {}
        if exhausted in ("both", "global"):
            global_left = 0
        if exhausted in ("both", "route"):
            route_left = 0
        reset = str((window + 1) * WINDOW_MS)
        headers = {
            "x-ratelimit-global-remaining": str(global_left),
            "x-ratelimit-route-remaining": str(route_left),
            "x-ratelimit-reset": reset,
        }
        if exhausted == "token":
            headers |= {
                "x-ratelimit-auth-token-limit": str(TOKEN_LIMIT),
                "x-ratelimit-auth-token-remaining": "0",
                "x-ratelimit-auth-token-reset": reset,
            }
        return headers
