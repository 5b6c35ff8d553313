"""Upstream calls started as soon as they are known and awaited when needed.

``Reads`` starts each call in one task group (the client's semaphore bounds how many run) and
lets the caller await any by key; a call that fails or is cut off at the deadline is kept with
a short reason.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Hashable
from contextlib import asynccontextmanager
from typing import Any

import anyio
from anyio.abc import TaskGroup

from ld_insights_mcp.launchdarkly import LaunchDarklyError

Progress = Callable[[str, int, int], Awaitable[None]]
"""``(label, done, started)`` after each call ends."""
Describe = Callable[[LaunchDarklyError | None], str]
"""A read's failure (None: no answer by the deadline) as a one-line reason."""


class Reads:
    """Calls started in ``group``, each under a key; ``result(key)`` waits for one."""

    def __init__(self, group: TaskGroup, *, describe: Describe, progress: Progress) -> None:
        self._group, self._describe, self._progress = group, describe, progress
        self._ended: dict[Hashable, anyio.Event] = {}
        self.labels: dict[Hashable, str] = {}
        self.results: dict[Hashable, Any] = {}
        self.errors: dict[Hashable, LaunchDarklyError] = {}
        self._done = 0

    def start(self, key: Hashable, label: str, run: Callable[[], Awaitable[Any]]) -> None:
        """Start ``run`` under ``key`` unless a call under that key has started already."""
        if key in self._ended:
            return
        self._ended[key] = anyio.Event()
        self.labels[key] = label
        self._group.start_soon(self._one, key, run)

    def started(self, key: Hashable) -> bool:
        return key in self._ended

    async def _one(self, key: Hashable, run: Callable[[], Awaitable[Any]]) -> None:
        try:
            self.results[key] = await run()
        except LaunchDarklyError as exc:
            self.errors[key] = exc
        finally:
            self._ended[key].set()
        self._done += 1
        await self._progress(self.labels[key], self._done, len(self._ended))

    async def result(self, key: Hashable) -> Any:
        """The call's answer once it ends; None if it failed."""
        await self._ended[key].wait()
        return self.results.get(key)

    def reason(self, key: Hashable) -> str | None:
        """Why a started call has no answer (None if it has one)."""
        return None if key in self.results else self._describe(self.errors.get(key))


@asynccontextmanager
async def reads_until(
    deadline: float, *, describe: Describe, progress: Progress
) -> AsyncIterator[Reads]:
    """Reads that end at ``deadline``: those still running then, or when the block ends, are
    cancelled and have no answer."""
    async with anyio.create_task_group() as group:
        with anyio.CancelScope(deadline=deadline):
            yield Reads(group, describe=describe, progress=progress)
        group.cancel_scope.cancel()
