"""A ``CacheStore`` in Redis: entries shared by every replica, single-flight across them.

One key per entry; each tag a sorted set of its entries scored by expiry, trimmed at every
write, so Redis memory follows the live entries, not the reads ever made. ``locked`` holds a
short lock, renewed while its work runs; the others poll until the entry appears
(``coalesced``), the lock is gone, or ``wait_at_most`` passed. While Redis is unavailable the
calls go to an in-process ``MemoryStore``. Entries carry wall-clock times (replicas share
them); the scripts name keys they were not given as ``KEYS``: one Redis, not a cluster.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import Awaitable, Callable, Iterable
from contextlib import suppress
from typing import TypeVar

import anyio

from ld_insights_mcp.launchdarkly.cache import Entry, MemoryStore
from ld_insights_mcp.shared.redis_link import PREFIX, RedisLink, SharedStateUnavailable

T = TypeVar("T")

_STORE = """
redis.call('set', KEYS[1], ARGV[1], 'PX', ARGV[2])
for i = 2, #KEYS do
  redis.call('zremrangebyscore', KEYS[i], '-inf', ARGV[4])
  redis.call('zadd', KEYS[i], ARGV[3], KEYS[1])
  if redis.call('pttl', KEYS[i]) < tonumber(ARGV[2]) then
    redis.call('pexpire', KEYS[i], ARGV[2])
  end
end
return 1
"""
"""KEYS: the entry, then its tags; ARGV: body, TTL ms, expiry and now (epoch ms)."""

_DROP = """
local dropped = 0
for i = 1, #KEYS do
  for _, name in ipairs(redis.call('zrange', KEYS[i], 0, -1)) do
    dropped = dropped + redis.call('del', name)
  end
  redis.call('del', KEYS[i])
end
return dropped
"""
"""KEYS: tags; drops them and every entry they name."""

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
return 0
"""

_RENEW = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end
return 0
"""


def _pack(entry: Entry) -> bytes:
    head = {"s": entry.stored_at, "e": entry.expires_at, "t": sorted(entry.tags)}
    return json.dumps(head, separators=(",", ":")).encode() + b"\n" + entry.body


def _unpack(raw: bytes) -> Entry | None:
    head, sep, body = raw.partition(b"\n")
    if not sep:
        return None
    try:
        meta = json.loads(head)
        return Entry(body, float(meta["s"]), float(meta["e"]), frozenset(meta["t"]))
    except (ValueError, KeyError, TypeError):
        return None


class RedisStore:
    """Entries in Redis, with ``fallback`` serving while Redis is unavailable."""

    def __init__(
        self,
        link: RedisLink,
        fallback: MemoryStore | None = None,
        *,
        lock_ttl: float = 2.0,
        wait_at_most: float = 3.0,
        poll: float = 0.02,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.link = link
        self.fallback = fallback if fallback is not None else MemoryStore()
        self.lock_ttl = lock_ttl
        self.wait_at_most = wait_at_most
        self.poll = poll
        self.clock = clock
        self.coalesced = 0
        scripts = link.client.register_script
        self._store, self._drop = scripts(_STORE), scripts(_DROP)
        self._release, self._renew = scripts(_RELEASE), scripts(_RENEW)

    @staticmethod
    def _entry_key(key: str) -> str:
        return f"{PREFIX}cache:{key}"

    @staticmethod
    def _tag_key(tag: str) -> str:
        return f"{PREFIX}tags:{tag}"

    async def get(self, key: str) -> Entry | None:
        try:
            raw = await self.link.run(lambda r: r.get(self._entry_key(key)))
        except SharedStateUnavailable:
            return await self.fallback.get(key)
        return None if raw is None else _unpack(raw)

    async def set(self, key: str, entry: Entry) -> None:
        now = self.clock()
        ttl_ms = int((entry.expires_at - now) * 1000)
        if ttl_ms <= 0:
            return
        keys = [self._entry_key(key), *(self._tag_key(t) for t in sorted(entry.tags))]
        args = [_pack(entry), ttl_ms, int(entry.expires_at * 1000), int(now * 1000)]
        try:
            await self.link.run(lambda r: self._store(keys=keys, args=args, client=r))
        except SharedStateUnavailable:
            await self.fallback.set(key, entry)

    async def locked(self, key: str, work: Callable[[], Awaitable[T]]) -> T:
        """``work()``, as the one replica fetching ``key`` when this one gets the lock."""
        name, token = f"{PREFIX}lock:{key}", secrets.token_hex(8)
        if not await self._acquire(key, name, token):
            return await work()
        try:
            return await self._renewing(name, token, work)
        finally:
            with anyio.CancelScope(shield=True), suppress(SharedStateUnavailable):
                await self.link.run(
                    lambda r: self._release(keys=[name], args=[token], client=r), even_if_down=True
                )

    async def _acquire(self, key: str, name: str, token: str) -> bool:
        """True once this replica holds the lock; False to go ahead without it (an entry
        appeared, Redis failed, or ``wait_at_most`` passed)."""
        ttl_ms = int(self.lock_ttl * 1000)
        deadline = anyio.current_time() + self.wait_at_most
        delay, waited = self.poll, False
        try:
            while True:
                if await self.link.run(lambda r: r.set(name, token, nx=True, px=ttl_ms)):
                    return True
                if waited and await self.link.run(lambda r: r.exists(self._entry_key(key))):
                    self.coalesced += 1
                    return False
                if anyio.current_time() >= deadline:
                    return False
                waited = True
                await anyio.sleep(delay)
                delay = min(delay * 2, 0.2)
        except SharedStateUnavailable:
            return False

    async def _renewing(self, name: str, token: str, work: Callable[[], Awaitable[T]]) -> T:
        """``work()`` while the lock is renewed every third of its TTL."""

        async def renew() -> None:
            ttl_ms = int(self.lock_ttl * 1000)
            while True:
                await anyio.sleep(self.lock_ttl / 3)
                with suppress(SharedStateUnavailable):
                    if not await self.link.run(
                        lambda r: self._renew(keys=[name], args=[token, ttl_ms], client=r)
                    ):
                        return  # lost (expired while Redis was away): nothing to keep

        failure: Exception | None = None
        async with anyio.create_task_group() as tasks:
            tasks.start_soon(renew)
            try:
                result = await work()
            except Exception as exc:  # raised below, outside the task group (unwrapped)
                failure = exc
            finally:
                tasks.cancel_scope.cancel()
        if failure is not None:
            raise failure
        return result

    async def invalidate(self, tags: Iterable[str]) -> int:
        wanted = list(tags)
        dropped = await self.fallback.invalidate(wanted)
        tag_keys = [self._tag_key(t) for t in wanted]
        if not tag_keys:
            return dropped
        try:
            return dropped + int(
                await self.link.run(lambda r: self._drop(keys=tag_keys, args=[], client=r))
            )
        except SharedStateUnavailable:
            return dropped
