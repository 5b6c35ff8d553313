"""What a client cannot grow: metric series and the memory they hold; Redis under a steady
varied load."""

from __future__ import annotations

import secrets
from pathlib import Path

import anyio
import pytest
from mcp import Client

from .conftest import Replicas, metric_samples

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(300)]


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


async def test_random_tool_names_add_no_metric_series(replicas: Replicas) -> None:
    """Label values come from closed sets: 2,000 calls to tools that do not exist, each with
    a new name, leave the number of series where one such call left it."""
    (replica,) = replicas.start(1)
    async with Client(replica.url, cache=None) as client:
        assert not (await client.call_tool("list_insight_groups", {"limit": 1})).is_error
        assert (await client.call_tool("no_such_tool", {})).is_error
        before = metric_samples(replica.get("/metrics").text)
        rss_before = _rss_kb(replica.process.pid)
        with anyio.fail_after(240):
            for _ in range(2_000):
                name = f"t{secrets.token_hex(6)}"
                assert (await client.call_tool(name, {"x": 1})).is_error
    after = metric_samples(replica.get("/metrics").text)
    print(
        f"\nseries {len(before)} -> {len(after)}; RSS {rss_before} -> "
        f"{_rss_kb(replica.process.pid)} kB"
    )
    assert set(after) == set(before)
    calls = ("ld_insights_tool_calls_total", (("outcome", "error"), ("tool", "unknown")))
    assert after[calls] == before[calls] + 2_000
