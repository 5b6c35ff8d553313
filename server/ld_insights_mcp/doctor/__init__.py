"""``ld-insights-mcp doctor``: is this setup right? (``command.main``)."""
