"""Resources that explain the scores, rendered from the knowledge file."""

from __future__ import annotations

from mcp.server import MCPServer
from mcp.server.mcpserver.exceptions import ResourceError

from ld_insights_mcp.knowledge import Knowledge, ScoreCategoryInfo, load_knowledge
from ld_insights_mcp.launchdarkly.vocabulary import BANDS_TEXT

CATALOG_URI = "insights://score-categories"
CATEGORY_URI = "insights://score-categories/{category}"
INDICATORS_URI = "insights://indicators"


def render_catalog(knowledge: Knowledge) -> str:
    lines = ["# Engineering Insights score categories", "", knowledge.scale, ""]
    for info in knowledge.categories:
        combines = f" Combines {', '.join(info.aggregates)}." if info.aggregates else ""
        part_of = f" Part of {info.parent}." if info.parent else ""
        optional = " Optional: not always returned." if info.optional else ""
        evidence = f" Evidence: {info.evidence_tools[0]}." if info.evidence_tools else ""
        lines.append(
            f"- **{info.key}** ({info.title}): {info.measures}{combines}{part_of}{optional}"
            f"{evidence}"
        )
    lines += ["", f"Details: {CATEGORY_URI}. Bands: {INDICATORS_URI}."]
    return "\n".join(lines)


def render_category(info: ScoreCategoryInfo, knowledge: Knowledge) -> str:
    def bullets(items: tuple[str, ...]) -> list[str]:
        return [f"- {item}" for item in items]

    lines = [
        f"# {info.title} (`{info.key}`)",
        "",
        f"**Measures**: {info.measures}",
        f"**Computed**: {info.computed_as}",
    ]
    if info.parent:
        lines.append(f"**Part of**: {info.parent}")
    if info.optional:
        lines.append("**Optional**: LaunchDarkly does not always return this category.")
    lines += ["", "**Moves it up**:", *bullets(info.moves_up)]
    lines += ["", "**Moves it down**:", *bullets(info.moves_down)]
    lines += ["", "**How to improve**:", *bullets(info.how_to_improve)]
    lines += ["", "**Evidence**:"]
    lines += bullets(info.evidence_tools) or [
        "- No evidence operation covers it; diagnose_data_coverage shows missing data."
    ]
    lines += ["", knowledge.scale]
    return "\n".join(lines)


def render_indicators(knowledge: Knowledge) -> str:
    lines = ["# Score indicators", "", knowledge.scale, ""]
    lines += [f"- **{b.key}** {b.min}-{b.max}: {b.meaning}" for b in knowledge.indicators]
    lines.append("")
    lines += [f"- **{s.key}**: {s.meaning} {s.what_to_do}" for s in knowledge.special_indicators]
    return "\n".join(lines)


def register_knowledge_resources(server: MCPServer) -> None:
    """Register the catalog, the per-category template and the indicator bands."""
    knowledge = load_knowledge()

    @server.resource(
        CATALOG_URI,
        name="score_categories",
        title="Score categories",
        description="Every Engineering Insights score category: what it measures, how the "
        "composites (overall, velocity, risk, efficiency) combine.",
        mime_type="text/markdown",
    )
    def catalog() -> str:
        return render_catalog(knowledge)

    @server.resource(
        CATEGORY_URI,
        name="score_category",
        title="One score category explained",
        description="How one category (e.g. leadTime) is computed, what moves it up or down, "
        "and how to improve it.",
        mime_type="text/markdown",
    )
    def category(category: str) -> str:
        try:
            return render_category(knowledge.category(category), knowledge)
        except KeyError as exc:
            raise ResourceError(str(exc.args[0])) from None

    @server.resource(
        INDICATORS_URI,
        name="indicators",
        title="Score indicators",
        description=f"The indicator bands ({BANDS_TEXT}) and what notCalculated and unknown mean.",
        mime_type="text/markdown",
    )
    def indicators() -> str:
        return render_indicators(knowledge)
