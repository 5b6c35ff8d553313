"""A cache for LaunchDarkly reads: single-flight, a TTL per kind of data, LRU bounds, and
invalidation by every write.

``ReadCache`` is the policy; a ``CacheStore`` (``MemoryStore``, or a shared one) holds parsed
answers under keys with a hash of the token, never the token. ``observe_reads()`` logs the hits,
their ages and the misses of one unit of work (a tool call), so it can say how old an answer is.
"""

from __future__ import annotations

import hmac
import re
import time
from collections import OrderedDict
from collections.abc import AsyncIterator, Awaitable, Callable, Iterable, Iterator, Mapping
from contextlib import asynccontextmanager, contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from hashlib import sha256
from typing import Protocol, TypeVar
from urllib.parse import urlencode

import anyio
from pydantic import SecretStr

T = TypeVar("T")
Clock = Callable[[], float]
"""Seconds from any fixed origin (``time.monotonic``); a shared store needs wall time."""

EI = "/api/v2/engineering-insights"

DEFAULT_TTLS: tuple[tuple[str, str, float], ...] = (
    (rf"^{EI}/insights/scores$", "scores", 300.0),
    (rf"^{EI}/charts/", "chart", 300.0),
    (rf"^{EI}/repositories$", "repositories", 300.0),
    (rf"^{EI}/insights/groups$", "group list", 30.0),
    (rf"^{EI}/insights/groups/[^/]+$", "group", 60.0),
    (r"^/api/v2/projects/[^/]+/metric-groups$", "metric group list", 30.0),
    (r"^/api/v2/projects/[^/]+/metric-groups/[^/]+$", "metric group", 60.0),
    (rf"^{EI}/(deployments|pull-requests|flag-events)(/[^/]+)?$", "events", 60.0),
)
"""(path pattern, kind, seconds fresh), first match wins: what is computed over periods changes
slowly, lists whenever anyone adds to them."""

OTHER_TTL = ("other", 30.0)  # any read no pattern names


@dataclass(frozen=True, slots=True)
class TtlPolicy:
    """How long each kind of read stays fresh; ``override`` (seconds) replaces every TTL and
    ``0`` turns the cache off."""

    override: float | None = None

    @property
    def enabled(self) -> bool:
        return self.override is None or self.override > 0

    def kind_of(self, path: str) -> tuple[str, float]:
        """(kind, seconds fresh) of a read of ``path``."""
        kind, ttl = next(((k, t) for p, k, t in DEFAULT_TTLS if re.search(p, path)), OTHER_TTL)
        return kind, ttl if self.override is None else self.override


def token_identity(token: SecretStr, origin: str) -> str:
    """Who is asking: a keyed hash of the base URL and token, stable across processes."""
    message = f"{origin.rstrip('/')}\n{token.get_secret_value()}".encode()
    return hmac.new(b"ld-insights-mcp/cache-identity/v1", message, sha256).hexdigest()[:32]


def cache_key(identity: str, method: str, path: str, params: Mapping[str, str | int]) -> str:
    """``identity method path?sorted-params``: the full request, and who asked."""
    query = urlencode(sorted((k, str(v)) for k, v in params.items()))
    return f"{identity} {method} {path}?{query}"


def scoped(identity: str, paths: Iterable[str]) -> frozenset[str]:
    """Tags of ``paths`` for one identity: a write drops its own account's entries only."""
    return frozenset(f"{identity} {path}" for path in paths)


def path_tags(path: str) -> frozenset[str]:
    """Every segment prefix of ``path`` (``/a``, ``/a/b``, ...)."""
    segments = path.strip("/").split("/")
    return frozenset("/" + "/".join(segments[: i + 1]) for i in range(len(segments)))


def touched_by_write(path: str) -> frozenset[str]:
    """What a write to ``path`` may change: everything under its parent (the resource, its
    siblings, their list; also ``POST .../group`` creating into ``.../groups``)."""
    return frozenset({path.rstrip("/").rsplit("/", 1)[0] or "/"})


@dataclass(frozen=True, slots=True)
class Entry:
    """A stored answer: the raw body (it parsed) and when it was fetched."""

    body: bytes
    stored_at: float
    expires_at: float
    tags: frozenset[str]


class CacheStore(Protocol):
    """Where entries live. ``locked(key, work)`` runs the one fetch of ``key``: a shared store
    makes other processes wait and read what it stored."""

    async def get(self, key: str) -> Entry | None: ...

    async def set(self, key: str, entry: Entry) -> None: ...

    async def locked(self, key: str, work: Callable[[], Awaitable[T]]) -> T: ...

    async def invalidate(self, tags: Iterable[str]) -> int:
        """Drop every entry carrying one of ``tags``; return how many."""
        ...


class MemoryStore:
    """An in-process LRU, bounded in entries and in bytes (bodies plus keys)."""

    def __init__(self, *, max_entries: int = 1000, max_bytes: int = 32_000_000) -> None:
        if max_entries < 1 or max_bytes < 1:
            raise ValueError("max_entries and max_bytes must be positive")
        self.max_entries = max_entries
        self.max_bytes = max_bytes
        self._entries: OrderedDict[str, Entry] = OrderedDict()
        self._bytes = 0
        self.evictions = 0

    @staticmethod
    def _size(key: str, entry: Entry) -> int:
        return len(key) + len(entry.body)

    async def get(self, key: str) -> Entry | None:
        entry = self._entries.get(key)
        if entry is not None:
            self._entries.move_to_end(key)
        return entry

    async def set(self, key: str, entry: Entry) -> None:
        self._drop(key)
        size = self._size(key, entry)
        if size > self.max_bytes:
            return
        self._entries[key] = entry
        self._bytes += size
        while len(self._entries) > self.max_entries or self._bytes > self.max_bytes:
            oldest = next(iter(self._entries))
            self._drop(oldest)
            self.evictions += 1

    async def locked(self, key: str, work: Callable[[], Awaitable[T]]) -> T:
        return await work()

    async def invalidate(self, tags: Iterable[str]) -> int:
        wanted = frozenset(tags)
        doomed = [k for k, e in self._entries.items() if not wanted.isdisjoint(e.tags)]
        for key in doomed:
            self._drop(key)
        return len(doomed)

    def _drop(self, key: str) -> None:
        entry = self._entries.pop(key, None)
        if entry is not None:
            self._bytes -= self._size(key, entry)

    def keys(self) -> list[str]:
        """The keys held, least recently used first (for inspection)."""
        return list(self._entries)

    def __len__(self) -> int:
        return len(self._entries)


@dataclass(slots=True)
class CacheStats:
    """Counts since start: from the store, shared with a read in flight, sent upstream."""

    hits: int = 0
    shared: int = 0
    misses: int = 0

    @property
    def saved(self) -> int:  # upstream requests not sent
        return self.hits + self.shared


@dataclass(slots=True)
class ReadLog:
    """What the cache did for the reads of one unit of work."""

    hits: int = 0
    misses: int = 0
    oldest_hit_age: float | None = None  # seconds since the oldest cached answer was fetched

    def hit(self, age: float) -> None:
        self.hits += 1
        age = max(age, 0.0)
        self.oldest_hit_age = age if self.oldest_hit_age is None else max(self.oldest_hit_age, age)


_LOG: ContextVar[ReadLog | None] = ContextVar("ld_insights_read_log", default=None)
_FRESH: ContextVar[bool] = ContextVar("ld_insights_fresh_reads", default=False)


@contextmanager
def observe_reads() -> Iterator[ReadLog]:
    """Record the cache's part in every read made inside (tasks started inside included)."""
    log = ReadLog()
    token = _LOG.set(log)
    try:
        yield log
    finally:
        _LOG.reset(token)


def current_reads() -> ReadLog | None:
    """The ``ReadLog`` of the innermost ``observe_reads()``, if any."""
    return _LOG.get()


class _Flight:
    """One upstream read that identical concurrent reads wait for."""

    def __init__(self, tags: frozenset[str]) -> None:
        self.tags = tags
        self.done = anyio.Event()
        self.body: bytes | None = None
        self.error: Exception | None = None
        self.stale = False  # a write touched it while in flight: not stored

    async def wait(self) -> bytes | None:
        """The body, the leader's error raised, or None when the leader was cancelled."""
        await self.done.wait()
        if self.error is not None:
            raise self.error
        return self.body


class ReadCache:
    """Reads answered from a store within their TTL; identical concurrent reads share one
    request (errors shared, never stored); writes drop what they touch."""

    def __init__(
        self,
        store: CacheStore | None = None,
        *,
        ttl: TtlPolicy | None = None,
        clock: Clock = time.monotonic,
    ) -> None:
        self.store: CacheStore = store if store is not None else MemoryStore()
        self.ttl = ttl or TtlPolicy()
        self.clock = clock
        self.stats = CacheStats()
        self.waiting = 0  # reads waiting now for an identical read's request
        self._flights: dict[str, _Flight] = {}

    @classmethod
    def off(cls) -> ReadCache:
        """A cache that stores nothing and shares nothing: every read goes upstream."""
        return cls(ttl=TtlPolicy(override=0))

    @property
    def enabled(self) -> bool:
        return self.ttl.enabled

    async def read(
        self,
        identity: str,
        path: str,
        params: Mapping[str, str | int],
        fetch: Callable[[], Awaitable[tuple[T, bytes]]],
        decode: Callable[[bytes], T],
    ) -> T:
        """A GET's answer: stored while fresh, else ``fetch()`` -> (value, body), shared with
        identical reads in flight; ``decode`` rebuilds a value from a body."""
        _, ttl = self.ttl.kind_of(path)
        if ttl <= 0 or _FRESH.get():
            return (await fetch())[0]
        key = cache_key(identity, "GET", path, params)
        while True:
            entry = await self.store.get(key)
            if entry is not None and self.clock() < entry.expires_at:
                self._hit(entry)
                return decode(entry.body)
            flight = self._flights.get(key)
            if flight is None:
                break
            self.waiting += 1
            try:
                body = await flight.wait()
            finally:
                self.waiting -= 1
            if body is not None:
                self.stats.shared += 1
                return decode(body)
        return await self._lead(identity, key, path, ttl, fetch, decode)

    async def _lead(
        self,
        identity: str,
        key: str,
        path: str,
        ttl: float,
        fetch: Callable[[], Awaitable[tuple[T, bytes]]],
        decode: Callable[[bytes], T],
    ) -> T:
        flight = _Flight(scoped(identity, path_tags(path)))
        self._flights[key] = flight

        async def fetch_once() -> tuple[T, bytes]:
            entry = await self.store.get(key)  # stored by another process meanwhile
            if entry is not None and self.clock() < entry.expires_at:
                self._hit(entry)
                return decode(entry.body), entry.body
            started = self.clock()
            self._miss()  # sent upstream, whatever comes back
            value, body = await fetch()
            if not flight.stale:
                await self.store.set(key, Entry(body, started, started + ttl, flight.tags))
            return value, body

        try:
            value, body = await self.store.locked(key, fetch_once)
        except Exception as exc:
            flight.error = exc
            raise
        else:
            flight.body = body
            return value
        finally:
            flight.done.set()
            if self._flights.get(key) is flight:
                del self._flights[key]

    def _hit(self, entry: Entry) -> None:
        self.stats.hits += 1
        log = _LOG.get()
        if log is not None:
            log.hit(self.clock() - entry.stored_at)

    def _miss(self) -> None:
        self.stats.misses += 1
        log = _LOG.get()
        if log is not None:
            log.misses += 1

    async def invalidate(self, identity: str, paths: Iterable[str]) -> None:
        """Drop ``identity``'s entries tagged with any of ``paths``, and its reads in flight."""
        wanted = scoped(identity, paths)
        for key, flight in list(self._flights.items()):
            if not wanted.isdisjoint(flight.tags):
                flight.stale = True
                del self._flights[key]
        await self.store.invalidate(wanted)

    @asynccontextmanager
    async def writing(self, identity: str, path: str) -> AsyncIterator[None]:
        """Around one write: what it touches is dropped before and after (even on failure)."""
        if not self.enabled:
            yield
            return
        touched = touched_by_write(path)
        await self.invalidate(identity, touched)
        try:
            yield
        finally:
            with anyio.CancelScope(shield=True):
                await self.invalidate(identity, touched)


@contextmanager
def fresh_reads() -> Iterator[None]:
    """Reads inside go upstream, unstored and unshared: for the reads a write decides on."""
    token = _FRESH.set(True)
    try:
        yield
    finally:
        _FRESH.reset(token)
