"""The network under the client: one httpx transport, through the configured proxy and CAs.

Proxy: ``LD_INSIGHTS_PROXY``, else the environment or system settings (as ``urllib`` reads
them); https goes through a CONNECT tunnel, plain http (loopback only) never through a proxy.
CAs: ``LD_INSIGHTS_CA_BUNDLE``, else ``SSL_CERT_FILE``/``SSL_CERT_DIR``, else the system's
trust store, else certifi's. A proxy's credentials are never printed.
"""

from __future__ import annotations

import os
import platform
import ssl
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import httpx

from ld_insights_mcp.launchdarkly.proxy_url import proxy_problem, shown

PROXY_SETTING = "LD_INSIGHTS_PROXY"
CA_SETTING = "LD_INSIGHTS_CA_BUNDLE"


@dataclass(frozen=True, slots=True)
class Trust:
    """The certificate authorities a TLS connection accepts, and where they came from."""

    source: str  # LD_INSIGHTS_CA_BUNDLE, SSL_CERT_FILE, SSL_CERT_DIR, system or certifi
    location: str | None = None  # the file or directory of a bundle

    @classmethod
    def configured(cls, ca_bundle: str | None) -> Trust:
        if ca_bundle:
            return cls(CA_SETTING, ca_bundle)
        for variable in ("SSL_CERT_FILE", "SSL_CERT_DIR"):
            value = os.environ.get(variable)
            if value:
                return cls(variable, value)
        if _OS_TRUST_STORE or any(_system_ca_paths()):
            return cls("system")
        return cls("certifi")

    def describe(self) -> str:
        if self.location is not None:
            return f"{self.location} (from {self.source})"
        if self.source == "certifi":
            return "certifi's bundle (no system trust store found)"
        return "the operating system's trust store"

    def context(self) -> ssl.SSLContext:
        """A client TLS context that verifies certificates and host names against these CAs."""
        if self.location is not None:
            if os.path.isdir(self.location):
                return ssl.create_default_context(capath=self.location)
            return ssl.create_default_context(cafile=self.location)
        if self.source == "certifi":
            import certifi

            return ssl.create_default_context(cafile=certifi.where())
        if _OS_TRUST_STORE:
            import truststore

            return truststore.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        cafile, capath = _system_ca_paths()
        return ssl.create_default_context(cafile=cafile, capath=capath)


_OS_TRUST_STORE = platform.system() in ("Darwin", "Windows")
"""Where ``truststore`` uses the OS's own API; on Linux it would re-read the CA files at every
handshake (accumulating in OpenSSL before 3.4), so they are loaded once instead."""


def _system_ca_paths() -> tuple[str | None, str | None]:
    """OpenSSL's compiled-in CA file and directory, those that exist."""
    paths = ssl.get_default_verify_paths()
    cafile = paths.openssl_cafile if os.path.isfile(paths.openssl_cafile) else None
    capath = paths.openssl_capath if os.path.isdir(paths.openssl_capath) else None
    return cafile, capath


@dataclass(frozen=True, slots=True)
class Route:
    """How requests reach the base URI, and the CAs trusted. ``proxy`` may carry credentials
    (not in the repr); ``proxy_shown`` is safe to print."""

    base_url: str
    proxy: str | None = field(default=None, repr=False)
    proxy_source: str | None = None  # the setting or variable it came from
    direct_because: str | None = None  # why a configured proxy is not used
    problem: str | None = None  # why the configured proxy cannot be used: every request fails
    trust: Trust = field(default_factory=lambda: Trust("system"))

    @property
    def proxy_shown(self) -> str | None:
        return shown(self.proxy) if self.proxy else None

    @property
    def tls(self) -> bool:
        return urlsplit(self.base_url).scheme == "https"

    def describe_proxy(self) -> str:
        """One line: the proxy in use and where it came from, or why there is none."""
        if self.problem is not None:
            return f"{self.proxy_source} {self.problem}"
        if self.proxy is not None:
            return f"{self.proxy_shown} (from {self.proxy_source}; CONNECT tunnel)"
        if self.direct_because is not None:
            return f"none: {self.direct_because}"
        return "none (direct connection)"

    def describe_trust(self) -> str:
        if not self.tls:
            return "not used (plain http)"
        return self.trust.describe()

    def transport(self, limits: httpx.Limits) -> httpx.AsyncBaseTransport:
        """The transport for this route: httpx's own, with this proxy and these CAs."""
        if self.problem is not None:
            return _Unusable(f"the proxy in {self.proxy_source} {self.problem}", self.proxy_source)
        context = self.trust.context()
        if self.proxy is None:
            return httpx.AsyncHTTPTransport(verify=context, limits=limits, trust_env=False)
        # An https:// proxy is itself reached over TLS, trusting the same CAs.
        tls_to_proxy = context if self.proxy.startswith("https://") else None
        proxy = httpx.Proxy(self.proxy, ssl_context=tls_to_proxy)
        inner = httpx.AsyncHTTPTransport(
            verify=context, limits=limits, proxy=proxy, trust_env=False
        )
        return _ThroughProxy(inner, shown(self.proxy))


def route_for(base_url: str, *, proxy: str | None = None, ca_bundle: str | None = None) -> Route:
    """The route to ``base_url``: the settings win over the environment."""
    trust = Trust.configured(ca_bundle)
    parts = urlsplit(base_url)
    chosen, source = (proxy, PROXY_SETTING) if proxy else _environment_proxy(parts.scheme)
    if chosen is None:
        return Route(base_url, trust=trust)
    if not proxy and _bypassed(parts.netloc):
        return Route(base_url, direct_because=f"NO_PROXY names {parts.hostname}", trust=trust)
    if parts.scheme != "https":
        why = f"{source} is not used for a plain-http base URI (the token would travel in clear)"
        return Route(base_url, direct_because=why, trust=trust)
    problem = proxy_problem(chosen)
    if problem is not None:
        return Route(base_url, proxy_source=source, problem=problem, trust=trust)
    if "://" not in chosen:
        chosen = f"http://{chosen}"
    return Route(base_url, proxy=chosen, proxy_source=source, trust=trust)


def _environment_proxy(scheme: str) -> tuple[str | None, str]:
    """The environment's (or system's) proxy for ``scheme``, and the variable it came from."""
    import urllib.request

    proxies = urllib.request.getproxies()
    for kind in (scheme, "all"):
        if proxies.get(kind):
            return proxies[kind], _variable(kind) or "system proxy settings"
    return None, ""


def _variable(kind: str) -> str | None:
    """The variable that set the ``kind`` proxy (lower case wins, as in ``urllib``)."""
    for name in (f"{kind}_proxy", f"{kind.upper()}_PROXY"):
        if os.environ.get(name):
            return name
    return None


def _bypassed(netloc: str) -> bool:
    import urllib.request

    return bool(urllib.request.proxy_bypass(netloc))


class _Unusable(httpx.AsyncBaseTransport):
    """A proxy setting that cannot be used: every request fails before it is sent, saying why."""

    def __init__(self, reason: str, source: str | None) -> None:
        self._failure = Failure("proxy", reason, f"set {source} to an http:// or https:// URL")

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        raise ProxyFailure(self._failure, request)


# --- what a connection failure was -----------------------------------------------------------


@dataclass(frozen=True, slots=True)
class Failure:
    """What a failed connection was, in words, and the fix."""

    kind: str  # tls, proxy, or proxy_upstream (the proxy could not reach the host)
    reason: str
    fix: str


CA_FIX = (
    f"point {CA_SETTING} (or --ca-bundle, or SSL_CERT_FILE) at a PEM file holding the CA that "
    "signs the certificate (a TLS-inspecting proxy's or a private CA); if one is set already, "
    "it does not hold that CA"
)
HOST_FIX = "check LD_BASE_URI: the server's certificate names other hosts"
PROXY_FIX = (
    f"check the proxy's address in {PROXY_SETTING} or HTTPS_PROXY, and that it allows CONNECT "
    "to the base URI's host and port (NO_PROXY lists hosts reached directly)"
)
UPSTREAM_FIX = "check LD_BASE_URI's host name, and that the proxy may reach it"
PROXY_AUTH_FIX = (
    f"put the proxy's user name and password in its URL, http://user:password@host:port, in "
    f"{PROXY_SETTING} or HTTPS_PROXY (percent-encode special characters)"
)
TLS_FIX = "check that LD_BASE_URI's host speaks TLS on that port"


class ProxyFailure(httpx.ProxyError):
    """The proxy failed the request before it reached the base URI."""

    def __init__(self, failure: Failure, request: httpx.Request) -> None:
        super().__init__(failure.reason, request=request)
        self.failure = failure


def failure_of(exc: BaseException) -> Failure | None:
    """The TLS or proxy failure behind an httpx connection error, or None for another one."""
    if isinstance(exc, ProxyFailure):
        return exc.failure
    if isinstance(exc, httpx.ProxyError):
        return Failure("proxy", f"proxy failure ({_first_line(exc)})", PROXY_FIX)
    verify = _cause(exc, ssl.SSLCertVerificationError)
    if isinstance(verify, ssl.SSLCertVerificationError):
        message = str(verify.verify_message or verify.reason or verify)
        if "mismatch" in message.lower() or "hostname" in message.lower():
            return Failure("tls", f"TLS: wrong host name ({message})", HOST_FIX)
        return Failure("tls", f"TLS: certificate not trusted ({message})", CA_FIX)
    tls = _cause(exc, ssl.SSLError)
    if tls is not None:
        reason = getattr(tls, "reason", None) or _first_line(tls)
        return Failure("tls", f"TLS handshake failed ({reason})", TLS_FIX)
    return None


class _ThroughProxy(httpx.AsyncBaseTransport):
    """httpx's transport through a proxy, saying so of failures before the tunnel is up (httpx
    reports an unreachable proxy as an unreachable host)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, proxy: str) -> None:
        self._inner = inner
        self._proxy = proxy

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except httpx.ProxyError as exc:
            raise ProxyFailure(self._refused(exc, request), request) from exc
        except (httpx.ConnectError, httpx.ConnectTimeout) as exc:
            if failure_of(exc) is not None:  # TLS with the host, inside the tunnel
                raise
            said = _first_line(exc) or "timed out"
            failure = Failure(
                "proxy", f"could not connect to the proxy {self._proxy} ({said})", PROXY_FIX
            )
            raise ProxyFailure(failure, request) from exc

    def _refused(self, exc: httpx.ProxyError, request: httpx.Request) -> Failure:
        said = _first_line(exc)
        target = f"{request.url.host}:{request.url.port or 443}"
        if said.startswith("407"):
            kind, what, fix = "proxy", "asks for credentials", PROXY_AUTH_FIX
        elif said[:1] == "5":  # 502, 503, 504: the proxy could not reach the host
            kind, what, fix = "proxy_upstream", f"could not reach {target}", UPSTREAM_FIX
        else:
            kind, what, fix = "proxy", f"refused the tunnel to {target}", PROXY_FIX
        return Failure(kind, f"the proxy {self._proxy} {what} ({said})", fix)

    async def aclose(self) -> None:
        await self._inner.aclose()


def _cause(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        if isinstance(current, kind):
            return current
        seen.add(id(current))
        current = current.__cause__ or current.__context__
    return None


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()
    return text[0][:200] if text else ""
