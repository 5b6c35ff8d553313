"""Strict tool arguments: unknown names refused, validation errors made readable."""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import ValidationError

_MAX_SHOWN = 60


class StrictArgumentsServer(MCPServer[Any]):
    """An ``MCPServer`` whose tools refuse unknown arguments and explain bad ones briefly.

    A misspelt optional argument would otherwise be ignored silently and the call would
    answer a different question than the one asked.
    """

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        allowed = await self._argument_names(name)
        if allowed is not None:
            unknown = sorted(set(arguments) - allowed)
            if unknown:
                raise ToolError(
                    f"Invalid arguments for {name}: unknown argument(s) "
                    f"{', '.join(map(repr, unknown))}. Allowed: {', '.join(sorted(allowed))}."
                )
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                raise ToolError(readable_validation_error(name, cause)) from cause
            raise

    _argument_cache: dict[str, set[str]] | None = None

    async def _argument_names(self, name: str) -> set[str] | None:
        """Each tool's argument names, read once from the registered tools."""
        if self._argument_cache is None:
            self._argument_cache = {
                tool.name: set(tool.input_schema.get("properties", {}))
                for tool in await self.list_tools()
            }
        return self._argument_cache.get(name)


def readable_validation_error(tool: str, error: ValidationError) -> str:
    """``Invalid arguments for t: limit: Input should be <= 20 (got 99).`` and a fix hint."""
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "arguments"
        shown = ""
        if item["type"] != "missing":
            value = repr(item.get("input"))
            if len(value) > _MAX_SHOWN:
                value = value[:_MAX_SHOWN] + f"... ({len(value)} chars)"
            shown = f" (got {value})"
        problems.append(f"{field}: {item['msg']}{shown}")
    return (
        f"Invalid arguments for {tool}: {'; '.join(problems)}. "
        "Fix these fields as the tool's input schema describes and call again."
    )
