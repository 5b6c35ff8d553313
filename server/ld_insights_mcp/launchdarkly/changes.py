"""Guarded changes: insight-group update and delete, deployment update, repository links.

A mixin of ``LaunchDarklyClient``. Every change starts from values the caller read, and is
sent at most once more only after reading back shows it did not land:

- a PATCH carries ``test`` operations on the values read, so a concurrent change makes it fail
  instead of being overwritten, and is reported as ``ConcurrentChangeError``;
- a write that failed after it may have reached LaunchDarkly (timeout, reset, 5xx, unreadable
  answer) is never resent blindly: the resource is read back; applied means done
  (``reconciled``), unchanged means one more send, anything else is a concurrent change;
- a write refused before it could act (refused connection, 429) is retried by the policy;
- a write its guard refused (a failed ``test``, or a 404 for a delete) is read back too: what
  was asked already holds means another change got there first (``already``), other values
  mean a concurrent change;
- a failure whose read-back shows nothing changed is ``ChangeNotAppliedError``; a read-back
  that fails is ``ChangeOutcomeUnknownError``.

Linking sends, in one PUT, every mapping read immediately before it plus the new one (whether
that PUT adds to the mappings or replaces them all is undocumented), refuses to build it from an
incomplete list, and reads the mappings back after it: ``LinkOutcome.missing`` names any it
carried that are gone. A mapping someone adds between that read and the PUT is not in it: a
replacing PUT removes it unseen (the API has no conditional PUT).

Reads a change decides on (guards, read-backs) bypass the read cache; a write drops the
cached reads it makes stale (its own resource via the exchange, and the scores, charts or
repository lists it feeds into).
"""

from __future__ import annotations

import enum
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel

from ld_insights_mcp.launchdarkly.cache import fresh_reads
from ld_insights_mcp.launchdarkly.errors import (
    APIConnectionError,
    APIStatusError,
    LaunchDarklyError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    ServerError,
    UnexpectedResponseError,
)
from ld_insights_mcp.launchdarkly.evidence_models import (
    Deployment,
    InsightsRepository,
    InsightsRepositoryCollection,
)
from ld_insights_mcp.launchdarkly.models import InsightGroup, PatchOperation

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.options import ClientOptions
    from ld_insights_mcp.launchdarkly.transport import (
        Exchange,  # imported with the client: httpx is not a start-up cost
    )

T = TypeVar("T")
ModelT = TypeVar("ModelT", bound=BaseModel)

EI = "/api/v2/engineering-insights"
GROUPS = f"{EI}/insights/groups"
_SCORED = frozenset({f"{EI}/insights", f"{EI}/charts"})
"""Cached reads a deployment change makes stale: scores (with groups) and charts."""
_REPOSITORIES = frozenset({f"{EI}/repositories", f"{EI}/charts", f"{EI}/insights"})
"""Cached reads a link change makes stale: the repositories, lead time and its scores."""

_PATCH_REFUSALS = frozenset({400, 409, 422})
"""How a patch is refused: a failed ``test`` (the values read changed), or a refused value."""
_GONE = frozenset({404})
"""How a removal is refused when what it removes is already gone."""


class _Landed(enum.Enum):
    APPLIED = "applied"
    NOT_APPLIED = "not applied"


@dataclass(frozen=True, slots=True)
class Changed(Generic[T]):
    """A change's outcome: the values before and after (``after`` None: deleted).

    ``sent`` is False when nothing needed sending (already so). ``reconciled`` is True when
    the change was confirmed by reading back after its answer was lost, not by the answer.
    ``already`` is True when the values were already as asked by the time the change
    arrived (another change set them after they were read): its guard refused it, and this
    change changed nothing.
    """

    before: T
    after: T | None
    sent: bool = True
    reconciled: bool = False
    already: bool = False


@dataclass(frozen=True, slots=True)
class RepositoryLinks:
    """A repository and every repository-project mapping read with it."""

    repository: InsightsRepository
    mappings: tuple[tuple[str, str], ...]

    def linked(self, project_key: str) -> bool:
        return (self.repository.key, project_key) in self.mappings

    def projects(self) -> list[str]:
        return [p for r, p in self.mappings if r == self.repository.key]


@dataclass(frozen=True, slots=True)
class LinkOutcome:
    """What linking did. ``before``: the mappings read immediately before the PUT (or, if the
    link was already there by then, that read: ``sent`` False); ``after``: read back after it
    (None: reading back failed, so whether the others survived is unknown); ``reconciled``:
    the PUT's answer was lost and reading back (or the read before a resend) showed the
    link."""

    before: RepositoryLinks
    after: RepositoryLinks | None
    project_key: str
    sent: bool = True
    reconciled: bool = False

    @property
    def missing(self) -> tuple[tuple[str, str], ...]:
        """Mappings the PUT carried that reading back did not find."""
        if self.after is None or not self.sent:
            return ()
        carried = (*self.before.mappings, (self.before.repository.key, self.project_key))
        return tuple(m for m in dict.fromkeys(carried) if m not in self.after.mappings)


class ConcurrentChangeError(LaunchDarklyError):
    """The resource no longer has the values the change was built on: nothing of this
    change was applied. ``current`` is what was read back (None: it is gone)."""

    maybe_applied: bool = False
    """True when an earlier attempt of this change may have landed before the other change."""

    def __init__(self, what: str, current: object | None) -> None:
        state = "it no longer exists" if current is None else "its values differ"
        super().__init__(f"{what} changed since it was read ({state}); this change was not applied")
        self.what = what
        self.current = current


class ChangeNotAppliedError(LaunchDarklyError):
    """The write failed and reading back shows it was not applied. ``cause`` is the failure."""

    def __init__(self, what: str, cause: LaunchDarklyError) -> None:
        super().__init__(f"{what} failed ({cause}); reading back shows it was not applied")
        self.what = what
        self.cause = cause


class ChangeOutcomeUnknownError(OutcomeUnknownError):
    """The write failed after it may have reached LaunchDarkly and reading back failed too."""

    def __init__(self, what: str, key: str) -> None:
        LaunchDarklyError.__init__(
            self,
            f"{what} may or may not have happened: LaunchDarkly failed after it may have "
            "received it, and reading it back failed",
        )
        self.what = what
        self.key = key


class UnknownRepositoryError(LaunchDarklyError):
    """No repository with this key is connected; ``known`` lists the keys that are."""

    def __init__(self, key: str, known: Sequence[str]) -> None:
        super().__init__(f"no repository with key {key!r} is connected to Engineering Insights")
        self.key = key
        self.known = tuple(known)


class IncompleteLinksError(LaunchDarklyError):
    """The repositories answer does not hold every mapping, so a PUT built from it could remove
    those left out. ``repository`` None: the list itself (``counted`` repositories, ``listed``
    given); else that repository's projects (``counted`` None: not given at all)."""

    def __init__(self, *, repository: str | None, counted: int | None, listed: int) -> None:
        super().__init__("LaunchDarkly's list of repositories and their projects is incomplete")
        self.repository = repository
        self.counted = counted
        self.listed = listed


class _NotSent(Exception):
    """The read before a write failed: nothing of this attempt was sent. ``cause`` is why."""

    def __init__(self, cause: LaunchDarklyError) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _ReadBackNotApplied(Exception):
    """Read back after an ambiguous failure: not applied, so send once more."""

    def __init__(self, cause: LaunchDarklyError) -> None:
        super().__init__(str(cause))
        self.cause = cause


_AMBIGUOUS = (APIConnectionError, ServerError, UnexpectedResponseError)


def _may_have_landed(exc: LaunchDarklyError) -> bool:
    if isinstance(exc, APIConnectionError):
        return exc.sent
    return isinstance(exc, _AMBIGUOUS)


class ChangeOperations:
    """Guarded, exactly-once changes (mixed into the client)."""

    _options: ClientOptions  # provided by LaunchDarklyClient
    _exchange: Exchange  # provided by LaunchDarklyClient

    async def _read(
        self, model: type[ModelT], path: str, params: Mapping[str, str | int | None]
    ) -> ModelT:  # pragma: no cover - provided by LaunchDarklyClient
        raise NotImplementedError

    async def _send_for(
        self,
        model: type[ModelT],
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
    ) -> ModelT:  # pragma: no cover - provided by LaunchDarklyClient
        raise NotImplementedError

    async def _send_only(self, method: str, path: str) -> None:
        """One request whose answer carries no body (a 204)."""
        await self._exchange.send(method, path)

    async def _written(self, affected: frozenset[str]) -> None:
        """After a write that may have landed: drop cached reads under ``affected`` paths
        beyond the write's own parent (which the exchange drops): the scores, charts and
        lists the change feeds into."""
        cache = getattr(self, "_cache", None)
        if cache is not None and affected:
            await cache.invalidate(getattr(self, "_identity", ""), affected)

    # --- insight groups -----------------------------------------------------------------

    async def update_insight_group_checked(
        self,
        group: InsightGroup,
        *,
        name: str | None = None,
        application_keys: Sequence[str] | None = None,
    ) -> Changed[InsightGroup]:
        """Rename and/or re-scope ``group`` (as read), guarded by ``test`` operations on the
        name and applications read. Already as asked: nothing is sent."""
        new_name = group.name if name is None else name
        new_apps = (
            list(group.application_keys)
            if application_keys is None
            else list(dict.fromkeys(application_keys))
        )
        if new_name == group.name and set(new_apps) == set(group.application_keys):
            return Changed(group, group, sent=False)
        patch = [
            PatchOperation(op="test", path="/name", value=group.name),
            PatchOperation(op="test", path="/applicationKeys", value=group.application_keys),
        ]
        if new_name != group.name:
            patch.append(PatchOperation(op="replace", path="/name", value=new_name))
        if set(new_apps) != set(group.application_keys):
            patch.append(PatchOperation(op="replace", path="/applicationKeys", value=new_apps))
        what = f"the update of insight group {group.key!r}"
        from ld_insights_mcp.launchdarkly.transport import path_segment

        path = f"{GROUPS}/{path_segment(group.key, name='insightGroupKey')}"

        def state(found: InsightGroup) -> tuple[str, frozenset[str]]:
            return found.name, frozenset(found.application_keys)

        async def read_back() -> tuple[_Landed, InsightGroup]:
            found = await self._find(InsightGroup, path)
            if found is not None and state(found) == (new_name, frozenset(new_apps)):
                return _Landed.APPLIED, found
            if found is not None and state(found) == state(group):
                return _Landed.NOT_APPLIED, found
            raise ConcurrentChangeError(f"insight group {group.key!r}", found)

        body = [op.to_wire() for op in patch]
        return await self._settle(
            group,
            lambda: self._send_for(InsightGroup, "PATCH", path, json_body=body),
            read_back,
            what=what,
            key=group.key,
            guard_refusals=_PATCH_REFUSALS,
        )

    async def delete_insight_group_checked(self, group: InsightGroup) -> Changed[InsightGroup]:
        """Delete ``group`` (as read). A lost answer is settled by reading the key back; a
        404 after an attempt that may have landed means deleted."""
        from ld_insights_mcp.launchdarkly.transport import path_segment

        path = f"{GROUPS}/{path_segment(group.key, name='insightGroupKey')}"

        async def read_back() -> tuple[_Landed, InsightGroup | None]:
            found = await self._find(InsightGroup, path)
            return (_Landed.APPLIED if found is None else _Landed.NOT_APPLIED), found

        changed = await self._settle(
            group,
            lambda: self._send_only("DELETE", path),
            read_back,
            what=f"the delete of insight group {group.key!r}",
            key=group.key,
            guard_refusals=_GONE,
        )
        return Changed(group, None, reconciled=changed.reconciled, already=changed.already)

    # --- deployments --------------------------------------------------------------------

    async def update_deployment_checked(
        self, deployment: Deployment, *, status: str | None = None, archived: bool | None = None
    ) -> Changed[Deployment]:
        """Set ``status`` and/or ``archived`` (the fields LaunchDarkly lets one patch),
        guarded by ``test`` operations on both values read."""
        new_status = deployment.status if status is None else status
        new_archived = deployment.archived if archived is None else archived
        before = (deployment.status, deployment.archived)
        if (new_status, new_archived) == before:
            return Changed(deployment, deployment, sent=False)
        patch = [
            PatchOperation(op="test", path="/status", value=deployment.status),
            PatchOperation(op="test", path="/archived", value=deployment.archived),
        ]
        if new_status != deployment.status:
            patch.append(PatchOperation(op="replace", path="/status", value=new_status))
        if new_archived != deployment.archived:
            patch.append(PatchOperation(op="replace", path="/archived", value=new_archived))
        from ld_insights_mcp.launchdarkly.transport import path_segment

        path = f"{EI}/deployments/{path_segment(deployment.id, name='deploymentID')}"

        async def read_back() -> tuple[_Landed, Deployment]:
            found = await self._find(Deployment, path)
            now = None if found is None else (found.status, found.archived)
            if found is not None and now == (new_status, new_archived):
                return _Landed.APPLIED, found
            if found is not None and now == before:
                return _Landed.NOT_APPLIED, found
            raise ConcurrentChangeError(f"deployment {deployment.id!r}", found)

        body = [op.to_wire() for op in patch]
        return await self._settle(
            deployment,
            lambda: self._send_for(Deployment, "PATCH", path, json_body=body),
            read_back,
            what=f"the update of deployment {deployment.id!r}",
            key=deployment.id,
            guard_refusals=_PATCH_REFUSALS,
            affects=_SCORED,
        )

    # --- repositories -------------------------------------------------------------------

    async def read_repository_links(self, repository_key: str) -> RepositoryLinks:
        """The repository and every mapping, read fresh. ``IncompleteLinksError`` if the answer
        does not hold every mapping (the API has no paging for it), ``UnknownRepositoryError``
        if the repository is not connected."""
        with fresh_reads():
            found = await self._read(
                InsightsRepositoryCollection, f"{EI}/repositories", {"expand": "projects"}
            )
        if found.total_count > len(found.items):
            raise IncompleteLinksError(
                repository=None, counted=found.total_count, listed=len(found.items)
            )
        for repo in found.items:
            if repo.projects is None:
                raise IncompleteLinksError(repository=repo.key, counted=None, listed=0)
            if repo.projects.total_count > len(repo.projects.items):
                raise IncompleteLinksError(
                    repository=repo.key,
                    counted=repo.projects.total_count,
                    listed=len(repo.projects.items),
                )
        mappings = tuple(
            (repo.key, project.key)
            for repo in found.items
            for project in (repo.projects.items if repo.projects else [])
        )
        for repo in found.items:
            if repo.key == repository_key:
                return RepositoryLinks(repo, mappings)
        raise UnknownRepositoryError(repository_key, [r.key for r in found.items])

    async def link_repository_checked(self, repository_key: str, project_key: str) -> LinkOutcome:
        """Link the repository to a project without removing any mapping it can see: each PUT
        carries every mapping read immediately before it (complete, or
        ``IncompleteLinksError`` and nothing is sent) plus the new one; afterwards the
        mappings are read back (see ``LinkOutcome``). Already linked by then: nothing is
        sent."""
        key = repository_key
        last_read: list[RepositoryLinks] = []
        sent_from: list[RepositoryLinks] = []  # the reads each PUT sent was built from

        async def put() -> bool:
            """Read, then PUT; False when the link was there already (nothing sent now)."""
            try:
                current = await self.read_repository_links(key)
            except LaunchDarklyError as failure:
                raise _NotSent(failure) from None
            last_read.append(current)
            if current.linked(project_key):
                return False
            wanted = dict.fromkeys((*current.mappings, (key, project_key)))
            body = {"mappings": [{"repositoryKey": r, "projectKey": p} for r, p in wanted]}
            sent_from.append(current)
            await self._send_for(_Any, "PUT", f"{EI}/repositories/projects", json_body=body)
            return True

        async def read_back() -> tuple[_Landed, RepositoryLinks]:
            found = await self.read_repository_links(key)
            landed = _Landed.APPLIED if found.linked(project_key) else _Landed.NOT_APPLIED
            return landed, found

        try:
            changed: Changed[Any] = await self._settle(
                None,
                put,
                read_back,
                what=f"the link of repository {key!r} to project {project_key!r}",
                key=key,
                affects=_REPOSITORIES,
            )
        except _NotSent as not_sent:
            raise not_sent.cause from None
        before = last_read[-1]
        if changed.reconciled:  # ``after`` is what reading back found
            return LinkOutcome(before, changed.after, project_key, reconciled=True)
        if changed.after is False and sent_from:
            # linked when read before a resend: this call's earlier PUT, whose answer was
            # lost, most likely landed late; what it carried is checked against that read
            return LinkOutcome(sent_from[-1], before, project_key, reconciled=True)
        if changed.after is False:  # ``after`` is what ``put`` returned
            return LinkOutcome(before, before, project_key, sent=False)
        try:
            after: RepositoryLinks | None = await self.read_repository_links(key)
        except LaunchDarklyError:
            after = None
        return LinkOutcome(before, after, project_key)

    async def unlink_repository_checked(
        self, links: RepositoryLinks, project_key: str
    ) -> Changed[RepositoryLinks]:
        """Remove one repository-project mapping (the repository key is sent as one path
        segment, ``owner%2Frepo``). Not linked: nothing is sent."""
        if not links.linked(project_key):
            return Changed(links, links, sent=False)
        from ld_insights_mcp.launchdarkly.transport import path_segment

        key = links.repository.key
        path = (
            f"{EI}/repositories/{path_segment(key, name='repositoryKey')}"
            f"/projects/{path_segment(project_key, name='projectKey')}"
        )

        async def read_back() -> tuple[_Landed, RepositoryLinks]:
            found = await self.read_repository_links(key)
            landed = _Landed.NOT_APPLIED if found.linked(project_key) else _Landed.APPLIED
            return landed, found

        changed = await self._settle(
            links,
            lambda: self._send_only("DELETE", path),
            read_back,
            what=f"the unlink of repository {key!r} from project {project_key!r}",
            key=key,
            guard_refusals=_GONE,
            affects=_REPOSITORIES,
        )
        if changed.after is None:
            mappings = tuple(m for m in links.mappings if m != (key, project_key))
            after = RepositoryLinks(links.repository, mappings)
            return Changed(links, after, reconciled=changed.reconciled, already=changed.already)
        return changed

    # --- plumbing -----------------------------------------------------------------------

    async def _find(self, model: type[ModelT], path: str) -> ModelT | None:
        """A fresh read (never a cached answer): None when LaunchDarkly says 404."""
        try:
            with fresh_reads():
                return await self._read(model, path, {})
        except NotFoundError:
            return None

    async def _settle(
        self,
        before: T,
        send: Callable[[], Awaitable[Any]],
        read_back: Callable[[], Awaitable[tuple[_Landed, Any]]],
        *,
        what: str,
        key: str,
        guard_refusals: frozenset[int] = frozenset(),
        affects: frozenset[str] = frozenset(),
    ) -> Changed[T]:
        """Send once; settle any doubt by reading back (see the module docstring).

        ``guard_refusals``: statuses with which the change's guard refuses it (a failed
        ``test``, a 404 for what is already gone); they are read back too, to tell another
        change that got there first, or a concurrent different change, from a refused value.
        After an attempt that may have landed, any error status is read back.
        """
        retry = self._options.retry
        maybe_landed = False
        resent = False

        async def settle(failure: LaunchDarklyError) -> Any:
            """What was read back when it shows the change applied."""
            try:
                landed, found = await read_back()
            except ConcurrentChangeError as concurrent:
                concurrent.maybe_applied = maybe_landed
                raise
            except LaunchDarklyError as lookup_failure:
                if maybe_landed:
                    raise ChangeOutcomeUnknownError(what, key) from lookup_failure
                raise failure from None
            if landed is _Landed.APPLIED:
                return found
            raise _ReadBackNotApplied(failure)

        async def attempt() -> Changed[T]:
            nonlocal maybe_landed, resent
            try:
                answer = await send()
            except LaunchDarklyError as failure:
                if _may_have_landed(failure):
                    maybe_landed = True
                    await self._written(affects)
                    try:
                        return Changed(before, await settle(failure), reconciled=True)
                    except _ReadBackNotApplied:
                        if resent:
                            raise ChangeNotAppliedError(what, failure) from None
                        resent = True
                        raise
                if isinstance(failure, RateLimitedError) or not isinstance(failure, APIStatusError):
                    raise  # refused before acting, or never sent: the policy decides
                if not (maybe_landed or failure.status in guard_refusals):
                    raise
                try:
                    found = await settle(failure)
                except _ReadBackNotApplied:
                    raise failure from None
                # after an attempt that may have landed, it is most likely this change's own
                return Changed(before, found, reconciled=maybe_landed, already=not maybe_landed)
            await self._written(affects)
            return Changed(before, answer)

        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, _ReadBackNotApplied) or retry.write_is_retryable(exc)

        try:
            return await retry.run(attempt, retryable=retryable)
        except _ReadBackNotApplied as exhausted:
            raise ChangeNotAppliedError(what, exhausted.cause) from None


class _Any(BaseModel):
    """An answer whose body is checked for JSON only."""

    model_config = {"extra": "allow"}
