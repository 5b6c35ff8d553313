"""LaunchDarkly API client: HTTP, models and errors; knows nothing of MCP. The client and its
retry policy (httpx, tenacity) load on first use, not at start-up."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

from ld_insights_mcp.launchdarkly.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FieldError,
    InvalidRequestError,
    KeyTakenError,
    LaunchDarklyError,
    MethodNotAllowedError,
    NotFoundError,
    OutcomeUnknownError,
    PatchFailedError,
    PermissionDeniedError,
    RateLimitedError,
    ResponseTooLargeError,
    ServerError,
    UnexpectedResponseError,
)
from ld_insights_mcp.launchdarkly.rate_limits import RateLimitInfo

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.client import Created, LaunchDarklyClient
    from ld_insights_mcp.launchdarkly.options import ClientOptions
    from ld_insights_mcp.launchdarkly.retries import RetryPolicy

_LAZY = {
    "ClientOptions": ".options",
    "Created": ".client",
    "LaunchDarklyClient": ".client",
    "RetryPolicy": ".retries",
}


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(import_module(_LAZY[name], __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


__all__ = [
    "APIConnectionError",
    "APIStatusError",
    "APITimeoutError",
    "AuthenticationError",
    "BadRequestError",
    "ClientOptions",
    "ConflictError",
    "Created",
    "FieldError",
    "InvalidRequestError",
    "KeyTakenError",
    "LaunchDarklyClient",
    "LaunchDarklyError",
    "MethodNotAllowedError",
    "NotFoundError",
    "OutcomeUnknownError",
    "PatchFailedError",
    "PermissionDeniedError",
    "RateLimitInfo",
    "RateLimitedError",
    "ResponseTooLargeError",
    "RetryPolicy",
    "ServerError",
    "UnexpectedResponseError",
]
