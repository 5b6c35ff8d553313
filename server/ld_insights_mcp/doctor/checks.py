"""The checks of ``ld-insights-mcp doctor`` that need no network: what a check result is,
whether a token is an access token, and which LaunchDarkly instance a base URI names."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import urlsplit

from ld_insights_mcp.config import is_loopback_host

Status = Literal["pass", "fail", "skip"]

TOKEN_PAGE = "LaunchDarkly > Organization settings > Authorization"  # noqa: S105
"""Where access tokens are made (a place in the UI, not a secret)."""
REGION_HOSTS = {
    "app.launchdarkly.com": "US commercial instance",
    "app.eu.launchdarkly.com": "EU instance",
    "app.launchdarkly.us": "US federal instance",
}
"""The REST API host of each LaunchDarkly instance."""

REGION_FIX = (
    "set LD_BASE_URI (or --base-uri) to your instance: https://app.launchdarkly.com (US), "
    "https://app.eu.launchdarkly.com (EU) or https://app.launchdarkly.us (federal)"
)

_CLIENT_SIDE_ID = re.compile(r"[0-9a-f]{24}")


@dataclass
class Check:
    """One check's outcome: ``reason`` is one line; ``fix`` says what to do when it failed."""

    id: str
    title: str
    status: Status
    reason: str
    fix: str | None = None
    details: dict[str, Any] = field(default_factory=dict)

    @property
    def passed(self) -> bool:
        return self.status == "pass"


TITLES = {
    "token": "Access token",
    "base_uri": "Base URI",
    "token_accepted": "Token accepted",
    "insights_enabled": "Engineering Insights",
    "access": "Projects and environments",
    "rate_limit": "Rate-limit headroom",
    "clock": "Clock",
}
"""Every check, in the order it runs."""


def passed(check_id: str, reason: str, **details: Any) -> Check:
    return Check(check_id, TITLES[check_id], "pass", reason, None, details)


def failed(check_id: str, reason: str, fix: str, **details: Any) -> Check:
    return Check(check_id, TITLES[check_id], "fail", reason, fix, details)


def skipped(check_id: str, because: Check) -> Check:
    return Check(
        check_id, TITLES[check_id], "skip", f"skipped: needs {because.title}, which failed"
    )


def check_token(raw: str | None, source: str) -> Check:
    """Whether ``raw`` is a personal or service access token (never quoting it)."""
    new_token = (
        f"create a personal or service access token (it starts with api-) under {TOKEN_PAGE} "
        "and set LD_ACCESS_TOKEN to it"
    )
    if raw is None or not raw.strip():
        return failed(
            "token",
            "no access token: LD_ACCESS_TOKEN and LAUNCHDARKLY_API_KEY are unset or empty",
            f"{new_token} (or run with --demo to try the built-in demo data)",
        )
    if raw != raw.strip():
        return failed(
            "token",
            f"the token in {source} has spaces or a line break around it",
            f"set {source} to the token alone, without surrounding whitespace",
        )
    if raw.lower().startswith("bearer "):
        return failed(
            "token",
            f"the token in {source} starts with 'Bearer ': LaunchDarkly takes the token alone",
            f"remove 'Bearer ' from {source}",
        )
    if any(c.isspace() or c in "\"'" for c in raw) or not raw.isascii():
        return failed(
            "token",
            f"the value in {source} contains spaces, quotes or non-ASCII characters",
            f"copy the token again and set {source} to it alone",
        )
    kinds = {"sdk-": "a server-side SDK key (sdk-...)", "mob-": "a mobile key (mob-...)"}
    kind = kinds.get(raw[:4])
    if kind is None and _CLIENT_SIDE_ID.fullmatch(raw.lower()):
        kind = "a client-side ID (24 hex characters)"
    if kind is not None:
        return failed(
            "token",
            f"{source} holds {kind}, which SDKs use; the REST API needs an access token",
            new_token,
        )
    if not raw.startswith("api-") or len(raw) <= len("api-"):
        return failed(
            "token",
            f"the value in {source} is not a LaunchDarkly access token (those start with api-)",
            new_token,
        )
    return passed("token", f"an access token (api-...) from {source}", source=source)


def region_of(base_uri: str) -> tuple[str, str | None]:
    """(which instance ``base_uri`` names, a problem if it is a LaunchDarkly host that does
    not serve the REST API)."""
    host = (urlsplit(base_uri).hostname or "").lower()
    if host in REGION_HOSTS:
        return REGION_HOSTS[host], None
    if f".{host}".endswith((".launchdarkly.com", ".launchdarkly.us")):
        return "a LaunchDarkly host", (
            f"{host} is a LaunchDarkly host that does not serve the REST API "
            "(SDK, streaming, events or web site)"
        )
    if is_loopback_host(host):
        return "custom: a server on this machine (emulator or proxy)", None
    return "custom: not a LaunchDarkly host (proxy, relay or emulator)", None
