"""Test support, not installed: the tests' emulator (a request log, faults, latency and
hostile text around the product's), serving it on loopback, and ``python -m tests.support``
for the benchmarks and the replica scripts."""

from tests.support.emulator import Emulator
from tests.support.faults import EmulatedConnectionReset, Fault
from tests.support.loopback import aserve_on_loopback, serve_app_on_loopback, serve_on_loopback
from tests.support.recording import RecordedRequest

__all__ = [
    "EmulatedConnectionReset",
    "Emulator",
    "Fault",
    "RecordedRequest",
    "aserve_on_loopback",
    "serve_app_on_loopback",
    "serve_on_loopback",
]
