"""Argument types shared by the tools, validated strictly (no coercion) before any request
is sent; free text refuses control and invisible formatting characters."""

from __future__ import annotations

import re
import unicodedata
from typing import Annotated

from pydantic import AfterValidator, Field, Strict, StringConstraints

from ld_insights_mcp.launchdarkly.vocabulary import KEY_PATTERN

KEY_RULE = "letters, digits, '.', '_' or '-', starting with a letter or digit, at most 256 chars"

TEXT_PATTERN = (
    r"^[^\x00-\x1f\x7f-\x9f\u00ad\u061c\u180e\u200b-\u200f\u2028-\u202e\u2060-\u206f"
    r"\ufeff\ufff9-\ufffb]*$"
)
"""Published in the schema so clients can check early; :func:`visible_text` is the rule
enforced (with a message naming the character)."""

TEXT_RULE = (
    "visible text only: no control or invisible formatting characters (Unicode Cc, Cf, Zl, "
    "Zp, e.g. U+0085, U+200B, U+2028, U+202E)"
)

_REFUSED_CATEGORIES = frozenset(("Cc", "Cf", "Zl", "Zp", "Cs"))
"""Control, format, line/paragraph separators, and lone surrogates (not encodable)."""
_CATEGORY_NAMES = {
    "Cc": "a control character",
    "Cf": "a format character",
    "Zl": "a line separator",
    "Zp": "a paragraph separator",
    "Cs": "a lone surrogate",
}
_BLANK_LETTERS = frozenset("\u115f\u1160\u3164\uffa0\u2800")
"""Letters and symbols that render as nothing (Hangul fillers, the blank Braille pattern)."""


def visible_text(value: str) -> str:
    """Refuse control/format characters and text with nothing visible; strip outer spaces."""
    for char in value:
        category = unicodedata.category(char)
        if category in _REFUSED_CATEGORIES:
            name = unicodedata.name(char, "") or _CATEGORY_NAMES[category]
            raise ValueError(
                f"contains U+{ord(char):04X} ({name}), a control or invisible formatting "
                "character; remove it and send plain visible text"
            )
    stripped = value.strip()
    if not any(_visible(char) for char in stripped):
        raise ValueError("has no visible character; send text a person can read")
    return stripped


def _visible(char: str) -> bool:
    return not (
        char.isspace() or unicodedata.category(char).startswith("M") or char in _BLANK_LETTERS
    )


_Key = Annotated[
    str, Strict(), StringConstraints(pattern=KEY_PATTERN, min_length=1, max_length=256)
]
_Text = Annotated[
    str, Strict(), StringConstraints(min_length=1, max_length=256), AfterValidator(visible_text)
]

InsightGroupKey = Annotated[
    _Key, Field(description=f"Insight group key ({KEY_RULE}). list_insight_groups shows the keys.")
]
ProjectKey = Annotated[
    _Key,
    Field(
        description=(
            f"LaunchDarkly project key ({KEY_RULE}). Omit to use the server's default project "
            "(LD_PROJECT). list_insight_groups shows the project keys in use."
        )
    ),
]
ApplicationKey = _Key
MetricGroupKey = Annotated[
    _Key, Field(description=f"Metric group key ({KEY_RULE}). list_metric_groups shows the keys.")
]
GroupName = Annotated[
    _Text, Field(description=f"Human-readable name, 1-256 characters; {TEXT_RULE}.")
]
SearchText = _Text
"""Free search text; each tool describes what it matches. Same rule as names."""

Offset = Annotated[
    int,
    Strict(),
    Field(ge=0, le=1_000_000, description="Items to skip; use next_offset from a previous page."),
]
Flag = Annotated[bool, Strict()]
"""A JSON boolean, true or false (not "yes", 1 or "true")."""

GroupsPerPage = Annotated[int, Strict(), Field(ge=1, le=20, description="Groups per page, 1-20.")]
MetricGroupsPerPage = Annotated[
    int, Strict(), Field(ge=1, le=50, description="Groups per page, 1-50.")
]

# --- optional scope arguments: the description at the top level of the property ------------
# (``ProjectKey | None`` would put it inside ``anyOf``, where many clients never look.)

OptionalProjectKey = Annotated[
    _Key | None, Field(description="Project key; omit for the default (LD_PROJECT).")
]
OptionalEnvironmentKey = Annotated[
    _Key | None,
    Field(description="Environment key, e.g. production; omit for the default (LD_ENVIRONMENT)."),
]
OptionalApplicationKeys = Annotated[
    Annotated[list[ApplicationKey], Strict(), Field(max_length=50)] | None,
    Field(description='Application keys (JSON array, at most 50), e.g. ["web"]; omit for all.'),
]

_UUID = re.compile(r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}")


def deployment_id(value: str) -> str:
    """Only the canonical UUID form, sent lowercase as LaunchDarkly writes it: braces, a
    ``urn:uuid:`` prefix or missing hyphens are refused, never sent."""
    if not _UUID.fullmatch(value):
        raise ValueError(
            "is not a deployment id: send the UUID (8-4-4-4-12 hex digits) after 'id' in a "
            "list_deployments line"
        )
    return value.lower()


DeploymentId = Annotated[
    str,
    Strict(),
    AfterValidator(deployment_id),
    Field(description="Deployment id: the UUID (8-4-4-4-12 hex digits) list_deployments shows."),
]

MAX_WINDOW_DAYS = 90
"""The longest window the evidence tools ask for (the history Engineering Insights keeps)."""

Days = Annotated[
    int | None, Strict(), Field(ge=1, le=MAX_WINDOW_DAYS, description="Last N days (default 30).")
]
IsoDate = Annotated[str, Strict(), StringConstraints(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]
FromDate = Annotated[IsoDate | None, Field(description="Start YYYY-MM-DD (UTC), instead of days.")]
ToDate = Annotated[IsoDate | None, Field(description="End YYYY-MM-DD, inclusive; default today.")]
ItemsPerPage = Annotated[int, Strict(), Field(ge=1, le=100, description="Items per page, 1-100.")]
CURSOR_ID = r"[A-Za-z0-9-]{1,100}"
"""The item ids a cursor can carry (LaunchDarkly's UUIDs)."""
Cursor = Annotated[
    str | None,
    Strict(),
    Field(
        pattern=rf"^{CURSOR_ID}~[0-9a-f]{{10}}$",
        description="next_cursor of the previous page (same other arguments).",
    ),
]
