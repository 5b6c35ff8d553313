"""An embedded LaunchDarkly API emulator: the ``--demo`` backend and the tests' HTTP server.

It answers the Engineering Insights insight-group and score operations and the metric-group
operations as the official contract describes them: raw-token auth (401), the
``LD-API-Version: beta`` header (403 without it), validation (400 with ``errors``), 404, 405,
409, 422, pagination with ``totalCount`` and ``_links``, expansions, rate-limit headers, and
seeded deterministic data. Faults can be queued per operation for tests.
"""

from .app import Emulator, RecordedRequest
from .constants import DEMO_TOKEN
from .faults import Fault
from .loopback import aserve_on_loopback, serve_on_loopback
from .seed import SeedProject

__all__ = [
    "DEMO_TOKEN",
    "Emulator",
    "Fault",
    "RecordedRequest",
    "SeedProject",
    "aserve_on_loopback",
    "serve_on_loopback",
]
