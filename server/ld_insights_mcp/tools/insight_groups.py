"""Insight group tools: list, get, create."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field, Strict

from ld_insights_mcp.launchdarkly import ConflictError
from ld_insights_mcp.state import app_state
from ld_insights_mcp.text import quoted
from ld_insights_mcp.tools.params import (
    TEXT_RULE,
    ApplicationKey,
    Flag,
    GroupName,
    GroupsPerPage,
    InsightGroupKey,
    Offset,
    OptionalEnvironmentKey,
    OptionalProjectKey,
    SearchText,
)
from ld_insights_mcp.tools.registry import CREATE, SCOPE_NOT_FOUND, Tool, resolve_scope, tool_result
from ld_insights_mcp.tools.upstream import Write, call_launchdarkly
from ld_insights_mcp.views.common import iso_datetime
from ld_insights_mcp.views.groups import (
    CreatedGroupResult,
    GroupPage,
    GroupResult,
    group_page,
    group_result,
    group_summary,
    group_text,
)
from ld_insights_mcp.views.paging import PageRequest

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient
    from ld_insights_mcp.launchdarkly.models import InsightGroupExpand, NewInsightGroup

LIST_HINT = "call list_insight_groups to see the existing group keys"

NewGroupApplications = Annotated[
    Annotated[list[ApplicationKey], Strict(), Field(max_length=50)] | None,
    Field(
        description=(
            'Application keys (JSON array, at most 50), e.g. ["web"]; [] for all applications. '
            "Omitted: LaunchDarkly's default."
        )
    ),
]


async def list_insight_groups(
    ctx: Context[Any, Any],
    limit: GroupsPerPage = 20,
    offset: Offset = 0,
    sort: Annotated[
        Literal["name", "-name"] | None, Field(description="Sort by name; '-name' for descending.")
    ] = None,
    query: Annotated[
        SearchText | None,
        Field(description=f"Only groups whose name contains this text; {TEXT_RULE}."),
    ] = None,
    include_scores: Annotated[
        Flag, Field(description="Include every group's scores (larger output).")
    ] = False,
    include_indicator_counts: Annotated[
        Flag, Field(description="Count groups by overall indicator across all pages.")
    ] = False,
) -> Annotated[CallToolResult, GroupPage]:
    """List insight groups: the teams or slices (project + environment + applications) for
    which LaunchDarkly computes Engineering Insights scores. Returns key, name, project,
    environment, applications and creation time per group, the total count and the offset of
    the next page. With include_scores, each group's scores with indicator and change vs the
    last period. To page on, make the call the text ends with ("More: call ..."): the same
    arguments at the next offset. next_offset is null on the last page.

    Use this to discover group keys, and the project and environment keys in use.
    """
    state = app_state(ctx)
    expand: list[InsightGroupExpand] = ["scores"] if include_scores else []
    if include_indicator_counts:
        expand.append("metadata")
    found = await call_launchdarkly(
        state,
        lambda client: client.list_insight_groups(
            limit=limit, offset=offset, sort=sort, query=query, expand=expand
        ),
        not_found="the insight groups API is not available for this account",
    )
    request = PageRequest(
        "list_insight_groups",
        offset=offset,
        limit=limit,
        arguments={
            "sort": sort,
            "query": query,
            # false is the default: leaving it out keeps the call exact and shorter
            "include_scores": include_scores or None,
            "include_indicator_counts": include_indicator_counts or None,
        },
    )
    page, text = group_page(
        found, request=request, source=state.data_source, max_chars=state.settings.max_output_chars
    )
    return tool_result(page, text)


async def get_insight_group(
    ctx: Context[Any, Any],
    key: InsightGroupKey,
    include_scores: Annotated[
        Flag, Field(description="Include the group's scores and scoring period.")
    ] = True,
) -> Annotated[CallToolResult, GroupResult]:
    """Get one insight group by key: its project, environment, applications and creation
    time, and (by default) every score category with indicator and change vs the last period.

    Use this for one team's health; list_insight_groups supplies the keys.
    """
    state = app_state(ctx)
    expand: list[InsightGroupExpand] = ["scores", "environment"] if include_scores else []
    found = await call_launchdarkly(
        state,
        lambda client: client.get_insight_group(key, expand=expand),
        not_found=f"no insight group has key {key!r}; {LIST_HINT}",
    )
    result, text = group_result(found, source=state.data_source)
    return tool_result(result, text)


async def create_insight_group(
    ctx: Context[Any, Any],
    name: GroupName,
    key: InsightGroupKey,
    project_key: OptionalProjectKey = None,
    environment_key: OptionalEnvironmentKey = None,
    application_keys: NewGroupApplications = None,
) -> Annotated[CallToolResult, CreatedGroupResult]:
    """Create an insight group so LaunchDarkly computes Engineering Insights scores for a
    team's slice: a project, one environment and optionally some applications.

    Only call this when the user asked for a new group. Keys are unique: if the key exists
    the call fails and names the existing group. Safe against lost answers: a create that
    timed out is read back by key before anything is sent again.
    """
    state = app_state(ctx)
    project, environment = resolve_scope(state.settings, project_key, environment_key)
    apps = None if application_keys is None else list(dict.fromkeys(application_keys))
    # imported here: start-up loads no wire model (tests/test_startup_imports.py)
    from ld_insights_mcp.launchdarkly.models import NewInsightGroup

    new_group = NewInsightGroup(
        name=name, key=key, project_key=project, environment_key=environment, application_keys=apps
    )
    read_back = f"call get_insight_group with key={key!r}"

    async def create(client: LaunchDarklyClient) -> Any:
        try:
            return await client.create_insight_group(new_group)
        except ConflictError as conflict:  # call_launchdarkly lets a ToolError through
            raise ToolError(key_taken_text(conflict, new_group, read_back=read_back)) from None

    created = await call_launchdarkly(
        state,
        create,
        not_found=SCOPE_NOT_FOUND,
        write=Write(
            what=f"the create of insight group {key!r}",
            read_back=read_back,
            sent=lambda: state.client.create_sent_recently(key),
            creates=True,
        ),
    )
    summary = group_summary(created.resource)
    result = CreatedGroupResult(
        data_source=state.data_source, group=summary, confirmed_by_read_back=created.reconciled
    )
    note = (
        "Created (the answer was lost in transit; the group was read back: it matches every "
        "field this request set, and the key was free before this call)."
        if created.reconciled
        else "Created."
    )
    text = group_text(summary, source=state.data_source, scored=None, preface=note)
    return tool_result(result, text)


def key_taken_text(conflict: ConflictError, new_group: NewInsightGroup, *, read_back: str) -> str:
    """What a model is told when a create finds its key taken, and the safe next step."""
    # imported here: start-up loads no wire model (tests/test_startup_imports.py)
    from ld_insights_mcp.launchdarkly.models import InsightGroup

    existing = conflict.existing if isinstance(conflict.existing, InsightGroup) else None
    differ = new_group.differences(existing) if existing is not None else []
    same = existing is not None and not differ
    if existing is None:
        found = (
            f"An insight group with key {new_group.key!r} already exists (LaunchDarkly "
            "answered 409; reading it failed)."
        )
    else:
        apps = ", ".join(map(quoted, existing.application_keys)) or "all applications"
        compared = (
            "It matches every field this request sets"
            if same
            else f"Its {' and '.join(differ)} {'differs' if len(differ) == 1 else 'differ'} "
            "from what this request sets"
        )
        found = (
            f"An insight group with key {quoted(existing.key)} already exists: "
            f"{quoted(existing.name)} (project {quoted(existing.project_key)}, environment "
            f"{quoted(existing.environment_key)}, {apps}; created "
            f"{iso_datetime(existing.created_at)}). {compared}."
        )
    if conflict.after_lost_answer and existing is not None and not same:
        return (
            f"{found} This call's create may have reached LaunchDarkly before its answer was "
            "lost, and the group been changed since; or the group is another's: this server "
            f"cannot tell whether this call created it. Next: {read_back}, show it to the user "
            "and ask before creating anything; do not create it again, not under another key "
            "either, unless the user says it is not theirs."
        )
    if conflict.sent_earlier and existing is not None and not same:
        return (
            f"{found} This server sent a create of this key shortly before, so it may come "
            f"from that earlier attempt. Next: {read_back} and check it with the user before "
            "creating anything else."
        )
    if conflict.sent_earlier:
        return (
            f"{found} This server sent a create of this key shortly before, so it was most "
            "likely created by that earlier attempt (perhaps one whose answer was lost or "
            f"whose time ran out). Next: {read_back} and use it; do not create it again, not "
            "under another key either."
        )
    return (
        f"{found} This call did not create it. Next: {read_back} to use it; only if the "
        "user wants a separate group, create one under another key."
    )


TOOLS = (
    Tool(list_insight_groups, "List insight groups"),
    Tool(get_insight_group, "Get insight group"),
    Tool(create_insight_group, "Create insight group", CREATE),
)
