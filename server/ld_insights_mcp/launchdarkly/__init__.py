"""LaunchDarkly API client: HTTP, models and errors; knows nothing of MCP."""

from .client import ClientOptions, Created, LaunchDarklyClient
from .errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    AuthenticationError,
    BadRequestError,
    ConflictError,
    FieldError,
    InvalidRequestError,
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
from .rate_limits import RateLimitInfo
from .retries import RetryPolicy

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
