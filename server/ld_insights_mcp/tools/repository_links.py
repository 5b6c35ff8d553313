"""Linking a repository to a project and unlinking it, both after the user confirms: a link
is set by one PUT that may replace every link (undocumented), and an unlink stops lead time
using the repository."""

from __future__ import annotations

from collections.abc import Awaitable
from typing import TYPE_CHECKING, Annotated, Any, TypeVar

from mcp.server.mcpserver import Context
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import CallToolResult, InputRequiredResult
from pydantic import Field, Strict, StringConstraints

from ld_insights_mcp.launchdarkly.changes import (
    IncompleteLinksError,
    LinkOutcome,
    RepositoryLinks,
    UnknownRepositoryError,
)
from ld_insights_mcp.launchdarkly.vocabulary import KEY_PATTERN
from ld_insights_mcp.state import AppState, app_state
from ld_insights_mcp.text import plural, quoted
from ld_insights_mcp.tools.confirmation import Done, Proposal, confirm_then_change
from ld_insights_mcp.tools.params import ProjectKey
from ld_insights_mcp.tools.registry import Tool
from ld_insights_mcp.tools.writes import CONFIRMED, approval, change_result, read_fresh, unchanged
from ld_insights_mcp.views.changes import (
    ChangeResult,
    link_preview,
    links_text,
    projects_text,
    unlink_preview,
)

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.client import LaunchDarklyClient

T = TypeVar("T")

_REPOSITORY_PATTERN = KEY_PATTERN.removesuffix("$") + "/" + KEY_PATTERN.removeprefix("^")
"""owner/name: two keys joined by '/'."""
RepositoryKey = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=_REPOSITORY_PATTERN, max_length=200),
    Field(description="Repository key, owner/name, e.g. 'acme/billing'."),
]
READ_BACK = "list the repositories (diagnose_data_coverage)"
MISSING_SHOWN = 20
"""The most missing links named in a result's text (its structured content has all)."""


def _links_state(links: RepositoryLinks) -> dict[str, Any]:
    return {"repository_key": links.repository.key, "project_keys": links.projects()}


def _incomplete(gap: IncompleteLinksError) -> str:
    if gap.repository is None:
        why = (
            f"it counts {plural(gap.counted or 0, 'repository', 'repositories')} "
            f"but lists {gap.listed}"
        )
    elif gap.counted is None:
        why = f"repository {quoted(gap.repository)} came without its projects"
    else:
        why = (
            f"repository {quoted(gap.repository)} counts {plural(gap.counted, 'project')} "
            f"but lists {gap.listed}"
        )
    return (
        "Not changed: LaunchDarkly's list of repositories and their projects (GET "
        f"repositories?expand=projects) is incomplete: {why}. A link is set by one PUT that may "
        "replace every link, so this server changes links only from a complete list. Nothing "
        "was changed. Next: tell the user; they can make this change in LaunchDarkly, or try "
        "again later."
    )


async def _complete(read: Awaitable[T]) -> T:
    """``read``, with an incomplete list of links made a tool error that says why."""
    try:
        return await read
    except IncompleteLinksError as gap:
        raise ToolError(_incomplete(gap)) from None


async def _read_links(state: AppState, repository_key: str) -> RepositoryLinks:
    async def read(client: LaunchDarklyClient) -> RepositoryLinks:
        try:
            return await _complete(client.read_repository_links(repository_key))
        except UnknownRepositoryError as unknown:
            raise ToolError(
                f"No repository {repository_key!r} is connected to Engineering Insights; "
                "nothing was changed. Connected: "
                f"{', '.join(map(quoted, unknown.known)) or 'none'}. "
                "Repositories are connected through LaunchDarkly's GitHub integration."
            ) from None

    return await read_fresh(state, read, not_found="the repositories API is not available")


async def link_repository(
    ctx: Context[Any, Any], repository_key: RepositoryKey, project_key: ProjectKey
) -> Annotated[CallToolResult, ChangeResult] | InputRequiredResult:
    """Link a connected repository to a LaunchDarkly project, after the user confirms, so
    lead time can use its pull requests and commits. Only call this when the user asked.

    LaunchDarkly sets links with one PUT that may replace every link: the PUT carries every
    link read just before it, and the result names any link found missing afterwards.
    """
    state = app_state(ctx)

    def no_change(links: RepositoryLinks, line: str) -> CallToolResult:
        return unchanged(state, "no_change", repository_key, line, now=_links_state(links))

    def settled(links: RepositoryLinks) -> CallToolResult | None:
        if not links.linked(project_key):
            return None
        return no_change(
            links,
            f"Repository {quoted(repository_key)} is already linked to project "
            f"{quoted(project_key)}; nothing was sent.",
        )

    done = await confirm_then_change(
        ctx,
        Proposal(
            tool="link_repository",
            target=repository_key,
            what=f"the link of repository {repository_key!r} to project {project_key!r}",
            read=lambda: _read_links(state, repository_key),
            settled=settled,
            facts=lambda links: {**_links_state(links), "links": len(links.mappings)},
            question=lambda links: link_preview(
                repository_key, project_key, links.projects(), len(links.mappings)
            ),
            change=lambda c, _: _complete(c.link_repository_checked(repository_key, project_key)),
            not_found=f"check project_key {project_key!r}",
            read_back=READ_BACK,
        ),
    )
    if not isinstance(done, Done):
        return done
    outcome: LinkOutcome = done.changed
    before = outcome.before
    if not outcome.sent:
        return no_change(
            before,
            f"Repository {quoted(repository_key)} was linked to project {quoted(project_key)} "
            "by someone else just before this call's PUT; nothing was sent.",
        )
    lines = []
    if outcome.after is None:
        linked = [*before.projects(), project_key]
        after = {**_links_state(before), "project_keys": linked, "read_back": False}
        lines.append(
            f"Linked repository {quoted(repository_key)} to project {quoted(project_key)}. "
            "Reading the links back afterwards failed, so whether every other link survived "
            f"is unknown. Next: {READ_BACK} and compare with the "
            f"{plural(len(before.mappings), 'link')} read before."
        )
    else:
        after = _links_state(outcome.after)
        lines.append(
            f"Linked repository {quoted(repository_key)} to project {quoted(project_key)}: "
            f"projects {projects_text(before.projects())} → "
            f"{projects_text(outcome.after.projects())}."
        )
    lines[-1] += approval(done.by)
    if outcome.reconciled:
        lines.append("(The answer was lost in transit; reading the links back shows the link.)")
    missing = outcome.missing
    if missing:
        after["missing_links"] = [{"repository_key": r, "project_key": p} for r, p in missing]
        more = len(missing) - MISSING_SHOWN
        lines.append(
            "Missing when read back right after this call's PUT (LaunchDarkly's PUT may "
            "replace every link, or someone removed them meanwhile): "
            f"{links_text(missing[:MISSING_SHOWN])}"
            + (f"; and {more} more (missing_links)" if more > 0 else "")
            + ". Tell the user; to restore one, call link_repository with its repository_key "
            "and project_key."
        )
    result = ChangeResult(
        data_source=state.data_source,
        status="done",
        target=repository_key,
        before=_links_state(before),
        after=after,
        confirmed_by=done.by,
        confirmed_by_read_back=outcome.reconciled,
    )
    return change_result(state, result, lines)


async def unlink_repository(
    ctx: Context[Any, Any], repository_key: RepositoryKey, project_key: ProjectKey
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
            change=lambda c, links: _complete(c.unlink_repository_checked(links, project_key)),
            not_found=f"check project_key {project_key!r}",
            read_back=READ_BACK,
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
        f"{projects_text(links.projects())} → {projects_text(after.projects())}."
        + approval(done.by)
    )
    return change_result(state, result, [line])


TOOLS = (
    Tool(link_repository, "Link repository to project", CONFIRMED),
    Tool(unlink_repository, "Unlink repository from project", CONFIRMED),
)
