"""Strict tool arguments: unknown names and wrong JSON types refused, errors made readable."""

from __future__ import annotations

import json
import unicodedata
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult
from mcp.types import Tool as MCPTool
from pydantic import ValidationError
from pydantic_core import InitErrorDetails, PydanticCustomError

from ld_insights_mcp.surface.schemas import compact_input_schema, flat_output_schema
from ld_insights_mcp.text import plural

_MAX_SHOWN = 60
"""The most characters of one argument name or value echoed in an error."""
_MAX_NAMES = 5
"""The most unknown argument names echoed."""

_EXPECTED = {
    "integer": "an integer (a JSON number without quotes or decimal point)",
    "number": "a number (a JSON number without quotes)",
    "boolean": "a boolean (true or false, without quotes)",
    "string": "a string (JSON text in double quotes)",
    "array": 'an array (a JSON list such as ["a", "b"], not a string holding JSON)',
    "object": "an object (a JSON object, not a string holding JSON)",
}


class StrictArgumentsServer(MCPServer[Any]):
    """An ``MCPServer`` whose tools refuse unknown arguments (a misspelt one would be ignored)
    and wrong JSON types (a coerced ``"5"`` or ``"yes"`` answers another question), briefly."""

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> CallToolResult | InputRequiredResult:
        properties = await self._argument_schemas(name)
        if properties is not None:
            unknown = sorted(set(arguments) - set(properties))
            if unknown:
                named = ", ".join(_shown(n) for n in unknown[:_MAX_NAMES])
                if len(unknown) > _MAX_NAMES:
                    named += f" and {len(unknown) - _MAX_NAMES} more"
                raise ToolError(
                    f"Invalid arguments for {name}: {plural(len(unknown), 'unknown argument')}, "
                    f"{named}. "
                    f"Allowed: {', '.join(sorted(properties))}."
                )
            wrong = type_errors(properties, arguments)
            if wrong is not None:
                raise ToolError(readable_validation_error(name, wrong)) from wrong
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            cause = exc.__cause__
            if isinstance(cause, ValidationError):
                raise ToolError(readable_validation_error(name, cause)) from cause
            raise

    _schema_cache: dict[str, dict[str, Any]] | None = None
    _published: tuple[tuple[int, ...], list[MCPTool]] | None = None

    async def list_tools(self) -> list[MCPTool]:
        """The tools with compact input schemas and flat output schemas (see ``schemas``);
        computed once per tool set."""
        tools = await super().list_tools()
        identity = tuple(id(t.input_schema) for t in tools)  # the SDK reuses each schema
        if self._published is None or self._published[0] != identity:
            compact = [
                t.model_copy(
                    update={
                        "input_schema": compact_input_schema(t.input_schema),
                        "output_schema": t.output_schema and flat_output_schema(t.output_schema),
                    }
                )
                for t in tools
            ]
            self._published = (identity, compact)
        return self._published[1]

    async def _argument_schemas(self, name: str) -> dict[str, Any] | None:
        """Each tool's property schemas, read once from the registered tools."""
        if self._schema_cache is None:
            self._schema_cache = {
                tool.name: dict(tool.input_schema.get("properties", {}))
                for tool in await super().list_tools()
            }
        return self._schema_cache.get(name)


def json_types(schema: dict[str, Any]) -> set[str]:
    """The JSON types a property schema admits (empty when it does not say)."""
    declared = schema.get("type")
    found = {declared} if isinstance(declared, str) else set(declared or ())
    for branch in schema.get("anyOf", []) + schema.get("oneOf", []):
        found |= json_types(branch)
    return found


def json_type(value: Any) -> str:
    """The JSON type of a decoded JSON value."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    return "array" if isinstance(value, list) else "object"


def type_errors(properties: dict[str, Any], arguments: dict[str, Any]) -> ValidationError | None:
    """Top-level arguments whose JSON type the schema does not admit, as a ``ValidationError``.

    Checked before the SDK validates, because the SDK decodes a JSON string sent for a
    non-string argument (``"[\\"a\\"]"`` becomes a list) and would accept it.
    """
    details: list[InitErrorDetails] = []
    for field, value in arguments.items():
        allowed = json_types(properties.get(field, {}))
        actual = json_type(value)
        if (
            actual == "string"
            and "string" in allowed
            and len(allowed) > 1
            and _decodes_to_non_scalar(value)
        ):
            message = (
                "text that reads as JSON null, an array or an object is ambiguous here; "
                "omit the argument to use the default, or send the value itself"
            )
        elif not allowed or actual in allowed or (actual == "integer" and "number" in allowed):
            continue
        else:
            wanted = " or ".join(_EXPECTED.get(t, t) for t in sorted(allowed) if t != "null")
            if "null" in allowed:
                wanted += ", or null to use the default"
            message = f"expected {wanted}, not {_described(actual)}{_fix(value, allowed)}"
        details.append(
            InitErrorDetails(
                type=PydanticCustomError("json_type", message), loc=(field,), input=value
            )
        )
    if not details:
        return None
    return ValidationError.from_exception_data("arguments", details)


def _decodes_to_non_scalar(text: str) -> bool:
    """True for text the SDK would decode before validation (it does so for any argument
    whose type is not plain ``str``, e.g. an optional string: ``"null"`` would become null)."""
    try:
        decoded = json.loads(text)
    except (ValueError, RecursionError):
        return False
    return decoded is None or isinstance(decoded, list | dict)


def _described(json_kind: str) -> str:
    return {"integer": "an integer", "array": "an array", "object": "an object"}.get(
        json_kind, f"a {json_kind}"
    )


def _fix(value: Any, allowed: set[str]) -> str:
    """``; send 5`` when the value is the right thing in the wrong wrapping."""
    candidate: Any = value
    if isinstance(value, str):
        try:
            candidate = json.loads(value)
        except (ValueError, RecursionError):
            return ""
    elif isinstance(value, float) and value.is_integer():
        candidate = int(value)
    else:
        return ""
    if json_type(candidate) not in allowed:
        return ""
    return f"; send {_json(candidate)}" + (" without quotes" if isinstance(value, str) else "")


def _json(value: Any) -> str:
    """JSON text with invisible and control characters escaped (they must not act on the
    reader's display)."""
    try:
        text = json.dumps(value, ensure_ascii=False)
    except (TypeError, ValueError, RecursionError):
        text = repr(value)
    return "".join(
        json.dumps(char)[1:-1] if unicodedata.category(char)[0] in "CZ" and char != " " else char
        for char in text
    )


def _shown(value: Any) -> str:
    """``value`` as JSON with invisible characters escaped, cut to ``_MAX_SHOWN`` chars."""
    text = _json(value)
    if len(text) > _MAX_SHOWN:
        text = text[:_MAX_SHOWN] + f"... ({len(text)} chars)"
    return text


def readable_validation_error(tool: str, error: ValidationError) -> str:
    """``Invalid arguments for t: limit: Input should be <= 20 (got 99).`` and a fix hint."""
    problems = []
    for item in error.errors():
        field = ".".join(str(part) for part in item["loc"]) or "arguments"
        shown = ""
        if item["type"] != "missing":
            shown = f" (got {_shown(item.get('input'))})"
        message = item["msg"].removeprefix("Value error, ")
        problems.append(f"{field}: {message}{shown}")
    return (
        f"Invalid arguments for {tool}: {'; '.join(problems)}. "
        "Fix these fields as the tool's input schema describes and call again."
    )
