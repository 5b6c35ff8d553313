"""Evidence tools: list_deployments, get_deployment, list_pull_requests, list_flag_events."""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import partial
from typing import TYPE_CHECKING, Annotated, Any, Generic, Literal, TypeVar

from mcp.server.mcpserver import Context
from mcp.types import CallToolResult
from pydantic import Field, Strict, StringConstraints

from ld_insights_mcp.state import AppState, app_state
from ld_insights_mcp.tools.params import (
    CURSOR_ID,
    Cursor,
    Days,
    DeploymentId,
    FromDate,
    ItemsPerPage,
    OptionalApplicationKeys,
    OptionalEnvironmentKey,
    OptionalProjectKey,
    SearchText,
    ToDate,
    _Key,
)
from ld_insights_mcp.tools.registry import (
    SCOPE_NOT_FOUND,
    Tool,
    resolve_default,
    resolve_project,
    resolve_scope,
    tool_result,
)
from ld_insights_mcp.tools.upstream import call_launchdarkly
from ld_insights_mcp.tools.windows import (
    Window,
    make_cursor,
    query_signature,
    read_cursor,
    resolve_window,
)
from ld_insights_mcp.views.common import iso_datetime, literal_call, source_line
from ld_insights_mcp.views.evidence import (
    DeploymentPage,
    DeploymentResult,
    DeploymentView,
    EvidencePage,
    FlagEventPage,
    FlagEventView,
    PullRequestPage,
    PullRequestView,
    cursor_page_text,
    deployment_line,
    deployment_text,
    deployment_view,
    flag_event_line,
    flag_event_view,
    pull_request_line,
    pull_request_view,
)

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient

OpenWord = Annotated[str, Strict(), StringConstraints(pattern=r"^[a-z_]{1,40}$")]
ViewT = TypeVar("ViewT", DeploymentView, PullRequestView, FlagEventView)


@dataclass(frozen=True, slots=True)
class _Lists(Generic[ViewT]):
    """What one list tool lists: its items' field, their view and line, the page."""

    field: str
    view: Callable[[Any], ViewT]
    line: Callable[[ViewT], str]
    page: type[EvidencePage]


DEPLOYMENTS = _Lists("deployments", deployment_view, deployment_line, DeploymentPage)
PULL_REQUESTS = _Lists("pull_requests", pull_request_view, pull_request_line, PullRequestPage)
FLAG_EVENTS = _Lists("flag_events", flag_event_view, flag_event_line, FlagEventPage)

# the client's list operation with the tool's own filters bound; _list_page adds the rest
Fetch = Callable[["LaunchDarklyClient"], Callable[..., Awaitable[Any]]]


async def _list_page(
    state: AppState,
    lists: _Lists[ViewT],
    fetch: Fetch,
    *,
    scope: tuple[str, str | None, list[str] | None],
    window: Window,
    filters: dict[str, Any],
    limit: int,
    cursor: str | None,
    said: str = "",
    newest_first: bool = True,
) -> CallToolResult:
    """One page of a cursor list; the cursor is checked against the query before any request."""
    project, environment, application_keys = scope
    tool = f"list_{lists.field}"
    apps = list(dict.fromkeys(application_keys or []))
    shaping = {
        "project_key": project,
        "environment_key": environment,
        "application_keys": apps or None,
        **window.arguments,
        **filters,
    }
    signature = query_signature(tool, shaping)
    after = read_cursor(cursor, signature)
    found = await call_launchdarkly(
        state,
        lambda client: fetch(client)(
            project,
            environment,
            apps,
            from_ms=window.start_ms,
            to_ms=window.sent_to_ms,
            limit=limit,
            after=after,
        ),
        not_found=SCOPE_NOT_FOUND,
    )
    views = [lists.view(item) for item in found.items]
    place = project + (f"/{environment}" if environment else "")
    span = f"{iso_datetime(window.start_ms)} to {iso_datetime(window.end_ms)}"
    counted = f"{len(views)} of {found.total_count}" + (" (continued)" if after else "")
    order = ", newest first." if newest_first else "."
    what = lists.field.replace("_", " ").capitalize()
    header = [
        *source_line(state.data_source),
        f"{what}, {place} ({', '.join(apps) or 'all apps'}), {span}{said}: {counted}{order}",
    ]
    text, shown, next_cursor = cursor_page_text(
        header=header,
        lines=[lists.line(v) for v in views],
        ids=[v.id for v in views],
        has_more="next" in found.links,
        next_call=lambda cursor: literal_call(tool, {**shaping, "limit": limit, "cursor": cursor}),
        cursor_for=lambda last: (
            make_cursor(last, signature) if re.fullmatch(CURSOR_ID, last) else None
        ),
        max_chars=state.settings.max_output_chars,
    )
    page = lists.page.model_validate(
        {
            "data_source": state.data_source,
            "project_key": project,
            "environment_key": environment,
            "application_keys": apps,
            "window_from": iso_datetime(window.start_ms),
            "window_to": iso_datetime(window.end_ms),
            "total_count": found.total_count,
            "returned": shown,
            "next_cursor": next_cursor,
            "truncated": shown < len(views),
            lists.field: views[:shown],
        }
    )
    return tool_result(page, text)


def _said(**filters: str | None) -> str:
    """The filters given, for a header: ``, status failed, kind rollback``."""
    return "".join(f", {name} {value}" for name, value in filters.items() if value)


async def list_deployments(
    ctx: Context[Any, Any],
    project_key: OptionalProjectKey = None,
    environment_key: OptionalEnvironmentKey = None,
    application_keys: OptionalApplicationKeys = None,
    days: Days = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    status: Annotated[OpenWord | None, Field(description="e.g. finished, failed, started.")] = None,
    kind: Annotated[OpenWord | None, Field(description="e.g. forward, rollback.")] = None,
    limit: ItemsPerPage = 20,
    cursor: Cursor = None,
) -> Annotated[CallToolResult, DeploymentPage]:
    """List deployments, newest first: application, version, status, kind, duration, PRs,
    lead time by stage, id."""
    state = app_state(ctx)
    project, env = resolve_scope(state.settings, project_key, environment_key)
    return await _list_page(
        state,
        DEPLOYMENTS,
        lambda client: partial(client.get_deployments, status=status, kind=kind),
        scope=(project, env, application_keys),
        window=resolve_window(days, from_date, to_date),
        filters={"status": status, "kind": kind},
        limit=limit,
        cursor=cursor,
        said=_said(status=status, kind=kind),
    )


async def get_deployment(
    ctx: Context[Any, Any], deployment_id: DeploymentId
) -> Annotated[CallToolResult, DeploymentResult]:
    """Get one deployment by id (from list_deployments): status, version, duration, lead-time
    stages, its pull requests and flag references."""
    state = app_state(ctx)
    found = await call_launchdarkly(
        state,
        lambda client: client.get_deployment(
            deployment_id, expand=["pullRequests", "flagReferences"]
        ),
        not_found=f"no deployment has id {deployment_id}; list_deployments shows the ids",
    )
    result = DeploymentResult(data_source=state.data_source, deployment=deployment_view(found))
    return tool_result(result, deployment_text(result))


SORTS: dict[str, Literal["leadTime", "-leadTime"] | None] = {
    "recent": None,
    "slowest": "-leadTime",
    "fastest": "leadTime",
}


async def list_pull_requests(
    ctx: Context[Any, Any],
    project_key: OptionalProjectKey = None,
    environment_key: OptionalEnvironmentKey = None,
    application_keys: OptionalApplicationKeys = None,
    days: Days = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    status: Annotated[
        Literal["open", "merged", "closed", "deployed"] | None, Field(description="PR status.")
    ] = None,
    query: Annotated[
        SearchText | None, Field(description="Title or author contains this (visible text).")
    ] = None,
    sort: Annotated[
        Literal["recent", "slowest", "fastest"], Field(description="slowest/fastest: by lead time.")
    ] = "recent",
    limit: ItemsPerPage = 20,
    cursor: Cursor = None,
) -> Annotated[CallToolResult, PullRequestPage]:
    """List pull requests: number, title, author, status, size, lead time by stage.
    sort=slowest shows what slows lead time."""
    state = app_state(ctx)
    project = resolve_project(state.settings, project_key)
    environment = environment_key or state.settings.environment
    if sort != "recent":
        environment = resolve_default(
            environment, None, field="environment_key", variable="LD_ENVIRONMENT"
        )
    expand: list[Literal["leadTime"]] = ["leadTime"] if environment else []
    return await _list_page(
        state,
        PULL_REQUESTS,
        lambda client: partial(
            client.get_pull_requests, status=status, query=query, sort=SORTS[sort], expand=expand
        ),
        scope=(project, environment, application_keys),
        window=resolve_window(days, from_date, to_date),
        filters={"status": status, "query": query, "sort": sort},
        limit=limit,
        cursor=cursor,
        said=(f", {sort} first" if sort != "recent" else "") + _said(status=status),
        newest_first=sort == "recent",
    )


async def list_flag_events(
    ctx: Context[Any, Any],
    project_key: OptionalProjectKey = None,
    environment_key: OptionalEnvironmentKey = None,
    application_keys: OptionalApplicationKeys = None,
    days: Days = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    flag_key: Annotated[_Key | None, Field(description="Only this flag's changes.")] = None,
    impact: Annotated[
        Literal["none", "small", "medium", "large"] | None, Field(description="Impact size.")
    ] = None,
    limit: ItemsPerPage = 20,
    cursor: Cursor = None,
) -> Annotated[CallToolResult, FlagEventPage]:
    """List flag changes, newest first: flag, what changed, who, when, impact size and %,
    evaluations before/after."""
    state = app_state(ctx)
    project, env = resolve_scope(state.settings, project_key, environment_key)
    return await _list_page(
        state,
        FLAG_EVENTS,
        lambda client: partial(client.get_flag_events, query=flag_key, impact_size=impact),
        scope=(project, env, application_keys),
        window=resolve_window(days, from_date, to_date),
        filters={"flag_key": flag_key, "impact": impact},
        limit=limit,
        cursor=cursor,
        said=_said(flag=flag_key, impact=impact),
    )


TOOLS = (
    Tool(list_deployments, "List deployments"),
    Tool(get_deployment, "Get deployment"),
    Tool(list_pull_requests, "List pull requests"),
    Tool(list_flag_events, "List flag events"),
)
