"""The Engineering Insights evidence reads (beta), mixed into ``LaunchDarklyClient``.

Windows are Unix ms here, sent as RFC 3339 where the contract types them ``date-time``. A
cursor list's ``_links.next`` drops every filter: the next page re-sends them with its ``after``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Literal, TypedDict, TypeVar, Unpack, cast

from pydantic import BaseModel
from pydantic.alias_generators import to_camel

from ld_insights_mcp.launchdarkly.evidence_models import (
    Deployment,
    DeploymentCollection,
    FlagEvent,
    FlagEventCollection,
    InsightsChart,
    InsightsRepositoryCollection,
    PullRequestCollection,
    next_cursor,
)
from ld_insights_mcp.launchdarkly.models import Links
from ld_insights_mcp.launchdarkly.transport import path_segment

ModelT = TypeVar("ModelT", bound=BaseModel)
ItemT = TypeVar("ItemT")
Params = dict[str, str | int | None]

EI = "/api/v2/engineering-insights"
MAX_CURSOR_LIMIT = 100

GlobalEvents = Literal["include", "exclude"]
DeploymentExpand = Literal["pullRequests", "flagReferences"]


def rfc3339(ms: int) -> str:
    """Unix milliseconds as an RFC 3339 UTC date-time, millisecond precision."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def comma_list(values: Sequence[str]) -> str | None:
    return ",".join(dict.fromkeys(values)) or None


class _Window(TypedDict, total=False):
    from_ms: int | None
    to_ms: int | None


class _Buckets(_Window, total=False):
    bucket_type: Literal["rolling", "hour", "day"] | None
    bucket_ms: int | None


class _Page(TypedDict, total=False):
    limit: int | None
    after: str | None
    before: str | None


class DeploymentChartOptions(_Buckets, total=False):
    group_by: Literal["application", "kind"] | None
    metrics: bool


class LeadTimeChartOptions(_Buckets, total=False):
    group_by: Literal["application", "stage"] | None
    expand: Sequence[Literal["metrics", "percentiles"]]


class ReleaseChartOptions(_Buckets, total=False):
    group_by: Literal["impact"] | None
    has_experiments: bool | None
    global_events: GlobalEvents | None
    metrics: bool


class StaleFlagsChartOptions(TypedDict, total=False):
    group_by: Literal["maintainer"] | None
    maintainer_ids: Sequence[str]
    maintainer_team_keys: Sequence[str]
    metrics: bool


class DeploymentFilters(_Window, _Page, total=False):
    kind: str | None
    status: str | None
    expand: Sequence[DeploymentExpand]


class PullRequestFilters(_Window, _Page, total=False):
    status: Literal["open", "merged", "closed", "deployed"] | None
    query: str | None
    sort: Literal["leadTime", "-leadTime"] | None
    expand: Sequence[Literal["deployments", "flagReferences", "leadTime"]]


class FlagEventFilters(_Window, total=False):
    query: str | None
    impact_size: Literal["none", "small", "medium", "large"] | None
    has_experiments: bool | None
    global_events: GlobalEvents | None


class FlagEventOptions(FlagEventFilters, _Page, total=False):
    experiments: bool


_WIRE_NAMES = {
    "from_ms": "from",
    "to_ms": "to",
    "global_events": "global",
    "maintainer_ids": "maintainerId",
    "maintainer_team_keys": "maintainerTeamKey",
}
_EXPAND_FLAGS = frozenset({"metrics", "experiments", "projects"})
"""Options that, when true, send their own name as ``expand``."""


def _params(
    project_key: str | None,
    environment_key: str | None,
    application_keys: Sequence[str],
    options: Mapping[str, object],
    *,
    date_time: bool = False,
) -> Params:
    """The slice every evidence read shares, then ``options`` as query parameters (windows as
    RFC 3339 when ``date_time``, else ms; booleans as text; lists comma-separated)."""
    params: Params = {
        "projectKey": project_key,
        "environmentKey": environment_key,
        "applicationKey": comma_list(application_keys),
    }
    for name, value in options.items():
        if name in _EXPAND_FLAGS:
            params["expand"] = name if value else None
        elif isinstance(value, int) and name in ("from_ms", "to_ms") and date_time:
            params[_WIRE_NAMES[name]] = rfc3339(value)
        elif isinstance(value, bool):
            params[to_camel(name)] = "true" if value else "false"
        elif value is None or isinstance(value, str | int):
            params[_WIRE_NAMES.get(name, to_camel(name))] = value
        else:
            params[_WIRE_NAMES.get(name, to_camel(name))] = comma_list(cast(Sequence[str], value))
    return params


class EvidenceOperations:
    """Charts, deployments, pull requests, flag events, repositories (mixed into the client)."""

    async def _read(
        self, model: type[ModelT], path: str, params: Mapping[str, str | int | None]
    ) -> ModelT:  # pragma: no cover - provided by LaunchDarklyClient
        raise NotImplementedError

    async def get_deployment_frequency_chart(
        self,
        project_key: str | None = None,
        environment_key: str | None = None,
        application_keys: Sequence[str] = (),
        **options: Unpack[DeploymentChartOptions],
    ) -> InsightsChart:
        """Deployments per bucket."""
        params = _params(project_key, environment_key, application_keys, options, date_time=True)
        return await self._read(InsightsChart, f"{EI}/charts/deployments/frequency", params)

    async def get_lead_time_chart(
        self,
        project_key: str,
        environment_key: str | None = None,
        application_keys: Sequence[str] = (),
        **options: Unpack[LeadTimeChartOptions],
    ) -> InsightsChart:
        """Lead time per bucket, by stage (default) or application."""
        params = _params(project_key, environment_key, application_keys, options)
        return await self._read(InsightsChart, f"{EI}/charts/lead-time", params)

    async def get_release_frequency_chart(
        self,
        project_key: str,
        environment_key: str,
        application_keys: Sequence[str] = (),
        **options: Unpack[ReleaseChartOptions],
    ) -> InsightsChart:
        """Flag changes per bucket."""
        params = _params(project_key, environment_key, application_keys, options, date_time=True)
        return await self._read(InsightsChart, f"{EI}/charts/releases/frequency", params)

    async def get_flag_status_chart(
        self, project_key: str, environment_key: str, application_keys: Sequence[str] = ()
    ) -> InsightsChart:
        """Flags by status now (a snapshot: no time window)."""
        params = _params(project_key, environment_key, application_keys, {})
        return await self._read(InsightsChart, f"{EI}/charts/flags/status", params)

    async def get_stale_flags_chart(
        self,
        project_key: str,
        environment_key: str,
        application_keys: Sequence[str] = (),
        **options: Unpack[StaleFlagsChartOptions],
    ) -> InsightsChart:
        """Stale flags now (a snapshot: no time window), optionally by maintainer."""
        params = _params(project_key, environment_key, application_keys, options)
        return await self._read(InsightsChart, f"{EI}/charts/flags/stale", params)

    async def get_deployments(
        self,
        project_key: str,
        environment_key: str,
        application_keys: Sequence[str] = (),
        **filters: Unpack[DeploymentFilters],
    ) -> DeploymentCollection:
        """One page of deployments, newest first (``limit`` 1-100)."""
        params = _params(project_key, environment_key, application_keys, filters)
        return await self._read(DeploymentCollection, f"{EI}/deployments", params)

    async def get_deployment(
        self, deployment_id: str, *, expand: Sequence[DeploymentExpand] = ()
    ) -> Deployment:
        path = f"{EI}/deployments/{path_segment(deployment_id, name='deploymentID')}"
        return await self._read(Deployment, path, {"expand": comma_list(expand)})

    async def get_pull_requests(
        self,
        project_key: str,
        environment_key: str | None = None,
        application_keys: Sequence[str] = (),
        **filters: Unpack[PullRequestFilters],
    ) -> PullRequestCollection:
        """One page of pull requests (``sort`` needs ``environment_key``)."""
        params = _params(project_key, environment_key, application_keys, filters, date_time=True)
        return await self._read(PullRequestCollection, f"{EI}/pull-requests", params)

    async def get_flag_events(
        self,
        project_key: str,
        environment_key: str,
        application_keys: Sequence[str] = (),
        **options: Unpack[FlagEventOptions],
    ) -> FlagEventCollection:
        """One page of flag events, newest first (``query`` filters by flag key)."""
        params = _params(project_key, environment_key, application_keys, options)
        return await self._read(FlagEventCollection, f"{EI}/flag-events", params)

    def iter_flag_events(
        self,
        project_key: str,
        environment_key: str,
        application_keys: Sequence[str] = (),
        *,
        page_size: int = MAX_CURSOR_LIMIT,
        max_items: int | None = None,
        **filters: Unpack[FlagEventFilters],
    ) -> AsyncIterator[FlagEvent]:
        """Every matching flag event, page by page with the filters re-sent."""

        async def page(limit: int, after: str | None) -> tuple[list[FlagEvent], Links]:
            found = await self.get_flag_events(
                project_key, environment_key, application_keys, **filters, limit=limit, after=after
            )
            return found.items, found.links

        return iterate_cursor_pages(page, page_size=page_size, max_items=max_items)

    async def get_insights_repositories(
        self, *, projects: bool = False
    ) -> InsightsRepositoryCollection:
        """Every repository connected to Engineering Insights (no paging)."""
        params: Params = {"expand": "projects" if projects else None}
        return await self._read(InsightsRepositoryCollection, f"{EI}/repositories", params)


CursorFetcher = Callable[[int, str | None], Awaitable[tuple[list[ItemT], Links]]]


async def iterate_cursor_pages(
    fetch: CursorFetcher[ItemT], *, page_size: int, max_items: int | None = None
) -> AsyncIterator[ItemT]:
    """Yield items page by page (``fetch(limit, after)``, filters bound) until the list, a
    repeated cursor or ``max_items`` ends it."""
    if not 1 <= page_size <= MAX_CURSOR_LIMIT:
        raise ValueError(f"page_size must be 1-{MAX_CURSOR_LIMIT}")
    yielded = 0
    after: str | None = None
    seen: set[str] = set()
    while max_items is None or yielded < max_items:
        limit = page_size if max_items is None else min(page_size, max_items - yielded)
        items, links = await fetch(limit, after)
        for item in items:
            yield item
            yielded += 1
            if max_items is not None and yielded >= max_items:
                return
        after = next_cursor(links)
        if not items or after is None or after in seen:
            return
        seen.add(after)
