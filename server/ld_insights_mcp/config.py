"""Settings from the environment and the command line.

LaunchDarkly's own CLI (ldcli) variables are honoured so existing environments work:
``LD_ACCESS_TOKEN`` (or ``LAUNCHDARKLY_API_KEY``), ``LD_BASE_URI``, ``LD_PROJECT``,
``LD_ENVIRONMENT``. The server's own settings use the ``LD_INSIGHTS_`` prefix.
"""

from __future__ import annotations

import argparse
import importlib.util
import ipaddress
import os
from typing import TYPE_CHECKING, Any, Literal
from urllib.parse import urlsplit

from pydantic import (
    AliasChoices,
    Field,
    SecretStr,
    ValidationError,
    ValidationInfo,
    field_validator,
    model_validator,
)
from pydantic_settings import BaseSettings, SettingsConfigDict

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.cache import ReadCache
    from ld_insights_mcp.launchdarkly.options import ClientOptions

DEFAULT_BASE_URI = "https://app.launchdarkly.com"
TOKEN_VARIABLES = ("LD_ACCESS_TOKEN", "LAUNCHDARKLY_API_KEY")

LogLevel = Literal["DEBUG", "INFO", "WARNING", "ERROR", "CRITICAL"]


class ConfigurationError(ValueError):
    """The settings cannot start a server; the message says what to set."""


def is_loopback_host(host: str) -> bool:
    """True for ``localhost`` and loopback IP addresses."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _url_problem(value: str) -> str | None:
    """The rule ``value`` breaks, if any: an absolute http(s) URL (``url``) with no user name,
    password, query or fragment (``extras``), https unless its host is loopback (``http``)."""
    try:
        parts = urlsplit(value)
        hostname = parts.hostname
    except ValueError:
        return "url"
    if parts.scheme not in ("https", "http") or not hostname:
        return "url"
    if parts.username is not None or parts.password is not None or parts.query or parts.fragment:
        return "extras"
    return "http" if parts.scheme == "http" and not is_loopback_host(hostname) else None


_SIGN_IN_URL_PROBLEMS = {
    "url": "must be an absolute https URL such as https://sso.example.com",
    "extras": "must not carry a user name, password, query or fragment",
    "http": "must use https; plain http is allowed only for loopback",
}


def sign_in_url(value: str) -> str:
    """An issuer or resource URL as given, or ``ValueError`` saying which rule it breaks."""
    problem = _url_problem(value)
    if problem is not None:
        raise ValueError(_SIGN_IN_URL_PROBLEMS[problem])
    return value


_TEXTS = ("project", "environment", "ca_bundle", "oauth_issuer", "oauth_resource")
_SECRETS = ("proxy", "request_state_keys", "redis_url", "oauth_introspection_client_secret")
"""With ``oauth_introspection_client_id``: the settings a blank value leaves unset."""


class Settings(BaseSettings):
    """Everything the server needs to know; CLI flags override the environment."""

    model_config = SettingsConfigDict(
        env_prefix="LD_INSIGHTS_",
        validate_by_name=True,
        validate_by_alias=True,
        extra="ignore",
        frozen=True,
    )

    access_token: SecretStr | None = Field(
        None,
        validation_alias=AliasChoices("access_token", *TOKEN_VARIABLES),
        description="LaunchDarkly personal or service access token (sent raw, no Bearer).",
    )
    base_uri: str = Field(
        DEFAULT_BASE_URI,
        validation_alias=AliasChoices("base_uri", "LD_BASE_URI"),
        description="LaunchDarkly base URI; EU: https://app.eu.launchdarkly.com.",
    )
    project: str | None = Field(
        None,
        validation_alias=AliasChoices("project", "LD_PROJECT"),
        description="Default project key for tools that take one.",
    )
    environment: str | None = Field(
        None,
        validation_alias=AliasChoices("environment", "LD_ENVIRONMENT"),
        description="Default environment key for tools that take one.",
    )
    demo: bool = Field(False, description="Serve the embedded demo backend.")
    read_only: bool = Field(False, description="Register no tool that writes.")
    proxy: SecretStr | None = Field(
        None,
        description="http(s):// proxy to LaunchDarkly (CONNECT tunnel); wins over HTTPS_PROXY, "
        "ALL_PROXY and NO_PROXY.",
    )
    ca_bundle: str | None = Field(
        None,
        description="PEM file (or directory) of the CAs to trust, e.g. a TLS-inspecting proxy's; "
        "wins over SSL_CERT_FILE, SSL_CERT_DIR and the system store.",
    )
    connect_timeout: float = Field(5.0, gt=0, le=60)
    read_timeout: float = Field(20.0, gt=0, le=120)
    call_budget: float = Field(
        45.0, gt=0, le=300, description="Total seconds one tool call may take."
    )
    stdio_max_line_bytes: int = Field(
        64 * 1024 * 1024,
        ge=4096,
        le=1024 * 1024 * 1024,
        description="Longest JSON-RPC line accepted on stdio; a longer one gets an error answer.",
    )
    max_retries: int = Field(3, ge=0, le=10, description="Retries after the first try.")
    max_retry_wait: float = Field(
        10.0, ge=0, le=120, description="Longest Retry-After wait honoured, seconds."
    )
    max_concurrency: int = Field(10, ge=1, le=64, description="Parallel upstream calls.")
    max_response_bytes: int = Field(5_000_000, ge=10_000, le=100_000_000)
    max_output_chars: int = Field(
        20_000, ge=1_000, le=1_000_000, description="Cap on a tool's text output."
    )
    log_level: LogLevel = "WARNING"
    cache_ttl: float | None = Field(
        None,
        ge=0,
        le=86_400,
        description="Seconds a cached LaunchDarkly read stays fresh, for every kind of data "
        "(default: per kind, 30-300 s); 0 turns the cache off.",
    )
    cache_max_entries: int = Field(
        1_000, ge=1, le=1_000_000, description="Most reads the cache holds."
    )
    cache_max_bytes: int = Field(
        32_000_000, ge=100_000, le=4_000_000_000, description="Most bytes it holds."
    )
    unconfirmed_writes: Literal["refuse", "allow"] = Field(
        "refuse",
        description="allow: clients that cannot ask their user (no elicitation) get the changes "
        "that need confirmation too, made on the model's word alone. A risk; see "
        "docs/confirmations.md.",
    )
    request_state_keys: SecretStr | None = Field(
        None,
        description="Comma-separated secrets (32+ characters each; the first seals) that seal the "
        "2026-07-28 confirmation state, so every replica can finish a confirmation "
        "another began.",
    )

    redis_url: SecretStr | None = Field(
        None,
        description="redis:// URL of a Redis shared by every replica (cache, rate limits); unset: "
        "all in this process.",
    )
    redis_timeout: float = Field(
        0.25, gt=0, le=5, description="Seconds a Redis call may take before it counts as down."
    )
    http_header_timeout: float = Field(
        10.0, gt=0, le=300, description="Seconds a client has to send a request's headers."
    )
    http_body_timeout: float = Field(
        30.0, gt=0, le=600, description="Seconds a client has to send a request's body."
    )
    http_max_connections: int = Field(
        512, ge=8, le=100_000, description="Open HTTP connections; more are closed at once."
    )
    http_sessions_per_client: int = Field(
        256, ge=1, le=10_000, description="Open MCP sessions per bearer token."
    )
    http_session_idle_timeout: float = Field(
        300.0, gt=0, le=86_400, description="Seconds an idle MCP session stays open."
    )
    http_max_sessions: int = Field(
        2_000, ge=1, le=100_000, description="Open MCP sessions in all, per process."
    )
    replica_id: str | None = Field(
        None,
        pattern=r"^[a-z0-9][a-z0-9_-]{0,31}$",
        description="This replica's name behind nginx: it begins every MCP session id the replica "
        "issues (<name>.<id>), so nginx routes each request of a session to it.",
    )
    oauth_issuer: str | None = Field(
        None, description="Sign-in: the authorization server's issuer URL (HTTP transports)."
    )
    oauth_resource: str | None = Field(
        None, description="Sign-in: this server's public URL, the audience its tokens must name."
    )
    oauth_read_scope: str = Field("insights:read", description="Scope needed to read.")
    oauth_write_scope: str = Field(
        "insights:write", description="Scope needed for tools that change data."
    )
    oauth_introspection_client_id: str | None = Field(
        None, description="Client id for RFC 7662 introspection of opaque tokens."
    )
    oauth_introspection_client_secret: SecretStr | None = Field(
        None, description="Its client secret."
    )

    @field_validator(*_TEXTS, "oauth_introspection_client_id", *_SECRETS, mode="before")
    @classmethod
    def _blank_is_unset(cls, value: Any, info: ValidationInfo) -> Any:
        """A blank value is unset; spaces around a value are no part of it (but a secret's)."""
        secret = isinstance(value, SecretStr) and info.field_name in _SECRETS
        text = value.get_secret_value() if secret else value
        if not isinstance(text, str):
            return value
        if not text.strip():
            return None
        return value if info.field_name == "oauth_introspection_client_secret" else text.strip()

    @field_validator("oauth_issuer", "oauth_resource")
    @classmethod
    def _check_oauth_url(cls, value: str | None) -> str | None:
        return None if value is None else sign_in_url(value)

    @field_validator("oauth_read_scope", "oauth_write_scope")
    @classmethod
    def _check_scope(cls, value: str) -> str:
        """One scope token (RFC 6749 §3.3): printable ASCII without spaces or quotes."""
        if not value or any(c in ' "\\' or not 0x21 <= ord(c) <= 0x7E for c in value):
            raise ValueError("must be one scope name, such as insights:read (no spaces)")
        return value

    @field_validator("redis_url")
    @classmethod
    def _check_redis_url(cls, value: SecretStr | None) -> SecretStr | None:
        """redis://, rediss:// or unix://; errors never quote the URL (it may hold a password)."""
        if value is None:
            return None
        scheme = value.get_secret_value().partition("://")[0].lower()
        if scheme not in ("redis", "rediss", "unix"):
            raise ValueError(
                "LD_INSIGHTS_REDIS_URL must be a redis://, rediss:// or unix:// URL such as "
                "redis://127.0.0.1:6379/0; the value given is not one (not shown)"
            )
        if importlib.util.find_spec("redis") is None:
            raise ValueError(
                "a shared Redis needs the hosted extra: install ld-insights-mcp[hosted] "
                "(pip install 'ld-insights-mcp[hosted]'), or unset LD_INSIGHTS_REDIS_URL"
            )
        return value

    @field_validator("proxy")
    @classmethod
    def _check_proxy(cls, value: SecretStr | None) -> SecretStr | None:
        """An http(s) proxy URL; errors never quote it (it may hold a password)."""
        from ld_insights_mcp.launchdarkly.proxy_url import proxy_problem

        problem = None if value is None else proxy_problem(value.get_secret_value())
        if problem is not None:
            raise ValueError(f"the proxy URL {problem}; the value given is not shown")
        return value

    @field_validator("ca_bundle")
    @classmethod
    def _check_ca_bundle(cls, value: str | None) -> str | None:
        """An existing file or directory."""
        path = None if value is None else os.path.expanduser(value)
        if path is not None and not os.path.exists(path):
            raise ValueError(
                f"no file or directory at {path}: give the PEM file of the CA certificates to "
                "trust (or a directory of them)"
            )
        return path

    @field_validator("base_uri")
    @classmethod
    def _check_base_uri(cls, value: str) -> str:
        """Scheme and host only. Errors never quote the value: it may hold a secret."""
        example = f"such as {DEFAULT_BASE_URI} (EU: https://app.eu.launchdarkly.com)"
        problems = {
            "url": f"LD_BASE_URI must be an http(s) URL {example}; the value given is not one "
            "(it is not shown, in case it holds a secret)",
            "extras": "LD_BASE_URI must not carry a user name, password, query or fragment: "
            "remove them (not shown here) and give the access token in LD_ACCESS_TOKEN",
            "http": "LD_BASE_URI must use https (plain http is allowed only for loopback hosts): "
            f"change the scheme to https, {example}",
        }
        problem = _url_problem(value.strip())
        if problem is not None:
            raise ValueError(problems[problem])
        parts = urlsplit(value.strip())
        if parts.path not in ("", "/"):
            raise ValueError(
                f"LD_BASE_URI must not include a path: give the scheme and host only, {example}"
            )
        return f"{parts.scheme}://{parts.netloc}"

    @field_validator("request_state_keys")
    @classmethod
    def _check_state_keys(cls, value: SecretStr | None) -> SecretStr | None:
        """Each key 32+ characters. Errors never quote a key."""
        if value is None:
            return None
        keys = [k.strip() for k in value.get_secret_value().split(",")]
        if any(len(k) < 32 for k in keys):
            raise ValueError(
                "LD_INSIGHTS_REQUEST_STATE_KEYS must be comma-separated secrets of at least 32 "
                "characters each (e.g. from `openssl rand -hex 32`); a key given is shorter "
                "(not shown)"
            )
        return SecretStr(",".join(keys))

    @model_validator(mode="after")
    def _check_sign_in(self) -> Settings:
        """Sign-in settings come in pairs; introspection needs sign-in; the scopes differ."""
        issuer, resource = "LD_INSIGHTS_OAUTH_ISSUER", "LD_INSIGHTS_OAUTH_RESOURCE"
        client = "LD_INSIGHTS_OAUTH_INTROSPECTION_CLIENT_ID"
        if (self.oauth_issuer is None) != (self.oauth_resource is None):
            raise ValueError(f"set both {issuer} and {resource} for sign-in, or neither")
        if (self.oauth_introspection_client_id is None) != (
            self.oauth_introspection_client_secret is None
        ):
            raise ValueError(f"set both {client} and its _SECRET, or neither")
        if self.oauth_introspection_client_id is not None and self.oauth_issuer is None:
            raise ValueError(f"{client} is set without sign-in: set {issuer} and {resource}")
        if self.oauth_read_scope == self.oauth_write_scope:
            raise ValueError(
                "LD_INSIGHTS_OAUTH_READ_SCOPE and LD_INSIGHTS_OAUTH_WRITE_SCOPE must differ: "
                "the write scope is what lets a person change data"
            )
        return self

    def state_keys(self) -> list[str]:
        """The request-state secrets, first one sealing; empty when none are configured."""
        if self.request_state_keys is None:
            return []
        return self.request_state_keys.get_secret_value().split(",")

    def require_token(self) -> SecretStr:
        """The access token, or a one-line error naming the variables to set."""
        if self.access_token is None or not self.access_token.get_secret_value().strip():
            raise ConfigurationError(
                "no LaunchDarkly access token: set LD_ACCESS_TOKEN (or LAUNCHDARKLY_API_KEY) "
                "to a personal or service access token, or run with --demo"
            )
        return self.access_token

    def read_cache(self) -> ReadCache:
        """A new in-process read cache with these TTLs and bounds."""
        from ld_insights_mcp.launchdarkly.cache import MemoryStore, ReadCache, TtlPolicy

        store = MemoryStore(max_entries=self.cache_max_entries, max_bytes=self.cache_max_bytes)
        return ReadCache(store, ttl=TtlPolicy(override=self.cache_ttl))

    def client_options(self) -> ClientOptions:
        from ld_insights_mcp.launchdarkly.options import ClientOptions
        from ld_insights_mcp.launchdarkly.retries import RetryPolicy

        return ClientOptions(
            connect_timeout=self.connect_timeout,
            read_timeout=self.read_timeout,
            max_response_bytes=self.max_response_bytes,
            max_concurrency=self.max_concurrency,
            retry=RetryPolicy(max_attempts=self.max_retries + 1, max_wait=self.max_retry_wait),
            proxy=self.proxy.get_secret_value() if self.proxy is not None else None,
            ca_bundle=self.ca_bundle,
        )


def variables_for(field: str) -> list[str]:
    """The environment variables that set ``field`` (``field`` itself if it is unknown)."""
    info = Settings.model_fields.get(field)
    if info is None:
        return [field]
    alias = info.validation_alias
    if isinstance(alias, AliasChoices):
        return [name for name in alias.choices if isinstance(name, str) and name.isupper()]
    return [f"{Settings.model_config.get('env_prefix', '')}{field}".upper()]


# --- flags: what the command line sets (the server's and the doctor's) ------------------------


def add_network_flags(group: argparse._ArgumentGroup | argparse.ArgumentParser) -> None:
    """``--proxy`` and ``--ca-bundle``: the server's and the doctor's."""
    group.add_argument(
        "--proxy",
        metavar="URL",
        help="http(s) proxy to LaunchDarkly; wins over HTTPS_PROXY (env LD_INSIGHTS_PROXY)",
    )
    group.add_argument(
        "--ca-bundle",
        metavar="PATH",
        help="PEM file of the CAs to trust; wins over SSL_CERT_FILE (env LD_INSIGHTS_CA_BUNDLE)",
    )


FLAG_SETTINGS = ("base_uri", "project", "environment", "log_level", "proxy", "ca_bundle")
"""Settings a flag of the same name sets (``--base-uri`` …); flags override the environment."""
SWITCH_SETTINGS = ("demo", "read_only")
"""Settings a flag switches on (``--demo``, ``--read-only``)."""


def settings_from(args: argparse.Namespace) -> Settings:
    """Environment first, flags on top."""
    overrides: dict[str, Any] = {name: getattr(args, name) for name in FLAG_SETTINGS}
    overrides.update({name: True for name in SWITCH_SETTINGS if getattr(args, name)})
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def format_validation_error(error: ValidationError) -> str:
    """One line per problem, naming the variable (and flag) that sets it; never the
    rejected value."""
    lines = []
    for item in error.errors():
        field = str(item["loc"][0]) if item["loc"] else "settings"
        flagged = field in FLAG_SETTINGS or field in SWITCH_SETTINGS
        names = [*variables_for(field), *(["--" + field.replace("_", "-")] if flagged else [])]
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"{' / '.join(names)}: {message}")
    return "; ".join(lines)
