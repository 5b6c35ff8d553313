"""A ``CacheStore`` in Redis: entries shared by every replica, single-flight across them.

- ``get``/``set``: one Redis key per entry (``SET ... PX`` its TTL); each tag is a Redis set
  of the keys carrying it, kept as long as its longest-lived entry.
- ``lock(key)``: ``SET NX PX`` a short lock. The one replica holding it fetches; the others
  poll until the entry appears (they then read it: ``coalesced``), the lock is released
  without an entry (one of them takes it), or the lock expires.
- ``invalidate(tags)``: drops the keys in those tag sets, everywhere.
- Redis down or slow (``RedisLink``): the same calls go to an in-process ``MemoryStore``
  until Redis answers again. Entries written to that fallback stay local; nothing written
  while Redis was down is copied to it later.

Entries need wall-clock times (``ReadCache(clock=time.time)``): replicas share them.
"""

from __future__ import annotations

import json
import secrets
import time
from collections.abc import AsyncIterator, Callable, Iterable
from contextlib import asynccontextmanager, suppress
from typing import Any

import anyio

from .cache import Entry, MemoryStore
from .redis_link import PREFIX, RedisLink, SharedStateUnavailable

_RELEASE = """
if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end
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
        lock_ttl: float = 15.0,
        poll: float = 0.02,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.link = link
        self.fallback = fallback if fallback is not None else MemoryStore()
        self.lock_ttl = lock_ttl
        self.poll = poll
        self.clock = clock
        self.coalesced = 0
        """Reads answered by an entry another replica stored while this one waited."""

    @staticmethod
    def _entry_key(key: str) -> str:
        return f"{PREFIX}cache:{key}"

    @staticmethod
    def _tag_key(tag: str) -> str:
        return f"{PREFIX}tag:{tag}"

    async def get(self, key: str) -> Entry | None:
        try:
            raw = await self.link.run(lambda r: r.get(self._entry_key(key)))
        except SharedStateUnavailable:
            return await self.fallback.get(key)
        return None if raw is None else _unpack(raw)

    async def set(self, key: str, entry: Entry) -> None:
        ttl_ms = int((entry.expires_at - self.clock()) * 1000)
        if ttl_ms <= 0:
            return
        name = self._entry_key(key)

        async def write(r: Any) -> None:
            async with r.pipeline(transaction=True) as pipe:
                pipe.set(name, _pack(entry), px=ttl_ms)
                for tag in entry.tags:
                    tag_key = self._tag_key(tag)
                    pipe.sadd(tag_key, name)
                    pipe.pexpire(tag_key, ttl_ms, nx=True)
                    pipe.pexpire(tag_key, ttl_ms, gt=True)
                await pipe.execute()

        try:
            await self.link.run(write)
        except SharedStateUnavailable:
            await self.fallback.set(key, entry)

    @asynccontextmanager
    async def lock(self, key: str) -> AsyncIterator[None]:
        """Held while this replica fetches ``key``; see the module docstring."""
        name, token = f"{PREFIX}lock:{key}", secrets.token_hex(8)
        held = await self._wait_for_lock(key, name, token)
        try:
            yield
        finally:
            if held:
                with anyio.CancelScope(shield=True), suppress(SharedStateUnavailable):
                    await self.link.run(lambda r: r.eval(_RELEASE, 1, name, token))
                    # (unreachable Redis: the lock expires by itself)

    async def _wait_for_lock(self, key: str, name: str, token: str) -> bool:
        """True once this replica holds the lock; False to go ahead without it (an entry
        appeared, Redis failed, or the holder outlived the lock's TTL)."""
        ttl_ms = int(self.lock_ttl * 1000)
        deadline = anyio.current_time() + self.lock_ttl
        waited = False
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
                await anyio.sleep(self.poll)
        except SharedStateUnavailable:
            return False

    async def invalidate(self, tags: Iterable[str]) -> int:
        wanted = list(tags)
        dropped = await self.fallback.invalidate(wanted)
        tag_keys = [self._tag_key(t) for t in wanted]
        if not tag_keys:
            return dropped

        async def drop(r: Any) -> int:
            names = await r.sunion(tag_keys)
            async with r.pipeline(transaction=True) as pipe:
                if names:
                    pipe.delete(*names)
                pipe.delete(*tag_keys)
                results = await pipe.execute()
            return int(results[0]) if names else 0

        try:
            return dropped + await self.link.run(drop)
        except SharedStateUnavailable:
            return dropped
