"""Insight-group changes: rename (no confirmation), change the applications and delete (both
after the user confirms)."""

from __future__ import annotations

import weakref
from typing import TYPE_CHECKING, Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import Field, Strict

from ld_insights_mcp.launchdarkly import NotFoundError
from ld_insights_mcp.launchdarkly.changes import Changed
from ld_insights_mcp.launchdarkly.create_ledger import CreateLedger
from ld_insights_mcp.state import AppState, app_state
from ld_insights_mcp.text import quoted
from ld_insights_mcp.tools.confirmation import Done, Proposal, confirm_then_change
from ld_insights_mcp.tools.params import ApplicationKey, GroupName, InsightGroupKey
from ld_insights_mcp.tools.registry import Tool
from ld_insights_mcp.tools.upstream import Write, call_launchdarkly
from ld_insights_mcp.tools.writes import (
    CONFIRMED,
    UNCONFIRMED,
    approval,
    change_result,
    read_fresh,
    unchanged,
)
from ld_insights_mcp.views.changes import (
    Approval,
    ChangeResult,
    apps_text,
    delete_group_preview,
    group_change_lines,
    group_state,
    update_group_preview,
)

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient
    from ld_insights_mcp.launchdarkly.models import InsightGroup

LIST_HINT = "list_insight_groups shows the existing group keys"

GroupApplications = Annotated[
    list[ApplicationKey],
    Strict(),
    Field(
        max_length=50,
        description=(
            'The applications the group should cover (JSON array, at most 50), e.g. ["web"]; '
            "[] means all applications."
        ),
    ),
]


def _facts(group: InsightGroup) -> dict[str, Any]:
    """What a question about a group shows the user (its scores move on their own)."""
    return {**group_state(group), "application_keys": sorted(group.application_keys)}


def _read_back(key: str) -> str:
    return f"call get_insight_group with key={key!r}"


async def _read(state: AppState, key: str) -> InsightGroup:
    return await read_fresh(
        state,
        lambda c: c.get_insight_group(key),
        not_found=f"no insight group has key {key!r}; {LIST_HINT}",
    )


def _updated(
    state: AppState, group: InsightGroup, changed: Changed[InsightGroup], by: Approval | None = None
) -> CallToolResult:
    """The result of a rename or an applications change, as it turned out."""
    # imported here: start-up loads no wire model (tests/test_startup_imports.py)
    from ld_insights_mcp.launchdarkly.models import InsightGroup

    after = changed.after if isinstance(changed.after, InsightGroup) else group
    done = changed.sent and not changed.already
    result = ChangeResult(
        data_source=state.data_source,
        status="done" if done else "no_change",
        target=group.key,
        before=group_state(group),
        after=group_state(after),
        confirmed_by=by if done else None,
        confirmed_by_read_back=changed.reconciled,
    )
    if not changed.sent:
        lines = [f"Insight group {group.key} already has these values; nothing was sent."]
    elif changed.already:
        lines = [
            f"Insight group {group.key} already had these values when this change arrived "
            f"({'; '.join(group_change_lines(group, after))}, set by another change after "
            "this call read it); nothing was changed by this call."
        ]
    else:
        lines = [
            f"Updated insight group {group.key}: "
            + "; ".join(group_change_lines(group, after))
            + "."
            + approval(by)
        ]
        if changed.reconciled:
            lines.append(
                "(The answer was lost in transit; reading the group back shows the change.)"
            )
    return change_result(state, result, lines)


async def rename_insight_group(
    ctx: Context[Any, Any], key: InsightGroupKey, name: GroupName
) -> Annotated[CallToolResult, ChangeResult]:
    """Rename an insight group. Only call this when the user asked for the new name.

    Reads the group first: the same name again changes nothing. If the group was changed by
    someone else meanwhile, nothing is overwritten and the call says so. The text shows
    before → after (renaming back undoes it).
    """
    state = app_state(ctx)
    group = await _read(state, key)
    changed = await call_launchdarkly(
        state,
        lambda c: c.update_insight_group_checked(group, name=name),
        not_found=f"no insight group has key {key!r}; {LIST_HINT}",
        write=Write(f"the rename of insight group {key!r}", _read_back(key)),
    )
    return _updated(state, group, changed)


async def update_insight_group(
    ctx: Context[Any, Any], key: InsightGroupKey, application_keys: GroupApplications
) -> Annotated[CallToolResult, ChangeResult] | InputRequiredResult:
    """Change which applications an insight group covers, after the user confirms: its
    scores then measure other applications. Only call this when the user asked for it.

    The user is shown the group and its applications before → after. Declined or cancelled:
    nothing is changed. To rename a group, use rename_insight_group.
    """
    state = app_state(ctx)
    apps = list(dict.fromkeys(application_keys))

    def settled(group: InsightGroup) -> CallToolResult | None:
        if set(group.application_keys) != set(apps):
            return None
        return _updated(state, group, Changed(group, group, sent=False))

    done = await confirm_then_change(
        ctx,
        Proposal(
            tool="update_insight_group",
            target=key,
            what=f"the update of insight group {key!r}",
            read=lambda: _read(state, key),
            settled=settled,
            facts=_facts,
            question=lambda group: update_group_preview(group, apps),
            change=lambda c, group: c.update_insight_group_checked(group, application_keys=apps),
            not_found=f"no insight group has key {key!r}; {LIST_HINT}",
            read_back=_read_back(key),
        ),
    )
    if not isinstance(done, Done):
        return done
    return _updated(state, done.found, done.changed, done.by)


_DELETES: weakref.WeakKeyDictionary[MCPServer[Any], CreateLedger] = weakref.WeakKeyDictionary()


def _recent_deletes(ctx: Context[Any, Any]) -> CreateLedger:
    """Insight-group keys this server sent a delete for lately."""
    return _DELETES.setdefault(ctx.mcp_server, CreateLedger())


async def delete_insight_group(
    ctx: Context[Any, Any], key: InsightGroupKey
) -> Annotated[CallToolResult, ChangeResult] | InputRequiredResult:
    """Delete an insight group, after the user confirms. Only call this when the user asked
    to delete it.

    The user is shown the group's name, scope and current overall score and asked to
    confirm. Declined or cancelled: nothing is deleted.
    """
    state = app_state(ctx)

    async def find(client: LaunchDarklyClient) -> InsightGroup | None:
        try:
            return await client.get_insight_group(key, expand=["scores"])
        except NotFoundError:
            return None

    def settled(group: InsightGroup | None) -> CallToolResult | None:
        if group is not None:
            return None
        if _recent_deletes(ctx).sent_recently(key):
            return unchanged(
                state,
                "already_gone",
                key,
                f"Insight group {key} no longer exists: this server deleted it moments ago "
                "(perhaps in a call whose answer was lost). Nothing more to do.",
            )
        raise ToolError(f"No insight group has key {key!r}; nothing was deleted. {LIST_HINT}.")

    def present(group: InsightGroup | None) -> InsightGroup:
        assert group is not None  # ``settled`` answers for a missing group
        return group

    async def delete(client: LaunchDarklyClient, found: InsightGroup | None) -> Changed[Any]:
        _recent_deletes(ctx).mark_sent(key)
        return await client.delete_insight_group_checked(present(found))

    done = await confirm_then_change(
        ctx,
        Proposal(
            tool="delete_insight_group",
            target=key,
            what=f"the delete of insight group {key!r}",
            read=lambda: read_fresh(state, find, not_found=LIST_HINT),
            settled=settled,
            facts=lambda group: _facts(present(group)),
            question=lambda group: delete_group_preview(present(group)),
            change=delete,
            not_found=LIST_HINT,
            read_back=_read_back(key),
        ),
    )
    if not isinstance(done, Done):
        return done
    group, changed = present(done.found), done.changed
    if changed.already:
        return unchanged(
            state,
            "already_gone",
            key,
            f"Insight group {key} was deleted by someone else just before this call's delete "
            "arrived; nothing was changed by this call.",
        )
    result = ChangeResult(
        data_source=state.data_source,
        status="done",
        target=key,
        before=group_state(group),
        confirmed_by=done.by,
        confirmed_by_read_back=changed.reconciled,
    )
    lines = [
        f"Deleted insight group {key} {quoted(group.name)} ({apps_text(group.application_keys)})."
        + approval(done.by)
    ]
    if changed.reconciled:
        lines.append("(The answer was lost in transit; reading the key back shows it is gone.)")
    return change_result(state, result, lines)


TOOLS = (
    Tool(rename_insight_group, "Rename insight group", UNCONFIRMED),
    Tool(update_insight_group, "Change insight group applications", CONFIRMED),
    Tool(delete_insight_group, "Delete insight group", CONFIRMED),
)
