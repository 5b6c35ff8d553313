"""One API request as handlers see it, with LaunchDarkly's strict parameter parsing."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from ld_insights_mcp.emulator.errors import invalid

_INTEGER = re.compile(r"-?[0-9]+")


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
        rule = (
            f"must be an integer between {low} and {high} inclusive"
            if high is not None
            else f"must be an integer of at least {low}"
        )
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
