"""``ld-insights-mcp doctor``: is this setup right? Seven checks in order, each passed, failed
or skipped, with a one-line reason and the fix. Everything printed passes through the token's
redactor."""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any
from urllib.parse import unquote, urlsplit

import anyio
from pydantic import SecretStr, ValidationError

from ld_insights_mcp.config import DEFAULT_BASE_URI, TOKEN_VARIABLES, Settings
from ld_insights_mcp.doctor import answers
from ld_insights_mcp.doctor.checks import (
    REGION_FIX,
    TITLES,
    Check,
    check_token,
    failed,
    passed,
    region_of,
    skipped,
)
from ld_insights_mcp.launchdarkly.errors import LaunchDarklyError
from ld_insights_mcp.launchdarkly.redaction import Redactor
from ld_insights_mcp.text import one_line, quoted

if TYPE_CHECKING:
    import httpx


@dataclass
class Target:
    """What the doctor talks to: the base URI, its label, the token and the network."""

    base_uri: str
    region: str
    token: SecretStr | None
    token_source: str
    transport: httpx.AsyncBaseTransport | None = None
    base_uri_problem: str | None = None
    demo: bool = False
    given: str | None = None
    """Where an invalid base URI came from; ``base_uri`` is then ``shown_base_uri`` of it."""


async def run_checks(settings: Settings, target: Target) -> list[Check]:
    """Every check, in order; a check whose prerequisite failed is skipped."""
    from ld_insights_mcp.launchdarkly.diagnostics import diagnostic_client

    raw = target.token.get_secret_value() if target.token is not None else None
    token = check_token(raw, target.token_source)
    if target.demo and token.passed:
        token = passed("token", "the built-in demo token (no LD_ACCESS_TOKEN needed)")
    if target.base_uri_problem is not None:
        base = failed("base_uri", target.base_uri_problem, REGION_FIX, region=target.region)
        return [token, base, *_skip_rest(base)]
    client, recording = diagnostic_client(
        base_url=target.base_uri,
        token=target.token if token.passed else None,
        options=settings.client_options(),
        transport=target.transport,
    )
    async with client:
        try:  # the first page of insight groups: the base URI, token and Insights checks judge it
            first, error = await client.list_insight_groups(limit=20), None
        except LaunchDarklyError as exc:
            first, error = None, exc
        base = answers.reachable(_where(target), target.region, error, recording)
        if not base.passed:
            return [token, base, *_skip_rest(base)]
        accepted = (
            answers.token_accepted(error) if token.passed else skipped("token_accepted", token)
        )
        if not accepted.passed:
            enabled, access = skipped("insights_enabled", accepted), skipped("access", accepted)
        else:
            enabled = answers.insights_enabled(first, error)
            access = (
                await answers.readable_pairs(client, first, settings)
                if enabled.passed and first is not None
                else skipped("access", enabled)
            )
    headroom = answers.headroom(recording) if accepted.passed else skipped("rate_limit", accepted)
    return [token, base, accepted, enabled, access, headroom, answers.clock_skew(recording)]


def _skip_rest(base: Check) -> list[Check]:
    """The checks after the base URI's, skipped because it failed."""
    return [skipped(check_id, base) for check_id in list(TITLES)[2:]]


EPILOG = """\
environment:
  LD_ACCESS_TOKEN (or LAUNCHDARKLY_API_KEY), LD_BASE_URI, LD_PROJECT, LD_ENVIRONMENT,
  LD_INSIGHTS_PROXY, LD_INSIGHTS_CA_BUNDLE, HTTPS_PROXY, NO_PROXY, SSL_CERT_FILE, as for the
  server; the token and a proxy's password are never printed

exit status:
  0 every check passed, 1 a check failed (or was skipped), 2 the settings cannot be read
"""


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ld-insights-mcp doctor",
        description="Check the setup: token, base URI and region, access to Engineering "
        "Insights, readable projects, rate-limit headroom, clock. Exit 0 when all pass.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--demo", action="store_true", help="check the built-in demo backend")
    parser.add_argument("--base-uri", help="LaunchDarkly base URI (env LD_BASE_URI)")
    parser.add_argument("--project", help="project key to check (env LD_PROJECT)")
    parser.add_argument("--environment", help="environment key to check (env LD_ENVIRONMENT)")
    from ld_insights_mcp.config import add_network_flags

    add_network_flags(parser)
    parser.add_argument("--json", action="store_true", help="print one JSON object")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    settings, problem = _settings(args)
    if settings is None:
        print(f"ld-insights-mcp doctor: invalid configuration: {problem}", file=sys.stderr)
        return 2
    target = _target(settings, args.demo, problem)
    if problem is not None and not target.demo:  # --base-uri wins over LD_BASE_URI
        given, target.given = os.environ.get("LD_BASE_URI", ""), "LD_BASE_URI"
        if args.base_uri is not None:
            given, target.given = args.base_uri, "--base-uri"
        target.base_uri = shown_base_uri(given) or ""
    secret = target.token.get_secret_value() if target.token else None
    from ld_insights_mcp.logging_setup import configure_logging

    configure_logging(settings.log_level, secret=secret)
    checks = anyio.run(run_checks, settings, target)
    out = _as_json(checks, target) if args.json else _as_text(checks, target)
    env_token = next((os.environ[v] for v in TOKEN_VARIABLES if os.environ.get(v)), None)
    for redact in _redactors(secret, env_token, *_proxy_passwords(settings)):
        out = redact(out)
    print(out)
    return 0 if all(c.passed for c in checks) else 1


def _redactors(*secrets: str | None) -> list[Redactor]:
    """Redactors for each configured secret, also as it would be sent (stripped, without a
    ``Bearer`` prefix)."""
    forms = {
        form
        for secret in secrets
        if secret
        for form in (secret, secret.strip(), secret.strip().removeprefix("Bearer ").strip())
        if form
    }
    return [Redactor(form) for form in sorted(forms, key=len, reverse=True)]


def _settings(args: argparse.Namespace) -> tuple[Settings | None, str | None]:
    """The settings, and a base-URI problem to report as a failed check. Settings that
    cannot be read otherwise give (None, the problem)."""
    from ld_insights_mcp.config import FLAG_SETTINGS, format_validation_error

    given = {name: getattr(args, name, None) for name in FLAG_SETTINGS}
    overrides: dict[str, Any] = {k: v for k, v in given.items() if v is not None}
    try:
        return Settings(**overrides), None
    except ValidationError as exc:
        if any(e["loc"][:1] != ("base_uri",) for e in exc.errors()):
            return None, format_validation_error(exc)
        problem = format_validation_error(exc).removeprefix("base_uri: ")
    try:
        return Settings(**{**overrides, "base_uri": DEFAULT_BASE_URI}), problem
    except ValidationError as exc:  # pragma: no cover - only base_uri was wrong
        return None, format_validation_error(exc)


_HOST_NAME = re.compile(r"[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)+(?::[0-9]{1,5})?/?")


def shown_base_uri(value: str) -> str | None:
    """An invalid base URI safe to print: scheme, host and port, with anything else (a pasted
    URL can carry a token anywhere) as ``…``; None for what is neither a URL nor a host name
    (it may be a token pasted into the wrong setting)."""
    text = value.strip()
    if "://" not in text:
        return text if _HOST_NAME.fullmatch(text) else None
    try:
        parts = urlsplit(text)
        host, port = parts.hostname, parts.port
    except ValueError:
        return None
    if not host:
        return None
    shown = f"{parts.scheme}://{'…@' if '@' in parts.netloc else ''}"
    shown += f"[{host}]" if ":" in host else host
    shown += f":{port}" if port is not None else ""
    shown += "/…" if parts.path.strip("/") else parts.path
    shown += ("?…" if parts.query else "") + ("#…" if parts.fragment else "")
    return one_line(shown, limit=120)


def _proxy_passwords(settings: Settings) -> list[str]:
    """The passwords of the proxy setting and the environment's proxies (never printed)."""
    urls = [v for k, v in os.environ.items() if k.lower().endswith("_proxy")]
    if settings.proxy is not None:
        urls.append(settings.proxy.get_secret_value())
    found = []
    for url in urls:
        try:
            password = urlsplit(url if "://" in url else f"http://{url}").password
        except ValueError:
            continue
        if password:
            found += [password, unquote(password)]
    return found


def _target(settings: Settings, demo: bool, base_uri_problem: str | None) -> Target:
    if demo:
        from httpx import ASGITransport

        from ld_insights_mcp.emulator import Emulator
        from ld_insights_mcp.emulator.constants import DEMO_TOKEN
        from ld_insights_mcp.surface.server import DEMO_BASE_URL

        return Target(
            base_uri=DEMO_BASE_URL,
            region="embedded emulator, no network",
            token=SecretStr(DEMO_TOKEN),
            token_source="--demo",  # noqa: S106 - where the token came from, not a token
            transport=ASGITransport(app=Emulator(token=DEMO_TOKEN).app),
            demo=True,
        )
    region, problem = region_of(settings.base_uri)
    source = next((v for v in TOKEN_VARIABLES if os.environ.get(v) is not None), "the settings")
    return Target(
        base_uri=settings.base_uri,
        region="region unknown" if base_uri_problem else region,
        token=settings.access_token,
        token_source=source,
        base_uri_problem=base_uri_problem or problem,
    )


MARKS = {"pass": "✓", "fail": "✗", "skip": "–"}
ASCII_MARKS = {"pass": "[ok]", "fail": "[x]", "skip": "[-]"}


def _where(target: Target) -> str:
    if target.demo:
        return "the built-in demo backend"
    if target.given is None:
        return target.base_uri
    shown = quoted(target.base_uri) if target.base_uri else "a value not shown (not a URL)"
    return f"{shown} from {target.given}: not a valid base URI, see below"


def _network(checks: list[Check]) -> dict[str, str]:
    """The proxy and CAs in use, as the base URI's check recorded them."""
    details = next((c.details for c in checks if c.id == "base_uri"), {})
    return {k: details[k] for k in ("proxy", "ca") if k in details}


def _as_text(checks: list[Check], target: Target) -> str:
    marks = MARKS
    try:
        "".join(MARKS.values()).encode(sys.stdout.encoding or "ascii")
    except (LookupError, UnicodeEncodeError):
        marks = ASCII_MARKS
    lines = [f"ld-insights-mcp doctor: checking {_where(target)}"]
    network = _network(checks)
    if network:
        lines += [f"proxy: {network['proxy']}", f"CA certificates: {network['ca']}"]
    lines.append("")
    for check in checks:
        lines.append(f"{marks[check.status]} {check.title}: {check.reason}")
        if check.fix:
            lines.append(f"    fix: {check.fix}")
    failures = sum(c.status == "fail" for c in checks)
    skips = sum(c.status == "skip" for c in checks)
    summary = f"{failures} failed, {skips} skipped, {len(checks) - failures - skips} passed"
    lines += ["", summary if failures else f"all {len(checks)} checks passed"]
    return "\n".join(lines)


def _as_json(checks: list[Check], target: Target) -> str:
    return json.dumps(
        {
            "ok": all(c.passed for c in checks),
            "baseUri": target.base_uri or None,
            "region": target.region,
            "demo": target.demo,
            "network": _network(checks) or None,
            "checks": [asdict(c) for c in checks],
        },
        indent=2,
    )
