"""A client for checking a setup: it sends as the server's client does (same route), never
retries, and records each answer's status, ``Date`` and rate limits, the route and why a
connection failed (its text redacted)."""

from __future__ import annotations

import time
from dataclasses import dataclass, field, replace

import httpx
from pydantic import SecretStr

from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient, http_client, pool_limits
from ld_insights_mcp.launchdarkly.network import Failure, Route, failure_of, route_for
from ld_insights_mcp.launchdarkly.options import ClientOptions
from ld_insights_mcp.launchdarkly.rate_limits import RateLimitInfo
from ld_insights_mcp.launchdarkly.redaction import Redactor
from ld_insights_mcp.launchdarkly.retries import RetryPolicy

_MAX_SHOWN = 200


@dataclass(frozen=True, slots=True)
class Seen:
    """One answer's status and headers, and when it was sent and received (epoch seconds)."""

    status: int
    date: str | None
    rate_limit: RateLimitInfo
    sent_at: float
    received_at: float


@dataclass(slots=True)
class Recording:
    """The route, every answer seen, and the last connection failure (redacted; what it was)."""

    route: Route | None = None
    answers: list[Seen] = field(default_factory=list)
    failure: str | None = None
    failed_at: Failure | None = None


class RecordingTransport(httpx.AsyncBaseTransport):
    """Wraps a transport; records each answer's headers and each connection failure."""

    def __init__(self, inner: httpx.AsyncBaseTransport, redact: Redactor) -> None:
        self._inner = inner
        self._redact = redact
        self.recording = Recording()

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        sent_at = time.time()
        try:
            response = await self._inner.handle_async_request(request)
        except httpx.TransportError as exc:
            detail = self._redact(str(exc)).strip() or "no detail"
            self.recording.failure = f"{type(exc).__name__}: {detail[:_MAX_SHOWN]}"
            self.recording.failed_at = failure_of(exc)
            raise
        self.recording.answers.append(
            Seen(
                status=response.status_code,
                date=response.headers.get("date"),
                rate_limit=RateLimitInfo.from_headers(response.headers),
                sent_at=sent_at,
                received_at=time.time(),
            )
        )
        return response

    async def aclose(self) -> None:
        await self._inner.aclose()


def diagnostic_client(
    *,
    base_url: str,
    token: SecretStr | None,
    options: ClientOptions | None = None,
    transport: httpx.AsyncBaseTransport | None = None,
) -> tuple[LaunchDarklyClient, Recording]:
    """A client that tries each request once and records its answers; on the server's route
    without ``transport``, and with no ``Authorization`` header without ``token``."""
    opts = replace(options or ClientOptions(), retry=RetryPolicy(max_attempts=1))
    route = None
    if transport is None:
        route = route_for(base_url, proxy=opts.proxy, ca_bundle=opts.ca_bundle)
        transport = route.transport(pool_limits(opts))
    secret = token.get_secret_value() if token is not None else None
    recorder = RecordingTransport(transport, Redactor(secret))
    recorder.recording.route = route
    if token is not None:
        client = LaunchDarklyClient.create(
            base_url=base_url, token=token, options=opts, transport=recorder
        )
    else:
        client = LaunchDarklyClient(http_client(base_url, opts, recorder), opts)
    return client, recorder.recording
