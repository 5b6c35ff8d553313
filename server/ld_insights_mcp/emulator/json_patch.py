"""JSON Patch (RFC 6902) with JSON Pointers (RFC 6901), limited to some top-level members.

``patched`` applies add, remove, replace, move, copy and test to a copy of the document.
"""

from __future__ import annotations

import copy
import re
from collections.abc import Collection
from typing import Any

from ld_insights_mcp.emulator.errors import invalid, patch_failed

_INDEX = re.compile(r"0|[1-9][0-9]*")
OPERATIONS = ("add", "remove", "replace", "move", "copy", "test")


class PatchFailure(Exception):
    """A well-formed patch that cannot be applied."""


def _operations(value: Any) -> list[dict[str, Any]]:
    """The body as a JSON Patch document (the contract's ``JSONPatch``), else a 400."""
    if not isinstance(value, list):
        raise invalid("body", "the body must be a JSON Patch array of operations")
    for position, op in enumerate(value):
        if not isinstance(op, dict):
            raise invalid("body", f"operation {position} must be an object")
        for member in ("op", "path"):
            if not isinstance(op.get(member), str):
                raise invalid("body", f"operation {position} needs a string {member!r}")
    return value


def patched(
    body: Any, document: dict[str, Any], *, allowed: Collection[str], unprocessable: bool = False
) -> dict[str, Any]:
    """The copy of ``document`` patched by the request ``body``; a patch that cannot be applied
    is a 400 naming its path, or a 422 when ``unprocessable``."""
    result = copy.deepcopy(document)
    for op in _operations(body):
        try:
            _apply_one(result, op, allowed)
        except PatchFailure as failure:
            if unprocessable:
                raise patch_failed(f"Could not apply patch: {failure}") from None
            raise invalid(op["path"] or "body", f"could not apply patch: {failure}") from None
    return result


def _pointer(path: str, allowed: Collection[str]) -> list[str]:
    if not path.startswith("/"):
        raise PatchFailure(f"path {path!r} is not a JSON Pointer")
    tokens = [t.replace("~1", "/").replace("~0", "~") for t in path[1:].split("/")]
    if tokens[0] not in allowed:
        raise PatchFailure(f"path {path!r} cannot be patched; allowed: {', '.join(allowed)}")
    return tokens


def _same(left: Any, right: Any) -> bool:
    """JSON equality (``true`` is not ``1``)."""
    if isinstance(left, bool) or isinstance(right, bool):
        return type(left) is type(right) and left == right
    if isinstance(left, dict) and isinstance(right, dict):
        return left.keys() == right.keys() and all(_same(left[k], right[k]) for k in left)
    if isinstance(left, list) and isinstance(right, list):
        return len(left) == len(right) and all(map(_same, left, right))
    return bool(left == right)


def _child(node: Any, token: str, path: str) -> Any:
    if isinstance(node, dict) and token in node:
        return node[token]
    if isinstance(node, list) and _INDEX.fullmatch(token) and int(token) < len(node):
        return node[int(token)]
    raise PatchFailure(f"path {path!r} does not exist")


def _parent(document: dict[str, Any], tokens: list[str], path: str) -> Any:
    node: Any = document
    for token in tokens[:-1]:
        node = _child(node, token, path)
    return node


def _get(document: dict[str, Any], tokens: list[str], path: str) -> Any:
    return _child(_parent(document, tokens, path), tokens[-1], path)


def _add(document: dict[str, Any], tokens: list[str], path: str, value: Any) -> None:
    parent, last = _parent(document, tokens, path), tokens[-1]
    if isinstance(parent, dict):
        parent[last] = value
    elif isinstance(parent, list) and last == "-":
        parent.append(value)
    elif isinstance(parent, list) and _INDEX.fullmatch(last) and int(last) <= len(parent):
        parent.insert(int(last), value)
    else:
        raise PatchFailure(f"cannot add at {path!r}")


def _remove(document: dict[str, Any], tokens: list[str], path: str) -> Any:
    parent, last = _parent(document, tokens, path), tokens[-1]
    value = _child(parent, last, path)
    del parent[last if isinstance(parent, dict) else int(last)]
    return value


def _apply_one(result: dict[str, Any], op: dict[str, Any], allowed: Collection[str]) -> None:
    kind, path = op["op"], op["path"]
    if kind not in OPERATIONS:
        raise PatchFailure(f"unsupported op {kind!r}; use one of {', '.join(OPERATIONS)}")
    tokens = _pointer(path, allowed)
    if kind in ("add", "replace", "test") and "value" not in op:
        raise PatchFailure(f"{kind} at {path!r} needs a value")
    if kind == "add":
        _add(result, tokens, path, copy.deepcopy(op["value"]))
    elif kind == "remove":
        _remove(result, tokens, path)
    elif kind == "replace":
        _remove(result, tokens, path)
        _add(result, tokens, path, copy.deepcopy(op["value"]))
    elif kind == "test":
        if not _same(_get(result, tokens, path), op["value"]):
            raise PatchFailure(f"test failed at {path!r}")
    else:
        source = op.get("from")
        if not isinstance(source, str):
            raise PatchFailure(f"{kind} to {path!r} needs a string 'from'")
        source_tokens = _pointer(source, allowed)
        if kind == "copy":
            _add(result, tokens, path, copy.deepcopy(_get(result, source_tokens, source)))
        elif path.startswith(source + "/"):
            raise PatchFailure(f"cannot move {source!r} into itself")
        else:
            _add(result, tokens, path, _remove(result, source_tokens, source))
