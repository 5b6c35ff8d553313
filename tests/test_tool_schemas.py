"""The tools/list surface is snapshotted: a change to a name, schema, annotation or
description shows up as a reviewable diff of tests/snapshots/tools_list.json.

Regenerate after an intended change: ``UPDATE_SNAPSHOTS=1 make test``.
"""

from __future__ import annotations

import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client

pytestmark = pytest.mark.anyio

SNAPSHOT = Path(__file__).parent / "snapshots" / "tools_list.json"


async def test_tools_list_matches_the_snapshot(server_factory: Callable[..., Any]) -> None:
    async with Client(server_factory()) as client:
        tools = (await client.list_tools()).tools
    current = [
        tool.model_dump(mode="json", by_alias=True, exclude_none=True)
        for tool in sorted(tools, key=lambda t: t.name)
    ]
    rendered = json.dumps(current, indent=2, sort_keys=True) + "\n"
    if os.environ.get("UPDATE_SNAPSHOTS") == "1":
        SNAPSHOT.write_text(rendered)
    assert SNAPSHOT.exists(), "no snapshot yet: run UPDATE_SNAPSHOTS=1 make test"
    assert rendered == SNAPSHOT.read_text(), (
        "tools/list changed; review the diff and run UPDATE_SNAPSHOTS=1 make test"
    )
