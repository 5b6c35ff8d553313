"""Helpers shared by the views: upstream text shown as data, counts, dates, signed numbers,
the demo label."""

from __future__ import annotations

import json
import unicodedata
from collections.abc import Collection
from datetime import datetime
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict

from ld_insights_mcp.launchdarkly.models import millis_to_datetime

DataSource = Literal["launchdarkly", "demo"]


def _without_titles(schema: dict[str, Any], model: type[Any]) -> None:
    """Titles repeat the property names: dropped to keep tools/list small for the model."""
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)


class ViewModel(BaseModel):
    """Base of tool results: their JSON schema carries no redundant titles."""

    model_config = ConfigDict(json_schema_extra=_without_titles)


QUOTED_MAX = 200
"""The most characters of one upstream value shown in model-visible text (``…`` included)."""

_SPACED = frozenset(("Cc", "Zl", "Zp"))
"""Controls (C0, C1, DEL: CR, LF, tab, ESC, NEL) and line/paragraph separators: a space."""
_DROPPED = frozenset(("Cf", "Cs", "Co", "Cn"))
"""Format characters (bidi controls and isolates, zero-width characters, BOM, soft hyphen),
lone surrogates, private-use and unassigned code points: removed."""
_JSON_STRING = json.JSONEncoder(ensure_ascii=False).encode
"""A string as a JSON literal (one encoder, made once: ``json.dumps`` builds one per call)."""


def quoted(value: str, *, limit: int = QUOTED_MAX, bare: Collection[str] = ()) -> str:
    """An upstream string as data in text a model reads: on one line, without control, bidi
    or zero-width characters, spaces collapsed, at most ``limit`` characters (``…`` marks a
    cut), in double quotes with JSON escapes (so it cannot close its own quotes).

    For every string LaunchDarkly sent (titles, names, keys, versions, messages); the
    structured content keeps the original. A value equal to a word of ``bare`` (our own
    vocabulary, e.g. the indicators) is that word, shown as it is.
    """
    if value in bare:
        return value
    if value.isprintable() and len(value) <= limit and "  " not in value:
        text = value.strip(" ")
    else:
        head = value[: limit * 4]  # enough to fill ``limit`` unless most of it is dropped
        kept = (
            " " if category in _SPACED else char
            for char in head
            if (category := unicodedata.category(char)) not in _DROPPED
        )
        text = " ".join("".join(kept).split())
        if len(text) > limit or len(head) < len(value):
            text = text[: limit - 1].rstrip() + "…"
    return _JSON_STRING(text)


def plural(count: int, noun: str, many: str | None = None) -> str:
    """``1 PR``, ``3 PRs``, ``0 files``; ``many`` for irregular plurals."""
    return f"{count} {noun if count == 1 else many or noun + 's'}"


DEMO_NOTE = "[demo data from the embedded emulator, not a real LaunchDarkly account]"


def iso_date(ms: int) -> str:
    return millis_to_datetime(ms).date().isoformat()


def iso_datetime(ms: int) -> str:
    return _iso(millis_to_datetime(ms))


def _iso(moment: datetime) -> str:
    return moment.isoformat(timespec="seconds").replace("+00:00", "Z")


def signed(value: int | None) -> str:
    if value is None:
        return "n/a"
    return f"+{value}" if value > 0 else str(value)


def source_line(source: DataSource) -> list[str]:
    return [DEMO_NOTE] if source == "demo" else []
