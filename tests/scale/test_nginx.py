"""Three replicas behind nginx on one Redis: load, a graceful stop and a crash mid-run."""

from __future__ import annotations

import json
import signal
from collections.abc import Callable

import anyio
import httpx
import pytest
from mcp import Client

from tests.support import Emulator

from ..processes import HANDSHAKE
from .conftest import Replica, Replicas, scale

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(240)]
SCOPE = {"project_key": "mobile-app", "environment_key": "production"}


async def _load_with(
    url: str, calls: int, clients: int, at: int, action: Callable[[], None], plan: object = None
) -> scale.LoadResult:
    fired = False

    def progress(done: int) -> None:
        nonlocal fired
        if done >= at and not fired:
            fired = True
            action()

    kwargs = {"plan": plan} if plan is not None else {}
    with anyio.fail_after(180):
        return await scale.run_load(
            url, calls=calls, clients=clients, on_progress=progress, **kwargs
        )


async def test_a_thousand_calls_at_a_hundred_clients_through_nginx_and_a_graceful_stop(
    replicas: Replicas, nginx: Callable[[list[Replica]], str], upstream: tuple[Emulator, str]
) -> None:
    emulator, _ = upstream
    group = replicas.start(3)
    url = nginx(group)
    result = await _load_with(url, 1000, 100, 10**9, lambda: None)
    assert result.errors == [], result.errors[:3]
    assert result.calls == 1000
    print("\nthrough nginx:", json.dumps(result.summary()))
    reads = scale.cache_figures([r.port for r in group])
    print("cache reads over the replicas:", reads, "upstream requests:", len(emulator.requests))
    assert reads["miss"] == len(emulator.requests), (reads, len(emulator.requests))
    assert reads["miss"] <= 8  # 4 distinct reads, about one request each

    # SIGTERM to one replica mid-run: nginx moves on, its calls in flight finish, exit 0
    stopping = group[1]
    result = await _load_with(
        url, 300, 50, 60, lambda: stopping.process.send_signal(signal.SIGTERM)
    )
    assert result.errors == [], result.errors[:3]
    assert result.calls == 300
    assert stopping.process.wait(timeout=60) == 0


async def test_a_crashed_replica_fails_only_its_calls_in_flight_and_duplicates_no_create(
    replicas: Replicas, nginx: Callable[[list[Replica]], str], upstream: tuple[Emulator, str]
) -> None:
    emulator, _ = upstream
    group = replicas.start(3)
    url = nginx(group)
    plan = [
        ("list_insight_groups", {}),
        ("create_insight_group", lambda n: {"name": f"Load {n}", "key": f"load-{n}", **SCOPE}),
    ]
    crashed = group[2]
    result = await _load_with(url, 300, 30, 80, lambda: crashed.process.kill(), plan)
    assert result.calls == 300
    # only calls in flight on the crashed replica can fail: at most one per client
    assert len(result.errors) <= 30, result.errors[:3]
    assert len(result.latencies) == 300 - len(result.errors)
    posts: dict[str, int] = {}
    for request in emulator.requests:
        # a create whose body the killed replica never finished sending was never handled
        if request.operation_id == "createInsightGroup" and not request.cut_short:
            key = json.loads(request.body)["key"]
            posts[key] = posts.get(key, 0) + 1
    assert posts, "no create reached the emulator"
    assert max(posts.values()) == 1  # no create sent twice
    assert all(key in emulator.store.insight_groups for key in posts if posts[key])


async def test_every_2025_handshake_session_through_nginx_stays_on_its_replica(
    replicas: Replicas, nginx: Callable[[list[Replica]], str]
) -> None:
    """30 sessions of the SDK's client in legacy mode (initialize, then each request with
    Mcp-Session-Id) through nginx to 3 healthy replicas: every one succeeds, and the
    sessions are spread over the replicas."""
    group = replicas.start(3)
    url = nginx(group)
    outcomes: list[str] = []

    async def session(n: int) -> None:
        try:
            async with Client(url, mode="legacy", cache=None) as client:
                result = await client.call_tool("list_insight_groups", {"limit": 1 + n % 3})
                tools = await client.list_tools()
            outcomes.append("ok" if not result.is_error and tools.tools else "tool error")
        except Exception as exc:
            outcomes.append(f"{type(exc).__name__}: {exc}"[:200])

    with anyio.fail_after(120):
        async with anyio.create_task_group() as tasks:
            for n in range(30):
                tasks.start_soon(session, n)
    failed = [o for o in outcomes if o != "ok"]
    print(f"\nlegacy sessions through nginx: {outcomes.count('ok')} of {len(outcomes)}")
    assert failed == [], failed[:3]
    accept = {"accept": "application/json, text/event-stream"}
    ids = [
        httpx.post(url, json=HANDSHAKE[0], headers=accept, timeout=15).headers["mcp-session-id"]  # noqa: ASYNC210
        for _ in range(6)
    ]
    holders = {i.split(".", 1)[0] for i in ids}
    assert holders <= {r.name for r in group}, ids
    assert len(holders) >= 2, ids  # initialize is spread; each session then stays put
