"""Prometheus metrics of one server process (``/metrics``), in a registry of its own.

Counted where things happen; cache, rate-limit and Redis figures are read from their owners
when scraped. Every label value comes from a closed set, so no client can add series.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator
from functools import partial
from typing import TYPE_CHECKING

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
        self.registry = r = CollectorRegistry(auto_describe=True)
        counter = partial(Counter, namespace=NAMESPACE, registry=r)
        histogram = partial(Histogram, namespace=NAMESPACE, registry=r, buckets=_LATENCY_BUCKETS)
        self.tool_calls = counter(
            "tool_calls", "Tool calls by tool and outcome.", ["tool", "outcome"]
        )
        self.tool_seconds = histogram("tool_call_duration_seconds", "Tool call latency.", ["tool"])
        self.upstream = counter(
            "upstream_requests",
            "Requests sent to LaunchDarkly by operation and status.",
            ["operation", "status"],
        )
        self.upstream_seconds = histogram(
            "upstream_request_duration_seconds", "LaunchDarkly request latency.", ["operation"]
        )
        self.retries = counter(
            "upstream_retries", "Waits before retrying a LaunchDarkly request.", ["reason"]
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
        if self.cache is not None:
            remote = int(getattr(self.cache.store, "coalesced", 0))
            stats = self.cache.stats
            reads = CounterMetricFamily(
                f"{NAMESPACE}_cache_reads",
                "LaunchDarkly reads by how the cache answered: hit (stored answer), "
                "coalesced (an identical read in flight, here or on another replica), miss "
                "(sent upstream, answered or failed; a read a rate-limit wait held back "
                "counts here and in ld_insights_rate_limit_refusals).",
                labels=["result"],
            )
            reads.add_metric(["hit"], stats.hits - remote)
            reads.add_metric(["coalesced"], stats.shared + remote)
            reads.add_metric(["miss"], stats.misses)
            yield reads
        gates = self.gates() if self.gates is not None else []
        yield CounterMetricFamily(
            f"{NAMESPACE}_rate_limit_refusals",
            "Requests not sent because LaunchDarkly asked this token to wait (a 429 seen here "
            "or by another replica).",
            value=sum(g.refused for g in gates),
        )
        yield CounterMetricFamily(
            f"{NAMESPACE}_rate_limit_hits",
            "429 answers with a usable wait, seen here.",
            value=sum(g.noted for g in gates),
        )
        if self.link is not None:
            yield GaugeMetricFamily(
                f"{NAMESPACE}_redis_up",
                "1 when the shared Redis answers, 0 when it does not.",
                value=1.0 if self.link.up else 0.0,
            )
            yield CounterMetricFamily(
                f"{NAMESPACE}_redis_errors", "Redis calls that failed.", value=self.link.errors
            )
