"""Regenerate ``insights-openapi.json``: the structure of the shared LaunchDarkly contract.

Keeps the paths with every operation (operationId; parameters' name, in, required, schema;
request bodies; responses with their schemas), the schemas reachable from them (type,
required, enum, properties, items, $ref, additionalProperties, format and composition
keywords) and the security schemes. Drops descriptions, examples, summaries and tags.

Usage, from the repository root::

    python tests/contract/vendor_contract.py            # rewrite the vendored file
    python tests/contract/vendor_contract.py --check    # exit 1 if it is out of date

The source defaults to ``../shared/launchdarkly/insights-openapi.json`` beside the repository;
pass ``--source PATH`` to use another copy.
"""

from __future__ import annotations

import argparse
import json
import re
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_SOURCE = REPO.parent / "shared" / "launchdarkly" / "insights-openapi.json"
TARGET = HERE / "insights-openapi.json"

METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")
SCHEMA_KEYS = (
    "type",
    "format",
    "required",
    "enum",
    "nullable",
    "$ref",
    "items",
    "properties",
    "additionalProperties",
    "allOf",
    "oneOf",
    "anyOf",
    "not",
)
_REF = re.compile(r"#/components/schemas/([^\"/]+)")


def schema(node: Any) -> Any:
    """A schema reduced to its structural keywords."""
    if not isinstance(node, dict):
        return node
    kept: dict[str, Any] = {}
    for key in SCHEMA_KEYS:
        if key not in node:
            continue
        value = node[key]
        if key == "properties":
            kept[key] = {name: schema(sub) for name, sub in value.items()}
        elif key in ("items", "not") or (key == "additionalProperties" and isinstance(value, dict)):
            kept[key] = schema(value)
        elif key in ("allOf", "oneOf", "anyOf"):
            kept[key] = [schema(sub) for sub in value]
        else:
            kept[key] = value
    return kept


def content(node: dict[str, Any]) -> dict[str, Any]:
    return {media: {"schema": schema(body["schema"])} for media, body in node.items()}


def operation(op: dict[str, Any]) -> dict[str, Any]:
    kept: dict[str, Any] = {"operationId": op["operationId"]}
    if "parameters" in op:
        kept["parameters"] = [
            {
                "name": p["name"],
                "in": p["in"],
                **({"required": p["required"]} if "required" in p else {}),
                "schema": schema(p.get("schema", {})),
            }
            for p in op["parameters"]
        ]
    if "requestBody" in op:
        body = op["requestBody"]
        kept["requestBody"] = {
            **({"required": body["required"]} if "required" in body else {}),
            "content": content(body["content"]),
        }
    kept["responses"] = {
        status: ({"content": content(r["content"])} if "content" in r else {})
        for status, r in op["responses"].items()
    }
    return kept


def reachable(paths: dict[str, Any], schemas: dict[str, Any]) -> set[str]:
    found: set[str] = set()
    pending = set(_REF.findall(json.dumps(paths)))
    while pending:
        name = pending.pop()
        if name in found:
            continue
        found.add(name)
        pending |= set(_REF.findall(json.dumps(schemas[name]))) - found
    return found


def vendor(source: dict[str, Any]) -> dict[str, Any]:
    paths = {
        path: {m: operation(op) for m, op in item.items() if m in METHODS}
        for path, item in source["paths"].items()
    }
    all_schemas = {n: schema(s) for n, s in source["components"]["schemas"].items()}
    keep = reachable(paths, all_schemas)
    schemes = {
        name: {k: v for k, v in scheme.items() if k in ("type", "in", "name", "scheme")}
        for name, scheme in source["components"].get("securitySchemes", {}).items()
    }
    return {
        "openapi": source["openapi"],
        "info": {"title": source["info"]["title"], "version": source["info"]["version"]},
        "security": source.get("security", []),
        "paths": paths,
        "components": {
            "schemas": {name: all_schemas[name] for name in sorted(keep)},
            "securitySchemes": schemes,
        },
    }


def render(source: Path) -> str:
    return json.dumps(vendor(json.loads(source.read_text())), indent=1, sort_keys=True) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--source", type=Path, default=DEFAULT_SOURCE)
    parser.add_argument("--check", action="store_true", help="only check the vendored file")
    args = parser.parse_args()
    text = render(args.source)
    if args.check:
        current = TARGET.read_text() if TARGET.exists() else ""
        if current != text:
            print(f"{TARGET} is out of date; run {Path(__file__).name}", file=sys.stderr)
            return 1
        return 0
    TARGET.write_text(text)
    print(f"wrote {TARGET.relative_to(REPO)} from {args.source}", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
