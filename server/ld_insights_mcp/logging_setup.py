"""Logging to stderr only (stdout belongs to JSON-RPC on stdio), every line redacted of the
access token. One record starts one line: controls in its message are escaped and further
lines indented, so text a client sent can neither forge a line nor drive the terminal.
"""

from __future__ import annotations

import logging
import re
import sys

from ld_insights_mcp.launchdarkly.redaction import Redactor

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET = ("httpx", "httpcore", "sse_starlette", "mcp.server.sse")
"""Loggers kept at WARNING or above: below it they log raw headers or whole messages (such as
a confirmation's question, answer or request state)."""

_CONTROL = re.compile("[\x00-\x1f\x7f-\x9f\u200e\u200f\u2028\u2029\u202a-\u202e\u2066-\u2069]")
_CONTINUATION = "\n    | "
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def _escaped(match: re.Match[str]) -> str:
    char = match.group()
    code = ord(char)
    return _NAMED.get(char) or (f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")


def escape_controls(text: str) -> str:
    """``text`` on one line: every control or invisible layout character as an escape."""
    return _CONTROL.sub(_escaped, text)


class RedactingFormatter(logging.Formatter):
    """Output redacted of ``secret``; the message one escaped line, further lines indented."""

    def __init__(self, fmt: str, *, secret: str | None) -> None:
        super().__init__(fmt)
        self._redact = Redactor(secret)

    def formatMessage(self, record: logging.LogRecord) -> str:
        return escape_controls(super().formatMessage(record))

    def format(self, record: logging.LogRecord) -> str:
        head, *rest = self._redact(super().format(record)).split("\n")
        return _CONTINUATION.join([head, *(escape_controls(line) for line in rest)])


def configure_logging(level: str, *, secret: str | None = None) -> None:
    """Send logs to stderr at ``level``; the ``QUIET`` libraries stay at WARNING or above."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(FORMAT, secret=secret))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
