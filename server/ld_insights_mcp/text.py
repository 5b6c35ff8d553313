"""Text from elsewhere shown as data: upstream strings and identity claims on one line,
without control, bidi or zero-width characters, capped; and counts in English."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Collection

QUOTED_MAX = 200
"""The most characters of one upstream value shown in model-visible text (``…`` included)."""

_SPACED = frozenset(("Cc", "Zl", "Zp"))
"""Controls and line/paragraph separators: a space."""
_DROPPED = frozenset(("Cf", "Cs", "Co", "Cn"))
"""Format (bidi, zero-width), surrogate, private-use and unassigned characters: removed."""
_JSON_STRING = json.JSONEncoder(ensure_ascii=False).encode
"""One encoder, made once (``json.dumps`` builds one per call)."""


def one_line(value: str, *, limit: int = QUOTED_MAX) -> str:
    """``value`` on one line, runs of spaces one, at most ``limit`` characters (``…`` marks a
    cut)."""
    if value.isprintable() and len(value) <= limit and "  " not in value:
        return value.strip(" ")
    head = value[: limit * 4]  # enough to fill ``limit`` unless most of it is dropped
    kept = (
        " " if category in _SPACED else char
        for char in head
        if (category := unicodedata.category(char)) not in _DROPPED
    )
    text = " ".join("".join(kept).split())
    if len(text) > limit or len(head) < len(value):
        text = text[: limit - 1].rstrip() + "…"
    return text


def quoted(value: str, *, limit: int = QUOTED_MAX, bare: Collection[str] = ()) -> str:
    """An upstream string as data in text a model reads: ``one_line``, in double quotes with
    JSON escapes (it cannot close its own quotes); a word of ``bare`` (our own vocabulary) is
    shown as it is."""
    if value in bare:
        return value
    return _JSON_STRING(one_line(value, limit=limit))


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 PR``, ``3 PRs``, ``0 files``; ``many`` for irregular plurals."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"
