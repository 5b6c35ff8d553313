"""MCP tools, one module per API domain."""

import anyio
from mcp.server import MCPServer

from ld_insights_mcp.tools import analysis as analysis_tools
from ld_insights_mcp.tools import (
    charts,
    deployment_changes,
    evidence,
    group_changes,
    insight_groups,
    metric_groups,
    repository_links,
    scores,
)


def register_tools(server: MCPServer, *, read_only: bool) -> None:
    """Register every tool; write tools are skipped when ``read_only``."""
    scores.register(server, read_only=read_only)
    insight_groups.register(server, read_only=read_only)
    metric_groups.register(server, read_only=read_only)
    charts.register(server, read_only=read_only)
    evidence.register(server, read_only=read_only)
    analysis_tools.register(server, read_only=read_only)
    group_changes.register(server, read_only=read_only)
    deployment_changes.register(server, read_only=read_only)
    repository_links.register(server, read_only=read_only)


def write_tools() -> list[str]:
    """The tools that write (``read_only_hint`` not true): those ``--read-only`` leaves out."""

    async def names() -> list[str]:
        server: MCPServer = MCPServer("tools")
        register_tools(server, read_only=False)
        tools = await server.list_tools()
        return [t.name for t in tools if not (t.annotations and t.annotations.read_only_hint)]

    return anyio.run(names)
