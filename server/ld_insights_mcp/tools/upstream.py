"""Calling LaunchDarkly from a tool: a time budget, and failures made a ``ToolError`` a model
can act on (what happened, what to do next; never the access token)."""

from __future__ import annotations

import logging
import math
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

import anyio
from mcp.server.mcpserver.exceptions import ToolError

from ld_insights_mcp.launchdarkly import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    InvalidRequestError,
    LaunchDarklyError,
    NotFoundError,
    OutcomeUnknownError,
    PatchFailedError,
    PermissionDeniedError,
    RateLimitedError,
    ServerError,
    UnexpectedResponseError,
)
from ld_insights_mcp.launchdarkly.changes import ChangeNotAppliedError, ConcurrentChangeError
from ld_insights_mcp.state import AppState
from ld_insights_mcp.text import quoted

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient

T = TypeVar("T")
logger = logging.getLogger(__name__)

FIELDS_SHOWN = 5
"""The most field errors of a 400 shown."""
LONGEST_SHOWN_WAIT = 86_400.0
"""Waits beyond a day are not turned into a clock time (and cannot overflow one)."""


_NOT_AGAIN = "Do not repeat it, and do not make it again under another key."
NO_ANSWER = "no answer within the call's time budget"


@dataclass(frozen=True, slots=True)
class Write:
    """A write a tool makes: what it is, the call that reads it back, whether it may have been
    ``sent``, and whether it ``creates`` something under a key the caller chose."""

    what: str
    read_back: str
    sent: Callable[[], bool] = lambda: True
    creates: bool = False

    @property
    def made(self) -> str:
        return "created" if self.creates else "changed"

    @property
    def do_not_repeat(self) -> str:
        return _NOT_AGAIN if self.creates else "Do not repeat it."


class CallBudget:
    """One tool call's time budget: the deadline every LaunchDarkly call it makes shares, and
    the text a model reads when one fails or the budget runs out."""

    def __init__(self, state: AppState) -> None:
        self.seconds = state.settings.call_budget
        self.deadline = anyio.current_time() + self.seconds

    def scope(self) -> anyio.CancelScope:
        """A scope that cancels what runs inside it at the deadline."""
        return anyio.CancelScope(deadline=self.deadline)

    def failure(
        self, exc: LaunchDarklyError | None, *, not_found: str, write: Write | None = None
    ) -> ToolError:
        """The error for a call that failed with ``exc``, or (``None``) ran out of budget."""
        if exc is None:
            return ToolError(_budget_spent(self.seconds, write))
        logger.info("LaunchDarkly call failed: %s", exc)
        return ToolError(describe_failure(exc, not_found=not_found, write=write))

    @staticmethod
    def reason(exc: LaunchDarklyError | None) -> str:
        """Why one of several reads has no answer, in a line: ``exc``, or the budget (None)."""
        return NO_ANSWER if exc is None else describe_failure(exc, not_found=None)


async def call_launchdarkly(
    state: AppState,
    operation: Callable[[LaunchDarklyClient], Awaitable[T]],
    *,
    not_found: str,
    write: Write | None = None,
) -> T:
    """Run one LaunchDarkly operation within the call budget; ``not_found`` is the advice on a
    404. For a ``write`` that may have been sent when the budget runs out, the outcome is unknown
    and the next step is ``write.read_back``, never "try again"."""
    budget = CallBudget(state)
    with budget.scope():
        try:
            return await operation(state.client)
        except LaunchDarklyError as exc:
            raise budget.failure(exc, not_found=not_found, write=write) from None
    raise budget.failure(None, not_found=not_found, write=write)


def _budget_spent(budget: float, write: Write | None) -> str:
    if write is not None and write.sent():
        return (
            f"Outcome unknown: this call's {budget:g} s time budget ran out during "
            f"{write.what}, which may already have reached LaunchDarkly; it may or may not "
            f"have happened. {write.do_not_repeat} "
            f"Next: {write.read_back} to see whether it happened."
        )
    if write is not None:
        return (
            f"LaunchDarkly did not finish within this call's {budget:g} s budget (retries "
            f"included), before {write.what} was sent: nothing was {write.made}. It may be "
            "slow or degraded: try again in a minute."
        )
    return (
        f"LaunchDarkly did not finish within this call's {budget:g} s budget (retries "
        "included). It may be slow or degraded: try again in a minute, or ask for less "
        "data (a smaller limit)."
    )


def describe_failure(
    exc: LaunchDarklyError, *, not_found: str | None, write: Write | None = None
) -> str:
    """Text for a model: what went wrong, what was changed (for a ``write``), and the next
    step (on a 404, ``not_found``; None: no step)."""
    if isinstance(exc, ConcurrentChangeError):
        if exc.maybe_applied:
            done = "this change may have been applied first and then overwritten"
        else:
            done = "nothing was changed by this call (the change is guarded, so it was refused)"
        step = write.read_back if write else "read it again"
        return (
            f"Not changed: {exc}. Someone or something else changed it after it was read; "
            f"{done}. Next: {step}, show the user its current values and ask again before "
            "changing anything."
        )
    if isinstance(exc, ChangeNotAppliedError):
        text = describe_failure(exc.cause, not_found=not_found)
        return f"{text} Reading it back shows nothing was changed by {exc.what}."
    text = _describe(exc, not_found=not_found, write=write)
    if write is not None and not write.creates and not isinstance(exc, OutcomeUnknownError):
        text += " Nothing was changed."
    return text


def _describe(exc: LaunchDarklyError, *, not_found: str | None, write: Write | None) -> str:
    if isinstance(exc, InvalidRequestError):
        return f"Invalid argument: {exc}. Fix it and call again."
    if isinstance(exc, OutcomeUnknownError):
        step = write.read_back if write else "read it back by key"
        again = write.do_not_repeat if write else _NOT_AGAIN
        return f"Outcome unknown: {exc}. {again} Next: {step} to see whether it happened."
    if isinstance(exc, APITimeoutError):
        return (
            f"LaunchDarkly did not answer in time ({exc}). It may be slow or unreachable; "
            "try again shortly."
        )
    if isinstance(exc, APIConnectionError):
        if exc.fix is not None:  # a proxy or TLS failure: waiting will not mend it
            return (
                f"Could not reach LaunchDarkly ({exc}). Retrying will not help: the user must "
                f"{exc.fix}, then restart the server."
            )
        return (
            f"Could not reach LaunchDarkly ({exc}). Check the network and LD_BASE_URI; "
            "try again shortly."
        )
    if isinstance(exc, UnexpectedResponseError):
        return (
            f"LaunchDarkly answered with status {exc.status} but an unusable body: "
            f"{quoted(str(exc))}. "
            "This is an upstream problem, not your input; try again later."
        )
    if isinstance(exc, APIStatusError):
        return _describe_status(exc, not_found=not_found)
    return f"LaunchDarkly call failed: {exc}"  # pragma: no cover - every subclass handled


def _describe_status(exc: APIStatusError, *, not_found: str | None) -> str:
    said = f"LaunchDarkly said: {quoted(f'{exc.code}: {exc.message}')}"
    if isinstance(exc, AuthenticationError):
        return (
            f"LaunchDarkly rejected the access token (401). {said}. The token is missing, "
            "malformed or revoked: the user must set LD_ACCESS_TOKEN to a valid access token "
            "(not an SDK key or client-side ID) and restart the server. Retrying will not help."
        )
    if isinstance(exc, PermissionDeniedError):
        return (
            f"LaunchDarkly refused access (403). {said}. The token lacks permission for this "
            "project or for Engineering Insights: ask a LaunchDarkly admin for a role with "
            "access. Retrying will not help."
        )
    if isinstance(exc, NotFoundError):
        return f"Not found (404). {said}." + (f" Next: {not_found}." if not_found else "")
    if isinstance(exc, BadRequestError):
        errors = exc.field_errors
        shown = [quoted(f"{f.attribute}: {f.reason}") for f in errors[:FIELDS_SHOWN]]
        if len(errors) > FIELDS_SHOWN:
            shown.append(f"{len(errors) - FIELDS_SHOWN} more")
        fields = "; ".join(shown)
        detail = f" Fields: {fields}." if fields else ""
        return f"LaunchDarkly refused the request (400). {said}.{detail} Fix it and call again."
    if isinstance(exc, PatchFailedError):
        return f"LaunchDarkly could not apply the change (422). {said}."
    if isinstance(exc, RateLimitedError):
        return f"LaunchDarkly rate limit reached (429). {said}. {_retry_advice(exc.retry_after)}"
    if isinstance(exc, ServerError):
        return (
            f"LaunchDarkly failed ({exc.status}), after retries. {said}. "
            f"{_retry_advice(exc.retry_after)}"
        )
    return f"LaunchDarkly answered {exc.status}. {said}."


def _retry_advice(wait: float | None) -> str:
    """When to retry; any wait (huge, infinite, not a number) gives a sentence, not an error."""
    if wait is None or math.isnan(wait) or wait < 0:
        return "Wait a minute before trying again."
    if wait > LONGEST_SHOWN_WAIT:
        return "LaunchDarkly asked to wait more than a day; do not retry now, tell the user."
    at = datetime.now(UTC) + timedelta(seconds=wait)
    return f"Retry after {wait:.0f} s (at {at:%H:%M:%S} UTC); do not retry sooner."
