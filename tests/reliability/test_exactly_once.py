"""Creates are exactly-once: whatever the fault, the emulator ends with one group."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import pytest
from mcp import Client

from ld_insights_mcp.emulator import Emulator, Fault

from ..mcp_helpers import structured, text_of

pytestmark = pytest.mark.anyio

SEQUENCES = {
    "lost-answer-500": [Fault(status=500, after_handling=True)],
    "lost-answer-reset": [Fault(reset=True, after_handling=True)],
    "lost-answer-timeout": [Fault(delay=3.0, after_handling=True)],
    "rejected-503": [Fault(status=503)],
    "reset-before-handling": [Fault(reset=True)],
    "rate-limited-twice": [
        Fault(status=429, headers={"Retry-After": "0"}),
        Fault(status=429, headers={"Retry-After": "0"}),
    ],
    "lost-then-rejected": [Fault(status=500, after_handling=True), Fault(status=503)],
    "empty-201": [Fault(status=201, body=b"", after_handling=True)],
}


@pytest.mark.parametrize("name", list(SEQUENCES))
async def test_create_ends_with_exactly_one_group(
    network_server: Callable[..., Any], emulator: Emulator, name: str
) -> None:
    project = emulator.projects()[0]
    emulator.faults.push("createInsightGroup", *SEQUENCES[name])
    arguments = {
        "name": f"Squad {name}",
        "key": f"squad-{name}",
        "project_key": project.key,
        "environment_key": project.environments[0],
    }
    async with Client(network_server(read_timeout=1.0)) as client:
        result = await client.call_tool("create_insight_group", arguments)
    matching = [k for k in emulator.store.insight_groups if k == arguments["key"]]
    assert len(matching) == 1, text_of(result)
    data = structured(result)
    assert data["group"]["key"] == arguments["key"]
    handled_posts = [
        r for r in emulator.requests if r.operation_id == "createInsightGroup" and r.status == 201
    ]
    assert len(handled_posts) <= 1


async def test_refused_connection_is_retried_and_reported_without_creating(
    emulator: Emulator,
) -> None:
    from ld_insights_mcp.server import create_server

    from ..conftest import make_settings
    from ..processes import free_port

    server = create_server(make_settings(base_uri=f"http://127.0.0.1:{free_port()}", max_retries=2))
    async with Client(server) as client:
        result = await client.call_tool(
            "create_insight_group",
            {"name": "N", "key": "n", "project_key": "p", "environment_key": "e"},
        )
    assert result.is_error
    assert "Could not reach LaunchDarkly" in text_of(result)
    assert emulator.requests == []
