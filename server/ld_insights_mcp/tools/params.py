"""Argument types shared by the tools: validated before any request is sent."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field, StringConstraints

KEY_PATTERN = r"^[A-Za-z0-9][A-Za-z0-9._-]*$"
"""LaunchDarkly keys: letters, digits, '.', '_' and '-', starting with a letter or digit."""

KEY_RULE = "letters, digits, '.', '_' or '-', starting with a letter or digit, at most 256 chars"

_Key = Annotated[str, StringConstraints(pattern=KEY_PATTERN, min_length=1, max_length=256)]

InsightGroupKey = Annotated[
    _Key,
    Field(description=f"Insight group key ({KEY_RULE}). list_insight_groups shows the keys."),
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
EnvironmentKey = Annotated[
    _Key,
    Field(
        description=(
            f"Environment key within the project, e.g. 'production' ({KEY_RULE}). Omit to use "
            "the server's default (LD_ENVIRONMENT)."
        )
    ),
]
ApplicationKey = _Key
ApplicationKeys = Annotated[
    list[ApplicationKey],
    Field(
        max_length=50,
        description=(
            "Application keys to narrow the data to (at most 50); empty means all applications."
        ),
    ),
]
MetricGroupKey = Annotated[
    _Key,
    Field(description=f"Metric group key ({KEY_RULE}). list_metric_groups shows the keys."),
]
GroupName = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]*$"
    ),
    Field(description="Human-readable name, 1-256 characters, no control characters."),
]
SearchText = Annotated[
    str,
    StringConstraints(
        strip_whitespace=True, min_length=1, max_length=256, pattern=r"^[^\x00-\x1f\x7f]*$"
    ),
]
Offset = Annotated[
    int,
    Field(ge=0, le=1_000_000, description="Items to skip; use next_offset from a previous page."),
]
