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


_APPLIES_TO_NULL = frozenset(
    {"enum", "const", "allOf", "anyOf", "oneOf", "not", "$ref", "if", "then", "else"}
)
"""Keywords that could refuse ``null``: a branch with any of them keeps its ``anyOf``."""


def flat_output_schema(schema: dict[str, Any]) -> dict[str, Any]:
    """A copy of an output schema that a validating client checks cheaply, same meaning.

    ``$ref``s to ``$defs`` are inlined (a recursive one stays a reference, with its
    definitions), and ``anyOf [X, null]`` becomes ``X`` with ``type: [x, "null"]`` (and
    ``null`` added to its ``enum``) where X has a single type and nothing else that could
    refuse ``null``.
    """
    defs = schema.get("$defs", {})
    kept: set[str] = set()

    def walk(node: Any, seen: tuple[str, ...]) -> Any:
        if isinstance(node, list):
            return [walk(item, seen) for item in node]
        if not isinstance(node, dict):
            return node
        ref = node.get("$ref")
        if isinstance(ref, str) and ref.startswith("#/$defs/") and len(node) == 1:
            name = ref.removeprefix("#/$defs/")
            if name in seen or name not in defs:
                kept.add(name)
                return node
            return walk(defs[name], (*seen, name))
        flat = {key: walk(value, seen) for key, value in node.items() if key != "$defs"}
        branches = flat.get("anyOf")
        if isinstance(branches, list) and len(branches) == 2 and _NULL in branches:
            other = branches[0] if branches[1] == _NULL else branches[1]
            enum = other.get("enum")
            if isinstance(other.get("type"), str) and not _APPLIES_TO_NULL & (
                set(other) - {"enum"}
            ):
                del flat["anyOf"]
                flat = {**other, **flat, "type": [other["type"], "null"]}
                if isinstance(enum, list):
                    flat["enum"] = [*enum, None]
        return flat

    flat = walk(schema, ())
    if kept:
        flat["$defs"] = {name: defs[name] for name in sorted(kept) if name in defs}
    return dict(flat)
