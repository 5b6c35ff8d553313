"""Logging to stderr only: stdout belongs to JSON-RPC on stdio.

Every line is passed through a redactor, so the access token (or a long prefix of it) never
reaches the log, whichever library wrote the line. The libraries that log whole messages at
DEBUG (the SSE layers: every chunk of a streamable-HTTP answer, every SSE message) stay at
WARNING, so no question, answer or request state of a confirmation is ever logged.
"""

from __future__ import annotations

import logging
import sys

from .launchdarkly.redaction import Redactor

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET = ("httpx", "httpcore", "sse_starlette", "mcp.server.sse")
"""Loggers kept at WARNING or above: below it they log raw headers or whole messages."""


class RedactingFormatter(logging.Formatter):
    """A formatter whose output, traceback included, has ``secret`` redacted."""

    def __init__(self, fmt: str, *, secret: str | None) -> None:
        super().__init__(fmt)
        self._redact = Redactor(secret)

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


def configure_logging(level: str, *, secret: str | None = None) -> None:
    """Send logs to stderr at ``level``; the ``QUIET`` libraries stay at WARNING or above."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(FORMAT, secret=secret))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in QUIET:
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
