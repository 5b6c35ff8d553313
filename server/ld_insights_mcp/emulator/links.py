"""``_links`` for offset-paginated collections: self, first, last, and next/prev when useful."""

from __future__ import annotations

from typing import Any
from urllib.parse import quote, urlencode

from ld_insights_mcp.emulator.store import link


def href(path: str, query: dict[str, Any]) -> str:
    suffix = urlencode(query, quote_via=quote, safe=",") if query else ""
    return f"{path}?{suffix}" if suffix else path


def page_links(
    path: str, *, total: int, limit: int, offset: int, extra: dict[str, str]
) -> dict[str, Any]:
    """Links that repeat ``extra``'s non-empty filters, sort and expand, to keep the view."""
    kept = {name: value for name, value in extra.items() if value}

    def at(position: int) -> dict[str, Any]:
        return link(href(path, {"limit": limit, "offset": position, **kept}))

    last = ((total - 1) // limit) * limit if total else 0
    links = {"self": at(offset), "first": at(0), "last": at(last)}
    if offset + limit < total:
        links["next"] = at(offset + limit)
    if offset > 0:
        links["prev"] = at(max(0, min(offset - limit, last)))
    return links
