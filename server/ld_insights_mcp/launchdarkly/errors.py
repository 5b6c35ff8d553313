"""Typed errors for LaunchDarkly API calls: what a caller needs to decide the next step, never
the access token."""

from __future__ import annotations

from dataclasses import dataclass

from ld_insights_mcp.launchdarkly.rate_limits import RateLimitInfo


@dataclass(frozen=True, slots=True)
class FieldError:
    """One entry of a 400 answer's ``errors`` list."""

    attribute: str
    reason: str


class LaunchDarklyError(Exception):
    """Base class of every error raised by the LaunchDarkly client."""


class InvalidRequestError(LaunchDarklyError, ValueError):
    """The caller asked for something the client refuses to send (nothing was sent)."""


class OutcomeUnknownError(LaunchDarklyError):
    """A create failed after it may have reached LaunchDarkly; reading back did not settle it."""

    template = (
        "the create of {what} may or may not have happened: LaunchDarkly failed after it may "
        "have received it, and reading the key back did not settle it"
    )

    def __init__(self, what: str, key: str) -> None:
        super().__init__(self.template.format(what=what))
        self.what = what
        self.key = key


class APIConnectionError(LaunchDarklyError):
    """LaunchDarkly could not be reached, or the connection broke. ``sent``: the request may
    have reached LaunchDarkly; ``fix``: the user's next step for a proxy or TLS failure."""

    def __init__(
        self, message: str, *, method: str, path: str, sent: bool, fix: str | None = None
    ) -> None:
        super().__init__(message)
        self.method = method
        self.path = path
        self.sent = sent
        self.fix = fix


class APITimeoutError(APIConnectionError):
    """LaunchDarkly did not answer in time."""


class UnexpectedResponseError(LaunchDarklyError):
    """LaunchDarkly answered, but not with a body the contract allows."""

    def __init__(self, message: str, *, status: int, method: str, path: str) -> None:
        super().__init__(message)
        self.status = status
        self.method = method
        self.path = path


class ResponseTooLargeError(UnexpectedResponseError):
    """The response body exceeded the configured byte cap."""


class APIStatusError(LaunchDarklyError):
    """LaunchDarkly answered with an error status."""

    status: int = 0

    def __init__(
        self,
        *,
        status: int,
        code: str,
        message: str,
        method: str,
        path: str,
        field_errors: tuple[FieldError, ...] = (),
        rate_limit: RateLimitInfo | None = None,
    ) -> None:
        super().__init__(f"{method} {path} -> {status} {code}: {message}")
        self.status = status
        self.code = code
        self.message = message
        self.method = method
        self.path = path
        self.field_errors = field_errors
        self.rate_limit = rate_limit or RateLimitInfo()


class BadRequestError(APIStatusError):
    """400: the request was invalid; ``field_errors`` names the attributes."""


class AuthenticationError(APIStatusError):
    """401: the access token is missing, malformed or revoked."""


class PermissionDeniedError(APIStatusError):
    """403: the token lacks access, or the beta API version header was refused."""


class NotFoundError(APIStatusError):
    """404: the key or route does not exist."""


class MethodNotAllowedError(APIStatusError):
    """405: the operation is not available for this resource."""


class ConflictError(APIStatusError):
    """409: a resource with this key already exists. On a create: ``existing`` as read (None:
    unreadable); ``sent_earlier``: this client sent a create of the key shortly before, so it
    may be its own; ``after_lost_answer``: this call's own create may have landed."""

    existing: object | None = None
    sent_earlier: bool = False
    after_lost_answer: bool = False


class KeyTakenError(ConflictError):
    """A create found its key taken without a 409 (before sending, or reading back after a
    failure): ``status`` 409 by analogy, ``code`` ``key_taken``."""

    def __init__(
        self,
        *,
        key: str,
        existing: object,
        sent_earlier: bool,
        method: str,
        path: str,
        how: str,
        after_lost_answer: bool = False,
    ) -> None:
        super().__init__(
            status=409,
            code="key_taken",
            message=f"a resource with key {key!r} already exists ({how})",
            method=method,
            path=path,
        )
        self.existing = existing
        self.sent_earlier = sent_earlier
        self.after_lost_answer = after_lost_answer


class PatchFailedError(APIStatusError):
    """422: the JSON Patch could not be applied."""


class RateLimitedError(APIStatusError):
    """429: rate limited; ``retry_after`` is the wait LaunchDarkly asked for, in seconds."""

    @property
    def retry_after(self) -> float | None:
        return self.rate_limit.wait_seconds()


class ServerError(APIStatusError):
    """5xx: LaunchDarkly failed to handle the request."""

    @property
    def retry_after(self) -> float | None:
        """``Retry-After`` only: the rate-limit reset time says nothing about a failure."""
        return self.rate_limit.retry_after


_BY_STATUS: dict[int, type[APIStatusError]] = {
    400: BadRequestError,
    401: AuthenticationError,
    403: PermissionDeniedError,
    404: NotFoundError,
    405: MethodNotAllowedError,
    409: ConflictError,
    422: PatchFailedError,
    429: RateLimitedError,
}


def error_class_for(status: int) -> type[APIStatusError]:
    """The most specific error class for an HTTP error status."""
    return _BY_STATUS.get(status, ServerError if status >= 500 else APIStatusError)
