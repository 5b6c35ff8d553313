"""MCP tools, one module per API domain."""

from mcp.server import MCPServer

from . import insight_groups, metric_groups, scores


def register_tools(server: MCPServer, *, read_only: bool) -> None:
    """Register every tool; write tools are skipped when ``read_only``."""
    scores.register(server, read_only=read_only)
    insight_groups.register(server, read_only=read_only)
    metric_groups.register(server, read_only=read_only)
