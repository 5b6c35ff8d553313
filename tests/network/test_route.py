"""Which proxy and which CAs a base URI is reached with (no network: the route only)."""

from __future__ import annotations

import pytest

from ld_insights_mcp.launchdarkly.network import route_for

BASE = "https://app.launchdarkly.com"


def test_without_settings_or_variables_the_route_is_direct_on_the_system_store() -> None:
    route = route_for(BASE)
    assert route.proxy is None
    assert route.describe_proxy() == "none (direct connection)"
    assert route.describe_trust() in (
        "the operating system's trust store",
        "certifi's bundle (no system trust store found)",
    )


def test_all_proxy_is_used_when_https_proxy_is_unset(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALL_PROXY", "http://proxy.example:3128")
    route = route_for(BASE)
    assert route.proxy_shown == "http://proxy.example:3128"
    assert route.describe_proxy() == "http://proxy.example:3128 (from ALL_PROXY; CONNECT tunnel)"


def test_https_proxy_wins_over_all_proxy_and_lower_case_over_upper(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("ALL_PROXY", "http://all.example:1")
    monkeypatch.setenv("HTTPS_PROXY", "http://upper.example:2")
    monkeypatch.setenv("https_proxy", "http://lower.example:3")
    route = route_for(BASE)
    assert route.proxy_shown == "http://lower.example:3"
    assert route.proxy_source == "https_proxy"


def test_a_proxy_without_a_scheme_is_an_http_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "proxy.example:3128")
    assert route_for(BASE).proxy == "http://proxy.example:3128"


def test_http_proxy_alone_is_not_used_for_an_https_base_uri(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("HTTP_PROXY", "http://proxy.example:3128")
    assert route_for(BASE).proxy is None


def test_no_proxy_suffix_match(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HTTPS_PROXY", "http://proxy.example:3128")
    monkeypatch.setenv("NO_PROXY", "localhost,.launchdarkly.com")
    route = route_for(BASE)
    assert route.proxy is None
    assert route.describe_proxy() == "none: NO_PROXY names app.launchdarkly.com"
    assert route_for("https://app.example.com").proxy == "http://proxy.example:3128"


def test_the_setting_ignores_no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("NO_PROXY", "*")
    route = route_for(BASE, proxy="http://proxy.example:3128")
    assert route.proxy_source == "LD_INSIGHTS_PROXY"


def test_credentials_stay_out_of_what_is_shown() -> None:
    route = route_for(BASE, proxy="http://me:p%40ss@proxy.example:3128")
    assert route.proxy == "http://me:p%40ss@proxy.example:3128"
    shown = repr(route) + route.describe_proxy() + str(route.proxy_shown)
    assert "p%40ss" not in shown
    assert "me:" not in shown


def test_the_ca_settings_in_order(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("SSL_CERT_DIR", "/etc/ssl/certs")
    assert route_for(BASE).describe_trust() == "/etc/ssl/certs (from SSL_CERT_DIR)"
    monkeypatch.setenv("SSL_CERT_FILE", "/etc/ssl/a.pem")
    assert route_for(BASE).describe_trust() == "/etc/ssl/a.pem (from SSL_CERT_FILE)"
    bundle = route_for(BASE, ca_bundle="/opt/corp-ca.pem").describe_trust()
    assert bundle == "/opt/corp-ca.pem (from LD_INSIGHTS_CA_BUNDLE)"
    assert route_for("http://127.0.0.1:8777").describe_trust() == "not used (plain http)"
