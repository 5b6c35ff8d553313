"""Guarded changes (mixed into ``LaunchDarklyClient``): insight-group update and delete,
deployment update, repository links. Each starts from values the caller read:

- a PATCH carries ``test`` operations on the values read (a concurrent change makes it fail:
  ``ConcurrentChangeError``);
- a write that may have reached LaunchDarkly before failing is read back, never resent blindly:
  applied means done (``reconciled``), unchanged means one more send, else a concurrent change;
- a write its guard refused (failed ``test``, 404 on a delete) is read back too: already as
  asked means another change got there first (``already``);
- read-back shows nothing changed: ``ChangeNotAppliedError``; read-back fails:
  ``ChangeOutcomeUnknownError``.

Linking PUTs every mapping read just before it plus the new one (add or replace-all is
undocumented), never from an incomplete list, then reads back (``LinkOutcome.missing``); a
mapping added between that read and the PUT is not in it (the API has no conditional PUT).
Reads a change decides on bypass the cache; a write drops the cached reads it makes stale.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Generic, TypeVar

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

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

if TYPE_CHECKING:
    from ld_insights_mcp.launchdarkly.evidence_models import (
        Deployment,
        InsightsRepository,
    )
    from ld_insights_mcp.launchdarkly.models import InsightGroup
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


@dataclass(frozen=True, slots=True)
class Changed(Generic[T]):
    """A change's outcome (``after`` None: deleted). ``sent``: something needed sending;
    ``reconciled``: confirmed by reading back after a lost answer; ``already``: another change
    set the values asked after they were read, so this one changed nothing."""

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
    """What linking did: ``before`` read just before the PUT (``sent`` False: already linked),
    ``after`` read back after it (None: that failed); ``reconciled``: the PUT's answer was lost
    and a read showed the link."""

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
    """The values the change was built on changed; nothing was applied. ``current``: read back."""

    maybe_applied: bool = False  # an earlier attempt may have landed before the other change

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

    template = (
        "{what} may or may not have happened: LaunchDarkly failed after it may have received "
        "it, and reading it back failed"
    )


class UnknownRepositoryError(LaunchDarklyError):
    """No repository with this key is connected; ``known`` lists the keys that are."""

    def __init__(self, key: str, known: Sequence[str]) -> None:
        super().__init__(f"no repository with key {key!r} is connected to Engineering Insights")
        self.key = key
        self.known = tuple(known)


class IncompleteLinksError(LaunchDarklyError):
    """The repositories answer lacks mappings (a PUT from it could remove them): of the list
    (``repository`` None) or of one repository's projects (``counted`` None: not given)."""

    def __init__(self, *, repository: str | None, counted: int | None, listed: int) -> None:
        super().__init__("LaunchDarkly's list of repositories and their projects is incomplete")
        self.repository = repository
        self.counted = counted
        self.listed = listed


class _Because(Exception):
    def __init__(self, cause: LaunchDarklyError) -> None:
        super().__init__(str(cause))
        self.cause = cause


class _NotSent(_Because):
    """The read before a write failed: nothing of this attempt was sent."""


class _ReadBackNotApplied(_Because):
    """Read back after an ambiguous failure: not applied, so send once more."""


_AMBIGUOUS = (APIConnectionError, ServerError, UnexpectedResponseError)


def _segment(value: str, name: str) -> str:
    from ld_insights_mcp.launchdarkly.transport import path_segment  # httpx: not at start-up

    return path_segment(value, name=name)


def _same(read: Any, wanted: Any) -> bool:
    """Equal values; lists (application keys) as sets."""
    return set(read) == set(wanted) if isinstance(read, list) else bool(read == wanted)


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
        self, model: type[ModelT], method: str, path: str, *, json_body: Any = None
    ) -> ModelT:  # pragma: no cover - provided by LaunchDarklyClient
        raise NotImplementedError

    async def _send_only(self, method: str, path: str) -> None:
        await self._exchange.send(method, path)

    async def _written(self, affected: frozenset[str]) -> None:
        """Drop the cached reads a write that may have landed feeds into (beyond its parent)."""
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
        """Rename and/or re-scope ``group`` (as read)."""
        apps = None if application_keys is None else list(dict.fromkeys(application_keys))
        return await self._patch_checked(
            group,
            f"{GROUPS}/{_segment(group.key, 'insightGroupKey')}",
            {"name": name, "application_keys": apps},
            label=f"insight group {group.key!r}",
            key=group.key,
        )

    async def delete_insight_group_checked(self, group: InsightGroup) -> Changed[InsightGroup]:
        """Delete ``group`` (as read); a 404 after an attempt that may have landed means deleted."""
        path = f"{GROUPS}/{_segment(group.key, 'insightGroupKey')}"

        async def read_back() -> tuple[bool, InsightGroup | None]:
            found = await self._find(type(group), path)
            return found is None, found

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
        """Set ``status`` and/or ``archived`` (the fields LaunchDarkly lets one patch)."""
        return await self._patch_checked(
            deployment,
            f"{EI}/deployments/{_segment(deployment.id, 'deploymentID')}",
            {"status": status, "archived": archived},
            label=f"deployment {deployment.id!r}",
            key=deployment.id,
            affects=_SCORED,
        )

    # --- repositories -------------------------------------------------------------------

    async def read_repository_links(self, repository_key: str) -> RepositoryLinks:
        """The repository and every mapping, read fresh (the API has no paging for them)."""
        # imported here: start-up loads no wire model (tests/test_startup_imports.py)
        from ld_insights_mcp.launchdarkly.evidence_models import InsightsRepositoryCollection

        with fresh_reads():
            found = await self._read(
                InsightsRepositoryCollection, f"{EI}/repositories", {"expand": "projects"}
            )
        if found.total_count > len(found.items):
            raise IncompleteLinksError(
                repository=None, counted=found.total_count, listed=len(found.items)
            )
        for repo in found.items:
            counted = None if repo.projects is None else repo.projects.total_count
            listed = 0 if repo.projects is None else len(repo.projects.items)
            if counted is None or counted > listed:
                raise IncompleteLinksError(repository=repo.key, counted=counted, listed=listed)
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
        """Link the repository to a project, keeping every mapping read just before each PUT."""
        key = repository_key
        last_read: list[RepositoryLinks] = []
        sent_from: list[RepositoryLinks] = []  # the reads each PUT sent was built from

        async def put() -> bool:
            """False when the link was there already (nothing sent)."""
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

        async def read_back() -> tuple[bool, RepositoryLinks]:
            found = await self.read_repository_links(key)
            return found.linked(project_key), found

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
        """Remove one mapping (``owner/repo`` sent as one segment). Not linked: nothing is sent."""
        if not links.linked(project_key):
            return Changed(links, links, sent=False)
        key = links.repository.key
        path = (
            f"{EI}/repositories/{_segment(key, 'repositoryKey')}"
            f"/projects/{_segment(project_key, 'projectKey')}"
        )

        async def read_back() -> tuple[bool, RepositoryLinks]:
            found = await self.read_repository_links(key)
            return not found.linked(project_key), found

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

    async def _patch_checked(
        self,
        before: ModelT,
        path: str,
        asked: dict[str, Any],
        *,
        label: str,
        key: str,
        affects: frozenset[str] = frozenset(),
    ) -> Changed[ModelT]:
        """PATCH the ``asked`` attributes (None: keep), guarded by ``test`` operations on every
        value read. Already as asked: nothing is sent."""
        read = {name: getattr(before, name) for name in asked}
        wanted = {name: read[name] if value is None else value for name, value in asked.items()}
        changed = [name for name in asked if not _same(read[name], wanted[name])]
        if not changed:
            return Changed(before, before, sent=False)
        body = [{"op": "test", "path": f"/{to_camel(n)}", "value": read[n]} for n in read]
        body += [{"op": "replace", "path": f"/{to_camel(n)}", "value": wanted[n]} for n in changed]
        model = type(before)

        def holds(found: ModelT, values: dict[str, Any]) -> bool:
            return all(_same(getattr(found, name), v) for name, v in values.items())

        async def read_back() -> tuple[bool, ModelT]:
            found = await self._find(model, path)
            if found is not None and holds(found, wanted):
                return True, found
            if found is not None and holds(found, read):
                return False, found
            raise ConcurrentChangeError(label, found)

        return await self._settle(
            before,
            lambda: self._send_for(model, "PATCH", path, json_body=body),
            read_back,
            what=f"the update of {label}",
            key=key,
            guard_refusals=_PATCH_REFUSALS,
            affects=affects,
        )

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
        read_back: Callable[[], Awaitable[tuple[bool, Any]]],
        *,
        what: str,
        key: str,
        guard_refusals: frozenset[int] = frozenset(),
        affects: frozenset[str] = frozenset(),
    ) -> Changed[T]:
        """Send once; settle any doubt by ``read_back()`` -> (applied, found) (see the module
        docstring). Answers in ``guard_refusals``, and any error status after an attempt that
        may have landed, are read back too."""
        retry = self._options.retry
        maybe_landed = False
        resent = False

        async def settle(failure: LaunchDarklyError) -> Any:
            try:
                applied, found = await read_back()
            except ConcurrentChangeError as concurrent:
                concurrent.maybe_applied = maybe_landed
                raise
            except LaunchDarklyError as lookup_failure:
                if maybe_landed:
                    raise ChangeOutcomeUnknownError(what, key) from lookup_failure
                raise failure from None
            if applied:
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
    model_config = {"extra": "allow"}  # an answer checked for JSON only
