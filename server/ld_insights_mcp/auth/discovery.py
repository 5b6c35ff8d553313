"""The authorization server's metadata (RFC 8414 / OpenID Connect Discovery), and the one
HTTP client sign-in uses to reach it."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import httpx

from ld_insights_mcp import __version__
from ld_insights_mcp.auth.options import ISSUER, SignInOptions
from ld_insights_mcp.config import ConfigurationError, sign_in_url
from ld_insights_mcp.launchdarkly.network import route_for

MAX_DOCUMENT_BYTES = 1_000_000
"""Largest metadata or key-set document read (they are a few kilobytes)."""


def issuer_http_client(
    options: SignInOptions, transport: httpx.AsyncBaseTransport | None = None
) -> httpx.AsyncClient:
    """The one HTTP client for the authorization server, through the proxy and CAs the
    LaunchDarkly client uses; no redirects (an introspection call carries secrets)."""
    if transport is None:
        proxy = options.proxy.get_secret_value() if options.proxy else None
        route = route_for(options.issuer, proxy=proxy, ca_bundle=options.ca_bundle)
        transport = route.transport(httpx.Limits())
    return httpx.AsyncClient(
        timeout=httpx.Timeout(options.read_timeout, connect=options.connect_timeout),
        headers={"User-Agent": f"ld-insights-mcp/{__version__}", "Accept": "application/json"},
        follow_redirects=False,
        transport=transport,
    )


@dataclass(frozen=True, slots=True)
class IssuerMetadata:
    issuer: str
    jwks_uri: str | None
    introspection_endpoint: str | None


def metadata_urls(issuer: str) -> list[str]:
    """Where the metadata may be, in the order MCP clients try them: RFC 8414's
    ``/.well-known/oauth-authorization-server`` (inserted before the issuer's path), then
    OpenID Connect's ``openid-configuration`` (inserted, then appended)."""
    parts = urlsplit(issuer)
    origin = f"{parts.scheme}://{parts.netloc}"
    path = parts.path.rstrip("/")
    urls = [
        f"{origin}/.well-known/oauth-authorization-server{path}",
        f"{origin}/.well-known/openid-configuration{path}",
    ]
    if path:
        urls.append(f"{origin}{path}/.well-known/openid-configuration")
    return urls


async def discover(http: httpx.AsyncClient, issuer: str) -> IssuerMetadata:
    """The issuer's metadata, checked: ``issuer`` exactly ours (RFC 8414 §3.3), endpoints
    https (http on loopback); else ``ConfigurationError`` saying what to fix."""
    problems = []
    for url in metadata_urls(issuer):
        try:
            document = await fetch_json(http, url)
        except (httpx.HTTPError, ValueError) as exc:
            problems.append(f"{url}: {describe(exc)}")
            continue
        return _checked(document, issuer, url)
    raise ConfigurationError(
        f"cannot read the authorization server's metadata for {ISSUER} {issuer!r} "
        f"({'; '.join(problems)}). Check the issuer URL, and that this host can reach it."
    )


def _checked(document: dict[str, Any], issuer: str, url: str) -> IssuerMetadata:
    named = document.get("issuer")
    if named != issuer:
        raise ConfigurationError(
            f"{ISSUER} is {issuer!r} but the authorization server's metadata ({url}) names "
            f"its issuer {named!r}: set {ISSUER} to exactly that value (tokens carry it in "
            "their iss claim)."
        )
    endpoints: dict[str, str | None] = {}
    for name in ("jwks_uri", "introspection_endpoint"):
        value = document.get(name)
        if value is not None:
            try:
                sign_in_url(str(value))
            except ValueError as exc:
                raise ConfigurationError(
                    f"the authorization server's {name} {value!r} {exc}; sign-in cannot use it"
                ) from None
        endpoints[name] = None if value is None else str(value)
    return IssuerMetadata(issuer, endpoints["jwks_uri"], endpoints["introspection_endpoint"])


async def fetch_json(http: httpx.AsyncClient, url: str) -> dict[str, Any]:
    """A JSON object from ``url`` (GET, 200, at most ``MAX_DOCUMENT_BYTES``)."""
    async with http.stream("GET", url) as response:
        if response.status_code != 200:
            raise ValueError(f"HTTP {response.status_code}")
        body = bytearray()
        async for chunk in response.aiter_bytes():
            body += chunk
            if len(body) > MAX_DOCUMENT_BYTES:
                raise ValueError(f"larger than {MAX_DOCUMENT_BYTES} bytes")
    document = json.loads(body)
    if not isinstance(document, dict):
        raise ValueError("not a JSON object")
    return document


def describe(exc: BaseException) -> str:
    """The error's type and message (httpx's name the host, never a header or body)."""
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__
