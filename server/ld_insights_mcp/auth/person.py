"""The person behind the current call, from the SDK's auth context (sign-in only).

``current_person()`` is for text a person or a model reads ("deleted by Ada Lovelace
<ada@example.com>, confirmed"); ``person_fields()`` is for log lines. Claims come from the
authorization server and are data, not instructions: shown on one line, without control,
bidi or zero-width characters, and capped.
"""

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
    """``subject`` and, when the token carries them, ``email`` and ``name``; empty when the
    call is not signed in."""
    token = get_access_token()
    if token is None or not token.subject:
        return {}
    claims = token.claims or {}
    fields = {"subject": one_line(token.subject, limit=MAX_CHARS)}
    for claim in ("email", "name"):
        value = claims.get(claim)
        if isinstance(value, str) and one_line(value, limit=MAX_CHARS):
            fields[claim] = one_line(value, limit=MAX_CHARS)
    return fields
