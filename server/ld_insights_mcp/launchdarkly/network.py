"""The network under the client: reads on aiohttp, writes on httpx's own transport.

aiohttp's HTTP/1.1 stack (a C parser) costs less per request than httpcore's, so GET
requests, which are most of the traffic, go through it (``httpx-aiohttp``: the client keeps
httpx's API). Writes stay on httpx's own transport, whose errors tell exactly whether a
request may have reached LaunchDarkly: a write is retried only when it cannot have. aiohttp's
errors are mapped here by what happened to the connection, never to "not sent" for a
connection that was open.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import cast

import aiohttp
import httpx
from httpx_aiohttp import AiohttpTransport

from .transport import READ_METHODS


class ReadsOnAiohttp(httpx.AsyncBaseTransport):
    """GET and HEAD through aiohttp, every other method through ``httpx.AsyncHTTPTransport``."""

    def __init__(self, *, limits: httpx.Limits) -> None:
        self._reads = AiohttpTransport(trust_env=False, limits=limits)
        self._writes = httpx.AsyncHTTPTransport(trust_env=False, limits=limits)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method not in READ_METHODS:
            return await self._writes.handle_async_request(request)
        try:
            response = await self._reads.handle_async_request(request)
        except (httpx.TransportError, aiohttp.ClientError) as exc:
            raise _mapped(exc, request) from exc
        response.stream = _MappedBody(response.stream, request)
        return response

    async def aclose(self) -> None:
        try:
            await self._reads.aclose()
        finally:
            await self._writes.aclose()


class _MappedBody(httpx.AsyncByteStream):
    """A response body whose read errors are httpx's read errors."""

    def __init__(self, inner: httpx.SyncByteStream | httpx.AsyncByteStream, request: httpx.Request):
        self._inner = cast(httpx.AsyncByteStream, inner)
        self._request = request

    async def __aiter__(self) -> AsyncIterator[bytes]:
        try:
            async for chunk in self._inner:
                yield chunk
        except (httpx.TransportError, aiohttp.ClientError) as exc:
            raise _mapped(exc, self._request, connected=True) from exc

    async def aclose(self) -> None:
        try:
            await self._inner.aclose()
        except (httpx.TransportError, aiohttp.ClientError) as exc:
            raise _mapped(exc, self._request, connected=True) from exc


def _mapped(
    exc: Exception, request: httpx.Request, *, connected: bool = False
) -> httpx.TransportError:
    """The httpx error for what aiohttp reported, judged by the connection: a failure to
    connect is a connect error; any failure once connected is a read error (the request may
    have been sent)."""
    cause = exc.__cause__ if isinstance(exc, httpx.TransportError) else exc
    message = str(cause or exc) or type(cause or exc).__name__
    error: httpx.TransportError
    if not connected and isinstance(cause, aiohttp.ConnectionTimeoutError):
        error = httpx.ConnectTimeout(message)
    elif not connected and isinstance(cause, aiohttp.ClientConnectorError):
        error = httpx.ConnectError(message)
    elif isinstance(cause, aiohttp.ServerTimeoutError):
        error = httpx.ReadTimeout(message)
    else:
        error = httpx.ReadError(message)
    error.request = request
    return error
