"""The metric-group ``filter`` and ``sort`` parameters, parsed strictly.

Filter syntax, as the contract's description gives it: clauses ``<field> <operator> <value>``
joined with `` and ``. Values are quoted strings (``'x'`` or ``"x"``), ``true``/``false``, or
lists ``['a', 'b']``. Supported (field, operator): experimentStatus equals (not_started,
running, stopped, started), hasConnections equals (true/false), kind equals (funnel,
standard), maintainerIds anyOf [ids], maintainerTeamKey equals, query equals (a string or a
list of strings). Anything else is a 400 naming ``filter``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ld_insights_mcp.emulator.errors import invalid

FIELDS = {
    "experimentStatus": "equals",
    "hasConnections": "equals",
    "kind": "equals",
    "maintainerIds": "anyOf",
    "maintainerTeamKey": "equals",
    "query": "equals",
}
OPERATORS = ("equals", "contains", "anyOf")
EXPERIMENT_STATUSES = ("not_started", "running", "stopped", "started")
SORT_FIELDS = ("name", "createdAt", "connectionCount")

_WORD = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")
_SPACE = re.compile(r"\s+")
_AND = re.compile(r"\s+and\s+")


@dataclass(frozen=True, slots=True)
class Clause:
    field: str
    value: Any  # str, bool or list[str]


class _Scanner:
    def __init__(self, text: str) -> None:
        self.text, self.at = text, 0

    def fail(self, reason: str) -> Exception:
        return invalid("filter", f"{reason} at position {self.at} of {self.text!r}")

    def done(self) -> bool:
        return self.at >= len(self.text)

    def word(self, what: str) -> str:
        match = _WORD.match(self.text, self.at)
        if not match:
            raise self.fail(f"expected {what}")
        self.at = match.end()
        return match.group()

    def space(self, *, required: bool = True) -> None:
        match = _SPACE.match(self.text, self.at)
        if match:
            self.at = match.end()
        elif required:
            raise self.fail("expected a space")

    def take(self, token: str) -> bool:
        """Step over ``token`` if it comes next."""
        found = self.text.startswith(token, self.at)
        self.at += len(token) if found else 0
        return found

    def scalar(self) -> str | bool:
        quote = self.text[self.at : self.at + 1]
        if quote in ("'", '"'):
            end = self.text.find(quote, self.at + 1)
            if end < 0:
                raise self.fail("unterminated string")
            value = self.text[self.at + 1 : end]
            self.at = end + 1
            return value
        for literal, boolean in (("true", True), ("false", False)):
            if self.text.startswith(literal, self.at):
                after = self.at + len(literal)
                if after == len(self.text) or not self.text[after].isalnum():
                    self.at = after
                    return boolean
        raise self.fail("expected a quoted string, true, false or a [list]")

    def value(self) -> Any:
        if not self.take("["):
            return self.scalar()
        items: list[Any] = []
        self.space(required=False)
        if self.take("]"):
            return items
        while True:
            self.space(required=False)
            items.append(self.scalar())
            self.space(required=False)
            if self.take("]"):
                return items
            if not self.take(","):
                raise self.fail("expected ',' or ']' in list")


def _checked(field: str, operator: str, value: Any) -> Any:
    expected = FIELDS[field]
    if operator != expected:
        raise invalid("filter", f"field {field!r} supports only the {expected!r} operator")
    strings = isinstance(value, list) and all(isinstance(v, str) for v in value)
    if field == "hasConnections":
        if not isinstance(value, bool):
            raise invalid("filter", "hasConnections takes true or false")
    elif field == "maintainerIds":
        if not strings or not value:
            raise invalid("filter", "maintainerIds takes a non-empty list of member IDs")
    elif field == "query":
        if not isinstance(value, str) and not strings:
            raise invalid("filter", "query takes a string or a list of strings")
    elif not isinstance(value, str):
        raise invalid("filter", f"{field} takes a quoted string")
    elif field == "kind" and value not in ("funnel", "standard"):
        raise invalid("filter", "kind is 'funnel' or 'standard'")
    elif field == "experimentStatus" and value not in EXPERIMENT_STATUSES:
        raise invalid("filter", f"experimentStatus is one of {', '.join(EXPERIMENT_STATUSES)}")
    return value


def parse_filter(raw: str | None) -> list[Clause]:
    """Clauses of a metric-group filter; an empty or absent filter has none."""
    if raw is None or not raw.strip():
        return []
    scanner = _Scanner(raw.strip())
    clauses = []
    while True:
        field = scanner.word("a field name")
        if field not in FIELDS:
            raise invalid(
                "filter", f"unsupported field {field!r}; supported: {', '.join(sorted(FIELDS))}"
            )
        scanner.space()
        operator = scanner.word("an operator")
        if operator not in OPERATORS:
            raise invalid(
                "filter", f"unknown operator {operator!r}; operators: {', '.join(OPERATORS)}"
            )
        scanner.space()
        clauses.append(Clause(field, _checked(field, operator, scanner.value())))
        if scanner.done():
            return clauses
        joiner = _AND.match(scanner.text, scanner.at)
        if not joiner:
            raise scanner.fail("expected ' and ' between clauses")
        scanner.at = joiner.end()


def parse_sort(raw: str | None) -> list[tuple[str, bool]]:
    """``[(field, descending)]`` from a comma-separated sort list."""
    if raw is None or raw == "":
        return []
    fields = []
    for part in raw.split(","):
        name = part.strip()
        descending = name.startswith("-")
        name = name.removeprefix("-")
        if name not in SORT_FIELDS:
            raise invalid("sort", f"unknown sort field {part!r}; allowed: {', '.join(SORT_FIELDS)}")
        fields.append((name, descending))
    return fields
