"""The request log: every request the emulator received, in order."""

from __future__ import annotations

from dataclasses import dataclass, fields

from ld_insights_mcp.emulator.request import IncomingRequest

WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


@dataclass(repr=False)
class RecordedRequest(IncomingRequest):
    """One request as received (see ``IncomingRequest``), and what became of it: ``status`` is
    the status sent (None if the request was never answered: a reset, or a client that went
    away); ``disconnected`` is True when the client went away before the answer. Only those two
    change after the request is recorded. ``cut_short``: the client went away before its body was
    whole, so the request was never handled. The ``repr`` hides the Authorization header.
    """

    status: int | None = None
    disconnected: bool = False
    cut_short: bool = False

    @property
    def is_write(self) -> bool:
        return self.method in WRITE_METHODS

    def __repr__(self) -> str:
        shown = {k: ("<redacted>" if k == "authorization" else v) for k, v in self.headers.items()}
        parts = [
            f"{f.name}={shown!r}" if f.name == "headers" else f"{f.name}={getattr(self, f.name)!r}"
            for f in fields(self)
        ]
        return f"RecordedRequest({', '.join(parts)})"
