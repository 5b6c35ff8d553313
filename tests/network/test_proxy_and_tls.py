"""The server's tools against the emulator over TLS (a CA made by trustme) and through a real
proxy (squid): direct; through the proxy; NO_PROXY honoured; the setting over the
environment; the custom CA accepted (setting, SSL_CERT_FILE, SSL_CERT_DIR); an unknown CA, a
wrong host name, a proxy that refuses CONNECT and an unreachable proxy each refused with a
clear error; the token never in what the proxy saw, a proxy's password never printed."""

from __future__ import annotations

import logging
import subprocess
from typing import Any

import pytest
from mcp import Client
from pydantic import SecretStr

from ld_insights_mcp.config import Settings
from ld_insights_mcp.launchdarkly import ClientOptions, LaunchDarklyClient
from ld_insights_mcp.launchdarkly.network import route_for
from ld_insights_mcp.surface.server import create_server
from tests.support import Emulator, serve_on_loopback

from ..conftest import TOKEN, make_settings
from ..mcp_helpers import structured, text_of
from ..processes import free_port, server_command
from . import squid
from .conftest import Authority, network_env
from .squid import Proxy

pytestmark = pytest.mark.anyio

SCORES = "get_insight_scores"


async def ask(settings: Settings, emulator: Emulator) -> Any:
    """One scores call through the server's tools, on the network the settings give."""
    project = emulator.store.projects[0]
    arguments = {"project_key": project.key, "environment_key": project.environments[0]}
    async with Client(create_server(settings)) as client:
        return await client.call_tool(SCORES, arguments)


def settings_for(url: str, **overrides: Any) -> Settings:
    return make_settings(base_uri=url, max_retries=0, **overrides)


# --- direct, with the CA trusted three ways ------------------------------------------------


async def test_the_ca_bundle_setting_is_trusted(
    tls_url: str, emulator: Emulator, authority: Authority
) -> None:
    result = await ask(settings_for(tls_url, ca_bundle=str(authority.pem)), emulator)
    assert structured(result)["project_key"]
    assert [r.method for r in emulator.requests] == ["GET"]


@pytest.mark.parametrize("variable", ["SSL_CERT_FILE", "SSL_CERT_DIR"])
async def test_ssl_cert_file_and_dir_are_trusted(
    tls_url: str,
    emulator: Emulator,
    authority: Authority,
    monkeypatch: pytest.MonkeyPatch,
    variable: str,
) -> None:
    where = authority.pem if variable == "SSL_CERT_FILE" else authority.folder
    monkeypatch.setenv(variable, str(where))
    result = await ask(settings_for(tls_url), emulator)
    assert structured(result)["project_key"]


async def test_the_setting_wins_over_ssl_cert_file(
    tls_url: str, emulator: Emulator, authority: Authority, monkeypatch: pytest.MonkeyPatch
) -> None:
    import certifi

    monkeypatch.setenv("SSL_CERT_FILE", certifi.where())  # public CAs only: ours is unknown
    refused = await ask(settings_for(tls_url), emulator)
    assert refused.is_error
    accepted = await ask(settings_for(tls_url, ca_bundle=str(authority.pem)), emulator)
    assert structured(accepted)["project_key"]


async def test_an_unknown_ca_is_refused_naming_the_setting_that_fixes_it(
    tls_url: str, emulator: Emulator
) -> None:
    result = await ask(settings_for(tls_url), emulator)  # the system store: ours is unknown
    assert result.is_error
    text = text_of(result)
    assert "TLS: certificate not trusted (unable to get local issuer certificate)" in text
    assert "before the request was sent" in text
    assert "Retrying will not help: the user must point LD_INSIGHTS_CA_BUNDLE" in text
    assert emulator.requests == []  # the handshake failed: no request reached it


async def test_a_certificate_for_another_host_is_refused_as_a_wrong_host(
    wrong_host_url: str, emulator: Emulator, authority: Authority
) -> None:
    result = await ask(settings_for(wrong_host_url, ca_bundle=str(authority.pem)), emulator)
    assert result.is_error
    text = text_of(result)
    assert "TLS: wrong host name (IP address mismatch" in text
    assert "check LD_BASE_URI: the server's certificate names other hosts" in text


# --- through the proxy -----------------------------------------------------------------------


async def test_https_proxy_is_used_through_a_connect_tunnel_and_never_sees_the_token(
    tls_url: str,
    emulator: Emulator,
    authority: Authority,
    proxy: Proxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    result = await ask(settings_for(tls_url, ca_bundle=str(authority.pem)), emulator)
    assert structured(result)["project_key"]
    host_port = tls_url.removeprefix("https://")
    seen = proxy.wait_for(f"CONNECT {host_port}")
    assert TOKEN not in seen
    assert "/api/v2" not in seen  # the request itself stayed inside the tunnel
    assert [r.headers["authorization"] for r in emulator.requests] == [TOKEN]


async def test_the_proxy_setting_wins_over_https_proxy(
    tls_url: str,
    emulator: Emulator,
    authority: Authority,
    proxy: Proxy,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", f"http://127.0.0.1:{free_port()}")  # nothing there
    settings = settings_for(tls_url, ca_bundle=str(authority.pem), proxy=proxy.url)
    result = await ask(settings, emulator)
    assert structured(result)["project_key"]
    proxy.wait_for("CONNECT 127.0.0.1")


@pytest.mark.parametrize("no_proxy", ["127.0.0.1", ".0.0.1", "*"])
async def test_no_proxy_sends_the_host_direct(
    tls_url: str,
    emulator: Emulator,
    authority: Authority,
    proxy: Proxy,
    monkeypatch: pytest.MonkeyPatch,
    no_proxy: str,
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", proxy.url)
    monkeypatch.setenv("NO_PROXY", no_proxy)
    result = await ask(settings_for(tls_url, ca_bundle=str(authority.pem)), emulator)
    assert structured(result)["project_key"]
    assert proxy.requests() == ""


async def test_a_plain_http_base_uri_never_goes_through_a_proxy(
    emulator: Emulator, proxy: Proxy, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The token would travel in clear: a loopback http base URI is reached directly, even
    with every proxy variable and the setting pointing at the proxy."""
    for variable in ("HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.setenv(variable, proxy.url)
    with serve_on_loopback(emulator) as url:
        result = await ask(settings_for(url, proxy=proxy.url), emulator)
    assert structured(result)["project_key"]
    assert proxy.requests() == ""


async def test_a_proxy_that_refuses_connect_is_named_with_its_answer(
    tls_url: str,
    emulator: Emulator,
    authority: Authority,
    refusing_proxy: Proxy,
) -> None:
    settings = settings_for(tls_url, ca_bundle=str(authority.pem), proxy=refusing_proxy.url)
    result = await ask(settings, emulator)
    assert result.is_error
    text = text_of(result)
    host_port = tls_url.removeprefix("https://")
    assert (
        f"the proxy {refusing_proxy.url} refused the tunnel to {host_port} (403 Forbidden)" in text
    )
    assert "before the request was sent" in text
    assert "allows CONNECT" in text
    assert emulator.requests == []
    assert TOKEN not in refusing_proxy.wait_for("CONNECT")


async def test_an_unreachable_proxy_is_named(
    tls_url: str, emulator: Emulator, authority: Authority
) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    result = await ask(settings_for(tls_url, ca_bundle=str(authority.pem), proxy=dead), emulator)
    assert result.is_error
    assert f"could not connect to the proxy {dead}" in text_of(result)


async def test_a_host_the_proxy_cannot_reach_is_told_apart_from_the_proxy(
    authority: Authority, emulator: Emulator, proxy: Proxy
) -> None:
    gone = f"https://127.0.0.1:{free_port()}"
    result = await ask(settings_for(gone, ca_bundle=str(authority.pem), proxy=proxy.url), emulator)
    assert result.is_error
    text = text_of(result)
    assert f"the proxy {proxy.url} could not reach {gone.removeprefix('https://')}" in text
    assert "check LD_BASE_URI's host name" in text


async def test_a_proxy_password_is_sent_to_the_proxy_but_never_shown(
    tls_url: str,
    emulator: Emulator,
    authority: Authority,
    proxy: Proxy,
    caplog: pytest.LogCaptureFixture,
) -> None:
    password = "s3cret-proxy-pw"
    with_password = proxy.url.replace("http://", f"http://user:{password}@")
    settings = settings_for(tls_url, ca_bundle=str(authority.pem), proxy=with_password)
    assert password not in repr(settings) + str(settings)
    assert password not in repr(settings.client_options())
    route = route_for(tls_url, proxy=with_password)
    assert password not in repr(route) + route.describe_proxy()
    caplog.set_level(logging.DEBUG)
    result = await ask(settings, emulator)
    assert structured(result)["project_key"]
    seen = proxy.wait_for("CONNECT")
    assert "Proxy-Authorization: Basic" in seen  # the proxy was sent the credentials
    assert password not in caplog.text


async def test_an_unusable_environment_proxy_fails_every_call_with_the_variable_named(
    tls_url: str, emulator: Emulator, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "socks5://127.0.0.1:1080")
    result = await ask(settings_for(tls_url), emulator)
    assert result.is_error
    text = text_of(result)
    assert "the proxy in HTTPS_PROXY uses socks5://, which is not supported" in text
    assert "set HTTPS_PROXY to an http:// or https:// URL" in text


def test_an_unusable_proxy_flag_is_a_settings_error_that_hides_the_value() -> None:
    done = subprocess.run(
        [*server_command(), "--proxy", "socks5://user:pw-9931@127.0.0.1:1080"],
        capture_output=True,
        text=True,
        env=network_env(),
        timeout=60,
        check=False,
    )
    assert done.returncode == 2
    assert (
        "LD_INSIGHTS_PROXY / --proxy: the proxy URL uses socks5://, which is not supported"
        in done.stderr
    )
    assert "pw-9931" not in done.stderr + done.stdout


# --- the client on its own: a write through the tunnel ----------------------------------------


async def test_a_write_goes_through_the_tunnel_too(
    tls_url: str, emulator: Emulator, authority: Authority, proxy: Proxy
) -> None:
    options = ClientOptions(proxy=proxy.url, ca_bundle=str(authority.pem))
    async with LaunchDarklyClient.create(
        base_url=tls_url, token=SecretStr(TOKEN), options=options
    ) as client:
        assert await client.find_insight_group("no-such-group") is None
        await client.delete_insight_group(next(iter(emulator.store.insight_groups)))
    seen = proxy.wait_for("CONNECT")
    assert TOKEN not in seen
    assert [r.method for r in emulator.requests] == ["GET", "DELETE"]


async def test_a_proxy_that_asks_for_credentials_is_named_with_the_fix(
    tls_url: str, emulator: Emulator, authority: Authority
) -> None:
    if not squid.available():
        pytest.skip("squid is not installed: make system-deps")
    with squid.squid(password="right-password") as asking:
        settings = settings_for(tls_url, ca_bundle=str(authority.pem), proxy=asking.url)
        result = await ask(settings, emulator)
        assert result.is_error
        text = text_of(result)
        assert f"the proxy {asking.url} asks for credentials (407" in text
        assert "put the proxy's user name and password in its URL" in text
        with_password = asking.url.replace("http://", "http://user:right-password@")
        settings = settings_for(tls_url, ca_bundle=str(authority.pem), proxy=with_password)
        assert structured(await ask(settings, emulator))["project_key"]
