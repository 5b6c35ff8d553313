"""The issuer's signing keys (its JWKS), cached. Only RS256, ES256 and EdDSA (Ed25519) signing
keys are kept, so no token can be checked with an HMAC or with no signature."""

from __future__ import annotations

import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import anyio
import jwt

logger = logging.getLogger(__name__)

ALGORITHMS = ("RS256", "ES256", "EdDSA")
"""The signature algorithms accepted; never ``none``, never an HMAC."""

Fetch = Callable[[], Awaitable[Mapping[str, Any]]]


class SigningKeys:
    """The issuer's usable public keys, from ``fetch`` (which returns the JWKS): refetched for
    an unknown ``kid`` at most once per ``min_refresh_interval`` (made-up kids cannot make this
    server hammer the issuer), and once ``max_age`` old (a withdrawn key stops working)."""

    def __init__(
        self,
        fetch: Fetch,
        *,
        min_refresh_interval: float = 30.0,
        max_age: float = 3600.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._fetch = fetch
        self.min_refresh_interval = min_refresh_interval
        self.max_age = max_age
        self._clock = clock
        self._keys: list[tuple[str | None, jwt.PyJWK]] = []
        self._fetched_at: float | None = None
        self._unknown_kid_at: float | None = None
        self._lock = anyio.Lock()
        self.fetches = 0

    async def load(self) -> None:
        """Fetch the keys now; ``ValueError`` when the issuer publishes no usable key."""
        async with self._lock:
            await self._refresh()
        if not self._keys:
            raise ValueError(f"no {', '.join(ALGORITHMS)} signing key in the key set")

    async def find(self, kid: str | None, algorithm: str) -> jwt.PyJWK | None:
        """The key ``kid`` names for ``algorithm`` (None: none fits); a known key with another
        algorithm is a refusal, not a reason to refetch."""
        if self._older_than(self._fetched_at, self.max_age):
            await self._refresh_once(unknown_kid=False)
        key = self._match(kid, algorithm)
        if key is None and self._may_refetch_for(kid):
            await self._refresh_once(unknown_kid=True)
            key = self._match(kid, algorithm)
        return key

    def _may_refetch_for(self, kid: str | None) -> bool:
        """``kid`` names no key held, and no refetch for such a kid within the interval."""
        known = kid is not None and any(k == kid for k, _ in self._keys)
        return not known and self._older_than(self._unknown_kid_at, self.min_refresh_interval)

    def _match(self, kid: str | None, algorithm: str) -> jwt.PyJWK | None:
        """By ``kid``; a token without one matches only a key set with one key for its
        algorithm."""
        fitting = [(k, key) for k, key in self._keys if key.algorithm_name == algorithm]
        if kid is None:
            return fitting[0][1] if len(fitting) == 1 else None
        return next((key for k, key in fitting if k == kid), None)

    def _older_than(self, moment: float | None, interval: float) -> bool:
        return moment is None or self._clock() - moment >= interval

    async def _refresh_once(self, *, unknown_kid: bool) -> None:
        """Refresh unless another task did while this one waited (callers share one fetch); a
        failure keeps the keys held and tries a stale set again after ``min_refresh_interval``."""
        async with self._lock:
            if unknown_kid:
                if not self._older_than(self._unknown_kid_at, self.min_refresh_interval):
                    return
                self._unknown_kid_at = self._clock()
            elif not self._older_than(self._fetched_at, self.max_age):
                return
            try:
                await self._refresh()
            except Exception as exc:  # the issuer is down or answers nonsense: keep the keys
                logger.warning("could not refresh the sign-in keys: %s", type(exc).__name__)
                if not unknown_kid:
                    self._fetched_at = self._clock() - self.max_age + self.min_refresh_interval

    async def _refresh(self) -> None:
        self._fetched_at = self._clock()
        self.fetches += 1
        self._keys = usable_keys(await self._fetch())
        kids = ", ".join(str(kid) for kid, _ in self._keys)
        logger.info("sign-in keys loaded: %d usable (%s)", len(self._keys), kids)


def usable_keys(document: Mapping[str, Any]) -> list[tuple[str | None, jwt.PyJWK]]:
    """The JWKS's signing keys for the accepted algorithms, with their ``kid``."""
    found: list[tuple[str | None, jwt.PyJWK]] = []
    entries = document.get("keys")
    for entry in entries if isinstance(entries, list) else []:
        if not isinstance(entry, dict) or entry.get("use", "sig") != "sig":
            continue
        if entry.get("kty") == "OKP" and entry.get("crv") != "Ed25519":
            continue
        try:
            key = jwt.PyJWK(entry)
        except (jwt.PyJWKError, jwt.InvalidKeyError, ValueError, TypeError):
            continue
        if key.algorithm_name in ALGORITHMS:
            kid = entry.get("kid")
            found.append((str(kid) if kid is not None else None, key))
    return found
