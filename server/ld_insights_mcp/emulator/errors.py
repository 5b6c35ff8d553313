"""LaunchDarkly's error answers: ``{code, message}``, plus ``errors`` on 400."""

from __future__ import annotations

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

DEFAULT_MESSAGES = {
    400: "Invalid request",
    401: "Invalid access token",
    403: "Forbidden. Access to the requested resource was denied.",
    404: "Invalid resource identifier",
    405: "Method not allowed",
    409: "Conflict",
    422: "Unprocessable entity. Could not apply patch.",
    429: "You've exceeded the API rate limit. Try again later.",
    500: "An internal error occurred. Try again later.",
    502: "Bad gateway",
    503: "Service unavailable. Try again later.",
    504: "Gateway timeout",
}


class ApiError(Exception):
    """An error answer; ``errors`` lists ``(attribute, reason)`` pairs for a 400."""

    def __init__(
        self,
        status: int,
        message: str,
        errors: list[tuple[str, str]] | None = None,
        *,
        code: str | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.errors = errors or []
        self.code = code or ERROR_CODES.get(status, f"http_{status}")

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


def not_found(message: str) -> ApiError:
    return ApiError(404, message)


def conflict(message: str) -> ApiError:
    return ApiError(409, message)


def patch_failed(message: str) -> ApiError:
    return ApiError(422, message)


def default_error_body(status: int) -> Body:
    """The body a fault sends when it names only a status."""
    code = ERROR_CODES.get(status, "internal_server_error" if status >= 500 else f"http_{status}")
    body: Body = {"code": code, "message": DEFAULT_MESSAGES.get(status, f"HTTP {status}")}
    if status == 400:
        body["errors"] = []
    return body
