"""What happens around every LaunchDarkly request: the shared rate-limit gate and metrics."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ld_insights_mcp.launchdarkly.errors import APIStatusError
from ld_insights_mcp.shared.rate_gates import RateLimitGate, mark_outcome

if TYPE_CHECKING:
    from ld_insights_mcp.shared.metrics import Metrics


class UpstreamHooks:
    """``ExchangeHooks``: refuse while the gate is closed, record 429s in it, count."""

    def __init__(self, gate: RateLimitGate | None, metrics: Metrics | None) -> None:
        self.gate = gate
        self.metrics = metrics

    async def before(self, method: str, path: str) -> None:
        if self.gate is not None:
            await self.gate.check(method, path)

    async def after(
        self, method: str, path: str, outcome: int | str, seconds: float, error: Exception | None
    ) -> None:
        mark_outcome(outcome == 429)
        if self.metrics is not None:
            self.metrics.upstream_request(method, path, outcome, seconds)
        if self.gate is not None and isinstance(error, APIStatusError) and outcome == 429:
            await self.gate.note(error)
