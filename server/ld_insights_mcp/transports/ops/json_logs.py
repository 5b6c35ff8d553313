"""``--log-format json``: one JSON object per line on stderr, with the request id and, for a
signed-in call (docs/auth.md), the person: ``"person": {"subject", "email"?, "name"?}``.

Every line goes through the same redactor as the text format, so the access token never
reaches the log. The person goes into log lines only, never into a metric label.
"""

from __future__ import annotations

import json
import logging
import sys
from datetime import UTC, datetime

from ld_insights_mcp.auth.person import person_fields
from ld_insights_mcp.launchdarkly.redaction import Redactor
from ld_insights_mcp.transports.ops.endpoints import current_request_id

_EXTRA = ("http_status", "http_path")


class JsonFormatter(logging.Formatter):
    """``{"time", "level", "logger", "message", "request_id"?, "person"?, "exception"?, ...}``."""

    def __init__(self, *, secret: str | None) -> None:
        super().__init__()
        self._redact = Redactor(secret)

    def format(self, record: logging.LogRecord) -> str:
        line: dict[str, object] = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self._redact(record.getMessage()),
        }
        request_id = current_request_id()
        if request_id is not None:
            line["request_id"] = request_id
        person = person_fields()
        if person:
            line["person"] = person
        for name in _EXTRA:
            if hasattr(record, name):
                line[name] = getattr(record, name)
        if record.exc_info:
            line["exception"] = self._redact(self.formatException(record.exc_info))
        return json.dumps(line, default=str)


def configure_json_logging(level: str, *, secret: str | None = None) -> None:
    """Like ``logging_setup.configure_logging``, one JSON object per line."""
    from ld_insights_mcp.logging_setup import configure_logging

    configure_logging(level, secret=secret)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(JsonFormatter(secret=secret))
    logging.getLogger().handlers[:] = [handler]
