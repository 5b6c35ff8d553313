"""Sign-in on the HTTP transports: the server as an OAuth 2.1 resource server (docs/auth.md).

Importing the package is cheap: only ``current_person`` is loaded here; the verifier, the
keys and the ASGI layers are imported by the HTTP wiring when sign-in is configured.
"""

from ld_insights_mcp.auth.person import current_person

__all__ = ["current_person"]
