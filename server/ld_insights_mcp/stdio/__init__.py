"""The stdio transport: the SDK's own server loop behind a relay that owns the client's pipes.

What it guarantees (docs/stdio-transport.md says why): every request read before the end of
input is answered, within the call budget or with an error; every byte is written before
the process exits; every malformed line gets the JSON-RPC error the spec gives; stdout
carries JSON-RPC only. The SDK's own stdio loop serves behind the relay (``sdk_side``).
"""

from __future__ import annotations

import sys

from mcp.server import MCPServer

__all__ = ["run_stdio"]


async def run_stdio(server: MCPServer, call_budget: float, max_line: int) -> None:
    """Serve ``server`` over this process's stdin and stdout until stdin ends; a line longer
    than ``max_line`` bytes is answered with an error."""
    if sys.platform == "win32":  # pragma: no cover - the relay needs POSIX descriptors
        await server.run_stdio_async()
        return
    from .plumbing import plumb, unplumb
    from .relay import Relay
    from .sdk_side import serve_on_pipes

    fds, sdk_pipes = plumb()
    try:
        relay = Relay(call_budget=call_budget, max_line=max_line)
        await relay.serve(fds, lambda: serve_on_pipes(server, sdk_pipes), unplumb)
    finally:
        unplumb()
