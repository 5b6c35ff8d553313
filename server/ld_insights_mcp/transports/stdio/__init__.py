"""The stdio transport (docs/stdio-transport.md)."""

from ld_insights_mcp.transports.stdio.relay import run_stdio

__all__ = ["run_stdio"]
