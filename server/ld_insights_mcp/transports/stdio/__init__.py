"""The stdio transport: the SDK's lowlevel server on in-memory streams, behind a relay that owns
the client's stdin and stdout and keeps its promises on every OS (docs/stdio-transport.md)."""

from __future__ import annotations

from functools import partial

from mcp.server import MCPServer

from ld_insights_mcp.transports.stdio.descriptors import claim_stdio
from ld_insights_mcp.transports.stdio.relay import Relay


async def run_stdio(server: MCPServer, call_budget: float, max_line: int) -> None:
    """Serve ``server`` on stdin and stdout until stdin ends; lines over ``max_line`` get errors."""
    server.streamable_http_app()  # builds the session manager, which holds the lowlevel server
    lowlevel = server.session_manager.app  # the only public way to it (docs/sdk-gaps.md)
    # run as run_stdio_async() does, on the relay's streams
    run_sdk = partial(lowlevel.run, initialization_options=lowlevel.create_initialization_options())
    await Relay(call_budget=call_budget, max_line=max_line).serve(claim_stdio(), run_sdk)
