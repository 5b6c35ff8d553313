"""Sign-in reaches the authorization server the way the server reaches LaunchDarkly: through
the proxy setting, trusting the CA setting (a TLS-inspecting proxy's CA is needed for both)."""

from __future__ import annotations

import pytest
from pydantic import SecretStr

from ld_insights_mcp.auth.discovery import issuer_http_client
from ld_insights_mcp.auth.options import SignInOptions

from .conftest import Authority
from .squid import Proxy

pytestmark = pytest.mark.anyio


def _options(issuer: str, **network: object) -> SignInOptions:
    return SignInOptions(issuer=issuer, resource="https://insights.example.com/mcp", **network)  # type: ignore[arg-type]


async def test_the_issuer_is_read_through_the_proxy_trusting_the_ca_setting(
    tls_url: str, authority: Authority, proxy: Proxy
) -> None:
    options = _options(tls_url, proxy=SecretStr(proxy.url), ca_bundle=str(authority.pem))
    async with issuer_http_client(options) as http:
        answer = await http.get(f"{tls_url}/")  # any answer: the tunnel and TLS held
    assert answer.status_code < 500
    proxy.wait_for(f"CONNECT {tls_url.removeprefix('https://')}")


async def test_without_the_ca_setting_the_issuer_s_certificate_is_refused(
    tls_url: str,
) -> None:
    import httpx

    async with issuer_http_client(_options(tls_url)) as http:
        with pytest.raises(httpx.ConnectError):
            await http.get(f"{tls_url}/")
