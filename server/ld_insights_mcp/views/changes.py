"""Changes: the previews a user confirms, and the before → after of each result."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING, Any, Literal

from pydantic import Field

from ld_insights_mcp.text import quoted
from ld_insights_mcp.views.common import DataSource, ViewModel, iso_datetime

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.evidence_models import Deployment
    from ld_insights_mcp.launchdarkly.models import InsightGroup

Approval = Literal["user", "operator_opt_in"]
"""Who approved a change that needs confirmation."""
ChangeStatus = Literal[
    "done", "no_change", "declined", "cancelled", "not_confirmed", "already_gone"
]


class ChangeResult(ViewModel):
    """What a change tool did (or why it did nothing)."""

    data_source: DataSource
    status: ChangeStatus = Field(
        description=(
            "done; no_change (already so: nothing changed by this call); declined/cancelled "
            "(the user said no: nothing changed); not_confirmed (the answer was not a ticked "
            "box: nothing changed); already_gone (nothing left to remove)."
        )
    )
    target: str = Field(description="The key or id of what was (or would be) changed.")
    before: dict[str, Any] | None = None
    after: dict[str, Any] | None = Field(default=None, description="Null after a delete.")
    confirmed_by: Approval | None = Field(
        default=None,
        description=(
            "Who approved a change that needs confirmation: the user, in this client's own "
            "prompt; or nobody (the operator set LD_INSIGHTS_UNCONFIRMED_WRITES=allow)."
        ),
    )
    confirmed_by_read_back: bool = Field(
        default=False,
        description="True when the answer was lost and reading back showed the change made.",
    )
    person: str | None = Field(
        default=None, description="The signed-in person who asked for it (sign-in only)."
    )


def group_state(group: InsightGroup) -> dict[str, Any]:
    return {
        "name": group.name,
        "project_key": group.project_key,
        "environment_key": group.environment_key,
        "application_keys": list(group.application_keys),
    }


def apps_text(keys: list[str]) -> str:
    return ", ".join(map(quoted, keys)) or "all applications"


def delete_group_preview(group: InsightGroup) -> str:
    overall = group.scores.overall if group.scores else None
    score = f"{overall.score} ({overall.indicator})" if overall is not None else "not available"
    return (
        f"Delete insight group {quoted(group.name)} (key {quoted(group.key)})?\n"
        f"Scope: project {quoted(group.project_key)}, environment "
        f"{quoted(group.environment_key)}, {apps_text(list(group.application_keys))}.\n"
        f"Current overall score: {score}.\n"
        "Its scores will no longer be shown. This cannot be undone."
    )


def update_group_preview(group: InsightGroup, application_keys: list[str]) -> str:
    old, new = apps_text(list(group.application_keys)), apps_text(application_keys)
    return (
        f"Change which applications insight group {quoted(group.name)} covers (key "
        f"{quoted(group.key)}, project {quoted(group.project_key)}, environment "
        f"{quoted(group.environment_key)}): {old} → {new}?\n"
        f"Its scores will then measure {new} instead of {old}."
    )


def group_change_lines(before: InsightGroup, after: InsightGroup) -> list[str]:
    lines = []
    if before.name != after.name:
        lines.append(f"name {quoted(before.name)} → {quoted(after.name)}")
    if set(before.application_keys) != set(after.application_keys):
        lines.append(
            f"applications {apps_text(list(before.application_keys))} → "
            f"{apps_text(list(after.application_keys))}"
        )
    return lines


def deployment_state(deployment: Deployment) -> dict[str, Any]:
    return {"status": deployment.status, "archived": deployment.archived}


def deployment_label(deployment: Deployment) -> str:
    return (
        f"deployment {quoted(deployment.id)} (application {quoted(deployment.application_key)}, "
        f"version {quoted(deployment.application_version)}, environment "
        f"{quoted(deployment.environment_key)}, started {iso_datetime(deployment.started_at)})"
    )


def deployment_change_lines(before: Deployment, status: str, archived: bool) -> list[str]:
    lines = []
    if status != before.status:
        lines.append(f"status {quoted(before.status)} → {quoted(status)}")
    if archived != before.archived:
        yes = {True: "yes", False: "no"}
        lines.append(f"archived (hidden) {yes[before.archived]} → {yes[archived]}")
    return lines


def update_deployment_preview(deployment: Deployment, status: str, archived: bool) -> str:
    changes = "; ".join(deployment_change_lines(deployment, status, archived))
    return (
        f"Change {deployment_label(deployment)}: {changes}?\n"
        "This changes the deployment frequency, failure rate and lead-time scores of its "
        "project and environment."
    )


def projects_text(project_keys: list[str]) -> str:
    return ", ".join(map(quoted, project_keys)) or "none"


def links_text(mappings: Sequence[tuple[str, str]]) -> str:
    """``"acme/api" → "web"; …`` for repository-project mappings."""
    return "; ".join(
        f"{quoted(repository)} → {quoted(project)}" for repository, project in mappings
    )


def link_preview(
    repository_key: str, project_key: str, project_keys: list[str], every_link: int
) -> str:
    after = projects_text([*project_keys, project_key])
    return (
        f"Link repository {quoted(repository_key)} to project {quoted(project_key)}? Its "
        f"projects: {projects_text(project_keys)} → {after}.\n"
        "LaunchDarkly sets links with one PUT that may replace every link: this server sends "
        f"all it reads just before ({every_link} now) plus this one. A link someone else adds "
        "at that very moment could be lost; the result names any link found missing after."
    )


def unlink_preview(repository_key: str, project_key: str) -> str:
    return (
        f"Unlink repository {quoted(repository_key)} from project {project_key}?\n"
        "Lead time for the project will no longer use this repository's pull requests and "
        "commits, until it is linked again."
    )
