"""Resource templates backed by live data: one insight group, one metric group."""

from __future__ import annotations

from typing import Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ResourceError, ToolError

from ld_insights_mcp.state import app_state
from ld_insights_mcp.tools.upstream import call_launchdarkly
from ld_insights_mcp.views.groups import group_result
from ld_insights_mcp.views.metric_groups import metric_group_detail

GROUP_URI = "insights://groups/{group_key}"
METRIC_GROUP_URI = "insights://projects/{project_key}/metric-groups/{metric_group_key}"


def register_live_resources(server: MCPServer) -> None:
    """Register the live templates on ``server``."""

    @server.resource(
        GROUP_URI,
        name="insight_group",
        title="Insight group with scores",
        description="One insight group with its current scores, as text.",
        mime_type="text/plain",
    )
    async def insight_group(group_key: str, ctx: Context[Any, Any]) -> str:
        state = app_state(ctx)
        try:
            group = await call_launchdarkly(
                state,
                lambda client: client.get_insight_group(
                    group_key, expand=["scores", "environment"]
                ),
                not_found="list_insight_groups shows the keys",
            )
        except ToolError as exc:
            raise ResourceError(str(exc)) from None
        return group_result(group, source=state.data_source)[1]

    @server.resource(
        METRIC_GROUP_URI,
        name="metric_group",
        title="Metric group",
        description="One metric group with its metrics in order and its experiments, as text.",
        mime_type="text/plain",
    )
    async def metric_group(project_key: str, metric_group_key: str, ctx: Context[Any, Any]) -> str:
        state = app_state(ctx)
        try:
            group = await call_launchdarkly(
                state,
                lambda client: client.get_metric_group(
                    project_key, metric_group_key, expand=["experiments", "experimentCount"]
                ),
                not_found="list_metric_groups shows the keys",
            )
        except ToolError as exc:
            raise ResourceError(str(exc)) from None
        return metric_group_detail(group, project_key=project_key, source=state.data_source)[1]
