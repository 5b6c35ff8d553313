"""Logging to stderr only: stdout belongs to JSON-RPC on stdio.

Every line is passed through a redactor, so the access token (or a long prefix of it) never
reaches the log, whichever library wrote the line.
"""

from __future__ import annotations

import logging
import sys

from .launchdarkly.redaction import Redactor

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"


class RedactingFormatter(logging.Formatter):
    """A formatter whose output, traceback included, has ``secret`` redacted."""

    def __init__(self, fmt: str, *, secret: str | None) -> None:
        super().__init__(fmt)
        self._redact = Redactor(secret)

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


def configure_logging(level: str, *, secret: str | None = None) -> None:
    """Send logs to stderr at ``level``; HTTP libraries stay at WARNING or above."""
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(RedactingFormatter(FORMAT, secret=secret))
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level)
    for noisy in ("httpx", "httpcore"):
        logging.getLogger(noisy).setLevel(max(logging.WARNING, root.level))
