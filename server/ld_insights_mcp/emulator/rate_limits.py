"""Plausible rate-limit headers: counts per 10-second window, never enforced.

LaunchDarkly does not publish its limits; the emulator reports a global budget of
``GLOBAL_LIMIT`` and a per-route budget of ``ROUTE_LIMIT`` requests per window, counting down
(floored at 0), and never answers 429 itself. ``Retry-After`` is never added.
"""

from __future__ import annotations

import threading
from collections import Counter
from collections.abc import Callable

WINDOW_MS = 10_000
GLOBAL_LIMIT = 5_000
ROUTE_LIMIT = 1_000


class RateLimitWindow:
    """Counts answers per window of ``clock()`` (epoch ms): the emulator's clock."""

    def __init__(self, clock: Callable[[], int]) -> None:
        self._clock = clock
        self._lock = threading.Lock()
        self._window = -1
        self._routes: Counter[str] = Counter()

    def headers(self, route: str) -> dict[str, str]:
        """Headers for one answer on ``route``, counting it."""
        now_ms = self._clock()
        with self._lock:
            window = now_ms // WINDOW_MS
            if window != self._window:
                self._window = window
                self._routes.clear()
            self._routes[route] += 1
            global_left = max(0, GLOBAL_LIMIT - self._routes.total())
            route_left = max(0, ROUTE_LIMIT - self._routes[route])
        return {
            "x-ratelimit-global-remaining": str(global_left),
            "x-ratelimit-route-remaining": str(route_left),
            "x-ratelimit-reset": str((window + 1) * WINDOW_MS),
        }
