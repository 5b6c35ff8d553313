"""MCP tools, one module per API domain."""

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
from ld_insights_mcp.tools.registry import Tool, add_tool

TOOLS: tuple[Tool, ...] = (
    *scores.TOOLS,
    *insight_groups.TOOLS,
    *metric_groups.TOOLS,
    *charts.TOOLS,
    *evidence.TOOLS,
    *analysis_tools.TOOLS,
    *group_changes.TOOLS,
    *deployment_changes.TOOLS,
    *repository_links.TOOLS,
)


def register_tools(server: MCPServer, *, read_only: bool) -> None:
    """Register every tool; write tools are skipped when ``read_only``."""
    for tool in TOOLS:
        add_tool(server, tool, read_only=read_only)


def write_tools() -> list[str]:
    """The tools that write (``read_only_hint`` not true): those ``--read-only`` leaves out."""
    return [t.fn.__name__ for t in TOOLS if not t.annotations.read_only_hint]
