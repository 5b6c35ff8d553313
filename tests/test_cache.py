"""The read cache through a real MCP client, counted in the emulator's request log:
single-flight, TTLs (an injected clock, no sleeps), keys, bounds, errors, invalidation, age,
and the client cache hints."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import anyio
import httpx
import pytest
from mcp import Client
from pydantic import SecretStr

from ld_insights_mcp.launchdarkly.cache import (
    MemoryStore,
    ReadCache,
    TtlPolicy,
    cache_key,
    token_identity,
)
from ld_insights_mcp.surface.server import create_server
from tests.support import Emulator, Fault

from .conftest import TOKEN, make_settings
from .mcp_helpers import structured, text_of

pytestmark = pytest.mark.anyio

SCORES = {"project_key": "checkout-web", "environment_key": "production"}
SCORES_OP = "getInsightsScores"
LIST_OP = "getInsightGroups"
GROUP_OP = "getInsightGroup"


class FakeClock:
    """Seconds that move only when a test says so."""

    def __init__(self) -> None:
        self.now = 1_000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


class Gate(httpx.AsyncBaseTransport):
    """Holds every request until ``open`` is set; counts the requests that reached it."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.open = anyio.Event()
        self.arrived = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.arrived += 1
        await self.open.wait()
        return await self.inner.handle_async_request(request)


def count(emulator: Emulator, operation_id: str) -> int:
    return sum(1 for r in emulator.requests if r.operation_id == operation_id)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def cache(clock: FakeClock) -> ReadCache:
    return ReadCache(MemoryStore(), clock=clock)


@pytest.fixture
def cached_server(transport: httpx.AsyncBaseTransport, cache: ReadCache) -> Callable[..., Any]:
    def build(**overrides: Any) -> Any:
        return create_server(make_settings(**overrides), transport=transport, cache=cache)

    return build


async def _until(condition: Callable[[], bool]) -> None:
    """Let other tasks run until ``condition`` holds (bounded; not a timing assertion)."""
    with anyio.fail_after(10):
        while not condition():  # noqa: ASYNC110 - the cache has no event to wait on
            await anyio.sleep(0.005)


async def test_identical_concurrent_calls_share_one_upstream_request(
    transport: httpx.AsyncBaseTransport, emulator: Emulator, cache: ReadCache, client_mode: str
) -> None:
    gate = Gate(transport)
    server = create_server(make_settings(), transport=gate, cache=cache)
    results: list[Any] = []
    async with Client(server, mode=client_mode) as client:

        async def call() -> None:
            results.append(await client.call_tool("get_insight_scores", SCORES))

        async with anyio.create_task_group() as tg:
            tg.start_soon(call)
            tg.start_soon(call)
            await _until(lambda: gate.arrived >= 1 and (cache.waiting == 1 or gate.arrived > 1))
            gate.open.set()
    assert gate.arrived == 1
    assert count(emulator, SCORES_OP) == 1
    assert structured(results[0])["scores"] == structured(results[1])["scores"]
    assert cache.stats.shared == 1


async def test_repeat_within_ttl_is_answered_from_memory_and_says_how_old(
    cached_server: Callable[..., Any], emulator: Emulator, clock: FakeClock, client_mode: str
) -> None:
    async with Client(cached_server(), mode=client_mode) as client:
        first = await client.call_tool("get_insight_scores", SCORES)
        clock.advance(42)
        second = await client.call_tool("get_insight_scores", SCORES)
    assert count(emulator, SCORES_OP) == 1
    assert "cached" not in text_of(first)
    assert "cache_age_seconds" not in structured(first)
    assert text_of(second).startswith("(cached, 42 s old)\n")
    assert structured(second)["cache_age_seconds"] == 42
    assert {k: v for k, v in structured(second).items() if k != "cache_age_seconds"} == (
        structured(first)
    )


async def test_after_the_ttl_one_new_request_per_kind_of_data(
    cached_server: Callable[..., Any], emulator: Emulator, clock: FakeClock
) -> None:
    async with Client(cached_server()) as client:
        await client.call_tool("get_insight_scores", SCORES)
        await client.call_tool("list_insight_groups", {})
        clock.advance(31)  # past a group list's 30 s, within the scores' 300 s
        await client.call_tool("get_insight_scores", SCORES)
        await client.call_tool("list_insight_groups", {})
        assert (count(emulator, SCORES_OP), count(emulator, LIST_OP)) == (1, 2)
        clock.advance(270)  # 301 s after the scores were fetched
        again = await client.call_tool("get_insight_scores", SCORES)
    assert count(emulator, SCORES_OP) == 2
    assert "cached" not in text_of(again)


async def test_ttl_zero_sends_every_call_upstream(
    transport: httpx.AsyncBaseTransport, emulator: Emulator
) -> None:
    settings = make_settings(cache_ttl=0)
    async with Client(create_server(settings, transport=transport)) as client:
        for _ in range(3):
            result = await client.call_tool("get_insight_scores", SCORES)
            assert "cached" not in text_of(result)
    assert count(emulator, SCORES_OP) == 3


def test_cache_ttl_setting_overrides_every_kind_and_zero_disables(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from ld_insights_mcp.config import Settings

    monkeypatch.setenv("LD_INSIGHTS_CACHE_TTL", "5")
    policy = Settings().read_cache().ttl
    scores = "/api/v2/engineering-insights/insights/scores"
    assert policy.kind_of(scores) == ("scores", 5)
    assert policy.kind_of("/api/v2/engineering-insights/insights/groups") == ("group list", 5)
    monkeypatch.setenv("LD_INSIGHTS_CACHE_TTL", "0")
    assert not Settings().read_cache().enabled
    defaults = TtlPolicy()
    assert defaults.kind_of(scores) == ("scores", 300)
    assert defaults.kind_of("/api/v2/engineering-insights/insights/groups") == ("group list", 30)
    assert defaults.kind_of("/api/v2/engineering-insights/insights/groups/x") == ("group", 60)
    assert defaults.kind_of("/api/v2/engineering-insights/charts/lead-time") == ("chart", 300)


async def test_different_requests_never_share(
    cached_server: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(cached_server()) as client:
        await client.call_tool("get_insight_scores", SCORES)
        narrowed = await client.call_tool(
            "get_insight_scores", {**SCORES, "application_keys": ["web-storefront"]}
        )
        await client.call_tool("list_insight_groups", {})
        await client.call_tool("list_insight_groups", {"include_scores": True})
    assert count(emulator, SCORES_OP) == 2
    assert count(emulator, LIST_OP) == 2
    assert structured(narrowed)["application_keys"] == ["web-storefront"]


async def test_another_token_never_gets_an_answer_cached_for_the_first(
    transport: httpx.AsyncBaseTransport, emulator: Emulator, cache: ReadCache
) -> None:
    owner = create_server(make_settings(), transport=transport, cache=cache)
    stranger = create_server(
        make_settings(access_token="api-someone-else-0000"), transport=transport, cache=cache
    )
    async with Client(owner) as client:
        assert not (await client.call_tool("get_insight_scores", SCORES)).is_error
    async with Client(stranger) as client:
        refused = await client.call_tool("get_insight_scores", SCORES)
    assert refused.is_error
    assert "401" in text_of(refused)
    assert count(emulator, SCORES_OP) == 2  # the stranger's call went upstream, and failed
    assert isinstance(cache.store, MemoryStore)
    assert len(cache.store) == 1  # the error was not stored


async def test_keys_hold_a_hash_of_the_token_and_the_full_request_never_the_token(
    cached_server: Callable[..., Any], cache: ReadCache
) -> None:
    async with Client(cached_server()) as client:
        await client.call_tool(
            "get_insight_scores", {**SCORES, "application_keys": ["web-storefront", "checkout-api"]}
        )
        await client.call_tool("get_insight_group", {"key": "checkout-squad"})
    assert isinstance(cache.store, MemoryStore)
    keys = cache.store.keys()
    assert len(keys) == 2
    for key in keys:
        assert TOKEN not in key
        assert all(TOKEN[i : i + 8] not in key for i in range(len(TOKEN) - 7))
    identity = token_identity(SecretStr(TOKEN), "https://app.launchdarkly.com")
    assert len(identity) == 32
    assert TOKEN not in identity
    expected = cache_key(
        identity,
        "GET",
        "/api/v2/engineering-insights/insights/scores",
        {
            "projectKey": "checkout-web",
            "environmentKey": "production",
            "applicationKey": "web-storefront,checkout-api",
        },
    )
    assert expected in keys
    assert expected.endswith(
        "?applicationKey=web-storefront%2Ccheckout-api&environmentKey=production"
        "&projectKey=checkout-web"
    )


async def test_a_create_drops_the_cached_group_lists(
    cached_server: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(cached_server()) as client:
        await client.call_tool("list_insight_groups", {})
        await client.call_tool("list_insight_groups", {})
        assert count(emulator, LIST_OP) == 1
        created = await client.call_tool(
            "create_insight_group",
            {
                "name": "Cache squad",
                "key": "cache-squad",
                "project_key": "checkout-web",
                "environment_key": "production",
            },
        )
        assert not created.is_error, text_of(created)
        listed = await client.call_tool("list_insight_groups", {})
    assert count(emulator, LIST_OP) == 2
    assert "cached" not in text_of(listed)
    assert "cache-squad" in text_of(listed)


async def test_the_create_checks_the_key_upstream_not_in_the_cache(
    cached_server: Callable[..., Any], emulator: Emulator
) -> None:
    """A group read (and cached) before, then deleted elsewhere, must not block a create."""
    async with Client(cached_server()) as client:
        plain = {"key": "checkout-squad", "include_scores": False}  # the create's own read
        await client.call_tool("get_insight_group", plain)
        await client.call_tool("get_insight_group", plain)
        assert count(emulator, GROUP_OP) == 1
        del emulator.store.insight_groups["checkout-squad"]  # deleted elsewhere
        created = await client.call_tool(
            "create_insight_group",
            {
                "name": "Checkout squad",
                "key": "checkout-squad",
                "project_key": "checkout-web",
                "environment_key": "production",
            },
        )
    assert not created.is_error, text_of(created)
    assert count(emulator, GROUP_OP) == 2


async def test_errors_are_not_cached(cached_server: Callable[..., Any], emulator: Emulator) -> None:
    emulator.faults.push(SCORES_OP, Fault(status=500))
    async with Client(cached_server(max_retries=0)) as client:
        failed = await client.call_tool("get_insight_scores", SCORES)
        assert failed.is_error
        answered = await client.call_tool("get_insight_scores", SCORES)
    assert not answered.is_error
    assert "cached" not in text_of(answered)
    assert count(emulator, SCORES_OP) == 2


async def test_every_read_sent_upstream_is_a_miss_even_when_it_fails(
    cached_server: Callable[..., Any], cache: ReadCache, emulator: Emulator
) -> None:
    async with Client(cached_server(max_retries=0)) as client:
        for _ in range(3):
            failed = await client.call_tool("get_insight_group", {"key": "no-such-group"})
            assert failed.is_error
        answered = await client.call_tool("get_insight_scores", SCORES)
        again = await client.call_tool("get_insight_scores", SCORES)
    assert not answered.is_error
    assert not again.is_error
    assert count(emulator, GROUP_OP) + count(emulator, SCORES_OP) == 4
    assert (cache.stats.hits, cache.stats.shared, cache.stats.misses) == (1, 0, 4)


async def test_bounded_in_entries(transport: httpx.AsyncBaseTransport, emulator: Emulator) -> None:
    cache = ReadCache(MemoryStore(max_entries=2))
    server = create_server(make_settings(), transport=transport, cache=cache)
    keys = ["checkout-squad", "payments-api", "ios-team"]
    async with Client(server) as client:
        for key in keys:
            await client.call_tool("get_insight_group", {"key": key})
        assert isinstance(cache.store, MemoryStore)
        assert len(cache.store) == 2
        await client.call_tool("get_insight_group", {"key": "ios-team"})  # still held
        assert count(emulator, GROUP_OP) == 3
        await client.call_tool("get_insight_group", {"key": "checkout-squad"})  # evicted
    assert count(emulator, GROUP_OP) == 4


async def _bytes_held(store: MemoryStore) -> int:
    """What the store bounds: its keys and bodies."""
    held = store.keys()  # a list (the store is not iterable)
    entries = [(key, await store.get(key)) for key in held]
    return sum(len(key) + len(entry.body) for key, entry in entries if entry is not None)


async def test_bounded_in_bytes(transport: httpx.AsyncBaseTransport, emulator: Emulator) -> None:
    keys = ["checkout-squad", "payments-api", "ios-team"]
    sizes = []
    for key in keys:  # what each answer takes, measured with an unbounded store
        probe = ReadCache(MemoryStore())
        async with Client(create_server(make_settings(), transport=transport, cache=probe)) as c:
            await c.call_tool("get_insight_group", {"key": key})
        assert isinstance(probe.store, MemoryStore)
        sizes.append(await _bytes_held(probe.store))
    limit = sum(sizes) - 1
    store = MemoryStore(max_bytes=limit)
    server = create_server(make_settings(), transport=transport, cache=ReadCache(store))
    async with Client(server) as client:
        for key in keys:
            await client.call_tool("get_insight_group", {"key": key})
    assert await _bytes_held(store) <= limit
    assert len(store) == 2
    assert store.evictions == 1
    tiny = MemoryStore(max_bytes=min(sizes) - 1)  # no answer fits: none is stored
    server = create_server(make_settings(), transport=transport, cache=ReadCache(tiny))
    async with Client(server) as client:
        await client.call_tool("get_insight_group", {"key": "ios-team"})
        await client.call_tool("get_insight_group", {"key": "ios-team"})
    assert len(tiny) == 0
    assert count(emulator, GROUP_OP) == 2 * len(keys) + 2


async def test_cache_hints_on_the_lists_and_static_resources_only() -> None:
    from ld_insights_mcp.config import Settings

    server = create_server(Settings(demo=True))
    async with Client(server, cache=None) as client:
        for listed in (
            await client.list_prompts(),
            await client.list_resources(),
            await client.list_resource_templates(),
        ):
            assert (listed.ttl_ms, listed.cache_scope) == (600_000, "public")
        # which tools are offered depends on whether the client can ask its user
        tools = await client.list_tools()
        assert (tools.ttl_ms, tools.cache_scope) == (600_000, "private")
        for uri in ("insights://score-categories", "insights://score-categories/leadTime"):
            static = await client.read_resource(uri)
            assert (static.ttl_ms, static.cache_scope) == (3_600_000, "public")
        live = await client.read_resource("insights://groups/checkout-squad")
        assert (live.ttl_ms, live.cache_scope) == (0, "private")
    async with Client(server, mode="legacy") as client:  # no hint fields on the 2025 protocol
        assert (await client.read_resource("insights://indicators")).contents
    read_only = create_server(Settings(demo=True, read_only=True))
    async with Client(read_only, cache=None) as client:  # the same tools for every client
        assert (await client.list_tools()).cache_scope == "public"


# --- the cache itself: single-flight edge cases ------------------------------------------


async def test_a_shared_error_reaches_every_waiter_and_is_not_stored(clock: FakeClock) -> None:
    cache = ReadCache(MemoryStore(), clock=clock)
    release = anyio.Event()
    calls = 0

    async def failing() -> tuple[str, bytes]:
        nonlocal calls
        calls += 1
        await release.wait()
        raise RuntimeError("upstream failed")

    outcomes: list[str] = []

    async def read() -> None:
        try:
            await cache.read("id", "/api/v2/x", {}, failing, bytes.decode)
        except RuntimeError as exc:
            outcomes.append(str(exc))

    async with anyio.create_task_group() as tg:
        tg.start_soon(read)
        tg.start_soon(read)
        await _until(lambda: cache.waiting == 1)
        release.set()
    assert outcomes == ["upstream failed", "upstream failed"]
    assert calls == 1
    assert cache.stats.misses == 1  # the one read sent upstream, though it failed
    assert isinstance(cache.store, MemoryStore)
    assert len(cache.store) == 0


async def test_a_cancelled_leader_hands_the_read_to_a_waiter(clock: FakeClock) -> None:
    cache = ReadCache(MemoryStore(), clock=clock)
    first_started = anyio.Event()
    calls = 0

    async def fetch() -> tuple[str, bytes]:
        nonlocal calls
        calls += 1
        if calls == 1:
            first_started.set()
            await anyio.sleep_forever()
        return "answer", b"answer"

    got: list[str] = []
    async with anyio.create_task_group() as tg:
        leader = anyio.CancelScope()

        async def lead() -> None:
            with leader:
                await cache.read("id", "/api/v2/x", {}, fetch, bytes.decode)

        async def follow() -> None:
            got.append(await cache.read("id", "/api/v2/x", {}, fetch, bytes.decode))

        tg.start_soon(lead)
        await first_started.wait()
        tg.start_soon(follow)
        await _until(lambda: cache.waiting == 1)
        leader.cancel()
    assert got == ["answer"]
    assert calls == 2


async def test_a_write_while_a_read_is_in_flight_keeps_that_read_out_of_the_store(
    clock: FakeClock,
) -> None:
    cache = ReadCache(MemoryStore(), clock=clock)
    path = "/api/v2/engineering-insights/insights/groups"
    started, release = anyio.Event(), anyio.Event()

    async def slow() -> tuple[str, bytes]:
        started.set()
        await release.wait()
        return "before the write", b"before the write"

    async with anyio.create_task_group() as tg:
        tg.start_soon(cache.read, "id", path, {}, slow, bytes.decode)
        await started.wait()
        async with cache.writing("id", f"{path}/new-group"):
            pass
        release.set()
    assert isinstance(cache.store, MemoryStore)
    assert len(cache.store) == 0
