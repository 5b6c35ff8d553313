"""Input schemas as a model reads them: every fact once, nothing a model cannot use.

The SDK derives each tool's input schema from its signature, with a ``title`` on every
property and an ``anyOf [X, null]`` + ``default: null`` on every optional argument. A model
pays for those bytes on every request and learns nothing from them, so the published schema
drops titles, states an optional argument as ``X`` (omit it to use the default; the server
still accepts an explicit null), and leaves string patterns and lengths to the server, which
checks them before any request and names the field and the rule in its error (descriptions
state the formats a model needs, such as YYYY-MM-DD).
"""

from __future__ import annotations

from typing import Any

_NULL = {"type": "null"}
_SERVER_CHECKED = frozenset({"title", "pattern", "minLength", "maxLength"})


def compact_input_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of ``schema`` without titles and with optional arguments stated once."""
    compact = {k: v for k, v in schema.items() if k != "title"}
    properties = schema.get("properties")
    if isinstance(properties, dict):
        compact["properties"] = {name: _compact_property(p) for name, p in properties.items()}
    return compact


def _compact_property(prop: dict[str, Any]) -> dict[str, Any]:
    compact = {k: v for k, v in prop.items() if k not in _SERVER_CHECKED}
    if isinstance(compact.get("items"), dict):
        compact["items"] = _compact_property(compact["items"])
    branches = compact.get("anyOf")
    if isinstance(branches, list) and _NULL in branches and compact.get("default") is None:
        others = [b for b in branches if b != _NULL]
        if len(others) == 1:
            del compact["anyOf"]
            compact.pop("default", None)
            compact = {**_compact_property(others[0]), **compact}
    return compact
