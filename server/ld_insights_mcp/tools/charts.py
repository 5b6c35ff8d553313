"""The get_insight_chart tool: the five Engineering Insights charts behind one ``kind``."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from ld_insights_mcp.state import app_state
from ld_insights_mcp.tools.params import (
    Days,
    Flag,
    FromDate,
    OptionalApplicationKeys,
    OptionalEnvironmentKey,
    OptionalProjectKey,
    ToDate,
)
from ld_insights_mcp.tools.registry import SCOPE_NOT_FOUND, Tool, resolve_scope, tool_result
from ld_insights_mcp.tools.upstream import call_launchdarkly
from ld_insights_mcp.tools.windows import DAY_MS, resolve_window
from ld_insights_mcp.ui import DASHBOARD_META
from ld_insights_mcp.views.charts import ChartResult, chart_result, chart_text

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient
    from ld_insights_mcp.launchdarkly.evidence_models import InsightsChart

ChartKind = Literal[
    "deployment_frequency", "lead_time", "release_frequency", "flag_status", "stale_flags"
]
Bucket = Literal["hour", "day", "week"]
GroupBy = Literal["application", "kind", "stage", "impact", "maintainer"]

COMMON = ("kind", "project_key", "environment_key", "application_keys")
WINDOWED = ("days", "from_date", "to_date", "bucket", "points")
APPLIES: dict[str, tuple[str, ...]] = {
    "deployment_frequency": (*COMMON, *WINDOWED, "group_by"),
    "lead_time": (*COMMON, *WINDOWED, "group_by"),
    "release_frequency": (*COMMON, *WINDOWED, "group_by", "has_experiments"),
    "flag_status": COMMON,
    "stale_flags": (*COMMON, "group_by"),
}
GROUPINGS: dict[str, tuple[str, ...]] = {
    "deployment_frequency": ("application", "kind"),
    "lead_time": ("stage", "application"),
    "release_frequency": ("impact",),
    "stale_flags": ("maintainer",),
}
MAX_HOUR_WINDOW_DAYS = 14


async def get_insight_chart(
    ctx: Context[Any, Any],
    kind: Annotated[
        ChartKind,
        Field(description="flag_status and stale_flags are current snapshots (no window)."),
    ],
    project_key: OptionalProjectKey = None,
    environment_key: OptionalEnvironmentKey = None,
    application_keys: OptionalApplicationKeys = None,
    days: Days = None,
    from_date: FromDate = None,
    to_date: ToDate = None,
    bucket: Annotated[
        Bucket | None, Field(description="Default day; hour for windows <=14 days.")
    ] = None,
    group_by: Annotated[
        GroupBy | None,
        Field(
            description="deployment_frequency: application|kind; lead_time: stage|application; "
            "release_frequency: impact; stale_flags: maintainer."
        ),
    ] = None,
    has_experiments: Annotated[
        Flag | None, Field(description="release_frequency: with (true) or without experiments.")
    ] = None,
    points: Annotated[Flag, Field(description="Also list each bucket's value.")] = False,
) -> Annotated[CallToolResult, ChartResult]:
    """Chart the evidence behind a score: deployment_frequency (and failure rate),
    lead_time (by stage), release_frequency (flag changes, impact, experiments), flag_status,
    stale_flags. Gives per-series total, average, min/max, trend, and each metric vs its tiers.
    """
    given = {
        "days": days,
        "from_date": from_date,
        "to_date": to_date,
        "bucket": bucket,
        "group_by": group_by,
        "has_experiments": has_experiments,
        "points": points or None,
    }
    allowed = APPLIES[kind]
    refused = [name for name, value in given.items() if value is not None and name not in allowed]
    if refused:
        raise ToolError(
            f"Not for kind={kind}, remove: {', '.join(refused)}. Arguments that apply: "
            f"{', '.join(allowed)}."
        )
    if group_by is not None and group_by not in GROUPINGS.get(kind, ()):
        raise ToolError(
            f"group_by={group_by} does not apply to kind={kind}: use "
            f"{' or '.join(GROUPINGS[kind])}, or omit it."
        )
    state = app_state(ctx)
    project, environment = resolve_scope(state.settings, project_key, environment_key)
    apps = list(dict.fromkeys(application_keys or []))
    window = (
        None if kind in ("flag_status", "stale_flags") else resolve_window(days, from_date, to_date)
    )
    chosen_bucket = bucket or "day"
    if window is not None and chosen_bucket == "hour" and window.days > MAX_HOUR_WINDOW_DAYS:
        raise ToolError(
            f"bucket=hour needs a window of at most {MAX_HOUR_WINDOW_DAYS} days (this one is "
            f"{window.days:.0f}): use bucket=day, or a shorter window (days)."
        )
    if kind == "lead_time" and group_by is None:
        group_by = "stage"

    scope = (project, environment, apps)
    by: Any = group_by  # checked against GROUPINGS above
    span: dict[str, Any] = (
        {} if window is None else {"from_ms": window.start_ms, "to_ms": window.sent_to_ms}
    )
    if chosen_bucket == "week":
        span |= {"bucket_type": "rolling", "bucket_ms": 7 * DAY_MS}
    elif window is not None:
        span |= {"bucket_type": chosen_bucket}

    async def fetch(client: LaunchDarklyClient) -> InsightsChart:
        if kind == "flag_status":
            return await client.get_flag_status_chart(*scope)
        if kind == "stale_flags":
            return await client.get_stale_flags_chart(*scope, group_by=by, metrics=True)
        if kind == "deployment_frequency":
            return await client.get_deployment_frequency_chart(
                *scope, group_by=by, metrics=True, **span
            )
        if kind == "lead_time":
            return await client.get_lead_time_chart(*scope, group_by=by, expand=["metrics"], **span)
        return await client.get_release_frequency_chart(
            *scope, group_by=by, has_experiments=has_experiments, metrics=True, **span
        )

    chart = await call_launchdarkly(state, fetch, not_found=SCOPE_NOT_FOUND)
    result = chart_result(
        chart,
        kind=kind,
        project_key=project,
        environment_key=environment,
        application_keys=apps,
        window=(window.start_ms, window.end_ms) if window else None,
        bucket=chosen_bucket if window else None,
        group_by=group_by,
        points=points,
        source=state.data_source,
    )
    return tool_result(result, chart_text(result))


TOOLS = (Tool(get_insight_chart, "Get insight chart", meta=DASHBOARD_META),)
