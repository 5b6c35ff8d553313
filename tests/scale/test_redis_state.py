"""The shared state in a real redis-server: locks that outlive no holder, tag sets that keep no
expired names, readiness that needs a working write, tags scoped by LaunchDarkly identity."""

from __future__ import annotations

import os
import signal
import time
from collections.abc import AsyncIterator

import anyio
import httpx
import pytest
from mcp import Client
from pydantic import SecretStr

from ld_insights_mcp.launchdarkly.cache import ReadCache, TtlPolicy
from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient
from ld_insights_mcp.launchdarkly.models import NewInsightGroup
from ld_insights_mcp.shared.redis_link import RedisLink
from ld_insights_mcp.shared.redis_store import RedisStore
from tests.support import Emulator, Fault

from .conftest import Redis, Replicas, metric_samples, upstream_requests

pytestmark = [pytest.mark.anyio, pytest.mark.timeout(240)]
GROUPS = "/api/v2/engineering-insights/insights/groups"


@pytest.fixture
async def link(redis: Redis) -> AsyncIterator[RedisLink]:
    shared = RedisLink(redis.url)
    try:
        yield shared
    finally:
        await shared.aclose()


async def _raw(redis: Redis) -> AsyncIterator[object]:
    from redis.asyncio import Redis as Client_

    client = Client_.from_url(redis.url)
    try:
        yield client
    finally:
        await client.aclose()


def _pause(redis: Redis) -> int:
    assert redis.process is not None
    os.kill(redis.process.pid, signal.SIGSTOP)
    return redis.process.pid


# --- 4: single-flight locks -------------------------------------------------------------------


async def test_a_lock_is_released_even_when_the_circuit_opened_while_it_was_held(
    redis: Redis, link: RedisLink
) -> None:
    """Redis stops answering for a moment while a read holds the lock (the circuit opens);
    when the read is done the lock is released all the same, so no other replica waits on
    it."""
    store = RedisStore(link)
    held, finish = anyio.Event(), anyio.Event()

    async def work() -> str:
        held.set()
        await finish.wait()
        return "fetched"

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(store.locked, "k", work)
        await held.wait()
        pid = _pause(redis)
        try:
            assert await store.get("other") is None  # times out: the circuit opens
            assert not link.up
        finally:
            os.kill(pid, signal.SIGCONT)
        finish.set()
    async for raw in _raw(redis):
        assert await raw.keys("ld-insights:lock:*") == []  # type: ignore[attr-defined]


async def test_a_reader_waits_a_few_seconds_at_most_for_a_replica_killed_holding_the_lock(
    replicas: Replicas, upstream: tuple[Emulator, str]
) -> None:
    """Replica A takes the lock for a slow read and is killed mid-read; replica B's same
    read does not wait for the dead holder's lock: it reads LaunchDarkly itself."""
    emulator, _ = upstream
    a, b = replicas.start(2)
    emulator.faults.push("getInsightGroup", Fault(delay=30.0))

    async def read(url: str) -> bool:
        async with Client(url, cache=None) as client:
            return not (await client.call_tool("get_insight_group", {"key": "ios-team"})).is_error

    async with anyio.create_task_group() as tasks:
        tasks.start_soon(_quietly, read, a.url)
        with anyio.fail_after(30):
            while emulator.in_flight == 0:  # noqa: ASYNC110 - another thread's counter
                await anyio.sleep(0.01)
        a.process.kill()
        a.process.wait()
        started = time.monotonic()
        with anyio.fail_after(8):  # the old 15 s lock made B wait ~15 s
            assert await read(b.url)
        print(f"\nread on B after A died holding the lock: {time.monotonic() - started:.2f} s")
        tasks.cancel_scope.cancel()
    assert upstream_requests(emulator, "getInsightGroup") == 2


async def _quietly(read: object, url: str) -> None:
    try:
        await read(url)  # type: ignore[operator]
    except Exception:  # the replica was killed under it
        return


async def test_calls_through_a_redis_pause_take_no_longer_than_a_few_seconds(
    replicas: Replicas, redis: Redis, upstream: tuple[Emulator, str]
) -> None:
    """Varied reads from 3 replicas (1 s cache) while Redis is stopped 0.6 s: no lock is left
    behind to stall later calls, so every call ends within a few seconds."""
    emulator, _ = upstream
    group = replicas.start(3, LD_INSIGHTS_CACHE_TTL="1")
    emulator.latency = 0.3  # reads hold their locks most of the time
    keys = sorted(emulator.store.insight_groups)[:6]
    longest = 0.0
    failures: list[str] = []
    stop_at = anyio.current_time() + 8

    async def reader(n: int) -> None:
        nonlocal longest
        async with Client(group[n % 3].url, cache=None) as client:
            i = n
            while anyio.current_time() < stop_at:
                i += 1
                began = time.monotonic()
                with anyio.fail_after(20):
                    result = await client.call_tool("get_insight_group", {"key": keys[i % 6]})
                longest = max(longest, time.monotonic() - began)
                if result.is_error:
                    failures.append(str(result.content)[:200])

    async with anyio.create_task_group() as tasks:
        for n in range(12):
            tasks.start_soon(reader, n)
        await anyio.sleep(2)
        pid = _pause(redis)
        await anyio.sleep(0.6)
        os.kill(pid, signal.SIGCONT)
    print(f"\nlongest call around a 0.6 s Redis pause: {longest:.2f} s")
    assert failures == []
    assert longest < 6, longest  # the old 15 s locks stalled calls 9-13 s


# --- 5: bounded memory ------------------------------------------------------------------------


async def test_tag_sets_keep_no_expired_names_under_a_steady_varied_load(
    redis: Redis, link: RedisLink
) -> None:
    """Distinct reads at a steady pace with a 0.5 s TTL (2,400 in all): after warm-up no tag
    set holds more names than there are live entries, and Redis memory stays flat (the shared
    tag sets grew with every read before)."""
    cache = ReadCache(RedisStore(link), ttl=TtlPolicy(override=0.5), clock=time.time)
    figures: list[tuple[int, int, int, int]] = []

    async def fetch() -> tuple[bytes, bytes]:
        return b"x" * 200, b"x" * 200

    async for raw in _raw(redis):
        n = 0
        for round_ in range(120):
            for _ in range(20):
                n += 1
                await cache.read("who", f"{GROUPS}/g{n}", {"n": n}, fetch, bytes)
            await anyio.sleep(0.02)
            if round_ in (29, 119):
                live = len(await raw.keys("ld-insights:cache:*"))  # type: ignore[attr-defined]
                tags = await raw.keys("ld-insights:tag*")  # type: ignore[attr-defined]
                largest = max([await _card(raw, t) for t in tags])
                info = await raw.info("memory")  # type: ignore[attr-defined]
                # KEYS skips expired keys; DBSIZE also counts those Redis has not reclaimed
                # yet, which depends on how busy the machine is
                dbsize = len(await raw.keys("*"))  # type: ignore[attr-defined]
                figures.append((live, largest, dbsize, int(info["used_memory"])))
    print("\n(live entries, largest tag set, keys, used_memory) after 600, 2400 reads:", figures)
    for live, largest, dbsize, _ in figures:
        assert largest <= live + 40  # names of expired entries are dropped
        assert dbsize <= 2 * live + 40  # an entry, its own tag; the shared tags
    assert figures[1][3] <= figures[0][3] * 1.25


async def _card(raw: object, key: bytes) -> int:
    kind = await raw.type(key)  # type: ignore[attr-defined]
    return int(await (raw.zcard(key) if kind == b"zset" else raw.scard(key)))  # type: ignore[attr-defined]


# --- 6: readiness needs a working write --------------------------------------------------------


async def test_readiness_and_the_redis_metric_agree_that_a_full_redis_is_not_shared_state(
    replicas: Replicas, redis: Redis
) -> None:
    """maxmemory + noeviction, filled: every write fails with OOM while PING answers. /readyz
    says degraded with Redis down, as ld_insights_redis_up does; freed, both say up."""
    (a,) = replicas.start(1)
    async for raw in _raw(redis):
        await raw.config_set("maxmemory-policy", "noeviction")  # type: ignore[attr-defined]
        used = int((await raw.info("memory"))["used_memory"])  # type: ignore[attr-defined]
        await raw.config_set("maxmemory", str(used + 2_000_000))  # type: ignore[attr-defined]
        with pytest.raises(Exception, match="maxmemory"):  # noqa: PT012
            for n in range(1_000):
                await raw.set(f"filler:{n}", b"f" * 50_000)  # type: ignore[attr-defined]
        ready = a.get("/readyz")
        samples = metric_samples(a.get("/metrics").text)
        assert ready.status_code == 200  # still serving, from its own cache
        assert ready.json()["status"] == "degraded", ready.json()
        assert ready.json()["checks"]["redis"]["status"] == "down"
        assert samples[("ld_insights_redis_up", ())] == 0.0
        await raw.flushall()  # type: ignore[attr-defined]
        with anyio.fail_after(30):
            while a.get("/readyz").json()["status"] != "ready":  # noqa: ASYNC110 - a replica
                await anyio.sleep(0.2)
        assert metric_samples(a.get("/metrics").text)[("ld_insights_redis_up", ())] == 1.0


# --- 10: tags per LaunchDarkly identity ---------------------------------------------------------


async def test_one_identitys_write_keeps_another_identitys_cached_reads(link: RedisLink) -> None:
    """Two LaunchDarkly accounts (base URL and token) share the Redis cache: a group created
    through one drops its own cached list, not the other's."""
    cache = ReadCache(RedisStore(link), clock=time.time)
    tokens = [f"api-token-{n}-0000000000" for n in range(2)]
    emulators = [Emulator(token=t) for t in tokens]
    clients = [
        LaunchDarklyClient.create(
            base_url=f"http://account{n}.test",
            token=SecretStr(tokens[n]),
            transport=httpx.ASGITransport(app=e.app),
            cache=cache,
        )
        for n, e in enumerate(emulators)
    ]
    for client in clients:
        await client.list_insight_groups()
    await clients[0].create_insight_group(
        NewInsightGroup(
            name="New", key="new-team", project_key="mobile-app", environment_key="production"
        )
    )
    for client in clients:
        await client.list_insight_groups()
    assert upstream_requests(emulators[0], "getInsightGroups") == 2
    assert upstream_requests(emulators[1], "getInsightGroups") == 1
    for client in clients:
        await client.aclose()
