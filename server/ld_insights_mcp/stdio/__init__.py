"""The stdio transport: the SDK's own server loop behind a relay that owns the client's pipes.

What it guarantees (docs/stdio-transport.md says why): every request read before the end of
input is answered, within the call budget or with an error; every byte is written before
the process exits; every malformed line gets the JSON-RPC error the spec gives; stdout
carries JSON-RPC only. The SDK's own stdio loop serves behind the relay (``sdk_side``).
"""

from __future__ import annotations

import os
import sys
from typing import Final

from mcp.server import MCPServer

from ..config import ConfigurationError

MAX_LINE_VARIABLE: Final = "LD_INSIGHTS_STDIO_MAX_LINE_BYTES"
DEFAULT_MAX_LINE_BYTES: Final = 64 * 1024 * 1024
"""Longest line accepted from the client; a longer one is answered with an error."""
_LINE_LIMITS: Final = (4096, 1024 * 1024 * 1024)

__all__ = ["DEFAULT_MAX_LINE_BYTES", "MAX_LINE_VARIABLE", "max_line_bytes", "run_stdio"]


def max_line_bytes() -> int:
    """The line limit from ``LD_INSIGHTS_STDIO_MAX_LINE_BYTES`` (default 64 MiB)."""
    raw = os.environ.get(MAX_LINE_VARIABLE, "").strip()
    if not raw:
        return DEFAULT_MAX_LINE_BYTES
    low, high = _LINE_LIMITS
    try:
        value = int(raw)
        if not low <= value <= high:
            raise ValueError  # out of range: answered like a value that is not a number
    except ValueError:
        raise ConfigurationError(
            f"{MAX_LINE_VARIABLE} must be a whole number of bytes from {low} to {high} "
            f"(default {DEFAULT_MAX_LINE_BYTES})"
        ) from None
    return value


async def run_stdio(server: MCPServer, call_budget: float) -> None:
    """Serve ``server`` over this process's stdin and stdout until stdin ends."""
    limit = max_line_bytes()
    if sys.platform == "win32":  # pragma: no cover - the relay needs POSIX descriptors
        await server.run_stdio_async()
        return
    from .plumbing import plumb, unplumb
    from .relay import Relay
    from .sdk_side import serve_on_pipes

    fds, sdk_pipes = plumb()
    try:
        relay = Relay(call_budget=call_budget, max_line=limit)
        await relay.serve(fds, lambda: serve_on_pipes(server, sdk_pipes), unplumb)
    finally:
        unplumb()
