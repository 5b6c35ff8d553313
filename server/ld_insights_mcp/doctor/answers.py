"""The checks of ``ld-insights-mcp doctor`` judged from LaunchDarkly's answers (one try each)."""

from __future__ import annotations

from email.utils import parsedate_to_datetime
from typing import TYPE_CHECKING

from ld_insights_mcp.config import Settings
from ld_insights_mcp.doctor.checks import REGION_FIX, TOKEN_PAGE, Check, failed, passed
from ld_insights_mcp.launchdarkly.errors import (
    APIConnectionError,
    APIStatusError,
    APITimeoutError,
    LaunchDarklyError,
)

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient
    from ld_insights_mcp.launchdarkly.diagnostics import Recording
    from ld_insights_mcp.launchdarkly.models import InsightGroupCollection

MAX_GROUPS = 100
"""Insight groups read to find the project/environment pairs in use."""
MAX_PAIRS = 10
"""Project/environment pairs whose scores are read (one request each)."""
LOW_HEADROOM = 20
"""Fewer requests left than this in a rate-limit window fails the check: one digest alone
may need more."""
MAX_CLOCK_SKEW = 10.0
"""Seconds: waits computed from ``X-Ratelimit-Reset`` (LaunchDarkly's clock) are off by the
skew, and 10 s is the default longest wait the server honours."""
SHOWN_PAIRS = 6
_UNREADABLE = {401: "denied", 403: "denied", 400: "unknown", 404: "unknown"}
"""How a failed score read is summed up, by status (otherwise "failed")."""


def reachable(
    where: str, region: str, error: LaunchDarklyError | None, recording: Recording
) -> Check:
    """Whether anything answered at the base URI; if not, whether the proxy, TLS or host failed."""
    route = recording.route  # none recorded: the demo's emulator
    network = (
        {} if route is None else {"proxy": route.describe_proxy(), "ca": route.describe_trust()}
    )
    if not (isinstance(error, APIConnectionError) and not recording.answers):
        return passed("base_uri", f"{where} answers; {region}", region=region, **network)
    failure = recording.failed_at
    # TLS, or the proxy: unreachable, refused the tunnel, or could not reach
    if failure is not None:
        reason = (
            f"{where}: {failure.reason}; {region}"
            if failure.kind == "tls"
            else f"{where} not reached: {failure.reason}"
        )
        return failed("base_uri", reason, failure.fix, region=region, **network)
    what = "did not answer in time" if isinstance(error, APITimeoutError) else "unreachable"
    cause = recording.failure or str(error)
    behind = (
        "; behind a proxy, set HTTPS_PROXY or LD_INSIGHTS_PROXY"
        if route is not None and route.proxy is None
        else ""
    )
    return failed(
        "base_uri",
        f"{where} is {what} ({cause}); {region}",
        f"check the host name, your network and firewall{behind}; " + REGION_FIX,
        region=region,
        **network,
    )


def token_accepted(error: LaunchDarklyError | None) -> Check:
    """401 refuses the token; 403 and 404 come after authentication (so accept it)."""
    status = getattr(error, "status", None)
    if error is None or status in (403, 404):
        return passed("token_accepted", "LaunchDarkly accepted the token")
    if status == 401:
        return failed(
            "token_accepted",
            f"LaunchDarkly refused the token ({_said(error)}): it is mistyped, revoked or "
            "expired, or belongs to another instance (US, EU, federal)",
            f"create a new access token under {TOKEN_PAGE} and set LD_ACCESS_TOKEN to it; "
            "an EU or federal account also needs LD_BASE_URI set to its instance",
        )
    if status == 429 or (status is not None and status >= 500):
        return failed(
            "token_accepted",
            f"LaunchDarkly could not check the token ({_said(error)})",
            "wait a minute and run the doctor again; if this persists, see "
            "https://status.launchdarkly.com",
        )
    return failed(
        "token_accepted",
        f"unexpected answer ({_said(error)}): the base URI may not be LaunchDarkly's REST API",
        REGION_FIX,
    )


def insights_enabled(
    first: InsightGroupCollection | None, error: LaunchDarklyError | None
) -> Check:
    """Whether the beta insight-group list answered: 403 and 404 say no."""
    status = getattr(error, "status", None)
    if first is not None:
        return passed(
            "insights_enabled",
            f"enabled: the beta API answers ({first.total_count} insight groups)",
            insightGroups=first.total_count,
        )
    if status == 403:
        return failed(
            "insights_enabled",
            f"the token may not use Engineering Insights ({_said(error)})",
            "ask a LaunchDarkly admin to enable Engineering Insights for the account and to "
            "give the token a role that can read it, or use a token that can",
        )
    if status == 404:
        return failed(
            "insights_enabled",
            f"the Engineering Insights routes are not there ({_said(error)}): the account "
            "lacks Engineering Insights, or the base URI is not LaunchDarkly's REST API",
            "check LD_BASE_URI names your instance; if it does, ask a LaunchDarkly admin to "
            "enable Engineering Insights for the account",
        )
    return failed(
        "insights_enabled",
        f"the insight-group list could not be read ({_said(error)})",
        "check that LD_BASE_URI is LaunchDarkly's REST API: " + REGION_FIX,
    )


def _said(error: LaunchDarklyError | None) -> str:
    if isinstance(error, APIStatusError):
        return f"HTTP {error.status} {error.code}: {error.message}"
    return str(error)


async def readable_pairs(
    client: LaunchDarklyClient, first: InsightGroupCollection, settings: Settings
) -> Check:
    """Which project/environment pairs' scores the token can read: the configured one and
    those the insight groups use."""
    groups = list(first.items)
    while len(groups) < min(first.total_count, MAX_GROUPS):
        try:
            page = await client.list_insight_groups(limit=20, offset=len(groups))
        except LaunchDarklyError:
            break
        if not page.items:
            break
        groups += page.items
    configured = None
    if settings.project and settings.environment:
        configured = (settings.project, settings.environment)
    in_use = [(g.project_key, g.environment_key) for g in groups]
    pairs = list(dict.fromkeys([configured, *in_use] if configured else in_use))
    if not pairs:
        return failed(
            "access",
            "no insight groups and no LD_PROJECT/LD_ENVIRONMENT set: no project to check",
            "set LD_PROJECT and LD_ENVIRONMENT (or --project, --environment) to the project "
            "and environment to read, then run the doctor again",
        )
    readable: list[str] = []
    unreadable: list[dict[str, str]] = []
    for project, environment in pairs[:MAX_PAIRS]:
        pair = f"{project}/{environment}"
        try:
            await client.get_insight_scores(project, environment)
            readable.append(pair)
        except LaunchDarklyError as exc:
            why = _UNREADABLE.get(getattr(exc, "status", 0), "failed")
            unreadable.append({"pair": pair, "why": why, "answer": _said(exc)})
    details = {
        "readable": readable,
        "unreadable": unreadable,
        "notChecked": max(0, len(pairs) - MAX_PAIRS),
    }
    more = len(readable) - SHOWN_PAIRS
    shown = ", ".join(readable[:SHOWN_PAIRS]) + (f" and {more} more" if more > 0 else "")
    blocked = ", ".join(f"{u['pair']} ({u['why']})" for u in unreadable)
    if configured is not None and "/".join(configured) not in readable:
        return failed(
            "access",
            f"scores of {'/'.join(configured)} (LD_PROJECT/LD_ENVIRONMENT) cannot be read"
            + (f"; readable: {shown}" if readable else ""),
            f"give the token a role that can read Engineering Insights in {settings.project}, "
            "or set LD_PROJECT/LD_ENVIRONMENT to a readable pair",
            **details,
        )
    if not readable:
        return failed(
            "access",
            f"no project/environment's scores can be read: {blocked}",
            "give the token a role that can read Engineering Insights in your projects",
            **details,
        )
    return passed(
        "access",
        f"scores readable for {shown}" + (f"; not readable: {blocked}" if blocked else ""),
        **details,
    )


def headroom(recording: Recording) -> Check:
    limited = [a for a in recording.answers if a.status == 429]
    if limited:
        return failed(
            "rate_limit",
            f"LaunchDarkly answered 429 (rate limited) to {len(limited)} of the doctor's "
            f"{len(recording.answers)} requests",
            "wait for the limit to reset; if other scripts or CI share this token, give this "
            "server a token of its own",
        )
    remaining = [
        value
        for a in recording.answers
        for value in (a.rate_limit.global_remaining, a.rate_limit.route_remaining)
        if value is not None
    ]
    if not remaining:
        return failed(
            "rate_limit",
            "no X-Ratelimit-* headers in LaunchDarkly's answers: the headroom is unknown",
            "if a proxy sits in between, let it pass the X-Ratelimit-* and Retry-After headers",
        )
    lowest = min(remaining)
    if lowest < LOW_HEADROOM:
        return failed(
            "rate_limit",
            f"only {lowest} requests left in the current rate-limit window "
            f"(fewer than {LOW_HEADROOM}); tool calls will be rate limited",
            "wait for the window to reset; if other scripts or CI share this token, give this "
            "server a token of its own",
            lowest=lowest,
        )
    return passed(
        "rate_limit",
        f"at least {lowest} requests left in the current window (X-Ratelimit-* headers)",
        lowest=lowest,
    )


def clock_skew(recording: Recording) -> Check:
    dated = [a for a in recording.answers if a.date]
    if not dated:
        return failed(
            "clock",
            "LaunchDarkly's answers carried no Date header: the clock cannot be compared",
            "if a proxy sits in between, let it pass the Date header",
        )
    answer = dated[0]
    try:
        server = parsedate_to_datetime(answer.date or "").timestamp()
    except (TypeError, ValueError, IndexError, OverflowError):
        return failed(
            "clock",
            "LaunchDarkly's Date header could not be read: the clock cannot be compared",
            "if a proxy sits in between, let it pass LaunchDarkly's Date header unchanged",
        )
    # Date is truncated to the second: the server's time lay in [server, server + 1).
    skew = server + 0.5 - (answer.sent_at + answer.received_at) / 2
    seconds = round(abs(skew))
    if abs(skew) <= MAX_CLOCK_SKEW:
        return passed(
            "clock",
            f"within {max(seconds, 1)} s of LaunchDarkly's (Date header)",
            skewSeconds=round(skew, 1),
        )
    direction = "behind" if skew > 0 else "ahead of"
    return failed(
        "clock",
        f"this machine's clock is {seconds} s {direction} LaunchDarkly's (Date header), more "
        f"than {MAX_CLOCK_SKEW:.0f} s: rate-limit waits would be computed wrongly",
        "synchronise this machine's clock (turn on NTP time sync)",
        skewSeconds=round(skew, 1),
    )
