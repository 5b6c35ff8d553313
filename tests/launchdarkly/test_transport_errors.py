"""What one HTTP exchange promises its callers when LaunchDarkly's answer is not usable.

Errors carry the method, path and status; messages name the content type and byte count; an
error body without a message falls back to the HTTP reason phrase; the byte cap allows exactly
the cap; an unusable wait hint is reported on 429 and on every 5xx; path segments cannot
change the route. Requests go to the emulator over HTTP (in-process ASGI transport).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager

import httpx
import pytest
from pydantic import SecretStr

from ld_insights_mcp.launchdarkly import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    InvalidRequestError,
    RateLimitedError,
    ResponseTooLargeError,
    ServerError,
    UnexpectedResponseError,
)
from ld_insights_mcp.launchdarkly.transport import Exchange, RawTokenAuth, path_segment
from tests.support import Emulator, Fault

from ..conftest import TOKEN

pytestmark = pytest.mark.anyio

GROUPS = "/api/v2/engineering-insights/insights/groups"
GROUP = f"{GROUPS}/some-group"
EMPTY_LIST = b'{"items": [], "totalCount": 0}'

ExchangeFactory = Callable[[int], Exchange]


@pytest.fixture
async def http(transport: httpx.AsyncBaseTransport) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(
        transport=transport,
        base_url="https://app.launchdarkly.com",
        auth=RawTokenAuth(SecretStr(TOKEN)),
    ) as client:
        yield client


@pytest.fixture
def exchange_with_cap(http: httpx.AsyncClient) -> ExchangeFactory:
    """``exchange_with_cap(n)``: an exchange that accepts answers of at most ``n`` bytes."""

    def build(cap: int) -> Exchange:
        return Exchange(http, max_response_bytes=cap, max_concurrency=2)

    return build


class Rechunked(httpx.AsyncBaseTransport):
    """The emulator behind a proxy that re-sends each answer in ``size``-byte chunks
    without ``Content-Length`` (as chunked transfer encoding does)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, size: int) -> None:
        self._inner, self._size = inner, size

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await self._inner.handle_async_request(request)
        body = await answer.aread()
        await answer.aclose()
        headers = [(k, v) for k, v in answer.headers.raw if k.lower() != b"content-length"]
        return httpx.Response(answer.status_code, headers=headers, stream=_Chunks(body, self._size))


class _Chunks(httpx.AsyncByteStream):
    def __init__(self, body: bytes, size: int, fails_with: Exception | None = None) -> None:
        self._body, self._size, self._fails_with = body, size, fails_with

    async def __aiter__(self) -> AsyncIterator[bytes]:
        for start in range(0, len(self._body), self._size):
            yield self._body[start : start + self._size]
            if self._fails_with is not None:
                raise self._fails_with


class BreaksWhileReading(httpx.AsyncBaseTransport):
    """The emulator behind a link that fails with ``error`` after the first bytes of the
    answer arrived (the status line and headers were received)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, error: Exception) -> None:
        self._inner, self._error = inner, error

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        answer = await self._inner.handle_async_request(request)
        body = await answer.aread()
        await answer.aclose()
        stream = _Chunks(body, 4, fails_with=self._error)
        return httpx.Response(answer.status_code, headers=answer.headers.raw, stream=stream)


@asynccontextmanager
async def streamed_exchange(emulator: Emulator, *, chunk: int, cap: int) -> AsyncIterator[Exchange]:
    async with httpx.AsyncClient(
        transport=Rechunked(httpx.ASGITransport(app=emulator.app), chunk),
        base_url="https://app.launchdarkly.com",
        auth=RawTokenAuth(SecretStr(TOKEN)),
    ) as http:
        yield Exchange(http, max_response_bytes=cap, max_concurrency=2)


@pytest.fixture
def exchange(exchange_with_cap: ExchangeFactory) -> Exchange:
    return exchange_with_cap(1_000_000)


# --- success bodies that are not the JSON the contract promises -------------------------


@pytest.mark.parametrize(
    ("body", "said"),
    [
        (b"  ", "LaunchDarkly answered 200 with an empty body where JSON was expected"),
        (b'{"key": "k", "n": NaN}', "holds NaN or Infinity, which JSON does not allow; it was"),
    ],
    ids=["empty", "non-finite"],
)
async def test_an_unusable_success_body_names_status_method_and_path(
    exchange: Exchange, emulator: Emulator, body: bytes, said: str
) -> None:
    emulator.faults.push("getInsightGroup", Fault(status=200, body=body))
    response = await exchange.send("GET", GROUP)
    with pytest.raises(UnexpectedResponseError) as caught:
        response.json(method="GET", path=GROUP)
    error = caught.value
    assert (error.status, error.method, error.path) == (200, "GET", GROUP)
    assert said in str(error)


async def test_json_nested_too_deeply_names_status_method_path_and_size(
    exchange: Exchange, emulator: Emulator
) -> None:
    deep = b"[" * 100_000
    emulator.faults.push("getInsightGroups", Fault(status=200, body=deep))
    response = await exchange.send("GET", GROUPS)
    with pytest.raises(UnexpectedResponseError) as caught:
        response.json(method="GET", path=GROUPS)
    error = caught.value
    assert (error.status, error.method, error.path) == (200, "GET", GROUPS)
    assert "nested too deeply" in str(error)
    assert f"({len(deep)} bytes)" in str(error)


async def test_a_non_json_success_body_names_its_content_type_and_size(
    exchange: Exchange, emulator: Emulator
) -> None:
    page = b"<html>maintenance</html>"
    emulator.faults.push("getInsightGroups", Fault(status=200, body=page, content_type="text/html"))
    response = await exchange.send("GET", GROUPS)
    with pytest.raises(UnexpectedResponseError) as caught:
        response.json(method="GET", path=GROUPS)
    error = caught.value
    assert (error.status, error.method, error.path) == (200, "GET", GROUPS)
    assert str(error).endswith(f"not JSON (text/html, {len(page)} bytes)")


async def test_a_non_json_success_body_without_content_type_says_so(
    exchange: Exchange, emulator: Emulator
) -> None:
    emulator.faults.push("getInsightGroups", Fault(status=200, body=b"nope", content_type=""))
    response = await exchange.send("GET", GROUPS)
    with pytest.raises(UnexpectedResponseError) as caught:
        response.json(method="GET", path=GROUPS)
    assert str(caught.value).endswith("not JSON (no content type, 4 bytes)")


# --- the byte cap --------------------------------------------------------------------------


async def test_an_answer_of_exactly_the_cap_is_read(
    exchange_with_cap: ExchangeFactory, emulator: Emulator
) -> None:
    emulator.faults.push("getInsightGroups", Fault(status=200, body=EMPTY_LIST))
    response = await exchange_with_cap(len(EMPTY_LIST)).send("GET", GROUPS)
    assert response.body == EMPTY_LIST
    assert response.json(method="GET", path=GROUPS) == {"items": [], "totalCount": 0}


async def test_a_declared_length_one_over_the_cap_is_refused_before_reading(
    exchange_with_cap: ExchangeFactory, emulator: Emulator
) -> None:
    emulator.faults.push("deleteInsightGroup", Fault(status=200, body=EMPTY_LIST))
    cap = len(EMPTY_LIST) - 1
    with pytest.raises(ResponseTooLargeError) as caught:
        await exchange_with_cap(cap).send("DELETE", GROUP)
    error = caught.value
    assert (error.status, error.method, error.path) == (200, "DELETE", GROUP)
    # The declared Content-Length decides before any byte is read (the streamed check
    # words it differently: "exceeded").
    assert str(error) == (
        f"LaunchDarkly's answer is {len(EMPTY_LIST)} bytes, over the {cap}-byte cap"
    )


async def test_a_streamed_answer_of_exactly_the_cap_is_read(emulator: Emulator) -> None:
    emulator.faults.push("getInsightGroups", Fault(status=200, body=EMPTY_LIST))
    async with streamed_exchange(emulator, chunk=7, cap=len(EMPTY_LIST)) as exchange:
        response = await exchange.send("GET", GROUPS)
    assert response.body == EMPTY_LIST


async def test_a_streamed_answer_is_refused_once_its_chunks_add_up_past_the_cap(
    emulator: Emulator,
) -> None:
    emulator.faults.push("deleteInsightGroup", Fault(status=200, body=EMPTY_LIST))
    cap = len(EMPTY_LIST) - 1
    async with streamed_exchange(emulator, chunk=7, cap=cap) as exchange:
        with pytest.raises(ResponseTooLargeError) as caught:
            await exchange.send("DELETE", GROUP)
    error = caught.value
    assert (error.status, error.method, error.path) == (200, "DELETE", GROUP)
    assert str(error) == f"LaunchDarkly's answer exceeded the {cap}-byte cap"


@pytest.mark.parametrize(
    ("error", "kind", "message"),
    [
        (
            httpx.ReadTimeout("read timed out"),
            APITimeoutError,
            "LaunchDarkly timed out reading the answer (ReadTimeout, after the request was sent)",
        ),
        (
            httpx.RemoteProtocolError("peer closed connection"),
            APIConnectionError,
            "LaunchDarkly connection broke while reading the answer "
            "(RemoteProtocolError, after the request was sent)",
        ),
    ],
)
async def test_a_link_that_breaks_while_reading_is_a_sent_connection_error(
    emulator: Emulator, error: Exception, kind: type[APIConnectionError], message: str
) -> None:
    transport = BreaksWhileReading(httpx.ASGITransport(app=emulator.app), error)
    async with httpx.AsyncClient(
        transport=transport,
        base_url="https://app.launchdarkly.com",
        auth=RawTokenAuth(SecretStr(TOKEN)),
    ) as http:
        exchange = Exchange(http, max_response_bytes=1_000_000, max_concurrency=2)
        with pytest.raises(APIConnectionError) as caught:
            await exchange.send("DELETE", GROUP)
    assert type(caught.value) is kind
    assert str(caught.value) == message
    assert (caught.value.method, caught.value.path, caught.value.sent) == ("DELETE", GROUP, True)


async def test_an_answer_that_cannot_be_decoded_names_status_method_and_path(
    emulator: Emulator,
) -> None:
    transport = BreaksWhileReading(
        httpx.ASGITransport(app=emulator.app), httpx.DecodingError("bad gzip stream")
    )
    async with httpx.AsyncClient(
        transport=transport,
        base_url="https://app.launchdarkly.com",
        auth=RawTokenAuth(SecretStr(TOKEN)),
    ) as http:
        exchange = Exchange(http, max_response_bytes=1_000_000, max_concurrency=2)
        with pytest.raises(UnexpectedResponseError) as caught:
            await exchange.send("GET", GROUPS)
    error = caught.value
    assert type(error) is UnexpectedResponseError
    assert str(error) == "LaunchDarkly's answer could not be decoded"
    assert (error.status, error.method, error.path) == (200, "GET", GROUPS)


# --- error statuses ------------------------------------------------------------------------


async def test_a_status_error_carries_method_path_and_status(
    exchange: Exchange, emulator: Emulator
) -> None:
    emulator.faults.push("deleteInsightGroup", Fault(status=409))
    with pytest.raises(APIStatusError) as caught:
        await exchange.send("DELETE", GROUP)
    error = caught.value
    assert (error.status, error.method, error.path) == (409, "DELETE", GROUP)
    assert str(error).startswith(f"DELETE {GROUP} -> 409 ")


@pytest.mark.parametrize(
    ("content_type", "kind"),
    [
        ("text/html; charset=utf-8", "text/html"),
        ("text/plain ;charset=utf-8", "text/plain"),
        ("", "no content type"),
    ],
)
async def test_a_non_json_error_body_names_its_bare_content_type(
    exchange: Exchange, emulator: Emulator, content_type: str, kind: str
) -> None:
    emulator.faults.push(
        "getInsightGroups",
        Fault(status=502, body=b"<h1>Bad gateway</h1>", content_type=content_type),
    )
    with pytest.raises(ServerError) as caught:
        await exchange.send("GET", GROUPS)
    error = caught.value
    assert (error.status, error.method, error.path) == (502, "GET", GROUPS)
    assert error.code == "http_502"
    assert error.message == f"non-JSON error body ({kind})"


@pytest.mark.parametrize(
    ("status", "body", "message"),
    [
        (503, b"", "Service Unavailable"),
        (503, b" \n", "Service Unavailable"),
        (404, b'{"code": "not_found"}', "Not Found"),
        (599, b"", "error"),
    ],
)
async def test_an_error_without_a_message_falls_back_to_the_reason_phrase(
    exchange: Exchange, emulator: Emulator, status: int, body: bytes, message: str
) -> None:
    emulator.faults.push("getInsightGroup", Fault(status=status, body=body))
    with pytest.raises(APIStatusError) as caught:
        await exchange.send("GET", GROUP)
    error = caught.value
    assert (error.status, error.method, error.path) == (status, "GET", GROUP)
    assert error.message == message
    assert error.code == ("not_found" if status == 404 else "unknown")


@pytest.mark.parametrize("status", [429, 500, 503])
async def test_an_unusable_wait_hint_is_reported_on_429_and_every_5xx(
    exchange: Exchange, emulator: Emulator, status: int
) -> None:
    emulator.faults.push("getInsightGroups", Fault(status=status, headers={"Retry-After": "inf"}))
    with pytest.raises((RateLimitedError, ServerError)) as caught:
        await exchange.send("GET", GROUPS)
    error = caught.value
    assert isinstance(error, RateLimitedError | ServerError)
    assert error.status == status
    assert error.retry_after is None
    assert "LaunchDarkly answered an unusable Retry-After header 'inf'" in error.message
    assert "so it was not waited out" in error.message


async def test_an_unusable_wait_hint_below_500_other_than_429_is_not_mentioned(
    exchange: Exchange, emulator: Emulator
) -> None:
    emulator.faults.push("getInsightGroups", Fault(status=499, headers={"Retry-After": "inf"}))
    with pytest.raises(APIStatusError) as caught:
        await exchange.send("GET", GROUPS)
    assert caught.value.status == 499
    assert "unusable" not in caught.value.message


# --- path segments -------------------------------------------------------------------------


@pytest.mark.parametrize("value", ["", ".", "..", "..."])
def test_a_segment_of_only_dots_is_refused_naming_parameter_and_value(value: str) -> None:
    with pytest.raises(InvalidRequestError) as caught:
        path_segment(value, name="insightGroupKey")
    assert str(caught.value) == (f"insightGroupKey must not be empty, '.' or '..' (got {value!r})")


@pytest.mark.parametrize("value", ["X", "XX", ".X.", "a..b", "v1.2"])
def test_a_segment_with_anything_besides_dots_is_kept(value: str) -> None:
    assert path_segment(value, name="key") == value


def test_every_reserved_character_is_percent_encoded() -> None:
    reserved = ":/?#[]@!$&'()*+,;=% "
    encoded = path_segment(f"a{reserved}z", name="key")
    assert encoded == "a%3A%2F%3F%23%5B%5D%40%21%24%26%27%28%29%2A%2B%2C%3B%3D%25%20z"
    assert "/" not in encoded


class FailsOnSend(httpx.AsyncBaseTransport):
    """A network that fails before any answer arrives, with the error the test chooses."""

    def __init__(self, error: Exception) -> None:
        self._error = error

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise self._error


@pytest.mark.parametrize(
    ("error", "kind", "sent"),
    [
        (httpx.ReadTimeout("slow"), APITimeoutError, True),
        (httpx.ConnectTimeout("slow"), APITimeoutError, False),
        (httpx.PoolTimeout("busy"), APITimeoutError, False),
        (httpx.ConnectError("refused"), APIConnectionError, False),
        (httpx.RemoteProtocolError("reset"), APIConnectionError, True),
    ],
)
async def test_a_failure_before_the_answer_says_whether_the_request_was_sent(
    error: Exception, kind: type[APIConnectionError], sent: bool
) -> None:
    """Whether a write may have landed decides whether it may be resent: the error must say."""
    async with httpx.AsyncClient(
        transport=FailsOnSend(error),
        base_url="https://app.launchdarkly.com",
        auth=RawTokenAuth(SecretStr(TOKEN)),
    ) as http:
        exchange = Exchange(http, max_response_bytes=1_000_000, max_concurrency=2)
        with pytest.raises(APIConnectionError) as caught:
            await exchange.send("POST", GROUPS, json_body={"key": "k"})
    assert type(caught.value) is kind
    assert (caught.value.method, caught.value.path, caught.value.sent) == ("POST", GROUPS, sent)
    assert ("after the request was sent" if sent else "before") in str(caught.value)


async def test_a_successful_answer_carries_the_rate_limit_headroom(emulator: Emulator) -> None:
    """``doctor`` reads the headroom from any answer, not only from a 429."""
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=emulator.app),
        base_url="https://app.launchdarkly.com",
        auth=RawTokenAuth(SecretStr(TOKEN)),
    ) as http:
        exchange = Exchange(http, max_response_bytes=1_000_000, max_concurrency=2)
        response = await exchange.send("GET", GROUPS)
    assert response.status == 200
    assert response.rate_limit is not None
    assert response.rate_limit.global_remaining is not None
    assert response.rate_limit.route_remaining is not None
    assert response.rate_limit.reset_at_ms is not None


class AnswersBare(httpx.AsyncBaseTransport):
    """A server that answers 200 with a body and no headers at all."""

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, content=b"not json")


async def test_an_answer_without_any_content_type_header_says_so() -> None:
    async with httpx.AsyncClient(
        transport=AnswersBare(),
        base_url="https://app.launchdarkly.com",
        auth=RawTokenAuth(SecretStr(TOKEN)),
    ) as http:
        exchange = Exchange(http, max_response_bytes=1_000_000, max_concurrency=2)
        response = await exchange.send("GET", GROUPS)
    with pytest.raises(UnexpectedResponseError) as caught:
        response.json(method="GET", path=GROUPS)
    assert "(no content type, 8 bytes)" in str(caught.value)


@pytest.mark.parametrize(
    "base_url", ["https://app.launchdarkly.com", "https://app.launchdarkly.com/"]
)
async def test_a_base_url_with_a_trailing_slash_still_sends_to_the_operation_path(
    base_url: str,
) -> None:
    """A library caller may give the base URL with its slash; the path must not become ``//``."""
    seen: list[str] = []

    def answer(request: httpx.Request) -> httpx.Response:
        seen.append(request.url.raw_path.decode())
        return httpx.Response(200, content=EMPTY_LIST)

    async with httpx.AsyncClient(transport=httpx.MockTransport(answer), base_url=base_url) as http:
        exchange = Exchange(http, max_response_bytes=1_000_000, max_concurrency=2)
        await exchange.send("GET", GROUPS, params={"limit": 1})
    assert seen == [f"{GROUPS}?limit=1"]
