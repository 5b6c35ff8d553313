"""Calling LaunchDarkly from a tool: a time budget, and errors a model can act on.

The rule: an upstream failure becomes a ``ToolError`` whose text says what happened and what
to do next. Nothing here ever includes the access token.
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, TypeVar

import anyio
from mcp.server.mcpserver.exceptions import ToolError

from ..launchdarkly import (
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
from ..state import AppState

if TYPE_CHECKING:
    from ..launchdarkly.client import LaunchDarklyClient

T = TypeVar("T")
logger = logging.getLogger(__name__)


async def call_launchdarkly(
    state: AppState,
    operation: Callable[[LaunchDarklyClient], Awaitable[T]],
    *,
    not_found: str,
) -> T:
    """Run one logical LaunchDarkly operation within the call budget.

    ``not_found`` is the advice given on a 404, e.g. "call list_insight_groups to see keys".
    """
    budget = state.settings.call_budget
    try:
        with anyio.fail_after(budget):
            return await operation(state.client)
    except TimeoutError:
        raise ToolError(
            f"LaunchDarkly did not finish within this call's {budget:g} s budget (retries "
            "included). It may be slow or degraded: try again in a minute, or ask for less "
            "data (a smaller limit)."
        ) from None
    except LaunchDarklyError as exc:
        logger.info("LaunchDarkly call failed: %s", exc)
        raise ToolError(describe_failure(exc, not_found=not_found)) from None


def describe_failure(exc: LaunchDarklyError, *, not_found: str) -> str:
    """Text for a model: what went wrong and the next step."""
    if isinstance(exc, InvalidRequestError):
        return f"Invalid argument: {exc}. Fix it and call again."
    if isinstance(exc, OutcomeUnknownError):
        return f"Outcome unknown: {exc}."
    if isinstance(exc, APITimeoutError):
        return (
            f"LaunchDarkly did not answer in time ({exc}). It may be slow or unreachable; "
            "try again shortly."
        )
    if isinstance(exc, APIConnectionError):
        return (
            f"Could not reach LaunchDarkly ({exc}). Check the network and LD_BASE_URI; "
            "try again shortly."
        )
    if isinstance(exc, UnexpectedResponseError):
        return (
            f"LaunchDarkly answered with status {exc.status} but an unusable body: {exc}. "
            "This is an upstream problem, not your input; try again later."
        )
    if isinstance(exc, APIStatusError):
        return _describe_status(exc, not_found=not_found)
    return f"LaunchDarkly call failed: {exc}"  # pragma: no cover - every subclass handled


def _describe_status(exc: APIStatusError, *, not_found: str) -> str:
    said = f"LaunchDarkly said: {exc.code}: {exc.message}"
    if isinstance(exc, AuthenticationError):
        return (
            f"LaunchDarkly rejected the access token (401). {said}. The token is missing, "
            "malformed or revoked: the user must set LD_ACCESS_TOKEN to a valid personal or "
            "service access token (SDK keys and client-side IDs do not work) and restart the "
            "server. Retrying will not help."
        )
    if isinstance(exc, PermissionDeniedError):
        return (
            f"LaunchDarkly refused access (403). {said}. The token lacks permission for this "
            "project or for Engineering Insights (a beta API that needs the 'LD-API-Version: "
            "beta' header, which this server sends). Ask a LaunchDarkly admin for a role with "
            "access. Retrying will not help."
        )
    if isinstance(exc, NotFoundError):
        return f"Not found (404). {said}. Next: {not_found}."
    if isinstance(exc, BadRequestError):
        fields = "; ".join(f"{f.attribute}: {f.reason}" for f in exc.field_errors)
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
    if wait is None:
        return "Wait a minute before trying again."
    at = datetime.now(UTC) + timedelta(seconds=wait)
    return f"Retry after {wait:.0f} s (at {at:%H:%M:%S} UTC); do not retry sooner."
