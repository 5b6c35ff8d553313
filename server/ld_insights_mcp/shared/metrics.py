"""Prometheus metrics of one server process (``/metrics``), in a registry of its own.

Counted where things happen: tool calls by a server middleware, upstream requests by the
client's exchange hooks, retries by the retry policy's sleep. Cache, rate-limit and Redis
figures are read from their owners when scraped.

Every label value comes from a closed set, so no client can add series: a tool label is a
registered tool's name or ``unknown``; an upstream status is one of ``STATUSES`` or its class
(``4xx``), an error one of ``ERROR_KINDS`` or ``other``; an operation is a route of the
client's own (keys and ids as ``{}``).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from typing import TYPE_CHECKING, Any

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

from ld_insights_mcp.launchdarkly.rate_limits import route_of

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.cache import ReadCache
    from ld_insights_mcp.shared.rate_gates import RateLimitGate
    from ld_insights_mcp.shared.redis_link import RedisLink

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
NAMESPACE = "ld_insights"

_LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60)


UNKNOWN_TOOL = "unknown"
STATUSES = frozenset({200, 201, 204, 400, 401, 403, 404, 405, 409, 422, 429, 500, 502, 503, 504})
ERROR_KINDS = frozenset(
    {
        "APITimeoutError",
        "APIConnectionError",
        "ResponseTooLargeError",
        "UnexpectedResponseError",
        "InvalidRequestError",
        "RateLimitedError",
    }
)


def status_label(outcome: int | str) -> str:
    """``outcome`` (an HTTP status or an error's class name) as a value of a closed set."""
    if isinstance(outcome, int):
        return str(outcome) if outcome in STATUSES else f"{outcome // 100}xx"
    return outcome if outcome in ERROR_KINDS else "other"


class Metrics:
    """The counters and histograms, and collectors for what others count."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        ns, r = NAMESPACE, self.registry
        self.tool_calls = Counter(
            "tool_calls",
            "Tool calls by tool and outcome.",
            ["tool", "outcome"],
            namespace=ns,
            registry=r,
        )
        self.tool_seconds = Histogram(
            "tool_call_duration_seconds",
            "Tool call latency.",
            ["tool"],
            namespace=ns,
            registry=r,
            buckets=_LATENCY_BUCKETS,
        )
        self.upstream = Counter(
            "upstream_requests",
            "Requests sent to LaunchDarkly by operation and status.",
            ["operation", "status"],
            namespace=ns,
            registry=r,
        )
        self.upstream_seconds = Histogram(
            "upstream_request_duration_seconds",
            "LaunchDarkly request latency.",
            ["operation"],
            namespace=ns,
            registry=r,
            buckets=_LATENCY_BUCKETS,
        )
        self.retries = Counter(
            "upstream_retries",
            "Waits before retrying a LaunchDarkly request.",
            ["reason"],
            namespace=ns,
            registry=r,
        )
        self._sources = _Sources()
        r.register(self._sources)
        self.tool_names: frozenset[str] = frozenset()
        """The registered tools: any other name is counted as ``unknown``."""

    def watch(
        self,
        *,
        cache: ReadCache | None = None,
        link: RedisLink | None = None,
        gates: Callable[[], list[RateLimitGate]] | None = None,
    ) -> None:
        """Report these owners' figures when scraped."""
        self._sources.cache = cache
        self._sources.link = link
        self._sources.gates = gates

    def tool_call(self, tool: str, ok: bool, seconds: float) -> None:
        name = tool if tool in self.tool_names else UNKNOWN_TOOL
        self.tool_calls.labels(name, "ok" if ok else "error").inc()
        self.tool_seconds.labels(name).observe(seconds)

    def upstream_request(self, method: str, path: str, outcome: int | str, seconds: float) -> None:
        operation = route_of(method, path)
        self.upstream.labels(operation, status_label(outcome)).inc()
        self.upstream_seconds.labels(operation).observe(seconds)

    def counting_sleep(
        self, sleep: Callable[[float], Awaitable[None]], rate_limited: Callable[[], bool]
    ) -> Callable[[float], Awaitable[None]]:
        """``sleep`` for the retry policy, counting each wait (a retry follows it)."""

        async def counted(seconds: float) -> None:
            self.retries.labels("rate_limited" if rate_limited() else "failure").inc()
            await sleep(seconds)

        return counted

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Sources(Collector):
    cache: ReadCache | None = None
    link: RedisLink | None = None
    gates: Callable[[], list[RateLimitGate]] | None = None

    def collect(self) -> Iterator[Metric]:
        cache = self.cache
        if cache is not None:
            coalesced_remote = int(getattr(cache.store, "coalesced", 0))
            family = CounterMetricFamily(
                f"{NAMESPACE}_cache_reads",
                "LaunchDarkly reads by how the cache answered: hit (stored answer), "
                "coalesced (an identical read in flight, here or on another replica), miss "
                "(sent upstream, answered or failed; a read a rate-limit wait held back "
                "counts here and in ld_insights_rate_limit_refusals).",
                labels=["result"],
            )
            stats = cache.stats
            family.add_metric(["hit"], stats.hits - coalesced_remote)
            family.add_metric(["coalesced"], stats.shared + coalesced_remote)
            family.add_metric(["miss"], stats.misses)
            yield family
        gates = self.gates() if self.gates is not None else []
        refused = CounterMetricFamily(
            f"{NAMESPACE}_rate_limit_refusals",
            "Requests not sent because LaunchDarkly asked this token to wait (a 429 seen here "
            "or by another replica).",
        )
        refused.add_metric([], sum(g.refused for g in gates))
        yield refused
        noted = CounterMetricFamily(
            f"{NAMESPACE}_rate_limit_hits", "429 answers with a usable wait, seen here."
        )
        noted.add_metric([], sum(g.noted for g in gates))
        yield noted
        link = self.link
        up = GaugeMetricFamily(
            f"{NAMESPACE}_redis_up", "1 when the shared Redis answers, 0 when it does not."
        )
        errors = CounterMetricFamily(f"{NAMESPACE}_redis_errors", "Redis calls that failed.")
        if link is not None:
            up.add_metric([], 1.0 if link.up else 0.0)
            errors.add_metric([], link.errors)
            yield up
            yield errors


def observed(
    metrics: Metrics, list_tools: Callable[[], Awaitable[list[Any]]]
) -> Callable[..., Any]:
    """A server middleware counting tool calls by tool and outcome, with their latency.
    ``list_tools`` (the server's) names the registered tools, read once at the first call."""
    import time

    async def middleware(ctx: Any, call_next: Callable[[Any], Awaitable[Any]]) -> Any:
        if ctx.method != "tools/call":
            return await call_next(ctx)
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
