"""What sign-in needs to know, from the settings, and the checks made before serving."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlsplit

from pydantic import SecretStr

from ld_insights_mcp.config import ConfigurationError, Settings

ISSUER = "LD_INSIGHTS_OAUTH_ISSUER"
RESOURCE = "LD_INSIGHTS_OAUTH_RESOURCE"


@dataclass(frozen=True, slots=True)
class SignInOptions:
    """The authorization server, this resource, its two scopes and, for opaque tokens, the
    introspection client (its secret never shown by ``repr``: ``SecretStr``)."""

    issuer: str
    resource: str
    read_scope: str = "insights:read"
    write_scope: str = "insights:write"
    introspection_client_id: str | None = None
    introspection_client_secret: SecretStr | None = None
    connect_timeout: float = 5.0
    read_timeout: float = 20.0
    proxy: SecretStr | None = None  # the authorization server is reached as LaunchDarkly is
    ca_bundle: str | None = None

    @classmethod
    def from_settings(cls, settings: Settings) -> SignInOptions | None:
        """The options when ``LD_INSIGHTS_OAUTH_ISSUER`` is set, else None."""
        if settings.oauth_issuer is None or settings.oauth_resource is None:
            return None
        return cls(
            # the oauth_* settings are the options of the same name
            **{k.removeprefix("oauth_"): v for k, v in settings if k.startswith("oauth_")},
            connect_timeout=settings.connect_timeout,
            read_timeout=settings.read_timeout,
            proxy=settings.proxy,
            ca_bundle=settings.ca_bundle,
        )

    @property
    def scopes(self) -> list[str]:
        return [self.read_scope, self.write_scope]

    def check_served_path(self, path: str) -> None:
        """The resource must name the endpoint this process serves: clients send their tokens
        to the URL they were given, and its path is where the metadata is published."""
        resource_path = urlsplit(self.resource).path or "/"
        if resource_path.rstrip("/") != path.rstrip("/"):
            raise ConfigurationError(
                f"{RESOURCE} must be the public URL of the MCP endpoint this server serves, "
                f"ending in {path!r} (the path served here), such as "
                f"https://insights.example.com{path}; its path is {resource_path!r}. Set "
                "--path to match, or change the URL."
            )
