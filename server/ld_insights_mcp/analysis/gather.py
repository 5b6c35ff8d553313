"""Run several upstream calls at once, keep what arrives, and name what did not.

The client's own semaphore bounds how many run at a time; this only starts them together.
A call that fails (a ``LaunchDarklyError``) or does not finish before the deadline is
recorded as missing with a short reason; the others' results are kept.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import anyio

from ..launchdarkly import LaunchDarklyError


@dataclass(frozen=True, slots=True)
class Call:
    """One upstream call: ``label`` names it to the reader (e.g. ``getLeadTimeChart
    (this period)``), ``run`` makes it."""

    label: str
    run: Callable[[], Awaitable[Any]]


@dataclass
class Gathered:
    results: dict[str, Any] = field(default_factory=dict)
    missing: dict[str, str] = field(default_factory=dict)  # label -> reason

    def get(self, label: str) -> Any:
        return self.results.get(label)


Progress = Callable[[str], Awaitable[None]]
Describe = Callable[[LaunchDarklyError], str]


async def gather(
    calls: Sequence[Call],
    *,
    deadline: float,
    describe: Describe,
    progress: Progress | None = None,
) -> Gathered:
    """Run ``calls`` concurrently until ``deadline`` (``anyio.current_time()`` clock)."""
    found = Gathered()

    async def one(call: Call) -> None:
        try:
            found.results[call.label] = await call.run()
        except LaunchDarklyError as exc:
            found.missing[call.label] = describe(exc)
        if progress is not None:
            await progress(call.label)

    with anyio.CancelScope(deadline=deadline):
        async with anyio.create_task_group() as group:
            for call in dict((c.label, c) for c in calls).values():
                group.start_soon(one, call)
    for call in calls:
        if call.label not in found.results and call.label not in found.missing:
            found.missing[call.label] = "no answer within the call's time budget"
    return found
