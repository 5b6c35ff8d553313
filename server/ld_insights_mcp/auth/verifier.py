"""Bearer tokens checked for this resource: the SDK's ``TokenVerifier``. A JWT (RFC 9068) is
checked here against the issuer's keys; any other token is introspected (RFC 7662) when an
introspection client is configured. A refused token is ``None`` (the SDK answers 401), its
reason logged without it; ``AccessToken.token`` holds a digest, so no repr or log shows it.
"""

from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from typing import Any

import httpx
import jwt
from mcp.server.auth.provider import AccessToken

from ld_insights_mcp.auth.discovery import IssuerMetadata, describe, discover, fetch_json
from ld_insights_mcp.auth.introspection import (
    REMEMBER_ACTIVE,
    REMEMBER_REFUSED,
    Answers,
    Budget,
    IntrospectionBusy,
)
from ld_insights_mcp.auth.keys import ALGORITHMS, SigningKeys
from ld_insights_mcp.auth.options import ISSUER, SignInOptions
from ld_insights_mcp.config import ConfigurationError

logger = logging.getLogger(__name__)

LEEWAY = 30
"""Seconds of clock skew allowed on ``exp``, ``nbf`` and ``iat``."""
ACCESS_TOKEN_TYPES = ("at+jwt", "application/at+jwt", "jwt")
"""``typ`` values taken as access tokens (RFC 9068's and the common plain ``JWT``); none is
accepted too: the audience check still refuses ID tokens, whose ``aud`` is a client."""
PERSON_CLAIMS = ("email", "name")
INTROSPECTION = "LD_INSIGHTS_OAUTH_INTROSPECTION_CLIENT_ID"


class Refused(Exception):
    """Why a token is not accepted (logged, never shown to the caller)."""


class SignInVerifier:
    """Verifies bearer tokens for ``options.resource``; ``start()`` before the first."""

    def __init__(
        self,
        options: SignInOptions,
        http: httpx.AsyncClient,
        *,
        clock: Callable[[], float] = time.time,
        budget: Budget | None = None,
    ) -> None:
        self.options = options
        self._http = http
        self._clock = clock
        self.answers = Answers(clock=clock)
        self.budget = budget if budget is not None else Budget()
        self.metadata: IssuerMetadata | None = None
        self.keys: SigningKeys | None = None

    async def start(self) -> None:
        """Read the issuer's metadata and keys, check the introspection client; a wrong
        setting is a ``ConfigurationError`` saying what to fix."""
        metadata = await discover(self._http, self.options.issuer)
        self.metadata = metadata
        if metadata.jwks_uri is not None:
            jwks_uri = metadata.jwks_uri
            self.keys = SigningKeys(lambda: fetch_json(self._http, jwks_uri))
            try:
                await self.keys.load()
            except (httpx.HTTPError, ValueError) as exc:
                raise ConfigurationError(
                    f"cannot use the signing keys of {ISSUER} {self.options.issuer!r} at "
                    f"{jwks_uri} ({describe(exc)}); tokens could not be checked."
                ) from None
        if self.options.introspection_client_id is not None:
            await self._check_introspection_client()
        elif self.keys is None:
            raise ConfigurationError(
                f"the authorization server {self.options.issuer!r} publishes no jwks_uri, so "
                f"its tokens can only be introspected: set {INTROSPECTION} and its _SECRET."
            )

    async def verify_token(self, token: str) -> AccessToken | None:
        """The token's access for this resource, or None when it is refused;
        ``IntrospectionBusy`` when it cannot be checked now."""
        try:
            if token.count(".") == 2:  # a JWS in compact form (RFC 7515 §7.1)
                return await self._verify_jwt(token)
            return await self._introspect(token)
        except Refused as exc:
            logger.info("bearer token refused: %s", exc)
        except IntrospectionBusy:
            raise
        except Exception as exc:  # never a 500 for a bad token; never the token in a log
            logger.warning("bearer token could not be checked: %s", describe(exc))
        return None

    async def _verify_jwt(self, token: str) -> AccessToken:
        try:
            header = jwt.get_unverified_header(token)
        except jwt.InvalidTokenError:
            raise Refused("not a readable JWT") from None
        algorithm = header.get("alg")
        if algorithm not in ALGORITHMS:
            raise Refused(f"algorithm {str(algorithm)[:16]!r} is not accepted")
        token_type = header.get("typ")
        if token_type is not None and str(token_type).lower() not in ACCESS_TOKEN_TYPES:
            raise Refused(f"token type {str(token_type)[:32]!r} is not an access token")
        if self.keys is None:
            raise Refused("a JWT, and the issuer publishes no signing keys")
        kid = header.get("kid")
        key = await self.keys.find(None if kid is None else str(kid), str(algorithm))
        if key is None:
            raise Refused(f"signed with a key the issuer does not publish (kid {str(kid)[:64]!r})")
        try:
            claims = jwt.decode(
                token,
                key,
                algorithms=[str(algorithm)],
                audience=self.options.resource,
                issuer=self.options.issuer,
                leeway=LEEWAY,
                options={"require": ["exp", "iss", "aud", "sub"]},
            )
        except jwt.InvalidTokenError as exc:
            raise Refused(_reason(exc)) from None
        if "cnf" in claims:
            raise Refused("bound to a key (cnf) this server cannot check")
        return self._access(token, claims)

    async def _introspect(self, token: str) -> AccessToken:
        """The introspection endpoint's answer, remembered; asked within the budget only."""
        endpoint = self.metadata.introspection_endpoint if self.metadata else None
        if self.options.introspection_client_id is None or endpoint is None:
            raise Refused("not a JWT, and introspection is not configured")
        remembered = self.answers.get(token)
        if isinstance(remembered, AccessToken):
            return remembered
        if remembered is not None:
            raise Refused(f"{remembered}, remembered")
        if not self.budget.take():
            if self.budget.refused_in_a_row == 1:
                logger.warning(
                    "introspection is at its bound (%g a second): opaque tokens whose answer "
                    "is not remembered get 503 until the requests slow down",
                    self.budget.rate,
                )
            raise IntrospectionBusy(self.budget.seconds_to_next())
        answer = await self._introspection(endpoint, token)
        now = self._clock()
        try:
            access = self._introspected(token, answer, now)
        except Refused as exc:
            self.answers.remember(token, str(exc), now + REMEMBER_REFUSED)
            raise
        until = now + REMEMBER_ACTIVE
        if isinstance(answer.get("exp"), int | float):
            until = min(until, float(answer["exp"]))
        self.answers.remember(token, access, until)
        return access

    def _introspected(self, token: str, answer: dict[str, Any], now: float) -> AccessToken:
        """The access an introspection answer grants, or ``Refused``."""
        if answer.get("active") is not True:
            raise Refused("inactive (introspection)")
        if "iss" in answer and answer["iss"] != self.options.issuer:
            raise Refused("issued by another issuer (introspection)")
        audience = answer.get("aud")
        audiences = audience if isinstance(audience, list) else [audience]
        if self.options.resource not in audiences:
            raise Refused("not issued for this resource (introspection aud)")
        if isinstance(answer.get("exp"), int | float) and now > answer["exp"] + LEEWAY:
            raise Refused("expired (introspection)")
        if isinstance(answer.get("nbf"), int | float) and now < answer["nbf"] - LEEWAY:
            raise Refused("not yet valid (introspection)")
        if not answer.get("sub"):  # a client acting for itself (client credentials) is its own
            answer["sub"] = answer.get("client_id")  # subject, as RFC 9068 §2.2 has it for JWTs
        if not isinstance(answer.get("sub"), str) or not answer["sub"]:
            raise Refused("no subject or client (introspection)")
        return self._access(token, answer)

    async def _introspection(self, endpoint: str, token: str) -> dict[str, Any]:
        """RFC 7662: the token, with this server's client credentials (HTTP Basic)."""
        options = self.options
        client, secret = options.introspection_client_id, options.introspection_client_secret
        if client is None or secret is None:
            raise Refused("introspection is not configured")
        response = await self._http.post(
            endpoint,
            data={"token": token, "token_type_hint": "access_token"},
            auth=(client, secret.get_secret_value()),
        )
        if response.status_code != 200:
            raise Refused(f"introspection answered HTTP {response.status_code}")
        answer = response.json()
        if not isinstance(answer, dict):
            raise Refused("introspection answered something other than a JSON object")
        return answer

    async def _check_introspection_client(self) -> None:
        """Introspect a made-up token: an authorization server that accepts this server's
        client answers ``active: false``; one that does not answers 401."""
        endpoint = self.metadata.introspection_endpoint if self.metadata else None
        if endpoint is None:
            raise ConfigurationError(
                f"{INTROSPECTION} is set but the authorization server {self.options.issuer!r} "
                "publishes no introspection_endpoint: unset it, or use JWT access tokens."
            )
        try:
            await self._introspection(endpoint, "ld-insights-mcp-start-up-check")
        except (Refused, httpx.HTTPError, ValueError) as exc:
            raise ConfigurationError(
                f"introspection at {endpoint} does not accept this server's client "
                f"({INTROSPECTION} and its _SECRET): {exc}"
            ) from None

    def _access(self, token: str, claims: dict[str, Any]) -> AccessToken:
        """What the SDK keeps of an accepted token (``iss`` in the claims, for the principal)."""
        scope = claims.get("scope", claims.get("scp", ""))
        scopes = scope.split() if isinstance(scope, str) else [str(s) for s in scope or []]
        client = claims.get("client_id") or claims.get("azp") or claims.get("cid") or ""
        expiry = claims.get("exp")
        kept = {"iss": self.options.issuer}
        kept |= {c: claims[c] for c in PERSON_CLAIMS if isinstance(claims.get(c), str)}
        return AccessToken(
            token="sha256:" + hashlib.sha256(token.encode()).hexdigest()[:32],  # not the token
            client_id=str(client),
            scopes=scopes,
            # the SDK refuses a token past expires_at with no leeway of its own
            expires_at=int(expiry) + LEEWAY if isinstance(expiry, int | float) else None,
            resource=self.options.resource,
            subject=str(claims["sub"]),
            claims=kept,
        )


def _reason(exc: jwt.InvalidTokenError) -> str:
    reasons: dict[type[Exception], str] = {
        jwt.ExpiredSignatureError: "expired",
        jwt.ImmatureSignatureError: "not yet valid (nbf or iat in the future)",
        jwt.InvalidAudienceError: "not issued for this resource (aud)",
        jwt.InvalidIssuerError: "issued by another issuer (iss)",
        jwt.InvalidSignatureError: "bad signature",
        jwt.MissingRequiredClaimError: f"missing claim: {getattr(exc, 'claim', '?')}",
    }
    found = (reason for kind, reason in reasons.items() if isinstance(exc, kind))
    return next(found, f"invalid ({type(exc).__name__})")
