"""``ld-insights-mcp doctor`` on the server's network: it reports the proxy and CAs in use and
tells a proxy failure, a TLS failure (unknown CA, wrong host) and an unreachable host apart,
each with its fix. The installed console script, against the emulator over TLS and squid."""

from __future__ import annotations

import json
import subprocess
from typing import Any

import pytest

from tests.support import Emulator

from ..conftest import TOKEN
from ..processes import free_port, server_command
from .conftest import Authority, network_env
from .squid import Proxy


@pytest.fixture
def emulator() -> Emulator:
    """On this machine's clock: the doctor compares it with the Date header."""
    return Emulator(token=TOKEN)


def doctor(*args: str, **env: str) -> dict[str, Any]:
    done = subprocess.run(
        [*server_command(), "doctor", "--json", *args],
        capture_output=True,
        text=True,
        env=network_env(LD_ACCESS_TOKEN=TOKEN, **env),
        timeout=90,
        check=False,
    )
    assert "Traceback" not in done.stderr, done.stderr
    assert TOKEN not in done.stdout + done.stderr
    report: dict[str, Any] = json.loads(done.stdout)
    assert done.returncode == (0 if report["ok"] else 1)
    return report


def base_uri_check(report: dict[str, Any]) -> dict[str, Any]:
    return next(c for c in report["checks"] if c["id"] == "base_uri")


def test_a_custom_ca_from_the_flag_passes_every_check_and_is_reported(
    tls_url: str, authority: Authority
) -> None:
    report = doctor("--ca-bundle", str(authority.pem), LD_BASE_URI=tls_url)
    assert report["ok"], report
    assert report["network"] == {
        "proxy": "none (direct connection)",
        "ca": f"{authority.pem} (from LD_INSIGHTS_CA_BUNDLE)",
    }


def test_ssl_cert_file_is_reported_as_the_ca_in_use(tls_url: str, authority: Authority) -> None:
    report = doctor(LD_BASE_URI=tls_url, SSL_CERT_FILE=str(authority.pem))
    assert report["ok"], report
    assert report["network"]["ca"] == f"{authority.pem} (from SSL_CERT_FILE)"


def test_through_the_proxy_every_check_passes_and_the_proxy_is_reported(
    tls_url: str, authority: Authority, proxy: Proxy
) -> None:
    report = doctor(
        LD_BASE_URI=tls_url, LD_INSIGHTS_CA_BUNDLE=str(authority.pem), HTTPS_PROXY=proxy.url
    )
    assert report["ok"], report
    assert report["network"]["proxy"] == f"{proxy.url} (from HTTPS_PROXY; CONNECT tunnel)"
    assert TOKEN not in proxy.wait_for("CONNECT 127.0.0.1")


def test_no_proxy_is_reported_as_why_the_connection_is_direct(
    tls_url: str, authority: Authority, proxy: Proxy
) -> None:
    report = doctor(
        LD_BASE_URI=tls_url,
        LD_INSIGHTS_CA_BUNDLE=str(authority.pem),
        HTTPS_PROXY=proxy.url,
        NO_PROXY="127.0.0.1",
    )
    assert report["ok"], report
    assert report["network"]["proxy"] == "none: NO_PROXY names 127.0.0.1"
    assert proxy.requests() == ""


def test_an_unknown_ca_is_a_tls_failure_with_the_ca_fix(tls_url: str) -> None:
    check = base_uri_check(doctor(LD_BASE_URI=tls_url))
    assert check["status"] == "fail"
    assert (
        "TLS: certificate not trusted (unable to get local issuer certificate)" in (check["reason"])
    )
    assert check["fix"].startswith("point LD_INSIGHTS_CA_BUNDLE (or --ca-bundle, or SSL_CERT_FILE)")
    assert check["details"]["ca"] == "the operating system's trust store"


def test_a_certificate_for_another_host_is_a_wrong_host_failure(
    wrong_host_url: str, authority: Authority
) -> None:
    check = base_uri_check(
        doctor(LD_BASE_URI=wrong_host_url, LD_INSIGHTS_CA_BUNDLE=str(authority.pem))
    )
    assert check["status"] == "fail"
    assert "TLS: wrong host name" in check["reason"]
    assert "check LD_BASE_URI" in check["fix"]


def test_a_proxy_that_refuses_connect_is_a_proxy_failure(
    tls_url: str, authority: Authority, refusing_proxy: Proxy
) -> None:
    check = base_uri_check(
        doctor(
            "--proxy",
            refusing_proxy.url,
            LD_BASE_URI=tls_url,
            LD_INSIGHTS_CA_BUNDLE=str(authority.pem),
        )
    )
    assert check["status"] == "fail"
    assert f"the proxy {refusing_proxy.url} refused the tunnel" in check["reason"]
    assert "(403 Forbidden)" in check["reason"]
    assert "allows CONNECT" in check["fix"]
    assert check["details"]["proxy"].endswith("(from LD_INSIGHTS_PROXY; CONNECT tunnel)")


def test_an_unreachable_proxy_is_a_proxy_failure(tls_url: str, authority: Authority) -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    check = base_uri_check(
        doctor(LD_BASE_URI=tls_url, LD_INSIGHTS_CA_BUNDLE=str(authority.pem), HTTPS_PROXY=dead)
    )
    assert check["status"] == "fail"
    assert f"could not connect to the proxy {dead}" in check["reason"]
    assert "HTTPS_PROXY" in check["fix"]


def test_a_host_the_proxy_cannot_reach_is_told_apart_from_a_proxy_failure(
    authority: Authority, proxy: Proxy
) -> None:
    gone = f"https://127.0.0.1:{free_port()}"
    check = base_uri_check(
        doctor(LD_BASE_URI=gone, LD_INSIGHTS_CA_BUNDLE=str(authority.pem), HTTPS_PROXY=proxy.url)
    )
    assert check["status"] == "fail"
    assert f"the proxy {proxy.url} could not reach" in check["reason"]
    assert "LD_BASE_URI's host name" in check["fix"]


def test_an_unreachable_host_without_a_proxy_suggests_one() -> None:
    gone = f"https://127.0.0.1:{free_port()}"
    check = base_uri_check(doctor(LD_BASE_URI=gone))
    assert check["status"] == "fail"
    assert "is unreachable (ConnectError" in check["reason"]
    assert "behind a proxy, set HTTPS_PROXY or LD_INSIGHTS_PROXY" in check["fix"]


def test_a_proxy_password_is_never_printed(
    tls_url: str, authority: Authority, proxy: Proxy
) -> None:
    password = "pw-77c1e0"
    with_password = proxy.url.replace("http://", f"http://ops:{password}@")
    for args in (("--json",), ()):
        done = subprocess.run(
            [*server_command(), "doctor", *args],
            capture_output=True,
            text=True,
            env=network_env(
                LD_ACCESS_TOKEN=TOKEN,
                LD_BASE_URI=tls_url,
                LD_INSIGHTS_CA_BUNDLE=str(authority.pem),
                HTTPS_PROXY=with_password,
                LD_INSIGHTS_LOG_LEVEL="DEBUG",
            ),
            timeout=90,
            check=False,
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert password not in done.stdout + done.stderr
        assert f"{proxy.url} (from HTTPS_PROXY; CONNECT tunnel)" in done.stdout
