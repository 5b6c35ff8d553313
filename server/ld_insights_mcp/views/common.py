"""Helpers shared by the views: the result model base, dates, signed numbers, the demo
label."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict

from ld_insights_mcp.launchdarkly.vocabulary import millis_to_datetime

DataSource = Literal["launchdarkly", "demo"]


def _without_titles(schema: dict[str, Any], model: type[Any]) -> None:
    """Titles repeat the property names: dropped to keep tools/list small for the model."""
    schema.pop("title", None)
    for prop in schema.get("properties", {}).values():
        prop.pop("title", None)


class ViewModel(BaseModel):
    """Base of tool results: their JSON schema carries no redundant titles."""

    model_config = ConfigDict(json_schema_extra=_without_titles)


ViewT = TypeVar("ViewT", bound=ViewModel)


def copied(view: type[ViewT], source: object, **given: Any) -> ViewT:
    """``view`` with the fields ``given``, every other field read from ``source``'s attribute
    of the same name (where a view shows a model or a result as it is)."""
    found = {name: getattr(source, name) for name in view.model_fields if name not in given}
    return view.model_validate({**found, **given})


DEMO_NOTE = "[demo data from the embedded emulator, not a real LaunchDarkly account]"


def iso_date(ms: int) -> str:
    return millis_to_datetime(ms).date().isoformat()


def iso_datetime(ms: int) -> str:
    return millis_to_datetime(ms).isoformat(timespec="seconds").replace("+00:00", "Z")


def short_time(iso: str | None) -> str:
    """``2025-11-20T12:19:00Z`` -> ``2025-11-20 12:19Z``."""
    return "?" if iso is None else f"{iso[:10]} {iso[11:16]}Z"


def literal_call(tool: str, values: Mapping[str, Any]) -> str:
    """A tool call as literal text with JSON values, ``None`` values left out."""
    shown = ", ".join(
        f"{name}={json.dumps(value, ensure_ascii=False)}"
        for name, value in values.items()
        if value is not None
    )
    return f"{tool}({shown})"


def signed(value: int | None) -> str:
    if value is None:
        return "n/a"
    return f"+{value}" if value > 0 else str(value)


def impossible_line(found: list[str], indent: str = "") -> list[str]:
    line = f"{indent}Impossible in LaunchDarkly's data (not used): {'; '.join(found)}."
    return [line] if found else []


def source_line(source: DataSource) -> list[str]:
    return [DEMO_NOTE] if source == "demo" else []
