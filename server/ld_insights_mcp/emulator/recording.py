"""The request log: every request the emulator received, in order."""

from __future__ import annotations

from dataclasses import dataclass, fields

WRITE_METHODS = ("POST", "PATCH", "PUT", "DELETE")


@dataclass(repr=False)
class RecordedRequest:
    """One request as received. ``status`` is the status sent (None if the request was never
    answered: a reset, or a client that went away); ``disconnected`` is True when the client
    went away before the answer. Only those two change after the request is recorded.

    ``path`` and ``query`` are percent-decoded; ``raw_path`` is the path as sent (no query);
    ``headers`` has lower-case names; ``operation_id`` is None for an unknown route. The
    ``repr`` hides the Authorization header.
    """

    method: str
    path: str
    raw_path: str
    query: list[tuple[str, str]]
    headers: dict[str, str]
    body: bytes
    operation_id: str | None
    status: int | None = None
    disconnected: bool = False

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
