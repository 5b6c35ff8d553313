"""Pure analysis behind the explain, digest and coverage tools: which parts of a score to
explain, what drove a change, which evidence to show, and what data is missing.

Works on the LaunchDarkly models only: no MCP, no HTTP (``gather`` runs calls it is given).
"""
