"""The MCP surface: the server assembled from its tools, resources, prompts, completions,
cache hints and warm-up; argument and schema handling."""
