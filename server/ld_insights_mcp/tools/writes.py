"""What the change tools share: annotations, fresh reads, results. A destructive tool changes
or removes what exists, only after the user confirms; the others add or rename, and do not ask.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any, TypeVar

from mcp.types import CallToolResult, TextContent, ToolAnnotations

from ld_insights_mcp.auth.person import current_person
from ld_insights_mcp.launchdarkly.cache import fresh_reads
from ld_insights_mcp.state import AppState
from ld_insights_mcp.text import quoted
from ld_insights_mcp.tools.upstream import call_launchdarkly
from ld_insights_mcp.views.changes import Approval, ChangeResult, ChangeStatus
from ld_insights_mcp.views.common import source_line

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient

T = TypeVar("T")

CONFIRMED = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
)
"""Changes or removes what exists, after the user confirms; the same call twice is one change."""
UNCONFIRMED = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
"""Adds, or renames (undone by renaming back): nothing is lost, so the user is not asked."""


async def read_fresh(
    state: AppState, read: Callable[[LaunchDarklyClient], Awaitable[T]], *, not_found: str
) -> T:
    """A read a change decides on (its preview, its guard): always fresh, never cached."""
    with fresh_reads():
        return await call_launchdarkly(state, read, not_found=not_found)


def change_result(state: AppState, result: ChangeResult, lines: list[str]) -> CallToolResult:
    """The result of a change tool; with sign-in it names the person who asked for it."""
    person = current_person()
    if person is not None:
        result = result.model_copy(update={"person": person})
        lines = [*lines, f"Asked for by {quoted(person)} (signed in)."]
    text = "\n".join([*source_line(state.data_source), *lines])
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=result.model_dump(mode="json"),
    )


def unchanged(
    state: AppState,
    status: ChangeStatus,
    target: str,
    line: str,
    *,
    now: dict[str, Any] | None = None,
) -> CallToolResult:
    """The result of a call that changed nothing: ``now`` is the target's state (before and
    after alike)."""
    result = ChangeResult(
        data_source=state.data_source, status=status, target=target, before=now, after=now
    )
    return change_result(state, result, [line])


def approval(by: Approval | None) -> str:
    """How a change that needs confirmation was approved, as a sentence (or nothing)."""
    if by == "user":
        return " Confirmed by the user."
    if by == "operator_opt_in":
        return (
            " Not confirmed by the user: this client cannot ask them, and the operator allows "
            "unconfirmed changes (LD_INSIGHTS_UNCONFIRMED_WRITES=allow)."
        )
    return ""
