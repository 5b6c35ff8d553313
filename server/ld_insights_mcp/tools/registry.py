"""Registering tools: annotations required, write tools skipped in read-only mode."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, TextContent, ToolAnnotations
from pydantic import BaseModel

from ld_insights_mcp.config import Settings
from ld_insights_mcp.launchdarkly.cache import current_reads

READ = ToolAnnotations(
    read_only_hint=True, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
CREATE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=False, open_world_hint=True
)


def add_tool(
    server: MCPServer,
    fn: Callable[..., Any],
    *,
    title: str,
    annotations: ToolAnnotations,
    read_only: bool,
    meta: dict[str, Any] | None = None,
) -> None:
    """Register ``fn`` unless it writes and the server is read-only (decided by its hint).

    ``meta`` becomes the tool's ``_meta`` (e.g. the MCP Apps view it renders in).
    """
    if read_only and annotations.read_only_hint is not True:
        return
    server.add_tool(
        fn,
        title=title,
        description=inspect.cleandoc(fn.__doc__ or ""),
        annotations=annotations,
        meta=meta,
        structured_output=True,
    )


def tool_result(model: BaseModel, text: str) -> CallToolResult:
    """Structured content for programs, compact text for the model.

    When part of the answer came from the read cache, both say how old it is (the oldest
    part): a first text line ``(cached, 42 s old)`` and ``cache_age_seconds``.
    """
    content = model.model_dump(mode="json")
    reads = current_reads()
    if reads is not None and reads.oldest_hit_age is not None:
        age = int(reads.oldest_hit_age)
        text = f"(cached, {age} s old)\n{text}"
        content["cache_age_seconds"] = age
    return CallToolResult(content=[TextContent(type="text", text=text)], structured_content=content)


def resolve_project(settings: Settings, project_key: str | None) -> str:
    """The project argument, else ``LD_PROJECT``, else a clear error."""
    return resolve_default(
        project_key, settings.project, field="project_key", variable="LD_PROJECT"
    )


def resolve_scope(
    settings: Settings, project_key: str | None, environment_key: str | None
) -> tuple[str, str]:
    """Project and environment from the arguments, else ``LD_PROJECT``/``LD_ENVIRONMENT``; a
    clear error naming every one missing."""
    project = project_key or settings.project
    environment = environment_key or settings.environment
    if project and environment:
        return project, environment
    missing = [
        (field, variable)
        for field, variable, chosen in (
            ("project_key", "LD_PROJECT", project),
            ("environment_key", "LD_ENVIRONMENT", environment),
        )
        if not chosen
    ]
    raise ToolError(_required(missing))


def resolve_default(value: str | None, default: str | None, *, field: str, variable: str) -> str:
    """The argument, else the server's configured default, else a clear error."""
    chosen = value or default
    if not chosen:
        raise ToolError(_required([(field, variable)]))
    return chosen


def _required(missing: list[tuple[str, str]]) -> str:
    """``project_key and environment_key are required: pass them, or ...``."""
    fields = " and ".join(field for field, _ in missing)
    variables = " and ".join(variable for _, variable in missing)
    verb, them = ("are", "them") if len(missing) > 1 else ("is", "it")
    return (
        f"{fields} {verb} required: pass {them}, or start the server with {variables} set. "
        "list_insight_groups shows the project and environment keys in use."
    )
