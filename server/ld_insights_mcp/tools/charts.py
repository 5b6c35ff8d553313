"""The get_insight_chart tool: the five Engineering Insights charts behind one ``kind``."""

from __future__ import annotations

from typing import Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult
from pydantic import Field

from ld_insights_mcp.launchdarkly.evidence_models import InsightsChart
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
from ld_insights_mcp.tools.windows import DAY_MS, Window, resolve_window
from ld_insights_mcp.ui import DASHBOARD_META
from ld_insights_mcp.views.charts import ChartResult, chart_result, chart_text

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

    async def fetch(client: Any) -> InsightsChart:
        return await _fetch(
            client,
            kind,
            project,
            environment,
            apps,
            window,
            chosen_bucket,
            group_by,
            has_experiments,
        )

    chart = await call_launchdarkly(
        state,
        fetch,
        not_found=SCOPE_NOT_FOUND,
    )
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


def _buckets(bucket: str) -> dict[str, Any]:
    if bucket == "week":
        return {"bucket_type": "rolling", "bucket_ms": 7 * DAY_MS}
    return {"bucket_type": bucket}


async def _fetch(
    client: Any,
    kind: str,
    project: str,
    environment: str,
    apps: list[str],
    window: Window | None,
    bucket: str,
    group_by: Any,
    has_experiments: bool | None,
) -> InsightsChart:
    if kind == "flag_status":
        chart: InsightsChart = await client.get_flag_status_chart(project, environment, apps)
        return chart
    if kind == "stale_flags":
        chart = await client.get_stale_flags_chart(
            project, environment, apps, group_by=group_by, metrics=True
        )
        return chart
    if window is None:  # pragma: no cover - only the snapshots above have no window
        raise ValueError(f"the {kind} chart needs a time window")
    span = {"from_ms": window.start_ms, "to_ms": window.sent_to_ms, **_buckets(bucket)}
    if kind == "deployment_frequency":
        chart = await client.get_deployment_frequency_chart(
            project, environment, apps, group_by=group_by, metrics=True, **span
        )
    elif kind == "lead_time":
        chart = await client.get_lead_time_chart(
            project, environment, apps, group_by=group_by, expand=["metrics"], **span
        )
    else:
        chart = await client.get_release_frequency_chart(
            project,
            environment,
            apps,
            group_by=group_by,
            has_experiments=has_experiments,
            metrics=True,
            **span,
        )
    return chart


TOOLS = (Tool(get_insight_chart, "Get insight chart", meta=DASHBOARD_META),)
