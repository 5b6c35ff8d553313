"""Regenerate ``insights-openapi.json`` from the shared contract, keeping structure only.

Usage: ``python tests/contract/vendor_contract.py [path/to/insights-openapi.json]`` (default:
``../shared/launchdarkly/insights-openapi.json`` beside the repository).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).parent
DEFAULT_SOURCE = HERE.parents[2] / "shared" / "launchdarkly" / "insights-openapi.json"
DROP = {"description", "example", "examples", "summary", "externalDocs", "x-readme", "tags"}


NAME_MAPS = {"properties", "paths", "responses", "content", "schemas"}
"""Keys whose children are names (a property called ``description`` must survive)."""


def strip(node: Any, *, names: bool = False) -> Any:
    if isinstance(node, dict):
        return {
            k: strip(v, names=k in NAME_MAPS and not names)
            for k, v in node.items()
            if names or k not in DROP
        }
    if isinstance(node, list):
        return [strip(item) for item in node]
    return node


def vendor(source: Path) -> dict[str, Any]:
    spec = json.loads(source.read_text())
    return {
        "openapi": spec["openapi"],
        "info": {"title": spec["info"]["title"], "version": spec["info"]["version"]},
        "paths": strip(spec["paths"], names=True),
        "components": {
            "schemas": strip(spec["components"]["schemas"], names=True),
            "securitySchemes": strip(spec["components"].get("securitySchemes", {})),
        },
        "security": spec.get("security", []),
    }


def main() -> None:
    source = Path(sys.argv[1]) if len(sys.argv) > 1 else DEFAULT_SOURCE
    reduced = vendor(source)
    target = HERE / "insights-openapi.json"
    target.write_text(json.dumps(reduced, indent=1, sort_keys=True) + "\n")
    print(f"wrote {target} from {source}", file=sys.stderr)


if __name__ == "__main__":
    main()
