"""One HTTP exchange with LaunchDarkly: auth header, concurrency bound, byte cap, error mapping.
Text LaunchDarkly sends back reaches callers only with the token (or a long prefix) redacted."""

from __future__ import annotations

import json
import math
import re
from collections.abc import Generator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import quote, urlencode

import anyio
import httpx
import pydantic_core
from pydantic import SecretStr, ValidationError

from ld_insights_mcp.launchdarkly.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    FieldError,
    InvalidRequestError,
    ResponseTooLargeError,
    UnexpectedResponseError,
    error_class_for,
)
from ld_insights_mcp.launchdarkly.models import ErrorRep
from ld_insights_mcp.launchdarkly.network import Failure, failure_of
from ld_insights_mcp.launchdarkly.rate_limits import MAX_HINT_SECONDS, RateLimitInfo
from ld_insights_mcp.launchdarkly.redaction import Redactor

READ_METHODS = frozenset({"GET", "HEAD"})
"""Methods that change nothing: safe to retry after any failure, never cache-invalidating."""

BETA_VERSION = "beta"
"""``LD-API-Version`` value the Engineering Insights and metric-group operations require."""

_NOT_SENT = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.ProxyError,
    httpx.UnsupportedProtocol,
)
"""Failures before any byte of the request left for LaunchDarkly (a proxy that failed the
CONNECT tunnel was sent only the host name and port)."""


class RawTokenAuth(httpx.Auth):
    """Sends the access token as LaunchDarkly expects: ``Authorization: <token>``, no scheme."""

    def __init__(self, token: SecretStr) -> None:
        self._token = token

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = self._token.get_secret_value()
        yield request


def path_segment(value: str, *, name: str) -> str:
    """Percent-encode one path segment so no value can change the route."""
    if value.strip(".") == "":
        raise InvalidRequestError(f"{name} must not be empty, '.' or '..' (got {value!r})")
    return quote(value, safe="")


_MAYBE_NON_FINITE = re.compile(rb"NaN|Infinity|[0-9][eE]\+?[0-9]{3}")
"""Bytes that may spell a number no float holds: ``NaN``, ``Infinity`` (which Python's and
pydantic's JSON readers accept though JSON has no such values) or an exponent past 1e308."""


def non_finite(body: bytes) -> str | None:
    """What non-finite number ``body`` holds (None if none): cheap unless the bytes hint at one."""
    if _MAYBE_NON_FINITE.search(body) is None:
        return None
    try:
        value = pydantic_core.from_json(body, allow_inf_nan=False)
    except ValueError:
        try:
            pydantic_core.from_json(body)
        except ValueError:
            return None  # not JSON at all: the caller reports that
        return "NaN or Infinity, which JSON does not allow"
    return "a number too large for a float" if _has_infinity(value) else None


def _has_infinity(value: Any) -> bool:
    if isinstance(value, float):
        return math.isinf(value)
    if isinstance(value, dict):
        return any(_has_infinity(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_infinity(v) for v in value)
    return False


@dataclass(frozen=True, slots=True)
class Response:
    """A successful answer: status, raw body and rate-limit headers."""

    status: int
    body: bytes
    content_type: str
    rate_limit: RateLimitInfo

    def refuse_non_finite(self, *, method: str, path: str) -> None:
        """Refuse (not show) a body holding NaN, Infinity or a number past a float's range."""
        found = non_finite(self.body)
        if found is not None:
            message = f"LaunchDarkly's answer holds {found}; it was refused rather than shown"
            raise UnexpectedResponseError(message, status=self.status, method=method, path=path)

    def json(self, *, method: str, path: str) -> Any:
        def unexpected(what: str) -> UnexpectedResponseError:
            message = f"LaunchDarkly answered {self.status} with {what}"
            return UnexpectedResponseError(message, status=self.status, method=method, path=path)

        if not self.body.strip():
            raise unexpected("an empty body where JSON was expected")
        self.refuse_non_finite(method=method, path=path)
        try:
            return json.loads(self.body)
        except RecursionError:
            raise unexpected(f"JSON nested too deeply to read ({len(self.body)} bytes)") from None
        except ValueError:
            kind = self.content_type or "no content type"
            raise unexpected(f"a body that is not JSON ({kind}, {len(self.body)} bytes)") from None


class Exchange:
    """Sends single requests through a shared ``httpx.AsyncClient``; a semaphore held from
    send to last byte (not in a retry's wait) is the one limit on requests in flight."""

    def __init__(
        self, http: httpx.AsyncClient, *, max_response_bytes: int, max_concurrency: int
    ) -> None:
        self._http = http
        self._origin = str(http.base_url).rstrip("/")
        self._max_response_bytes = max_response_bytes
        # a free slot is taken without a pass of the event loop: the send right after yields
        self._limiter = anyio.Semaphore(max_concurrency, fast_acquire=True)

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
    ) -> Response:
        """Send once (every operation used is beta); the answer on 2xx, else a typed error."""
        headers = {"LD-API-Version": BETA_VERSION}
        clean_params = {k: v for k, v in (params or {}).items() if v is not None}
        # One absolute URL: httpx parses it once (a base URL and params cost it three parses).
        url = self._origin + path
        if clean_params:
            url += "?" + urlencode(clean_params)
        request = self._http.build_request(method, url, json=json_body, headers=headers)
        async with self._limiter:
            try:
                response = await self._http.send(request, stream=True)
            except httpx.TimeoutException as exc:
                sent = not isinstance(exc, httpx.ConnectTimeout | httpx.PoolTimeout)
                raise APITimeoutError(
                    _describe("timed out", exc, sent), method=method, path=path, sent=sent
                ) from None
            except httpx.TransportError as exc:
                sent = not isinstance(exc, _NOT_SENT)
                failure = failure_of(exc)
                raise APIConnectionError(
                    _describe("connection failed", exc, sent, failure),
                    method=method,
                    path=path,
                    sent=sent,
                    fix=failure.fix if failure else None,
                ) from None
            try:
                body = await self._read_capped(response, method=method, path=path)
            finally:
                await response.aclose()
        redact = Redactor(request.headers.get("authorization"))
        rate_limit = RateLimitInfo.from_headers(response.headers)
        content_type = redact(response.headers.get("content-type", ""))[:_MAX_SHOWN]
        if response.is_success:
            return Response(response.status_code, body, content_type, rate_limit)
        raise _status_error(
            response.status_code, body, content_type, rate_limit, method, path, redact
        )

    async def _read_capped(self, response: httpx.Response, *, method: str, path: str) -> bytes:
        cap = self._max_response_bytes

        def unexpected(
            message: str, kind: type[UnexpectedResponseError] = ResponseTooLargeError
        ) -> UnexpectedResponseError:
            return kind(message, status=response.status_code, method=method, path=path)

        declared = response.headers.get("content-length")
        if declared and declared.isdigit() and int(declared) > cap:
            raise unexpected(
                f"LaunchDarkly's answer is {int(declared)} bytes, over the {cap}-byte cap"
            )
        chunks: list[bytes] = []
        size = 0
        try:
            async for chunk in response.aiter_bytes():
                size += len(chunk)
                if size > cap:
                    raise unexpected(f"LaunchDarkly's answer exceeded the {cap}-byte cap")
                chunks.append(chunk)
        except httpx.TimeoutException as exc:
            message = _describe("timed out reading the answer", exc, True)
            raise APITimeoutError(message, method=method, path=path, sent=True) from None
        except httpx.DecodingError:
            message = "LaunchDarkly's answer could not be decoded"
            raise unexpected(message, UnexpectedResponseError) from None
        except httpx.TransportError as exc:
            message = _describe("connection broke while reading the answer", exc, True)
            raise APIConnectionError(message, method=method, path=path, sent=True) from None
        return b"".join(chunks)


_MAX_SHOWN = 100
"""Longest piece of LaunchDarkly's own text (content type) quoted in a message."""


def _describe(what: str, exc: Exception, sent: bool, failure: Failure | None = None) -> str:
    kind = type(exc).__name__
    where = "after the request was sent" if sent else "before the request was sent"
    if failure is not None:
        return f"LaunchDarkly {what}: {failure.reason} ({kind}, {where})"
    return f"LaunchDarkly {what} ({kind}, {where})"


def _status_error(
    status: int,
    body: bytes,
    content_type: str,
    rate_limit: RateLimitInfo,
    method: str,
    path: str,
    redact: Redactor,
) -> APIStatusError:
    try:
        rep = ErrorRep.model_validate_json(body) if body.strip() else ErrorRep()
        code, message = redact(rep.code), redact(rep.message)
        fields = tuple(FieldError(redact(e.attribute), redact(e.reason)) for e in rep.errors)
    except ValidationError:
        kind = content_type.split(";")[0].strip() or "no content type"
        code, message, fields = f"http_{status}", f"non-JSON error body ({kind})", ()
    if not message:
        message = httpx.codes.get_reason_phrase(status) or "error"
    problem = rate_limit.problem(rate_limited=status == 429)
    if problem is not None and (status == 429 or status >= 500):
        message = (
            f"{message} (LaunchDarkly answered an unusable {redact(problem)}: not a wait of "
            f"0 to {MAX_HINT_SECONDS:.0f} seconds, so it was not waited out)"
        )
    return error_class_for(status)(
        status=status,
        code=code,
        message=message,
        method=method,
        path=path,
        field_errors=fields,
        rate_limit=rate_limit,
    )


class ExchangeHooks(Protocol):
    """Called around every request the client sends (``Exchange.send``)."""

    async def before(self, method: str, path: str) -> None:
        """May raise (e.g. ``RateLimitedError``) to send nothing."""
        ...

    async def after(
        self, method: str, path: str, outcome: int | str, seconds: float, error: Exception | None
    ) -> None:
        """``outcome``: the HTTP status, or the error's kind when no status came back."""
        ...
