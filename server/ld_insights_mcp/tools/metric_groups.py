"""Metric group tools: list and get."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field

from ld_insights_mcp.state import app_state
from ld_insights_mcp.tools.params import (
    TEXT_RULE,
    Flag,
    MetricGroupKey,
    MetricGroupsPerPage,
    Offset,
    OptionalProjectKey,
    SearchText,
)
from ld_insights_mcp.tools.registry import Tool, resolve_project, tool_result
from ld_insights_mcp.tools.upstream import call_launchdarkly
from ld_insights_mcp.views.metric_groups import (
    MetricGroupDetail,
    MetricGroupPage,
    metric_group_detail,
    metric_group_page,
)
from ld_insights_mcp.views.paging import PageRequest

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.models import MetricGroupExpand

MetricGroupSort = Literal[
    "name", "-name", "createdAt", "-createdAt", "connectionCount", "-connectionCount"
]


async def list_metric_groups(
    ctx: Context[Any, Any],
    project_key: OptionalProjectKey = None,
    limit: MetricGroupsPerPage = 20,
    offset: Offset = 0,
    kind: Annotated[
        Literal["funnel", "standard"] | None, Field(description="Only this kind of group.")
    ] = None,
    query: Annotated[
        SearchText | None,
        Field(description=f"Fuzzy search across metric group key and name; {TEXT_RULE}."),
    ] = None,
    sort: Annotated[
        MetricGroupSort | None, Field(description="Sort field; prefix '-' for descending.")
    ] = None,
) -> Annotated[CallToolResult, MetricGroupPage]:
    """List a project's metric groups: named sets of experiment metrics, either funnels
    (ordered steps, e.g. visit -> add to cart -> checkout) or standard groups. Returns key,
    name, kind, metric count, tags and maintainer, the total and the next page's offset.
    To page on, make the call the text ends with ("More: call ..."): the same arguments at
    the next offset.

    Use this to find metric group keys for get_metric_group.
    """
    state = app_state(ctx)
    project = resolve_project(state.settings, project_key)
    filters = []
    if kind:
        filters.append(f"kind equals '{kind}'")
    if query:
        safe = query.replace("\\", " ").replace("'", " ")  # safe inside the filter's quotes
        filters.append(f"query equals '{safe}'")
    found = await call_launchdarkly(
        state,
        lambda client: client.list_metric_groups(
            project, limit=limit, offset=offset, filter=" and ".join(filters) or None, sort=sort
        ),
        not_found=f"project {project!r} was not found; check project_key",
    )
    request = PageRequest(
        "list_metric_groups",
        offset=offset,
        limit=limit,
        arguments={"project_key": project, "kind": kind, "query": query, "sort": sort},
    )
    page, text = metric_group_page(
        found,
        project_key=project,
        request=request,
        source=state.data_source,
        max_chars=state.settings.max_output_chars,
    )
    return tool_result(page, text)


async def get_metric_group(
    ctx: Context[Any, Any],
    key: MetricGroupKey,
    project_key: OptionalProjectKey = None,
    include_experiments: Annotated[
        Flag, Field(description="List the experiments that use this group, and their count.")
    ] = False,
) -> Annotated[CallToolResult, MetricGroupDetail]:
    """Get one metric group with its metrics in order (funnel steps numbered and named),
    kind, tags, maintainer and version; optionally the experiments that use it.

    list_metric_groups supplies the keys.
    """
    state = app_state(ctx)
    project = resolve_project(state.settings, project_key)
    expand: list[MetricGroupExpand] = (
        ["experiments", "experimentCount"] if include_experiments else []
    )
    found = await call_launchdarkly(
        state,
        lambda client: client.get_metric_group(project, key, expand=expand),
        not_found=(
            f"no metric group {key!r} in project {project!r}; call list_metric_groups "
            "to see the keys"
        ),
    )
    detail, text = metric_group_detail(found, project_key=project, source=state.data_source)
    return tool_result(detail, text)


TOOLS = (Tool(list_metric_groups, "List metric groups"), Tool(get_metric_group, "Get metric group"))
