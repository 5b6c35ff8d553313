"""Score explanations (resources) and prompt templates through a real MCP client."""

from __future__ import annotations

import itertools
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from mcp import Client
from mcp.shared.exceptions import MCPError
from mcp.types import TextContent, TextResourceContents

import ld_insights_mcp
from ld_insights_mcp.knowledge import CATEGORY_KEYS, load_knowledge
from ld_insights_mcp.launchdarkly.models import SCORE_CATEGORIES
from ld_insights_mcp.launchdarkly.vocabulary import BANDS, BANDS_TEXT, CALCULATED_INDICATORS
from ld_insights_mcp.surface.prompts import load_prompt_templates, parse_template

pytestmark = pytest.mark.anyio


def _text(read: Any) -> str:
    return "\n".join(c.text for c in read.contents if isinstance(c, TextResourceContents))


def test_knowledge_covers_exactly_the_api_categories_and_contiguous_bands() -> None:
    knowledge = load_knowledge()
    assert set(CATEGORY_KEYS) == set(SCORE_CATEGORIES)
    bands = sorted(knowledge.indicators, key=lambda b: b.min)
    assert bands[0].min == 0
    assert bands[-1].max == 100
    for lower, upper in itertools.pairwise(bands):
        assert upper.min == lower.max + 1
    for info in knowledge.categories:
        assert set(info.aggregates) <= set(CATEGORY_KEYS)
        assert info.how_to_improve
    assert {s.key for s in knowledge.special_indicators} == {"notCalculated", "unknown"}
    assert knowledge.indicator_for(89) == "good"


async def test_catalog_and_indicator_resources_explain_every_category(
    server_factory: Callable[..., Any], client_mode: str
) -> None:
    async with Client(server_factory(), mode=client_mode) as client:
        uris = {str(r.uri) for r in (await client.list_resources()).resources}
        catalog = _text(await client.read_resource("insights://score-categories"))
        indicators = _text(await client.read_resource("insights://indicators"))
    assert {"insights://score-categories", "insights://indicators"} <= uris
    for key in CATEGORY_KEYS:
        assert f"**{key}**" in catalog
    assert "90-100" in indicators
    assert "notCalculated" in indicators


@pytest.mark.parametrize("category", ["leadTime", "overall", "impactSize", "creationRatio"])
async def test_category_template_explains_how_to_improve(
    server_factory: Callable[..., Any], category: str
) -> None:
    async with Client(server_factory()) as client:
        text = _text(await client.read_resource(f"insights://score-categories/{category}"))
    info = load_knowledge().category(category)
    assert info.title in text
    assert info.how_to_improve[0] in text


async def test_unknown_category_names_the_valid_keys(server_factory: Callable[..., Any]) -> None:
    async with Client(server_factory()) as client:
        with pytest.raises(MCPError, match="leadTime"):
            await client.read_resource("insights://score-categories/speed")


async def test_prompts_declare_their_arguments(
    server_factory: Callable[..., Any], client_mode: str
) -> None:
    async with Client(server_factory(), mode=client_mode) as client:
        prompts = {p.name: p for p in (await client.list_prompts()).prompts}
    assert set(prompts) == {
        "summarize_engineering_health",
        "compare_insight_groups",
        "investigate_score",
        "weekly_engineering_report",
    }
    summarize = {
        a.name: a.required for a in prompts["summarize_engineering_health"].arguments or []
    }
    assert summarize == {"project_key": True, "environment_key": True, "application_keys": False}


async def test_summarize_prompt_renders_arguments_and_names_the_tools(
    server_factory: Callable[..., Any], client_mode: str
) -> None:
    async with Client(server_factory(), mode=client_mode) as client:
        result = await client.get_prompt(
            "summarize_engineering_health",
            {"project_key": "checkout-web", "environment_key": "production"},
        )
    message = result.messages[0].content
    assert isinstance(message, TextContent)
    assert "`checkout-web`" in message.text
    assert "all applications" in message.text
    assert "get_insight_scores" in message.text
    assert "insights://score-categories/{category}" in message.text
    assert "$" not in message.text


async def test_user_text_with_braces_and_dollars_cannot_break_rendering(
    server_factory: Callable[..., Any],
) -> None:
    async with Client(server_factory()) as client:
        result = await client.get_prompt(
            "compare_insight_groups", {"project_key": "{weird} $project_key ${x}"}
        )
    message = result.messages[0].content
    assert isinstance(message, TextContent)
    assert "{weird} $project_key ${x}" in message.text


async def test_investigate_prompt_refuses_an_unknown_category(
    server_factory: Callable[..., Any],
) -> None:
    async with Client(server_factory()) as client:
        with pytest.raises(MCPError, match="valid: overall"):
            await client.get_prompt(
                "investigate_score",
                {"category": "speed", "project_key": "p", "environment_key": "e"},
            )


async def test_missing_required_prompt_argument_is_an_error(
    server_factory: Callable[..., Any],
) -> None:
    async with Client(server_factory()) as client:
        with pytest.raises(MCPError):
            await client.get_prompt("investigate_score", {"category": "leadTime"})


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("no front matter", "must start"),
        ('+++\nname = "x"\n+++\nbody', "title"),
        ('+++\nname = "x"\ntitle = "X"\ndescription = "d"\n+++\nuses $ghost', "not declared"),
        (
            '+++\nname = "x"\ntitle = "X"\ndescription = "d"\n[[arguments]]\nname = "a"\n+++\nbody',
            "never used",
        ),
        ('+++\nname = = "x"\n+++\nbody', "malformed"),
    ],
)
def test_malformed_template_files_are_refused_naming_the_file(text: str, problem: str) -> None:
    with pytest.raises(ValueError, match=problem) as caught:
        parse_template(text, source="broken.md")
    assert "broken.md" in str(caught.value)


def test_loader_reads_a_directory_of_templates(tmp_path: Path) -> None:
    (tmp_path / "one.md").write_text(
        '+++\nname = "one"\ntitle = "One"\ndescription = "d"\n'
        '[[arguments]]\nname = "thing"\nrequired = true\n+++\nAbout $thing.\n'
    )
    (tmp_path / "notes.txt").write_text("ignored")
    (template,) = load_prompt_templates(tmp_path)
    assert template.render({"thing": "flags"}) == "About flags.\n"


# --- the vocabulary is written once (issue 8, defect 7) ---------------------------------------

PACKAGE = Path(ld_insights_mcp.__file__).parent
VOCABULARY = PACKAGE / "launchdarkly" / "vocabulary.py"


def _restatements(root: Path) -> list[str]:
    """Places under ``root`` (other than the vocabulary module) that spell out the key
    pattern, a band's range or the list of indicators themselves."""
    spellings = [re.compile(re.escape("A-Za-z0-9][A-Za-z0-9._-]"))]
    spellings.append(re.compile(r"excellent\W+good\W+fair\W+needsAttention"))
    spellings += [
        re.compile(rf"\b{band.low}\b[^\n\w]{{1,20}}(?:\w+[^\n\w]{{1,5}})?\b{band.high}\b")
        for band in BANDS
    ]
    found = []
    for path in sorted(root.rglob("*")):
        if path.suffix not in (".py", ".json") or path.name == VOCABULARY.name:
            continue
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if any(spelling.search(line) for spelling in spellings):
                found.append(f"{path.relative_to(root)}:{number}: {line.strip()}")
    return found


def test_the_key_pattern_and_the_bands_are_written_in_one_place() -> None:
    assert _restatements(PACKAGE) == []


async def test_descriptions_and_resources_are_built_from_the_vocabulary(
    server_factory: Callable[..., Any],
) -> None:
    async with Client(server_factory()) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        resources = {str(r.uri): r for r in (await client.list_resources()).resources}
        indicators = _text(await client.read_resource("insights://indicators"))
    assert BANDS_TEXT in (tools["get_insight_scores"].description or "")
    assert BANDS_TEXT in (resources["insights://indicators"].description or "")
    for band in BANDS:
        assert f"**{band.indicator}** {band.low}-{band.high}:" in indicators
    knowledge = load_knowledge()
    assert [(b.key, b.min, b.max) for b in knowledge.indicators] == [tuple(b) for b in BANDS]
    assert [knowledge.indicator_for(b.low) for b in BANDS] == list(CALCULATED_INDICATORS)
