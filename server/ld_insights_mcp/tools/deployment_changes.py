"""Correcting a deployment (status, archived), after the user confirms: it changes the
scores."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any, Literal

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import Field, Strict, StringConstraints

from ld_insights_mcp.state import app_state
from ld_insights_mcp.tools.confirmation import Done, Proposal, confirm_then_change
from ld_insights_mcp.tools.registry import Tool
from ld_insights_mcp.tools.writes import CONFIRMED, approval, change_result, read_fresh, unchanged
from ld_insights_mcp.views.changes import (
    ChangeResult,
    deployment_change_lines,
    deployment_label,
    deployment_state,
    update_deployment_preview,
)

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.evidence_models import Deployment

DeploymentId = Annotated[
    str,
    Strict(),
    StringConstraints(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ),
    Field(description="Deployment id (a UUID), as list_deployments shows it."),
]
DeploymentStatus = Annotated[
    Literal["started", "finished", "failed"] | None,
    Field(description="New status, e.g. finished for one stuck in progress; omit to keep it."),
]
Archived = Annotated[
    bool | None,
    Strict(),
    Field(description="true hides the deployment (archived), false shows it; omit to keep it."),
]
NOT_FOUND = "list_deployments shows the deployment ids"


def _facts(deployment: Deployment) -> dict[str, Any]:
    """What the question shows: which deployment, and its current values."""
    return {"deployment": deployment_label(deployment), **deployment_state(deployment)}


async def update_deployment(
    ctx: Context[Any, Any],
    deployment_id: DeploymentId,
    status: DeploymentStatus = None,
    archived: Archived = None,
) -> Annotated[CallToolResult, ChangeResult] | InputRequiredResult:
    """Correct a deployment's status (e.g. one stuck "started" that finished) or hide it
    (archived), after the user confirms: it changes the scores. Only call this when the user
    asked for the change.

    The user is shown before → after and asked to confirm. Declined or cancelled: nothing is
    changed.
    """
    if status is None and archived is None:
        raise ToolError("Nothing to change: pass status and/or archived.")
    state = app_state(ctx)

    def wanted(deployment: Deployment) -> tuple[str, bool]:
        return (
            deployment.status if status is None else status,
            deployment.archived if archived is None else archived,
        )

    def settled(deployment: Deployment) -> CallToolResult | None:
        if deployment_change_lines(deployment, *wanted(deployment)):
            return None
        return unchanged(
            state,
            "no_change",
            deployment_id,
            f"The {deployment_label(deployment)} already has these values; nothing was sent.",
            now=deployment_state(deployment),
        )

    done = await confirm_then_change(
        ctx,
        Proposal(
            tool="update_deployment",
            target=deployment_id,
            what=f"the update of deployment {deployment_id!r}",
            read=lambda: read_fresh(
                state,
                lambda c: c.get_deployment(deployment_id),
                not_found=f"no deployment has id {deployment_id!r}; {NOT_FOUND}",
            ),
            settled=settled,
            facts=_facts,
            question=lambda d: update_deployment_preview(d, *wanted(d)),
            change=lambda c, d: c.update_deployment_checked(d, status=status, archived=archived),
            not_found=NOT_FOUND,
            read_back=f"call get_deployment with deployment_id={deployment_id!r}",
        ),
    )
    if not isinstance(done, Done):
        return done
    # imported here: start-up loads no wire model (tests/test_startup_imports.py)
    from ld_insights_mcp.launchdarkly.evidence_models import Deployment

    deployment, changed = done.found, done.changed
    after = changed.after if isinstance(changed.after, Deployment) else deployment
    changes = "; ".join(deployment_change_lines(deployment, after.status, after.archived))
    result = ChangeResult(
        data_source=state.data_source,
        status="no_change" if changed.already else "done",
        target=deployment_id,
        before=deployment_state(deployment),
        after=deployment_state(after),
        confirmed_by=None if changed.already else done.by,
        confirmed_by_read_back=changed.reconciled,
    )
    if changed.already:
        lines = [
            f"The {deployment_label(deployment)} already had these values when this change "
            f"arrived ({changes}, set by another change); nothing was changed by this call."
        ]
    else:
        lines = [
            f"Updated {deployment_label(deployment)}: {changes}. Scores that count deployments "
            "will reflect it." + approval(done.by)
        ]
    if changed.reconciled:
        lines.append("(The answer was lost in transit; reading it back shows the change.)")
    return change_result(state, result, lines)


TOOLS = (Tool(update_deployment, "Update deployment", CONFIRMED),)
