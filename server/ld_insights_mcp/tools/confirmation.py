"""The user's confirmation of a change: asked through elicitation where the client can be
asked, else a one-time code shown to the user only. See docs/confirmations.md.

- ``can_ask(ctx)``: the client declared form elicitation, and either the protocol is
  2026-07-28 (the question rides the result; no back-channel needed) or the session can send
  a server-to-client request (the 2025 handshake over stdio or stateful HTTP with SSE).
- ``CodeBook``: codes are ``<expiry, hex seconds>-<HMAC>``, the HMAC binding the tool, the
  target, the new values and the values read before. Any replica holding the same key
  verifies them; this process also refuses a code already used.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import os
import re
import time
import weakref
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from mcp.server import MCPServer
from mcp.server.mcpserver import Context, RequestStateSecurity
from mcp_types.version import is_version_at_least
from pydantic import BaseModel, Field

from ..config import Settings

INPUT_REQUIRED_VERSION = "2026-07-28"
"""First protocol revision whose elicitation rides the tool result (Resolve/Elicit)."""


class Confirm(BaseModel):
    """The form the user answers."""

    confirm: bool = Field(
        title="Make this change",
        description="Tick to make this change now; leave unticked to make no change.",
    )


@dataclass(frozen=True, slots=True)
class NotAsked:
    """A resolver's answer when the user was not asked: a code was given, the client cannot
    be asked, or there is nothing to confirm (nothing to change, or nothing there)."""

    reason: Literal["code_given", "cannot_ask", "nothing_to_confirm"]


def can_ask(ctx: Context[Any, Any]) -> bool:
    """Whether a form elicitation can reach this client's user now (asking a client that did
    not declare the capability is a protocol error, so this is checked first)."""
    capabilities = ctx.client_capabilities
    elicitation = capabilities.elicitation if capabilities is not None else None
    if elicitation is None or (elicitation.form is None and elicitation.url is not None):
        return False
    version = ctx.protocol_version
    if version is not None and is_version_at_least(version, INPUT_REQUIRED_VERSION):
        return True
    return bool(ctx.session.can_send_request)


def request_state_security(settings: Settings) -> RequestStateSecurity | None:
    """Sealing for the 2026-07-28 request state: the configured keys (every replica shares
    them), or None for the SDK's process-local key."""
    keys = settings.state_keys()
    return RequestStateSecurity(keys=keys) if keys else None


# --- one-time codes -------------------------------------------------------------------------


def wall_clock() -> float:
    """Seconds since the epoch (a seam for tests of expiry)."""
    return time.time()


_CODE = re.compile(r"([0-9a-f]{8,12})-([A-Z2-7]{16})")
_CODE_INFO = b"ld-insights-mcp/confirmation-code/v1"


class SharedClaims(Protocol):
    """Claims of one-time codes shared by replicas (Redis); None: it could not say."""

    async def claim(self, code: str, expires_at: int) -> bool | None: ...


class CodeRefused(Exception):
    """A confirmation code that does not allow this change; the message says why."""


@dataclass(frozen=True, slots=True)
class Issued:
    code: str
    expires_at: int


@dataclass
class CodeBook:
    """Issues and redeems one-time confirmation codes bound to one exact change."""

    secret: bytes
    ttl: int
    used: dict[str, int] = field(default_factory=dict)
    claims: SharedClaims | None = field(default=None, repr=False, compare=False)
    """Where codes are also claimed, for every replica to see (``share_codes``)."""

    def issue(self, change: dict[str, Any]) -> Issued:
        expires = int(wall_clock()) + self.ttl
        return Issued(f"{expires:x}-{self._mac(change, expires)}", expires)

    def redeem(self, code: str, change: dict[str, Any]) -> None:
        """Accept ``code`` for ``change`` once, or raise ``CodeRefused`` saying why."""
        match = _CODE.fullmatch(code.strip())
        if match is None:
            raise CodeRefused("it is not a confirmation code this server issued")
        expires = int(match.group(1), 16)
        if not hmac.compare_digest(match.group(2), self._mac(change, expires)):
            raise CodeRefused(
                "it was issued for a different change (another tool, target or value), or "
                "the target has changed since the code was issued"
            )
        now = int(wall_clock())
        self.used = {c: e for c, e in self.used.items() if e > now}
        if match.group(0) in self.used:
            raise CodeRefused("it has already been used (each code allows one change)")
        if now >= expires:
            raise CodeRefused(f"it has expired (codes are valid for {self.ttl} s)")
        self.used[match.group(0)] = expires

    async def redeem_once(self, code: str, change: dict[str, Any]) -> None:
        """``redeem``, then claim the code where every replica sees it (when shared): a code
        another replica accepted is refused as already used."""
        self.redeem(code, change)
        claims = self.claims
        if claims is not None and await claims.claim(code.strip(), self._expiry(code)) is False:
            raise CodeRefused("it has already been used (each code allows one change)")

    @staticmethod
    def _expiry(code: str) -> int:
        match = _CODE.fullmatch(code.strip())
        return int(match.group(1), 16) if match else 0

    def _mac(self, change: dict[str, Any], expires: int) -> str:
        message = json.dumps({"change": change, "expires": expires}, sort_keys=True)
        digest = hmac.new(self.secret, message.encode(), hashlib.sha256).digest()
        return base64.b32encode(digest[:10]).decode()


_BOOKS: weakref.WeakKeyDictionary[MCPServer[Any], CodeBook] = weakref.WeakKeyDictionary()
_CLAIMS: weakref.WeakKeyDictionary[MCPServer[Any], SharedClaims] = weakref.WeakKeyDictionary()


def share_codes(server: MCPServer[Any], claims: SharedClaims) -> None:
    """Record used codes in ``claims`` too, so a code is used once across replicas."""
    _CLAIMS[server] = claims


def code_book(ctx: Context[Any, Any], settings: Settings) -> CodeBook:
    """This server's code book: keyed from the request-state keys when configured (so every
    replica accepts another's codes), else from a random key of this process."""
    server = ctx.mcp_server
    book = _BOOKS.get(server)
    if book is None:
        keys = settings.state_keys()
        root = keys[0].encode() if keys else os.urandom(32)
        secret = hmac.new(root, _CODE_INFO, hashlib.sha256).digest()
        book = CodeBook(secret=secret, ttl=settings.confirmation_ttl)
        _BOOKS[server] = book
        claims = _CLAIMS.get(server)
        if claims is not None:
            book.claims = claims
    return book
