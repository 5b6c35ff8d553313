"""LaunchDarkly's error answers: ``{code, message}``, plus ``errors`` on 400."""

from __future__ import annotations

from functools import partial
from typing import Any

Body = dict[str, Any]

ERROR_CODES = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    409: "conflict",
    422: "patch_failed",
    429: "rate_limited",
    500: "internal_server_error",
    502: "bad_gateway",
    503: "service_unavailable",
    504: "gateway_timeout",
}


class ApiError(Exception):
    """An error answer; ``errors`` lists ``(attribute, reason)`` pairs for a 400."""

    def __init__(self, status: int, message: str, errors: list[tuple[str, str]] | None = None):
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []
        self.code = ERROR_CODES.get(status, f"http_{status}")

    def body(self) -> Body:
        body: Body = {"code": self.code, "message": self.message}
        if self.status == 400:
            body["errors"] = [{"attribute": a, "reason": r} for a, r in self.errors]
        return body


def invalid(attribute: str, reason: str) -> ApiError:
    """400 naming one attribute (a query parameter, a body field or ``body`` itself)."""
    return ApiError(400, f"{attribute}: {reason}", [(attribute, reason)])


def invalid_many(problems: list[tuple[str, str]]) -> ApiError:
    """400 naming several attributes at once."""
    message = "; ".join(f"{a}: {r}" for a, r in problems)
    return ApiError(400, message, problems)


not_found = partial(ApiError, 404)
conflict = partial(ApiError, 409)
patch_failed = partial(ApiError, 422)
