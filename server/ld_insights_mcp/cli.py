"""Command line: flags -> Settings -> server -> transport."""

from __future__ import annotations

import argparse
import gc
import logging
import os
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

import anyio
from pydantic import ValidationError

from ld_insights_mcp import __version__
from ld_insights_mcp.config import (
    ConfigurationError,
    Settings,
    add_network_flags,
    format_validation_error,
    settings_from,
)

if TYPE_CHECKING:
    from ld_insights_mcp.transports.http.app import HttpOptions

DESCRIPTION = """\
MCP server for LaunchDarkly Engineering Insights: insight groups, scores (deployment \
frequency, lead time, failure rate, flag health, ...) and metric groups, with explanations.

Speaks stdio by default (for desktop clients); --transport streamable-http or sse to serve
HTTP on 127.0.0.1. Run with --demo to try it on built-in demo data, no token needed."""

EPILOG = """\
environment:
  LD_ACCESS_TOKEN        LaunchDarkly access token (or LAUNCHDARKLY_API_KEY); not needed with --demo
  LD_BASE_URI            API base URI (default https://app.launchdarkly.com; EU https://app.eu.launchdarkly.com)
  LD_PROJECT             default project key for tools
  LD_ENVIRONMENT         default environment key for tools
  LD_INSIGHTS_*          other settings, e.g. LD_INSIGHTS_CALL_BUDGET=45, LD_INSIGHTS_MAX_RETRIES=3
  LD_INSIGHTS_HTTP_BEARER_TOKENS  comma-separated tokens HTTP clients must present (Bearer)
  LD_INSIGHTS_OAUTH_ISSUER, LD_INSIGHTS_OAUTH_RESOURCE  sign-in with your identity provider
                         instead of bearer tokens (HTTP transports); see docs/auth.md
  LD_INSIGHTS_REDIS_URL  Redis shared by replicas (cache, rate limits); see docs/scaling.md
  HTTPS_PROXY, NO_PROXY  the proxy to LaunchDarkly (LD_INSIGHTS_PROXY wins); see docs/network.md
  SSL_CERT_FILE          CAs to trust (LD_INSIGHTS_CA_BUNDLE wins; default: the system store)

commands:
  doctor                 check the setup (token, region, access, rate limits, clock) and exit;
                         see ld-insights-mcp doctor --help

examples:
  ld-insights-mcp --demo
  ld-insights-mcp doctor --demo
  LD_ACCESS_TOKEN=api-... ld-insights-mcp --project my-project --environment production
  ld-insights-mcp --demo --transport streamable-http --port 8000
"""


class _WriteTools:
    """The write tools' names, loaded only when the help is printed (not at every start)."""

    def __str__(self) -> str:
        from ld_insights_mcp.tools import write_tools

        return ", ".join(write_tools())


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="ld-insights-mcp",
        description=DESCRIPTION,
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--version", action="version", version=f"%(prog)s {__version__}")
    data = parser.add_argument_group("data")
    data.add_argument("--demo", action="store_true", help="serve built-in demo data; no token")
    data.add_argument("--base-uri", help="LaunchDarkly base URI (env LD_BASE_URI)")
    data.add_argument("--project", help="default project key (env LD_PROJECT)")
    data.add_argument("--environment", help="default environment key (env LD_ENVIRONMENT)")
    read_only = data.add_argument(
        "--read-only", action="store_true", help="do not offer the tools that write: %(writes)s"
    )
    read_only.writes = _WriteTools()  # type: ignore[attr-defined]  # argparse fills %(writes)s
    add_network_flags(data)
    transport = parser.add_argument_group("transport")
    transport.add_argument(
        "--transport",
        choices=("stdio", "sse", "streamable-http"),
        default="stdio",
        help="default: stdio",
    )
    transport.add_argument(
        "--host", default="127.0.0.1", help="HTTP bind address (default 127.0.0.1)"
    )
    transport.add_argument("--port", type=int, default=8000, help="HTTP port (default 8000)")
    transport.add_argument("--path", default="/mcp", help="streamable HTTP path (default /mcp)")
    transport.add_argument(
        "--stateless", action="store_true", help="streamable HTTP without sessions"
    )
    transport.add_argument(
        "--json-response", action="store_true", help="streamable HTTP answers as JSON, not SSE"
    )
    transport.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST",
        help="extra Host header value to accept (repeatable; required off loopback)",
    )
    transport.add_argument(
        "--allowed-origin",
        action="append",
        default=[],
        metavar="ORIGIN",
        help="extra Origin to accept (repeatable; required off loopback)",
    )
    parser.add_argument(
        "--log-level",
        choices=("DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"),
        type=str.upper,
        help="log level; logs go to stderr (default WARNING)",
    )
    parser.add_argument(
        "--log-format",
        choices=("text", "json"),
        default="text",
        help="json: one JSON object per line, with the HTTP request id (default text)",
    )
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["doctor"]:
        from ld_insights_mcp.doctor.command import main as doctor

        return doctor(arguments[1:])
    collecting = gc.isenabled()
    gc.disable()  # start-up only builds what lives as long as the process (see _run)
    try:
        return _main(build_parser().parse_args(arguments))
    finally:
        if collecting:
            gc.enable()


def _main(args: argparse.Namespace) -> int:
    try:
        settings = settings_from(args)
    except ValidationError as exc:
        print(
            f"ld-insights-mcp: invalid configuration: {format_validation_error(exc)}",
            file=sys.stderr,
        )
        return 2
    from ld_insights_mcp.logging_setup import configure_logging

    token = settings.access_token
    secret = token.get_secret_value() if token else None
    if args.log_format == "json":
        from ld_insights_mcp.transports.ops.json_logs import configure_json_logging

        configure_json_logging(settings.log_level, secret=secret)
    else:
        configure_logging(settings.log_level, secret=secret)
    try:
        return _run(args, settings)
    except ConfigurationError as exc:
        print(f"ld-insights-mcp: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


def _run(args: argparse.Namespace, settings: Settings) -> int:
    from ld_insights_mcp.surface.server import create_server

    options = None
    if args.transport != "stdio":
        from ld_insights_mcp.transports.http.app import transport_security

        options = _http_options(args, settings)
        transport_security(options)  # refuse an unsafe bind before anything starts
    server = create_server(settings)
    # what start-up built (~100,000 objects) lives as long as the process: out of the
    # collector's sight, no full collection walks it again (~50 ms each); it was off till here
    gc.freeze()
    gc.enable()
    if options is None:
        from ld_insights_mcp.transports.stdio import run_stdio

        _warn_of_http_auth_on_stdio(settings)
        # the standard event loop: one client needs no uvloop (nor its ~4 MB), and uvloop
        # aborts at exit in a process started with stderr closed
        anyio.run(run_stdio, server, settings.call_budget, settings.stdio_max_line_bytes)
    else:
        from ld_insights_mcp.transports.http.app import serve_http

        anyio.run(
            lambda: serve_http(server, options, log_level=settings.log_level),
            backend_options=_loop_options(),
        )
    return 0


def _http_options(args: argparse.Namespace, settings: Settings) -> HttpOptions:
    # imported here: a stdio start needs neither the HTTP stack nor sign-in
    from ld_insights_mcp.auth.options import SignInOptions
    from ld_insights_mcp.transports.http.app import HttpOptions

    return HttpOptions(
        transport="sse" if args.transport == "sse" else "streamable-http",
        host=args.host,
        port=args.port,
        path=args.path,
        stateless=args.stateless,
        json_response=args.json_response,
        allowed_hosts=tuple(args.allowed_host),
        allowed_origins=tuple(args.allowed_origin),
        bearer_tokens=_bearer_tokens(),
        # the http_* settings are the HttpOptions of the same name
        **{k.removeprefix("http_"): v for k, v in settings if k.startswith("http_")},
        replica_id=settings.replica_id,
        graceful_timeout=settings.call_budget + 5,
        sign_in=SignInOptions.from_settings(settings),
    )


def _warn_of_http_auth_on_stdio(settings: Settings) -> None:
    """Over stdio the HTTP auth settings protect nothing: one WARNING naming those set."""
    from ld_insights_mcp.config import variables_for

    names = ["LD_INSIGHTS_HTTP_BEARER_TOKENS"] if _bearer_tokens() else []
    oauth = sorted(f for f in settings.model_fields_set if f.startswith("oauth_"))
    names += [variables_for(field)[0] for field in oauth]
    if names:
        logging.getLogger("ld_insights_mcp").warning(
            "%s: no effect on stdio (they authenticate HTTP clients; a stdio server serves "
            "whoever started it). Unset them, or serve HTTP with --transport streamable-http.",
            ", ".join(names),
        )


def _loop_options() -> dict[str, Any]:
    """For HTTP: uvloop where it is installed (a faster loop for many clients), the standard
    loop otherwise."""
    if os.environ.get("LD_INSIGHTS_NO_UVLOOP"):
        return {}
    try:
        import uvloop  # noqa: F401
    except ImportError:
        return {}
    return {"use_uvloop": True}


def _bearer_tokens() -> tuple[str, ...]:
    raw = os.environ.get("LD_INSIGHTS_HTTP_BEARER_TOKENS", "")
    return tuple(t.strip() for t in raw.split(",") if t.strip())


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
