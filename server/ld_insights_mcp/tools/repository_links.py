"""Linking a repository to a project (no confirmation: nothing is lost) and unlinking it
(after the user confirms: lead time stops using it)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any

from mcp.server import MCPServer
from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import Field, Strict, StringConstraints

from ld_insights_mcp.launchdarkly.changes import RepositoryLinks, UnknownRepositoryError
from ld_insights_mcp.launchdarkly.vocabulary import KEY_PATTERN
from ld_insights_mcp.state import AppState, app_state
from ld_insights_mcp.text import quoted
from ld_insights_mcp.tools.confirmation import Done, Proposal, confirm_then_change
from ld_insights_mcp.tools.params import ProjectKey
from ld_insights_mcp.tools.registry import add_tool
from ld_insights_mcp.tools.upstream import Write, call_launchdarkly
from ld_insights_mcp.tools.writes import (
    CONFIRMED,
    UNCONFIRMED,
    approval,
    change_result,
    read_fresh,
    unchanged,
)
from ld_insights_mcp.views.changes import ChangeResult, unlink_preview

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient

_REPOSITORY_PATTERN = KEY_PATTERN.removesuffix("$") + "/" + KEY_PATTERN.removeprefix("^")
"""owner/name: two keys joined by '/'."""
RepositoryKey = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=_REPOSITORY_PATTERN, max_length=200),
    Field(description="Repository key, owner/name, e.g. 'acme/billing'."),
]


def _links_state(links: RepositoryLinks) -> dict[str, Any]:
    return {"repository_key": links.repository.key, "project_keys": links.projects()}


async def _read_links(state: AppState, repository_key: str) -> RepositoryLinks:
    async def read(client: LaunchDarklyClient) -> RepositoryLinks:
        try:
            return await client.read_repository_links(repository_key)
        except UnknownRepositoryError as unknown:
            raise ToolError(
                f"No repository {repository_key!r} is connected to Engineering Insights; "
                "nothing was changed. Connected: "
                f"{', '.join(map(quoted, unknown.known)) or 'none'}. "
                "Repositories are connected through LaunchDarkly's GitHub integration."
            ) from None

    return await read_fresh(state, read, not_found="the repositories API is not available")


async def link_repository(
    ctx: Context[Any, Any],
    repository_key: RepositoryKey,
    project_key: ProjectKey,
) -> Annotated[CallToolResult, ChangeResult]:
    """Link a connected repository to a LaunchDarkly project, so lead time can use its pull
    requests and commits. Keeps every existing link. Only call this when the user asked."""
    state = app_state(ctx)
    links = await _read_links(state, repository_key)
    changed = await call_launchdarkly(
        state,
        lambda c: c.link_repository_checked(links, project_key),
        not_found=f"check project_key {project_key!r}",
        write=Write(
            f"the link of repository {repository_key!r} to project {project_key!r}",
            "call diagnose_data_coverage, or list the repositories",
        ),
    )
    after = changed.after if isinstance(changed.after, RepositoryLinks) else links
    result = ChangeResult(
        data_source=state.data_source,
        status="done" if changed.sent else "no_change",
        target=repository_key,
        before=_links_state(links),
        after=_links_state(after),
        confirmed_by_read_back=changed.reconciled,
    )
    if not changed.sent:
        line = (
            f"Repository {repository_key} is already linked to project {project_key}; "
            "nothing was sent."
        )
    else:
        line = (
            f"Linked repository {repository_key} to project {project_key}: projects "
            f"{', '.join(map(quoted, links.projects())) or 'none'} → "
            f"{', '.join(map(quoted, after.projects()))}."
        )
    return change_result(state, result, [line])


async def unlink_repository(
    ctx: Context[Any, Any],
    repository_key: RepositoryKey,
    project_key: ProjectKey,
) -> Annotated[CallToolResult, ChangeResult] | InputRequiredResult:
    """Unlink a repository from a LaunchDarkly project, after the user confirms (lead time
    then stops using it). Only call this when the user asked."""
    state = app_state(ctx)

    def not_linked(links: RepositoryLinks, line: str) -> CallToolResult:
        return unchanged(state, "already_gone", repository_key, line, now=_links_state(links))

    def settled(links: RepositoryLinks) -> CallToolResult | None:
        if links.linked(project_key):
            return None
        return not_linked(
            links,
            f"Repository {repository_key} is not linked to project {project_key}; "
            "nothing was sent.",
        )

    done = await confirm_then_change(
        ctx,
        Proposal(
            tool="unlink_repository",
            target=repository_key,
            what=f"the unlink of repository {repository_key!r} from project {project_key!r}",
            read=lambda: _read_links(state, repository_key),
            settled=settled,
            facts=lambda links: {"repository_key": repository_key, "project_key": project_key},
            question=lambda _: unlink_preview(repository_key, project_key),
            change=lambda c, links: c.unlink_repository_checked(links, project_key),
            not_found=f"check project_key {project_key!r}",
            read_back="list the repositories (diagnose_data_coverage)",
        ),
    )
    if not isinstance(done, Done):
        return done
    links, changed = done.found, done.changed
    if changed.already:
        return not_linked(
            links,
            f"Repository {repository_key} was unlinked from project {project_key} by someone "
            "else just before this call's unlink arrived; nothing was changed by this call.",
        )
    after = changed.after if isinstance(changed.after, RepositoryLinks) else links
    result = ChangeResult(
        data_source=state.data_source,
        status="done",
        target=repository_key,
        before=_links_state(links),
        after=_links_state(after),
        confirmed_by=done.by,
        confirmed_by_read_back=changed.reconciled,
    )
    line = (
        f"Unlinked repository {repository_key} from project {project_key}: projects "
        f"{', '.join(map(quoted, links.projects()))} → "
        f"{', '.join(map(quoted, after.projects())) or 'none'}." + approval(done.by)
    )
    return change_result(state, result, [line])


def register(server: MCPServer, *, read_only: bool) -> None:
    for fn, title, hints in (
        (link_repository, "Link repository to project", UNCONFIRMED),
        (unlink_repository, "Unlink repository from project", CONFIRMED),
    ):
        add_tool(server, fn, title=title, annotations=hints, read_only=read_only)
