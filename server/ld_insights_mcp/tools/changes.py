"""Change tools: update and delete insight groups, update deployments, link and unlink
repositories. Destructive ones are confirmed by the user (see ``confirmation``)."""

from __future__ import annotations

import weakref
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Annotated, Any, Literal, TypeVar

import anyio
from mcp.server import MCPServer
from mcp.server.mcpserver import (
    AcceptedElicitation,
    CancelledElicitation,
    Context,
    DeclinedElicitation,
    Elicit,
    ElicitationResult,
    Resolve,
)
from mcp.server.mcpserver.exceptions import ToolError
from mcp.types import Annotations, CallToolResult, TextContent, ToolAnnotations
from pydantic import Field, Strict, StringConstraints

from ..launchdarkly import LaunchDarklyError, NotFoundError
from ..launchdarkly.cache import fresh_reads
from ..launchdarkly.changes import (
    ChangeNotAppliedError,
    ChangeOutcomeUnknownError,
    ConcurrentChangeError,
    RepositoryLinks,
    UnknownRepositoryError,
)
from ..launchdarkly.create_ledger import CreateLedger
from ..launchdarkly.evidence_models import Deployment
from ..launchdarkly.models import InsightGroup
from ..launchdarkly.vocabulary import KEY_PATTERN
from ..state import AppState, app_state
from ..views.changes import (
    ChangeResult,
    ChangeStatus,
    apps_text,
    delete_group_preview,
    deployment_change_lines,
    deployment_label,
    deployment_state,
    group_change_lines,
    group_state,
    unlink_preview,
    update_deployment_preview,
)
from ..views.common import source_line
from .confirmation import CodeRefused, Confirm, NotAsked, can_ask, code_book
from .params import ApplicationKey, GroupName, InsightGroupKey, ProjectKey
from .registry import add_tool
from .upstream import call_launchdarkly, describe_failure

if TYPE_CHECKING:
    from ..launchdarkly.client import LaunchDarklyClient

T = TypeVar("T")

UPDATE = ToolAnnotations(
    read_only_hint=False, destructive_hint=True, idempotent_hint=True, open_world_hint=True
)
"""Changes existing values (so destructive in MCP's sense); the same call twice is one change."""
ADDITIVE = ToolAnnotations(
    read_only_hint=False, destructive_hint=False, idempotent_hint=True, open_world_hint=True
)
LIST_HINT = "list_insight_groups shows the existing group keys"

# --- arguments ------------------------------------------------------------------------------

DeploymentId = Annotated[
    str,
    Strict(),
    StringConstraints(
        pattern=r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"
    ),
    Field(description="Deployment id (a UUID), as list_deployments shows it."),
]
_REPOSITORY_PATTERN = KEY_PATTERN.removesuffix("$") + "/" + KEY_PATTERN.removeprefix("^")
"""owner/name: two keys joined by '/'."""
RepositoryKey = Annotated[
    str,
    Strict(),
    StringConstraints(pattern=_REPOSITORY_PATTERN, max_length=200),
    Field(description="Repository key, owner/name, e.g. 'acme/billing'."),
]
ConfirmationCode = Annotated[
    str | None,
    Strict(),
    Field(
        pattern=r"^[0-9a-f]{8,12}-[A-Z2-7]{16}$",
        description=(
            "Only on a second call, with the one-time code the USER gave you after reading "
            "the preview. Never invent one; omit it on the first call."
        ),
    ),
]
OptionalName = Annotated[GroupName | None, Field(description="New name; omit to keep it.")]
OptionalApps = Annotated[
    Annotated[list[ApplicationKey], Strict(), Field(max_length=50)] | None,
    Field(
        description=(
            'New application keys (JSON array, at most 50), e.g. ["web"]; [] means all '
            "applications; omit to keep them."
        )
    ),
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

# --- running a change -----------------------------------------------------------------------


class _Refusal(Exception):
    """A change's failure, with the text the model gets."""


async def _read(
    state: AppState, read: Callable[[LaunchDarklyClient], Awaitable[T]], *, not_found: str
) -> T:
    """A read a change decides on (its preview, its guard): always fresh, never cached."""
    with fresh_reads():
        return await call_launchdarkly(state, read, not_found=not_found)


async def _change(
    state: AppState,
    change: Callable[[LaunchDarklyClient], Awaitable[T]],
    *,
    what: str,
    read_back: str,
    not_found: str,
) -> T:
    """Run one change within the call budget; every failure says what changed, if anything."""
    budget = state.settings.call_budget
    try:
        with anyio.fail_after(budget):
            return await change(state.client)
    except TimeoutError:
        raise ToolError(
            f"Outcome unknown: this call's {budget:g} s time budget ran out during {what}, "
            "which may already have reached LaunchDarkly. Do not repeat it. "
            f"Next: {read_back} to see whether it happened."
        ) from None
    except ConcurrentChangeError as conflict:
        if conflict.maybe_applied:
            done = "this change may have been applied first and then overwritten"
        else:
            done = "nothing was changed by this call (the change is guarded, so it was refused)"
        raise ToolError(
            f"Not changed: {conflict}. Someone or something else changed it after it was read; "
            f"{done}. Next: {read_back}, show the user its current values and ask again "
            "before changing anything."
        ) from None
    except ChangeOutcomeUnknownError as unknown:
        raise ToolError(
            f"Outcome unknown: {unknown}. Do not repeat it. Next: {read_back} to see whether "
            "it happened."
        ) from None
    except ChangeNotAppliedError as failed:
        text = describe_failure(failed.cause, not_found=not_found)
        raise ToolError(f"{text} Reading it back shows nothing was changed by {what}.") from None
    except LaunchDarklyError as failure:
        text = describe_failure(failure, not_found=not_found)
        raise ToolError(f"{text} Nothing was changed.") from None


def _result(state: AppState, result: ChangeResult, lines: list[str]) -> CallToolResult:
    text = "\n".join([*source_line(state.data_source), *lines])
    return CallToolResult(
        content=[TextContent(type="text", text=text)],
        structured_content=result.model_dump(mode="json"),
    )


def _stopped(
    state: AppState, status: ChangeStatus, target: str, before: dict[str, Any], what: str
) -> CallToolResult:
    said = "declined" if status == "declined" else "cancelled the confirmation"
    result = ChangeResult(
        data_source=state.data_source, status=status, target=target, before=before
    )
    return _result(
        state,
        result,
        [
            f"Not done: the user {said}. Nothing was changed ({what} {target} was not sent). "
            "Do not retry "
            "unless the user asks again."
        ],
    )


@dataclass(frozen=True, slots=True)
class _Go:
    how: Literal["elicitation", "code"]


async def _confirmed(
    ctx: Context[Any, Any],
    state: AppState,
    answer: ElicitationResult[Confirm],
    code: str | None,
    *,
    change: dict[str, Any],
    preview: str,
    target: str,
    before: dict[str, Any],
    call: str,
) -> _Go | CallToolResult:
    """Go ahead only on the user's word: an accepted elicitation or a valid one-time code.
    Otherwise the result to return (declined, cancelled, or a code for the user)."""
    book = code_book(ctx, state.settings)
    what = f"the {change['tool'].replace('_', ' ')}"
    if code is not None:
        try:
            await book.redeem_once(code, change)
        except CodeRefused as refused:
            raise ToolError(
                f"Confirmation code refused: {refused}. Nothing was changed. To go ahead, call "
                f"{call} again without confirmation_code; the user will be shown the preview and "
                "a new code."
            ) from None
        return _Go("code")
    if isinstance(answer, DeclinedElicitation):
        return _stopped(state, "declined", target, before, what)
    if isinstance(answer, CancelledElicitation):
        return _stopped(state, "cancelled", target, before, what)
    data = answer.data if isinstance(answer, AcceptedElicitation) else None
    if isinstance(data, Confirm):
        if data.confirm:
            return _Go("elicitation")
        return _stopped(state, "declined", target, before, what)
    issued = book.issue(change)
    until = datetime.fromtimestamp(issued.expires_at, UTC).strftime("%H:%M:%S UTC")
    result = ChangeResult(
        data_source=state.data_source,
        status="confirmation_required",
        target=target,
        before=before,
        code_expires_at=datetime.fromtimestamp(issued.expires_at, UTC).isoformat(),
    )
    for_model = (
        "Not changed yet: this client cannot show a confirmation prompt, so the user confirms "
        "with a one-time code, shown to the user only, with the preview. Ask the user to read "
        "the preview and, if they agree, to tell you the code; then call "
        f'{call} with confirmation_code="<the code the user gives>". The code allows exactly '
        f"this change, once, until {until}. Never guess or make up a code."
    )
    for_user = (
        f"{preview}\n\nTo confirm, give the assistant this code: {issued.code}\n"
        f"(valid until {until}, for this change only, once). To refuse, do nothing: "
        "no change is made without the code."
    )
    return CallToolResult(
        content=[
            TextContent(
                type="text", text=for_model, annotations=Annotations(audience=["assistant"])
            ),
            TextContent(type="text", text=for_user, annotations=Annotations(audience=["user"])),
        ],
        structured_content=result.model_dump(mode="json"),
    )


def _ask(ctx: Context[Any, Any], code: str | None, preview: str) -> Elicit[Confirm] | NotAsked:
    if code is not None:
        return NotAsked("code_given")
    if not can_ask(ctx):
        return NotAsked("cannot_ask")
    return Elicit(preview, Confirm)


_DELETES: weakref.WeakKeyDictionary[MCPServer[Any], CreateLedger] = weakref.WeakKeyDictionary()


def _recent_deletes(ctx: Context[Any, Any]) -> CreateLedger:
    """Insight-group keys this server sent a delete for lately."""
    return _DELETES.setdefault(ctx.mcp_server, CreateLedger())


# --- update_insight_group -------------------------------------------------------------------


async def update_insight_group(
    ctx: Context[Any, Any],
    key: InsightGroupKey,
    name: OptionalName = None,
    application_keys: OptionalApps = None,
) -> Annotated[CallToolResult, ChangeResult]:
    """Rename an insight group and/or change which applications it covers. Only call this
    when the user asked for the change.

    Reads the group first and changes only what differs (the same call twice changes it
    once). If the group was changed by someone else meanwhile, nothing is overwritten and the
    call says so. The text shows before → after.
    """
    if name is None and application_keys is None:
        raise ToolError("Nothing to change: pass name and/or application_keys.")
    state = app_state(ctx)
    not_found = f"no insight group has key {key!r}; {LIST_HINT}"
    group = await _read(state, lambda c: c.get_insight_group(key), not_found=not_found)
    read_back = f"call get_insight_group with key={key!r}"
    changed = await _change(
        state,
        lambda c: c.update_insight_group_checked(
            group, name=name, application_keys=application_keys
        ),
        what=f"the update of insight group {key!r}",
        read_back=read_back,
        not_found=not_found,
    )
    after = changed.after if isinstance(changed.after, InsightGroup) else group
    result = ChangeResult(
        data_source=state.data_source,
        status="done" if changed.sent else "no_change",
        target=key,
        before=group_state(group),
        after=group_state(after),
        confirmed_by_read_back=changed.reconciled,
    )
    if not changed.sent:
        lines = [f"Insight group {key} already has these values; nothing was sent."]
    else:
        lines = [
            f"Updated insight group {key}: " + "; ".join(group_change_lines(group, after)) + "."
        ]
        if changed.reconciled:
            lines.append(
                "(The answer was lost in transit; reading the group back shows the change.)"
            )
    return _result(state, result, lines)


# --- delete_insight_group -------------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class _GroupSeen:
    group: InsightGroup | None


async def _read_group(ctx: Context[Any, Any], key: str) -> _GroupSeen:
    state = app_state(ctx)

    async def find(client: LaunchDarklyClient) -> InsightGroup | None:
        try:
            return await client.get_insight_group(key, expand=["scores"])
        except NotFoundError:
            return None

    return _GroupSeen(await _read(state, find, not_found=LIST_HINT))


async def _ask_delete_group(
    ctx: Context[Any, Any],
    confirmation_code: str | None,
    seen: Annotated[_GroupSeen, Resolve(_read_group)],
) -> Elicit[Confirm] | NotAsked:
    if seen.group is None:
        return NotAsked("nothing_to_confirm")
    return _ask(ctx, confirmation_code, delete_group_preview(seen.group))


async def delete_insight_group(
    ctx: Context[Any, Any],
    key: InsightGroupKey,
    seen: Annotated[_GroupSeen, Resolve(_read_group)],
    answer: Annotated[ElicitationResult[Confirm], Resolve(_ask_delete_group)],
    confirmation_code: ConfirmationCode = None,
) -> Annotated[CallToolResult, ChangeResult]:
    """Delete an insight group, after the user confirms. Only call this when the user asked
    to delete it.

    The user is shown the group's name, scope and current overall score and asked to confirm
    (or, where this client cannot ask, given a one-time code to pass back as
    confirmation_code). Declined or cancelled: nothing is deleted.
    """
    state = app_state(ctx)
    group = seen.group
    if group is None:
        if _recent_deletes(ctx).sent_recently(key):
            result = ChangeResult(data_source=state.data_source, status="already_gone", target=key)
            return _result(
                state,
                result,
                [
                    f"Insight group {key} no longer exists: this server deleted it moments ago "
                    "(perhaps in a call whose answer was lost). Nothing more to do."
                ],
            )
        raise ToolError(f"No insight group has key {key!r}; nothing was deleted. {LIST_HINT}.")
    before = group_state(group)
    change = {"tool": "delete_insight_group", "key": key, "before": before}
    gate = await _confirmed(
        ctx,
        state,
        answer,
        confirmation_code,
        change=change,
        preview=delete_group_preview(group),
        target=key,
        before=before,
        call=f"delete_insight_group(key={key!r})",
    )
    if isinstance(gate, CallToolResult):
        return gate
    _recent_deletes(ctx).mark_sent(key)
    changed = await _change(
        state,
        lambda c: c.delete_insight_group_checked(group),
        what=f"the delete of insight group {key!r}",
        read_back=f"call get_insight_group with key={key!r}",
        not_found=LIST_HINT,
    )
    result = ChangeResult(
        data_source=state.data_source,
        status="done",
        target=key,
        before=before,
        confirmed_by=gate.how,
        confirmed_by_read_back=changed.reconciled,
    )
    lines = [
        f'Deleted insight group {key} "{group.name}" ({apps_text(group.application_keys)}), '
        f"confirmed by the user ({'prompt' if gate.how == 'elicitation' else 'one-time code'})."
    ]
    if changed.reconciled:
        lines.append("(The answer was lost in transit; reading the key back shows it is gone.)")
    return _result(state, result, lines)


# --- update_deployment ----------------------------------------------------------------------


async def _read_deployment(
    ctx: Context[Any, Any], deployment_id: str, status: str | None, archived: bool | None
) -> Deployment:
    if status is None and archived is None:
        raise ToolError("Nothing to change: pass status and/or archived.")
    state = app_state(ctx)
    return await _read(
        state,
        lambda c: c.get_deployment(deployment_id),
        not_found=f"no deployment has id {deployment_id!r}; list_deployments shows the ids",
    )


def _deployment_target(
    deployment: Deployment, status: str | None, archived: bool | None
) -> tuple[str, bool]:
    return (
        deployment.status if status is None else status,
        deployment.archived if archived is None else archived,
    )


async def _ask_update_deployment(
    ctx: Context[Any, Any],
    status: str | None,
    archived: bool | None,
    confirmation_code: str | None,
    deployment: Annotated[Deployment, Resolve(_read_deployment)],
) -> Elicit[Confirm] | NotAsked:
    new_status, new_archived = _deployment_target(deployment, status, archived)
    if not deployment_change_lines(deployment, new_status, new_archived):
        return NotAsked("nothing_to_confirm")
    preview = update_deployment_preview(deployment, new_status, new_archived)
    return _ask(ctx, confirmation_code, preview)


async def update_deployment(
    ctx: Context[Any, Any],
    deployment_id: DeploymentId,
    deployment: Annotated[Deployment, Resolve(_read_deployment)],
    answer: Annotated[ElicitationResult[Confirm], Resolve(_ask_update_deployment)],
    status: DeploymentStatus = None,
    archived: Archived = None,
    confirmation_code: ConfirmationCode = None,
) -> Annotated[CallToolResult, ChangeResult]:
    """Correct a deployment's status (e.g. one stuck "started" that finished) or hide it
    (archived), after the user confirms: it changes the scores. Only call this when the user
    asked for the change.

    The user is shown before → after and asked to confirm (or, where this client cannot ask,
    given a one-time code to pass back as confirmation_code). Declined or cancelled: nothing
    is changed.
    """
    state = app_state(ctx)
    new_status, new_archived = _deployment_target(deployment, status, archived)
    before = deployment_state(deployment)
    wanted = {"status": new_status, "archived": new_archived}
    if before == wanted:
        result = ChangeResult(
            data_source=state.data_source,
            status="no_change",
            target=deployment_id,
            before=before,
            after=before,
        )
        return _result(
            state,
            result,
            [f"The {deployment_label(deployment)} already has these values; nothing was sent."],
        )
    change = {"tool": "update_deployment", "key": deployment_id, "before": before, "after": wanted}
    call_args = ", ".join(
        f"{k}={v!r}" for k, v in (("status", status), ("archived", archived)) if v is not None
    )
    gate = await _confirmed(
        ctx,
        state,
        answer,
        confirmation_code,
        change=change,
        preview=update_deployment_preview(deployment, new_status, new_archived),
        target=deployment_id,
        before=before,
        call=f"update_deployment(deployment_id={deployment_id!r}, {call_args})",
    )
    if isinstance(gate, CallToolResult):
        return gate
    changed = await _change(
        state,
        lambda c: c.update_deployment_checked(deployment, status=status, archived=archived),
        what=f"the update of deployment {deployment_id!r}",
        read_back=f"call get_deployment with deployment_id={deployment_id!r}",
        not_found="list_deployments shows the deployment ids",
    )
    after = changed.after if isinstance(changed.after, Deployment) else deployment
    result = ChangeResult(
        data_source=state.data_source,
        status="done",
        target=deployment_id,
        before=before,
        after=deployment_state(after),
        confirmed_by=gate.how,
        confirmed_by_read_back=changed.reconciled,
    )
    lines = [
        f"Updated {deployment_label(deployment)}: "
        + "; ".join(deployment_change_lines(deployment, after.status, after.archived))
        + ". Scores that count deployments will reflect it."
    ]
    if changed.reconciled:
        lines.append("(The answer was lost in transit; reading it back shows the change.)")
    return _result(state, result, lines)


# --- link_repository / unlink_repository ----------------------------------------------------


def _links_state(links: RepositoryLinks) -> dict[str, Any]:
    return {"repository_key": links.repository.key, "project_keys": links.projects()}


async def _read_links(ctx: Context[Any, Any], repository_key: str) -> RepositoryLinks:
    state = app_state(ctx)

    async def read(client: LaunchDarklyClient) -> RepositoryLinks:
        try:
            return await client.read_repository_links(repository_key)
        except UnknownRepositoryError as unknown:
            raise ToolError(
                f"No repository {repository_key!r} is connected to Engineering Insights; "
                f"nothing was changed. Connected: {', '.join(unknown.known) or 'none'}. "
                "Repositories are connected through LaunchDarkly's GitHub integration."
            ) from None

    return await _read(state, read, not_found="the repositories API is not available")


async def link_repository(
    ctx: Context[Any, Any],
    repository_key: RepositoryKey,
    project_key: ProjectKey,
) -> Annotated[CallToolResult, ChangeResult]:
    """Link a connected repository to a LaunchDarkly project, so lead time can use its pull
    requests and commits. Keeps every existing link. Only call this when the user asked."""
    state = app_state(ctx)
    links = await _read_links(ctx, repository_key)
    changed = await _change(
        state,
        lambda c: c.link_repository_checked(links, project_key),
        what=f"the link of repository {repository_key!r} to project {project_key!r}",
        read_back="call diagnose_data_coverage, or list the repositories",
        not_found=f"check project_key {project_key!r}",
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
            f"{', '.join(links.projects()) or 'none'} → {', '.join(after.projects())}."
        )
    return _result(state, result, [line])


async def _ask_unlink(
    ctx: Context[Any, Any],
    project_key: str,
    confirmation_code: str | None,
    links: Annotated[RepositoryLinks, Resolve(_read_links)],
) -> Elicit[Confirm] | NotAsked:
    if not links.linked(project_key):
        return NotAsked("nothing_to_confirm")
    return _ask(ctx, confirmation_code, unlink_preview(links.repository.key, project_key))


async def unlink_repository(
    ctx: Context[Any, Any],
    repository_key: RepositoryKey,
    project_key: ProjectKey,
    links: Annotated[RepositoryLinks, Resolve(_read_links)],
    answer: Annotated[ElicitationResult[Confirm], Resolve(_ask_unlink)],
    confirmation_code: ConfirmationCode = None,
) -> Annotated[CallToolResult, ChangeResult]:
    """Unlink a repository from a LaunchDarkly project, after the user confirms (lead time
    then stops using it). Only call this when the user asked."""
    state = app_state(ctx)
    before = _links_state(links)
    if not links.linked(project_key):
        result = ChangeResult(
            data_source=state.data_source,
            status="already_gone",
            target=repository_key,
            before=before,
            after=before,
        )
        return _result(
            state,
            result,
            [
                f"Repository {repository_key} is not linked to project {project_key}; "
                "nothing was sent."
            ],
        )
    change = {
        "tool": "unlink_repository",
        "key": repository_key,
        "project": project_key,
        "before": before,
    }
    gate = await _confirmed(
        ctx,
        state,
        answer,
        confirmation_code,
        change=change,
        preview=unlink_preview(repository_key, project_key),
        target=repository_key,
        before=before,
        call=f"unlink_repository(repository_key={repository_key!r}, project_key={project_key!r})",
    )
    if isinstance(gate, CallToolResult):
        return gate
    changed = await _change(
        state,
        lambda c: c.unlink_repository_checked(links, project_key),
        what=f"the unlink of repository {repository_key!r} from project {project_key!r}",
        read_back="list the repositories (diagnose_data_coverage)",
        not_found=f"check project_key {project_key!r}",
    )
    after = changed.after if isinstance(changed.after, RepositoryLinks) else links
    result = ChangeResult(
        data_source=state.data_source,
        status="done",
        target=repository_key,
        before=before,
        after=_links_state(after),
        confirmed_by=gate.how,
        confirmed_by_read_back=changed.reconciled,
    )
    line = (
        f"Unlinked repository {repository_key} from project {project_key}: projects "
        f"{', '.join(links.projects())} → {', '.join(after.projects()) or 'none'}."
    )
    return _result(state, result, [line])


def register(server: MCPServer, *, read_only: bool) -> None:
    for fn, title, hints in (
        (update_insight_group, "Update insight group", UPDATE),
        (delete_insight_group, "Delete insight group", UPDATE),
        (update_deployment, "Update deployment", UPDATE),
        (link_repository, "Link repository to project", ADDITIVE),
        (unlink_repository, "Unlink repository from project", UPDATE),
    ):
        add_tool(server, fn, title=title, annotations=hints, read_only=read_only)
