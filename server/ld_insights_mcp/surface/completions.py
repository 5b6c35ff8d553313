"""Completions for prompt and resource-template arguments, from live data."""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Iterable
from typing import TYPE_CHECKING

from mcp.server import MCPServer
from mcp.types import (
    Completion,
    CompletionArgument,
    CompletionContext,
    PromptReference,
    ResourceTemplateReference,
)

from ld_insights_mcp.launchdarkly import LaunchDarklyError
from ld_insights_mcp.launchdarkly.vocabulary import KEY_MAX_LENGTH, KEY_PATTERN, SCORE_CATEGORIES
from ld_insights_mcp.state import AppState, request_app_state

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.models import InsightGroup

logger = logging.getLogger(__name__)

KEY = re.compile(KEY_PATTERN)
MAX_VALUES = 100
GROUPS_TTL_SECONDS = 30.0
MAX_GROUPS_SCANNED = 200


class _GroupsCache:
    """Insight groups, re-read at most every ``GROUPS_TTL_SECONDS``: completions fire per
    keystroke and must not hammer a rate-limited API."""

    def __init__(self) -> None:
        self._groups: list[InsightGroup] = []
        self._read_at = float("-inf")

    async def groups(self, state: AppState) -> list[InsightGroup]:
        if time.monotonic() - self._read_at > GROUPS_TTL_SECONDS:
            client = state.client
            self._groups = [
                g async for g in client.iter_insight_groups(max_items=MAX_GROUPS_SCANNED)
            ]
            self._read_at = time.monotonic()
        return self._groups


def register_completions(server: MCPServer) -> None:
    """Register the completion handler. It reads the asking session's state through
    ``request_app_state()``: the server must carry the ``bind_app_state`` middleware."""
    cache = _GroupsCache()

    @server.completion()  # type: ignore[untyped-decorator, no-untyped-call]
    async def complete(
        ref: PromptReference | ResourceTemplateReference,
        argument: CompletionArgument,
        context: CompletionContext | None,
    ) -> Completion | None:
        known = dict(context.arguments or {}) if context and context.arguments else {}
        try:
            values = await _candidates(request_app_state(), cache, argument.name, known)
        except (LaunchDarklyError, LookupError) as exc:
            logger.info("completion for %s unavailable: %s", argument.name, exc)
            return None
        if values is None:
            return None
        return _matching(values, argument.value)


async def _candidates(
    state: AppState, cache: _GroupsCache, name: str, known: dict[str, str]
) -> list[str] | None:
    if name == "category":
        return list(SCORE_CATEGORIES)
    if name in ("project_key", "environment_key", "group_key", "application_keys"):
        groups = await cache.groups(state)
        project = known.get("project_key")
        if name == "project_key":
            return _unique(g.project_key for g in groups)
        in_project = [g for g in groups if project is None or g.project_key == project]
        if name == "environment_key":
            return _unique(g.environment_key for g in in_project)
        if name == "group_key":
            return _unique(g.key for g in in_project)
        return _unique(app for g in in_project for app in g.application_keys)
    if name == "metric_group_key":
        project = known.get("project_key") or state.settings.project
        if not project:
            return []
        client = state.client
        return _unique(
            [g.key async for g in client.iter_metric_groups(project, max_items=MAX_GROUPS_SCANNED)]
        )
    return None


def _unique(values: Iterable[str]) -> list[str]:
    """Sorted distinct values that are valid keys: a value LaunchDarkly sent that is not one
    (a line break, a bidi override) would be refused by the tools, and could forge lines in
    the prompt it is filled into."""
    return sorted(v for v in set(values) if len(v) <= KEY_MAX_LENGTH and KEY.fullmatch(v))


def _matching(values: list[str], typed: str) -> Completion:
    typed_lower = typed.lower()
    starts = [v for v in values if v.lower().startswith(typed_lower)]
    contains = [v for v in values if typed_lower in v.lower() and v not in starts]
    found = starts + contains
    return Completion(values=found[:MAX_VALUES], total=len(found), has_more=len(found) > MAX_VALUES)
