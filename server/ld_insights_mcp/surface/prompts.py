"""Prompt templates: Markdown files in ``prompts/`` with TOML front matter, loaded at start.

A file looks like::

    +++
    name = "investigate_score"
    title = "Investigate a score"
    description = "..."
    [[arguments]]
    name = "category"
    description = "..."
    required = true
    +++
    Body with $category placeholders (string.Template syntax).
"""

from __future__ import annotations

import string
import tomllib
from collections.abc import Callable
from dataclasses import dataclass
from importlib.resources import files
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver.prompts.base import Prompt, PromptArgument
from mcp.shared.exceptions import MCPError
from mcp.types import INVALID_PARAMS

from ld_insights_mcp.knowledge import CATEGORY_KEYS

FENCE = "+++"
ABSENT = {
    "application_keys": "all applications",
    "project_key": "every project",
    "environment_key": "every environment",
}
"""How an optional argument reads when the caller leaves it out."""


@dataclass(frozen=True, slots=True)
class TemplateArgument:
    name: str
    description: str
    required: bool


@dataclass(frozen=True, slots=True)
class PromptTemplate:
    name: str
    title: str
    description: str
    arguments: tuple[TemplateArgument, ...]
    body: str

    def render(self, values: dict[str, str]) -> str:
        filled = {}
        for argument in self.arguments:
            value = (values.get(argument.name) or "").strip()
            if not value and argument.required:
                raise MCPError(INVALID_PARAMS, f"prompt {self.name}: {argument.name} is required")
            if argument.name == "category" and value and value not in CATEGORY_KEYS:
                raise MCPError(
                    INVALID_PARAMS,
                    f"prompt {self.name}: unknown category {value!r}; valid: "
                    + ", ".join(CATEGORY_KEYS),
                )
            filled[argument.name] = value or ABSENT.get(argument.name, "not given")
        return string.Template(self.body).safe_substitute(filled)


def default_directory() -> Traversable:
    """``prompts/`` inside the installed package, else the source tree's top-level folder."""
    packaged = files("ld_insights_mcp").joinpath("prompts")
    if packaged.is_dir():
        return packaged
    return Path(__file__).resolve().parents[3] / "prompts"


def load_prompt_templates(directory: Traversable | Path | None = None) -> list[PromptTemplate]:
    folder = directory if directory is not None else default_directory()
    templates = [
        parse_template(entry.read_text(encoding="utf-8"), source=entry.name)
        for entry in sorted(folder.iterdir(), key=lambda e: e.name)
        if entry.name.endswith(".md")
    ]
    if not templates:
        raise ValueError(f"no prompt templates (*.md) found in {folder}")
    return templates


def parse_template(text: str, *, source: str) -> PromptTemplate:
    """Parse one file; a ValueError names the file and the problem."""
    if not text.startswith(FENCE):
        raise ValueError(f"{source}: must start with a '+++' TOML front matter block")
    try:
        header, body = text[len(FENCE) :].split(f"\n{FENCE}", 1)
        meta = tomllib.loads(header)
    except ValueError as exc:
        raise ValueError(f"{source}: malformed front matter: {exc}") from None
    for field in ("name", "title", "description"):
        if not isinstance(meta.get(field), str) or not meta[field].strip():
            raise ValueError(f"{source}: front matter needs a non-empty {field!r}")
    arguments = tuple(
        TemplateArgument(
            name=str(a["name"]),
            description=str(a.get("description", "")),
            required=bool(a.get("required", False)),
        )
        for a in meta.get("arguments", [])
    )
    declared = {a.name for a in arguments}
    used = {
        m.group("named") or m.group("braced")
        for m in string.Template.pattern.finditer(body)
        if m.group("named") or m.group("braced")
    }
    if used - declared:
        raise ValueError(
            f"{source}: placeholders not declared as arguments: {sorted(used - declared)}"
        )
    if declared - used:
        raise ValueError(f"{source}: arguments never used in the body: {sorted(declared - used)}")
    return PromptTemplate(
        name=meta["name"],
        title=meta["title"],
        description=meta["description"],
        arguments=arguments,
        body=body.strip() + "\n",
    )


def _renderer(template: PromptTemplate) -> Callable[..., str]:
    def render(**values: Any) -> str:
        return template.render({k: str(v) for k, v in values.items() if v is not None})

    return render


def register_prompts(server: MCPServer, templates: list[PromptTemplate]) -> None:
    for template in templates:
        server.add_prompt(
            Prompt(
                name=template.name,
                title=template.title,
                description=template.description,
                arguments=[
                    PromptArgument(name=a.name, description=a.description, required=a.required)
                    for a in template.arguments
                ],
                fn=_renderer(template),
            )
        )
