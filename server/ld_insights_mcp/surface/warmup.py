"""Rehearsing tool calls in the background after start-up, so the first real call runs warm.

The first run of a code path pays for what later runs do not: first-use imports, lazily
built validators and serializers, the interpreter specialising its bytecode. ``rehearse``
calls a few read tools through the server's own call path (argument checks, the tool, the
LaunchDarkly client, the views, the structured result) with a private state whose client
sits on ``RehearsalTransport``: nothing is sent anywhere, nothing enters the read cache,
and no request middleware runs, so the server's metrics and logs see none of it.
"""

from __future__ import annotations

import json
from typing import Any, cast

from mcp.server import MCPServer, ServerRequestContext
from mcp.server.mcpserver import Context
from mcp.types import LATEST_PROTOCOL_VERSION, CallToolResult

from ld_insights_mcp.state import AppState

REHEARSED: tuple[tuple[str, dict[str, Any]], ...] = (
    ("get_insight_scores", {"project_key": "rehearsal", "environment_key": "rehearsal"}),
    ("list_insight_groups", {"limit": 1}),
)
ROUNDS = 3
"""The interpreter specialises a code path after it has run a few times."""


async def rehearse(server: MCPServer, state: AppState) -> int:
    """Call each rehearsed tool ``ROUNDS`` times with ``state`` (a rehearsal state, closed
    here); return how many calls ran. A failed call raises (the warm-up logs it)."""
    request = ServerRequestContext(
        session=cast(Any, None),  # the rehearsed tools neither log nor ask the client
        lifespan_context=state,
        protocol_version=LATEST_PROTOCOL_VERSION,
        method="tools/call",
    )
    context: Context[Any, Any] = Context(request_context=request, mcp_server=server)
    calls = 0
    try:
        for _ in range(ROUNDS):
            for name, arguments in REHEARSED:
                result = await server.call_tool(name, dict(arguments), context)
                if not isinstance(result, CallToolResult) or result.is_error:
                    raise RuntimeError(f"rehearsed {name} did not succeed")
                json.dumps(result.model_dump(mode="json", by_alias=True, exclude_none=True))
                calls += 1
    finally:
        await state.aclose()
    return calls
