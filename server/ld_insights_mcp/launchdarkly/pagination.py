"""Walking LaunchDarkly's limit/offset pagination."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from typing import TypeVar

T = TypeVar("T")

PageFetcher = Callable[[int, int], Awaitable[tuple[list[T], int | None]]]
"""``(offset, limit) -> (items, totalCount or None)``."""


async def iterate_offset_pages(
    fetch: PageFetcher[T], *, page_size: int, max_items: int | None = None
) -> AsyncIterator[T]:
    """Yield items page by page until the collection or ``max_items`` is exhausted."""
    if page_size < 1:
        raise ValueError("page_size must be at least 1")
    offset = 0
    yielded = 0
    while max_items is None or yielded < max_items:
        limit = page_size if max_items is None else min(page_size, max_items - yielded)
        items, total = await fetch(offset, limit)
        for item in items:
            yield item
            yielded += 1
            if max_items is not None and yielded >= max_items:
                return
        offset += len(items)
        if (
            not items
            or (total is not None and offset >= total)
            or (total is None and len(items) < limit)
        ):
            return
