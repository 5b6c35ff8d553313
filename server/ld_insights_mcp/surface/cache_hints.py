"""Client cache hints (``ttlMs``, ``cacheScope``; protocol 2026-07-28): the lists and the
static resources are the same for every user until the server restarts.

The SDK fills the list methods from ``MCPServer(cache_hints=...)``. Its ``resources/read``
hint would cover every resource, the live ones too, so the static ones get theirs here, in
a middleware, on 2026-07-28 connections only (the SDK sets no hint field on older ones).
"""

from __future__ import annotations

from typing import Any

from mcp.server import ServerRequestContext
from mcp.server.caching import CacheableMethod, CacheHint
from mcp.server.context import CallNext, HandlerResult
from mcp_types.version import MODERN_PROTOCOL_VERSIONS

from ld_insights_mcp.surface.resources import CATALOG_URI, INDICATORS_URI

LIST_HINT = CacheHint(ttl_ms=600_000, scope="public")
"""Tools, prompts and resources change only with a new version or other flags: 10 minutes."""

STATIC_RESOURCE_HINT = CacheHint(ttl_ms=3_600_000, scope="public")
"""The knowledge resources (score categories, indicators) are fixed text: an hour."""

LIST_HINTS: dict[CacheableMethod, CacheHint] = dict.fromkeys(
    ("tools/list", "prompts/list", "resources/list", "resources/templates/list"), LIST_HINT
)


def is_static_resource(uri: str) -> bool:
    """The catalog, each category (``insights://score-categories/...``) and the indicators."""
    return uri in (CATALOG_URI, INDICATORS_URI) or uri.startswith(CATALOG_URI + "/")


async def static_resource_hints(
    ctx: ServerRequestContext[Any, Any], call_next: CallNext
) -> HandlerResult:
    """Server middleware: a public, hour-long hint on reads of static resources."""
    result = await call_next(ctx)
    if (
        ctx.method == "resources/read"
        and ctx.protocol_version in MODERN_PROTOCOL_VERSIONS
        and isinstance(result, dict)
        and is_static_resource(str((ctx.params or {}).get("uri", "")))
    ):
        result = {
            **result,
            "ttlMs": STATIC_RESOURCE_HINT.ttl_ms,
            "cacheScope": STATIC_RESOURCE_HINT.scope,
        }
    return result
