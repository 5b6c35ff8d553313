"""Pure analysis behind the explain, digest and coverage tools (LaunchDarkly models only: no
MCP, no HTTP; ``gather`` runs the calls it is given)."""
