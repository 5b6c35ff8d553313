"""MCP server for LaunchDarkly Engineering Insights."""

__version__ = "0.1.0"
