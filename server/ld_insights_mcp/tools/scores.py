"""The get_insight_scores tool."""

from __future__ import annotations

from typing import Annotated, Any

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult

from ld_insights_mcp.launchdarkly.vocabulary import BANDS_TEXT
from ld_insights_mcp.state import app_state
from ld_insights_mcp.tools.params import (
    OptionalApplicationKeys,
    OptionalEnvironmentKey,
    OptionalProjectKey,
)
from ld_insights_mcp.tools.registry import SCOPE_NOT_FOUND, Tool, resolve_scope, tool_result
from ld_insights_mcp.tools.upstream import call_launchdarkly
from ld_insights_mcp.ui import DASHBOARD_META
from ld_insights_mcp.views.scores import ScoresResult, scores_result, scores_text


async def get_insight_scores(
    ctx: Context[Any, Any],
    project_key: OptionalProjectKey = None,
    environment_key: OptionalEnvironmentKey = None,
    application_keys: OptionalApplicationKeys = None,
) -> Annotated[CallToolResult, ScoresResult]:
    """Get a project environment's Engineering Insights scores: every category with its
    0-100 score, indicator ({bands},
    notCalculated = no data), change vs the last period and the last period's score, the
    periods as ISO dates, and the weakest and strongest categories.

    Use this first to judge a team's engineering health (release maturity = overall;
    velocity = deployment frequency + lead time; risk = failure rate + change impact size;
    efficiency = flag health + experimentation coverage). Narrow to applications with
    application_keys. Read insights://score-categories/{category} to explain a score.
    """
    state = app_state(ctx)
    project, environment = resolve_scope(state.settings, project_key, environment_key)
    apps = list(dict.fromkeys(application_keys or []))
    found = await call_launchdarkly(
        state,
        lambda client: client.get_insight_scores(project, environment, apps),
        not_found=SCOPE_NOT_FOUND,
    )
    result = scores_result(
        found,
        project_key=project,
        environment_key=environment,
        application_keys=apps,
        source=state.data_source,
    )
    return tool_result(result, scores_text(result))


get_insight_scores.__doc__ = (get_insight_scores.__doc__ or "").replace("{bands}", BANDS_TEXT)


TOOLS = (Tool(get_insight_scores, "Get insight scores", meta=DASHBOARD_META),)
