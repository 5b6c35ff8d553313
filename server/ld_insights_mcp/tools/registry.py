"""Registering tools: annotations required, write tools skipped in read-only mode."""

from __future__ import annotations

import inspect
from collections.abc import Callable
from typing import Any, NamedTuple

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
SCOPE_NOT_FOUND = "check project_key and environment_key; list_insight_groups shows keys in use"


class Tool(NamedTuple):
    """A tool: its function (whose docstring is its description), title, hints and ``_meta``
    (e.g. the MCP Apps view it renders in)."""

    fn: Callable[..., Any]
    title: str
    annotations: ToolAnnotations = READ
    meta: dict[str, Any] | None = None


def add_tool(server: MCPServer, tool: Tool, *, read_only: bool) -> None:
    """Register ``tool`` unless it writes and the server is read-only (decided by its hint)."""
    if read_only and tool.annotations.read_only_hint is not True:
        return
    server.add_tool(
        tool.fn,
        title=tool.title,
        description=inspect.cleandoc(tool.fn.__doc__ or ""),
        annotations=tool.annotations,
        meta=tool.meta,
        structured_output=True,
    )


def tool_result(model: BaseModel, text: str) -> CallToolResult:
    """Structured content for programs, compact text for the model; an answer partly from the
    read cache says how old (``(cached, 42 s old)``, ``cache_age_seconds``)."""
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
    fields = (
        ("project_key", "LD_PROJECT", project),
        ("environment_key", "LD_ENVIRONMENT", environment),
    )
    raise ToolError(
        _required([(field, variable) for field, variable, chosen in fields if not chosen])
    )


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
