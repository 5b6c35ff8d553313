"""The emulator served over TLS with a CA made by trustme, and a real proxy (squid)."""

from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import trustme

from tests.support import Emulator, serve_on_loopback

from ..conftest import NOW_MS, TOKEN
from . import squid

NETWORK_VARIABLES = (
    "HTTPS_PROXY",
    "HTTP_PROXY",
    "ALL_PROXY",
    "NO_PROXY",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "REQUESTS_CA_BUNDLE",
    "CURL_CA_BUNDLE",
)


@pytest.fixture(autouse=True)
def _no_network_settings(monkeypatch: pytest.MonkeyPatch) -> None:
    """No proxy or CA settings from the machine: each test sets its own."""
    for name in list(os.environ):
        if name.upper() in NETWORK_VARIABLES:
            monkeypatch.delenv(name)


def network_env(**values: str) -> dict[str, str]:
    """This process's environment without LaunchDarkly, proxy or CA settings, plus ``values``
    (for a subprocess)."""
    keep = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LD_", "LAUNCHDARKLY_")) and k.upper() not in NETWORK_VARIABLES
    }
    return {**keep, **values}


@dataclass(frozen=True)
class Authority:
    """A CA of our own: its PEM file, and a folder holding it as OpenSSL expects a CA
    directory (``c_rehash``'s hash-named link)."""

    ca: trustme.CA
    pem: Path
    folder: Path


@pytest.fixture(scope="session")
def authority(tmp_path_factory: pytest.TempPathFactory) -> Authority:
    ca = trustme.CA()
    folder = tmp_path_factory.mktemp("ca")
    pem = folder / "ca.pem"
    ca.cert_pem.write_to_path(str(pem))
    hashed = folder / "certs"
    hashed.mkdir()
    ca.cert_pem.write_to_path(str(hashed / f"{_subject_hash(pem)}.0"))
    return Authority(ca, pem, hashed)


def _subject_hash(pem: Path) -> str:
    import subprocess

    return subprocess.run(
        ["openssl", "x509", "-hash", "-noout", "-in", str(pem)],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()


def _served(authority: Authority, folder: Path, *hosts: str) -> tuple[str, str]:
    cert = authority.ca.issue_cert(*hosts)
    certfile, keyfile = folder / "cert.pem", folder / "key.pem"
    cert.cert_chain_pems[0].write_to_path(str(certfile))
    cert.private_key_pem.write_to_path(str(keyfile))
    return str(certfile), str(keyfile)


@pytest.fixture
def emulator() -> Emulator:
    return Emulator(token=TOKEN, now_ms=NOW_MS)


@pytest.fixture
def tls_url(emulator: Emulator, authority: Authority, tmp_path: Path) -> Iterator[str]:
    """The emulator on https://127.0.0.1:<port>, its certificate signed by ``authority``."""
    with serve_on_loopback(emulator, tls=_served(authority, tmp_path, "127.0.0.1")) as url:
        yield url


@pytest.fixture
def wrong_host_url(emulator: Emulator, authority: Authority, tmp_path: Path) -> Iterator[str]:
    """The emulator over TLS with a certificate (from ``authority``) for another host name."""
    tls = _served(authority, tmp_path, "insights.example.com")
    with serve_on_loopback(emulator, tls=tls) as url:
        yield url


@pytest.fixture
def proxy() -> Iterator[squid.Proxy]:
    """squid, allowing CONNECT."""
    if not squid.available():
        pytest.skip("squid is not installed: make system-deps")
    with squid.squid() as running:
        yield running


@pytest.fixture
def refusing_proxy() -> Iterator[squid.Proxy]:
    """squid, refusing every CONNECT (403)."""
    if not squid.available():
        pytest.skip("squid is not installed: make system-deps")
    with squid.squid(refuse_connect=True) as running:
        yield running
