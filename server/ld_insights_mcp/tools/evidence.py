"""Evidence tools: list_deployments, get_deployment, list_pull_requests, list_flag_events."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Annotated, Any, Literal

from mcp.server import MCPServer
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
    READ,
    add_tool,
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
from ld_insights_mcp.views.common import iso_datetime, source_line
from ld_insights_mcp.views.evidence import (
    DeploymentPage,
    DeploymentResult,
    FlagEventPage,
    NextCall,
    PullRequestPage,
    cursor_page_text,
    deployment_line,
    deployment_text,
    deployment_view,
    flag_event_line,
    flag_event_view,
    pull_request_line,
    pull_request_view,
)

NOT_FOUND = "check project_key and environment_key; list_insight_groups shows keys in use"
OpenWord = Annotated[str, Strict(), StringConstraints(pattern=r"^[a-z_]{1,40}$")]


class _Listing:
    """What every list tool does before its request: scope, window, cursor check."""

    def __init__(
        self,
        tool: str,
        state: AppState,
        *,
        scope: tuple[str, str | None],
        apps: list[str] | None,
        window: Window,
        filters: dict[str, Any],
        limit: int,
        cursor: str | None,
    ) -> None:
        self.tool = tool
        self.state = state
        self.project, self.environment = scope
        self.apps = list(dict.fromkeys(apps or []))
        self.window = window
        self.limit = limit
        shaping = {
            "project_key": self.project,
            "environment_key": self.environment,
            "application_keys": self.apps or None,
            **window.arguments,
            **filters,
        }
        self.signature = query_signature(tool, shaping)
        self.after = read_cursor(cursor, self.signature)
        self.next_call = NextCall(tool, {**shaping, "limit": limit})

    def header(self, what: str, total: int, returned: int, extra: str = "") -> list[str]:
        scope = self.project + (f"/{self.environment}" if self.environment else "")
        apps = ", ".join(self.apps) or "all apps"
        span = f"{iso_datetime(self.window.start_ms)} to {iso_datetime(self.window.end_ms)}"
        start = " (continued)" if self.after else ""
        return [
            *source_line(self.state.data_source),
            f"{what}, {scope} ({apps}), {span}{extra}: {returned} of {total}{start}, newest first.",
        ]

    def page(
        self, header: list[str], lines: list[str], ids: list[str], has_more: bool
    ) -> tuple[str, int, str | None]:
        return cursor_page_text(
            header=header,
            lines=lines,
            ids=ids,
            has_more=has_more,
            next_call=self.next_call,
            cursor_for=lambda after: (
                make_cursor(after, self.signature) if re.fullmatch(CURSOR_ID, after) else None
            ),
            max_chars=self.state.settings.max_output_chars,
        )

    def base(self, total: int, shown: int, cursor: str | None, truncated: bool) -> dict[str, Any]:
        return {
            "data_source": self.state.data_source,
            "project_key": self.project,
            "environment_key": self.environment,
            "application_keys": self.apps,
            "window_from": iso_datetime(self.window.start_ms),
            "window_to": iso_datetime(self.window.end_ms),
            "total_count": total,
            "returned": shown,
            "next_cursor": cursor,
            "truncated": truncated,
        }


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
    listing = _Listing(
        "list_deployments",
        state,
        scope=(project, env),
        apps=application_keys,
        window=resolve_window(days, from_date, to_date),
        filters={"status": status, "kind": kind},
        limit=limit,
        cursor=cursor,
    )
    found = await call_launchdarkly(
        state,
        lambda client: client.get_deployments(
            listing.project,
            env,
            listing.apps,
            from_ms=listing.window.start_ms,
            to_ms=listing.window.end_ms,
            status=status,
            kind=kind,
            limit=limit,
            after=listing.after,
        ),
        not_found=NOT_FOUND,
    )
    views = [deployment_view(d) for d in found.items]
    extra = "".join(f", {n} {v}" for n, v in (("status", status), ("kind", kind)) if v)
    text, shown, next_cursor = listing.page(
        listing.header("Deployments", found.total_count, len(views), extra),
        [deployment_line(v) for v in views],
        [v.id for v in views],
        "next" in found.links,
    )
    page = DeploymentPage(
        **listing.base(found.total_count, shown, next_cursor, shown < len(views)),
        deployments=views[:shown],
    )
    return tool_result(page, text)


async def get_deployment(
    ctx: Context[Any, Any],
    deployment_id: DeploymentId,
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
        Literal["recent", "slowest", "fastest"],
        Field(description="slowest/fastest: by lead time."),
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
    listing = _Listing(
        "list_pull_requests",
        state,
        scope=(project, environment),
        apps=application_keys,
        window=resolve_window(days, from_date, to_date),
        filters={"status": status, "query": query, "sort": sort},
        limit=limit,
        cursor=cursor,
    )
    expand: list[Literal["leadTime"]] = ["leadTime"] if environment else []
    found = await call_launchdarkly(
        state,
        lambda client: client.get_pull_requests(
            project,
            environment,
            listing.apps,
            from_ms=listing.window.start_ms,
            to_ms=listing.window.end_ms,
            status=status,
            query=query,
            sort=SORTS[sort],
            expand=expand,
            limit=limit,
            after=listing.after,
        ),
        not_found=NOT_FOUND,
    )
    views = [pull_request_view(p) for p in found.items]
    extra = f", {sort} first" if sort != "recent" else ""
    extra += f", status {status}" if status else ""
    header = listing.header("Pull requests", found.total_count, len(views), extra)
    if sort != "recent":
        header[-1] = header[-1].replace(", newest first.", ".")
    text, shown, next_cursor = listing.page(
        header,
        [pull_request_line(v) for v in views],
        [v.id for v in views],
        "next" in found.links,
    )
    page = PullRequestPage(
        **listing.base(found.total_count, shown, next_cursor, shown < len(views)),
        pull_requests=views[:shown],
    )
    return tool_result(page, text)


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
        Literal["none", "small", "medium", "large"] | None,
        Field(description="Impact size."),
    ] = None,
    limit: ItemsPerPage = 20,
    cursor: Cursor = None,
) -> Annotated[CallToolResult, FlagEventPage]:
    """List flag changes, newest first: flag, what changed, who, when, impact size and %,
    evaluations before/after."""
    state = app_state(ctx)
    project, env = resolve_scope(state.settings, project_key, environment_key)
    listing = _Listing(
        "list_flag_events",
        state,
        scope=(project, env),
        apps=application_keys,
        window=resolve_window(days, from_date, to_date),
        filters={"flag_key": flag_key, "impact": impact},
        limit=limit,
        cursor=cursor,
    )
    found = await call_launchdarkly(
        state,
        lambda client: client.get_flag_events(
            listing.project,
            env,
            listing.apps,
            from_ms=listing.window.start_ms,
            to_ms=listing.window.end_ms,
            query=flag_key,
            impact_size=impact,
            limit=limit,
            after=listing.after,
        ),
        not_found=NOT_FOUND,
    )
    views = [flag_event_view(e) for e in found.items]
    extra = "".join(f", {n} {v}" for n, v in (("flag", flag_key), ("impact", impact)) if v)
    text, shown, next_cursor = listing.page(
        listing.header("Flag events", found.total_count, len(views), extra),
        [flag_event_line(v) for v in views],
        [v.id for v in views],
        "next" in found.links,
    )
    page = FlagEventPage(
        **listing.base(found.total_count, shown, next_cursor, shown < len(views)),
        flag_events=views[:shown],
    )
    return tool_result(page, text)


_TOOLS: tuple[tuple[Callable[..., Any], str], ...] = (
    (list_deployments, "List deployments"),
    (get_deployment, "Get deployment"),
    (list_pull_requests, "List pull requests"),
    (list_flag_events, "List flag events"),
)


def register(server: MCPServer, *, read_only: bool) -> None:
    for fn, title in _TOOLS:
        add_tool(server, fn, title=title, annotations=READ, read_only=read_only)
