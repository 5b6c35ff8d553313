"""One pager for every offset list tool: next offset, output cap, and the exact next call
(every argument that shapes the result, so following it yields the next page)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from ld_insights_mcp.text import plural
from ld_insights_mcp.views.common import literal_call

_ROOM = 4
"""Characters kept free for the ``...`` that marks an item line cut to fit."""


@dataclass(frozen=True, slots=True)
class PageRequest:
    """The call that produced a page: the tool, its offset and limit, and every other argument
    that shapes the result set (``None`` values are left out of the next call)."""

    tool: str
    offset: int
    limit: int
    arguments: Mapping[str, Any] = field(default_factory=dict)

    def call(self, offset: int) -> str:
        """The same call at another offset, as literal text with JSON values."""
        return literal_call(self.tool, {"limit": self.limit, "offset": offset, **self.arguments})


@dataclass(frozen=True, slots=True)
class Page:
    """What was shown of the items, where the next page starts, and the text."""

    shown: int
    next_offset: int | None
    truncated: bool
    text: str


def paginate(
    request: PageRequest,
    *,
    header: Sequence[str],
    items: Sequence[str],
    total: int | None,
    max_chars: int,
) -> Page:
    """Header and item lines; past ``max_chars`` trailing items are dropped (at least one is
    shown, cut if too long). With ``total`` unknown, a full page means there may be more."""
    end = request.offset + len(items)
    more = end < total if total is not None else len(items) == request.limit
    next_offset = end if more and items else None
    footer = [f"More: call {request.call(next_offset)}."] if next_offset is not None else []
    text = "\n".join([*header, *items, *footer])
    if len(text) <= max_chars:
        return Page(len(items), next_offset, False, text)

    def marker(shown: int) -> str:
        return (
            f"[output truncated: showing {shown} of {plural(len(items), 'item')} to stay within "
            f"{max_chars} characters. More: call {request.call(request.offset + shown)}]"
        )

    budget = max_chars - len(marker(len(items))) - sum(len(line) + 1 for line in header) - 1
    kept: list[str] = []
    for line in items:
        if len(line) + 1 > budget:
            break
        kept.append(line)
        budget -= len(line) + 1
    if not kept and items:
        room = max(budget - _ROOM, 0)
        kept.append(items[0][:room] + "...")
    return Page(
        len(kept), request.offset + len(kept), True, "\n".join([*header, *kept, marker(len(kept))])
    )
