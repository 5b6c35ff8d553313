"""What a server process shares between its sessions, and with other replicas through Redis."""

from __future__ import annotations

import threading
import time
import weakref
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, cast

from ld_insights_mcp.launchdarkly.cache import MemoryStore, ReadCache
from ld_insights_mcp.shared.rate_gates import RateLimitGate, last_failure_was_rate_limit
from ld_insights_mcp.shared.redis_link import RedisLink
from ld_insights_mcp.shared.upstream_hooks import UpstreamHooks

if TYPE_CHECKING:
    from ld_insights_mcp.config import Settings
    from ld_insights_mcp.shared.metrics import Metrics


class SharedServices:
    """Built once per server (``create_server``)."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self._metrics: Metrics | None = None
        self._building_metrics = threading.Lock()
        self.link: RedisLink | None = None
        if settings.redis_url is not None:
            self.link = RedisLink(
                settings.redis_url.get_secret_value(), timeout=settings.redis_timeout
            )
        self._gates: dict[str, RateLimitGate] = {}
        self.cache = self._cache()
        self.stopping = False
        self.calls_in_flight = 0
        """HTTP POSTs being answered (counted by ``OpsApp``): a SIGTERM lets them finish."""

    @property
    def metrics(self) -> Metrics:
        """Built at first use (a call, the warm-up's client, a scrape), not at start-up:
        ``prometheus_client`` takes a start ~15 ms to load."""
        if self._metrics is None:
            with self._building_metrics:
                if self._metrics is None:
                    from ld_insights_mcp.shared.metrics import Metrics

                    metrics = Metrics()
                    metrics.watch(
                        cache=self.cache, link=self.link, gates=lambda: list(self._gates.values())
                    )
                    self._metrics = metrics
        return self._metrics

    def _cache(self) -> ReadCache:
        """The settings' in-process cache; with Redis, its store is Redis's fallback."""
        cache = self.settings.read_cache()
        if self.link is None:
            return cache
        from ld_insights_mcp.shared.redis_store import RedisStore

        memory = cast(MemoryStore, cache.store)
        return ReadCache(RedisStore(self.link, memory), ttl=cache.ttl, clock=time.time)

    def hooks(self, identity: str) -> UpstreamHooks:
        """Hooks for a client of ``identity``: its gate (one per identity) and the metrics."""
        gate = self._gates.get(identity)
        if gate is None:
            gate = self._gates[identity] = RateLimitGate(identity, self.link)
        return UpstreamHooks(gate, self.metrics)

    def retry_sleep(
        self, sleep: Callable[[float], Awaitable[None]]
    ) -> Callable[[float], Awaitable[None]]:
        return self.metrics.counting_sleep(sleep, last_failure_was_rate_limit)

    async def readiness(self) -> tuple[bool, dict[str, Any]]:
        """(ready, checks): Redis down (or refusing writes) is ``degraded``, still ready (this
        replica serves); a probe now, not an earlier state, is what it reports."""
        checks: dict[str, Any] = {}
        status = "ready"
        if self.link is None:
            checks["redis"] = {"status": "not configured", "shared_state": False}
        else:
            up = await self.link.probe() and self.link.up
            checks["redis"] = {
                "status": "up" if up else "down",
                "shared_state": up,
                **({} if up else {"error": self.link.last_error, "fallback": "in-process"}),
            }
            if not up:
                status = "degraded"
        checks["launchdarkly"] = {"status": "configured", "base_uri": self.settings.base_uri}
        if self.stopping:
            status = "stopping"
        return status != "stopping", {"status": status, "checks": checks}

    async def aclose(self) -> None:
        if self.link is not None:
            await self.link.aclose()


_SERVICES: weakref.WeakKeyDictionary[Any, SharedServices] = weakref.WeakKeyDictionary()


def register(server: Any, services: SharedServices) -> None:
    _SERVICES[server] = services


def services_of(server: Any) -> SharedServices | None:
    return _SERVICES.get(server)


def observed(
    services: SharedServices, list_tools: Callable[[], Awaitable[list[Any]]]
) -> Callable[..., Any]:
    """A server middleware counting tool calls by tool and outcome, with their latency, in
    ``services.metrics``. ``list_tools`` (the server's) names the registered tools, read once
    at the first call."""

    async def middleware(ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        if ctx.method != "tools/call":
            return await call_next(ctx)
        metrics = services.metrics
        if not metrics.tool_names:
            metrics.tool_names = frozenset(tool.name for tool in await list_tools())
        tool = str((ctx.params or {}).get("name", ""))
        started = time.perf_counter()
        ok = False
        try:
            result = await call_next(ctx)
            ok = not (isinstance(result, dict) and result.get("isError"))
            return result
        finally:
            metrics.tool_call(tool, ok, time.perf_counter() - started)

    return middleware
