"""One request as it arrived, and as handlers see it (with LaunchDarkly's strict parameter
parsing)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Self
from urllib.parse import parse_qsl, unquote

from starlette.types import Receive, Scope

from ld_insights_mcp.emulator.errors import invalid

_INTEGER = re.compile(r"-?[0-9]+")
Answer = tuple[int, Any]
"""What a handler returns: ``(status, body)`` (it raises ``ApiError`` for an error)."""


@dataclass
class IncomingRequest:
    """One request as received. ``path`` and ``query`` are percent-decoded; ``raw_path`` is
    the path as sent (no query); ``headers`` has lower-case names (repeats joined by ``, ``);
    ``operation_id`` is None for an unknown route."""

    method: str
    path: str
    raw_path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    operation_id: str | None

    @classmethod
    def of(cls, scope: Scope, body: bytes, operation_id: str | None) -> Self:
        headers: dict[str, str] = {}
        for name, value in scope["headers"]:
            key, text = name.decode("latin-1").lower(), value.decode("latin-1")
            headers[key] = f"{headers[key]}, {text}" if key in headers else text
        query = scope.get("query_string", b"").decode("utf-8", errors="replace")
        pairs = parse_qsl(query, keep_blank_values=True, errors="replace")
        path = unquote(scope["path"], errors="replace")
        return cls(scope["method"], path, scope["path"], pairs, headers, body, operation_id)


async def read_body(receive: Receive) -> tuple[bytes, bool]:
    """The request body, and whether the client went away while sending it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] == "http.disconnect":
            return b"".join(chunks), True
        chunks.append(message.get("body", b""))
        if not message.get("more_body"):
            return b"".join(chunks), False


@dataclass(frozen=True, slots=True)
class ApiRequest:
    """Path parameters (decoded), query pairs (decoded, in order) and the raw body."""

    params: dict[str, str]
    query: list[tuple[str, str]]
    body: bytes

    def arg(self, name: str) -> str | None:
        """The last value of a query parameter, or None when absent."""
        values = [v for k, v in self.query if k == name]
        return values[-1] if values else None

    def integer(self, name: str, *, default: int, low: int, high: int | None) -> int:
        """An integer query parameter within ``low..high``; anything else is a 400."""
        rule = f"must be an integer of at least {low}"
        if high is not None:
            rule = f"must be an integer between {low} and {high} inclusive"
        raw = self.arg(name)
        if raw is None or raw == "":
            return default
        if not _INTEGER.fullmatch(raw):
            raise invalid(name, f"{rule}; got {raw[:40]!r}")
        value = int(raw)
        if value < low or (high is not None and value > high):
            raise invalid(name, f"{rule}; got {value}")
        return value

    def expand(self, allowed: tuple[str, ...]) -> set[str]:
        """A comma-separated ``expand`` list; unknown options are a 400."""
        raw = self.arg("expand") or ""
        chosen = {part.strip() for part in raw.split(",") if part.strip()}
        unknown = sorted(chosen - set(allowed))
        if unknown:
            raise invalid(
                "expand", f"unknown option(s) {', '.join(unknown)}; allowed: {', '.join(allowed)}"
            )
        return chosen

    def json(self) -> Any:
        """The body as JSON; a missing or malformed body is a 400 naming ``body``."""
        if not self.body.strip():
            raise invalid("body", "a JSON request body is required")
        try:
            return json.loads(self.body)
        except (ValueError, RecursionError):
            raise invalid("body", "the request body is not valid JSON") from None
