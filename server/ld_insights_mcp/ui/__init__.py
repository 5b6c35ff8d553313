"""The engineering-health dashboard: an MCP App (``ui://`` resource) for the score tools."""

from ld_insights_mcp.ui.dashboard import (
    DASHBOARD_META,
    DASHBOARD_URI,
    dashboard_apps,
    dashboard_html,
)

__all__ = ["DASHBOARD_META", "DASHBOARD_URI", "dashboard_apps", "dashboard_html"]
