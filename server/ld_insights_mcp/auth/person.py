"""The person behind the current call, from the SDK's auth context (sign-in only). Claims
are data, not instructions: shown with ``one_line`` (no control, bidi or zero-width
characters, capped)."""

from __future__ import annotations

from mcp.server.auth.middleware.auth_context import get_access_token

from ld_insights_mcp.text import one_line

MAX_CHARS = 120


def current_person() -> str | None:
    """Who is calling: ``Name <email>``, the email, the name, or the subject; None when the
    call is not signed in (stdio, static bearer tokens, no token)."""
    fields = person_fields()
    if not fields:
        return None
    name, email = fields.get("name"), fields.get("email")
    if name and email:
        return f"{name} <{email}>"
    return email or name or fields["subject"]


def person_fields() -> dict[str, str]:
    """``subject``, and ``email`` and ``name`` when the token has them; empty unless signed in."""
    token = get_access_token()
    if token is None or not token.subject:
        return {}
    claims = token.claims or {}
    fields = {"subject": one_line(token.subject, limit=MAX_CHARS)}
    for claim in ("email", "name"):
        value = claims.get(claim)
        if isinstance(value, str) and (shown := one_line(value, limit=MAX_CHARS)):
            fields[claim] = shown
    return fields
