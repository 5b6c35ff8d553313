"""What a client is built with: its network limits, retry policy, proxy and CAs."""

from __future__ import annotations

from dataclasses import dataclass, field

from ld_insights_mcp.launchdarkly.retries import RetryPolicy


@dataclass(frozen=True, slots=True)
class ClientOptions:
    """Network limits of a client, and its proxy and CA bundle (None: from the environment,
    see ``network``)."""

    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    max_response_bytes: int = 5_000_000
    max_concurrency: int = 8
    retry: RetryPolicy = field(default_factory=RetryPolicy)
    proxy: str | None = field(default=None, repr=False)  # may carry a password
    ca_bundle: str | None = None
