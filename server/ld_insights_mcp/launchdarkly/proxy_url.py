"""Proxy URLs: whether one can be used, and how to print one without its credentials (no
HTTP stack imported: the settings check a proxy URL at start-up)."""

from __future__ import annotations

from urllib.parse import urlsplit

PROXY_SCHEMES = ("http", "https")


def proxy_problem(url: str) -> str | None:
    """Why ``url`` cannot be used as a proxy, or None. Never quotes the URL (it may hold a
    password)."""
    try:
        parts = urlsplit(url if "://" in url else f"http://{url}")
        host, _ = parts.hostname, parts.port
    except ValueError:
        return "is not a URL (expected http://host:port)"
    if parts.scheme not in PROXY_SCHEMES:
        return f"uses {parts.scheme}://, which is not supported: give an http:// or https:// proxy"
    if not host:
        return "names no host (expected http://host:port)"
    if parts.path not in ("", "/") or parts.query or parts.fragment:
        return "must be scheme, host and port only (no path or query)"
    return None


def shown(url: str) -> str:
    """A proxy URL as it may be printed: scheme, host and port, credentials removed."""
    parts = urlsplit(url if "://" in url else f"http://{url}")
    host = parts.hostname or "?"
    if ":" in host:
        host = f"[{host}]"
    port = f":{parts.port}" if parts.port else ""
    return f"{parts.scheme}://{host}{port}"
