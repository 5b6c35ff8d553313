"""Checks shared by the write operations' request bodies."""

from __future__ import annotations

import re
from typing import Any

from ld_insights_mcp.launchdarkly.vocabulary import KEY_MAX_LENGTH, KEY_PATTERN

_KEY = re.compile(KEY_PATTERN)
KEY_RULE = (
    f"use letters, digits, '.', '_' or '-', starting with a letter or digit (max {KEY_MAX_LENGTH})"
)


def is_key(value: str) -> bool:
    """Whether ``value`` is a valid LaunchDarkly key."""
    return len(value) <= KEY_MAX_LENGTH and _KEY.fullmatch(value) is not None


def required_strings(body: dict[str, Any], names: tuple[str, ...]) -> list[tuple[str, str]]:
    """Problems with required non-empty string fields of a request body."""
    problems = []
    for name in names:
        value = body.get(name)
        if value is None:
            problems.append((name, "is required"))
        elif not isinstance(value, str):
            problems.append((name, "must be a string"))
        elif not value.strip():
            problems.append((name, "must not be empty"))
    return problems


def string_list_problem(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(v, str) for v in value):
        return "must be an array of strings"
    return None
