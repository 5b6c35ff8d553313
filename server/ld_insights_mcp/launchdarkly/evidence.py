"""The Engineering Insights evidence reads (beta), mixed into ``LaunchDarklyClient``.

Windows are Unix ms here, sent as RFC 3339 where the contract types them ``date-time``. A
cursor list's ``_links.next`` drops every filter: the next page re-sends them with its ``after``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Literal, TypeVar

from pydantic import BaseModel

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

BucketType = Literal["rolling", "hour", "day"]
DeploymentGroupBy = Literal["application", "kind"]
LeadTimeGroupBy = Literal["application", "stage"]
LeadTimeExpand = Literal["metrics", "percentiles"]
GlobalEvents = Literal["include", "exclude"]
ImpactSize = Literal["none", "small", "medium", "large"]
PullRequestStatus = Literal["open", "merged", "closed", "deployed"]
PullRequestSort = Literal["leadTime", "-leadTime"]
PullRequestExpand = Literal["deployments", "flagReferences", "leadTime"]
DeploymentExpand = Literal["pullRequests", "flagReferences"]


def rfc3339(ms: int) -> str:
    """Unix milliseconds as an RFC 3339 UTC date-time, millisecond precision."""
    moment = datetime.fromtimestamp(ms / 1000, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def comma_list(values: Sequence[str]) -> str | None:
    return ",".join(dict.fromkeys(values)) or None


def _flag(value: bool | None) -> str | None:
    return None if value is None else ("true" if value else "false")


def _slice(
    project_key: str | None,
    environment_key: str | None,
    application_keys: Sequence[str],
    from_ms: int | None = None,
    to_ms: int | None = None,
    *,
    date_time: bool = False,
) -> Params:
    """The slice and window every evidence read shares (``date_time``: RFC 3339, else ms)."""
    window = [rfc3339(ms) if date_time and ms is not None else ms for ms in (from_ms, to_ms)]
    return {
        "projectKey": project_key,
        "environmentKey": environment_key,
        "applicationKey": comma_list(application_keys),
        "from": window[0],
        "to": window[1],
    }


def _cursor(limit: int | None, after: str | None, before: str | None) -> Params:
    return {"limit": limit, "after": after, "before": before}


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
        *,
        from_ms: int | None = None,
        to_ms: int | None = None,
        bucket_type: BucketType | None = None,
        bucket_ms: int | None = None,
        group_by: DeploymentGroupBy | None = None,
        metrics: bool = False,
    ) -> InsightsChart:
        """Deployments per bucket."""
        params = _slice(
            project_key, environment_key, application_keys, from_ms, to_ms, date_time=True
        )
        params |= {"bucketType": bucket_type, "bucketMs": bucket_ms, "groupBy": group_by}
        params["expand"] = "metrics" if metrics else None
        return await self._read(InsightsChart, f"{EI}/charts/deployments/frequency", params)

    async def get_lead_time_chart(
        self,
        project_key: str,
        environment_key: str | None = None,
        application_keys: Sequence[str] = (),
        *,
        from_ms: int | None = None,
        to_ms: int | None = None,
        bucket_type: BucketType | None = None,
        bucket_ms: int | None = None,
        group_by: LeadTimeGroupBy | None = None,
        expand: Sequence[LeadTimeExpand] = (),
    ) -> InsightsChart:
        """Lead time per bucket, by stage (default) or application."""
        params = _slice(project_key, environment_key, application_keys, from_ms, to_ms)
        params |= {"bucketType": bucket_type, "bucketMs": bucket_ms, "groupBy": group_by}
        params["expand"] = comma_list(expand)
        return await self._read(InsightsChart, f"{EI}/charts/lead-time", params)

    async def get_release_frequency_chart(
        self,
        project_key: str,
        environment_key: str,
        application_keys: Sequence[str] = (),
        *,
        from_ms: int | None = None,
        to_ms: int | None = None,
        bucket_type: BucketType | None = None,
        bucket_ms: int | None = None,
        group_by: Literal["impact"] | None = None,
        has_experiments: bool | None = None,
        global_events: GlobalEvents | None = None,
        metrics: bool = False,
    ) -> InsightsChart:
        """Flag changes per bucket."""
        params = _slice(
            project_key, environment_key, application_keys, from_ms, to_ms, date_time=True
        )
        params |= {"bucketType": bucket_type, "bucketMs": bucket_ms, "groupBy": group_by}
        params |= {"hasExperiments": _flag(has_experiments), "global": global_events}
        params["expand"] = "metrics" if metrics else None
        return await self._read(InsightsChart, f"{EI}/charts/releases/frequency", params)

    async def get_flag_status_chart(
        self, project_key: str, environment_key: str, application_keys: Sequence[str] = ()
    ) -> InsightsChart:
        """Flags by status now (a snapshot: no time window)."""
        params = _slice(project_key, environment_key, application_keys)
        return await self._read(InsightsChart, f"{EI}/charts/flags/status", params)

    async def get_stale_flags_chart(
        self,
        project_key: str,
        environment_key: str,
        application_keys: Sequence[str] = (),
        *,
        group_by: Literal["maintainer"] | None = None,
        maintainer_ids: Sequence[str] = (),
        maintainer_team_keys: Sequence[str] = (),
        metrics: bool = False,
    ) -> InsightsChart:
        """Stale flags now (a snapshot: no time window), optionally by maintainer."""
        params = _slice(project_key, environment_key, application_keys)
        params |= {
            "groupBy": group_by,
            "maintainerId": comma_list(maintainer_ids),
            "maintainerTeamKey": comma_list(maintainer_team_keys),
            "expand": "metrics" if metrics else None,
        }
        return await self._read(InsightsChart, f"{EI}/charts/flags/stale", params)

    async def get_deployments(
        self,
        project_key: str,
        environment_key: str,
        application_keys: Sequence[str] = (),
        *,
        from_ms: int | None = None,
        to_ms: int | None = None,
        kind: str | None = None,
        status: str | None = None,
        expand: Sequence[DeploymentExpand] = (),
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> DeploymentCollection:
        """One page of deployments, newest first (``limit`` 1-100)."""
        params = _slice(project_key, environment_key, application_keys, from_ms, to_ms)
        params |= {"kind": kind, "status": status, "expand": comma_list(expand)}
        params |= _cursor(limit, after, before)
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
        *,
        from_ms: int | None = None,
        to_ms: int | None = None,
        status: PullRequestStatus | None = None,
        query: str | None = None,
        sort: PullRequestSort | None = None,
        expand: Sequence[PullRequestExpand] = (),
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> PullRequestCollection:
        """One page of pull requests (``sort`` needs ``environment_key``)."""
        params = _slice(
            project_key, environment_key, application_keys, from_ms, to_ms, date_time=True
        )
        params |= {"status": status, "query": query, "sort": sort, "expand": comma_list(expand)}
        params |= _cursor(limit, after, before)
        return await self._read(PullRequestCollection, f"{EI}/pull-requests", params)

    async def get_flag_events(
        self,
        project_key: str,
        environment_key: str,
        application_keys: Sequence[str] = (),
        *,
        from_ms: int | None = None,
        to_ms: int | None = None,
        query: str | None = None,
        impact_size: ImpactSize | None = None,
        has_experiments: bool | None = None,
        global_events: GlobalEvents | None = None,
        experiments: bool = False,
        limit: int | None = None,
        after: str | None = None,
        before: str | None = None,
    ) -> FlagEventCollection:
        """One page of flag events, newest first (``query`` filters by flag key)."""
        params = _slice(project_key, environment_key, application_keys, from_ms, to_ms)
        params |= {
            "query": query,
            "impactSize": impact_size,
            "hasExperiments": _flag(has_experiments),
            "global": global_events,
            "expand": "experiments" if experiments else None,
        }
        params |= _cursor(limit, after, before)
        return await self._read(FlagEventCollection, f"{EI}/flag-events", params)

    def iter_flag_events(
        self,
        project_key: str,
        environment_key: str,
        application_keys: Sequence[str] = (),
        *,
        from_ms: int | None = None,
        to_ms: int | None = None,
        query: str | None = None,
        impact_size: ImpactSize | None = None,
        has_experiments: bool | None = None,
        global_events: GlobalEvents | None = None,
        page_size: int = MAX_CURSOR_LIMIT,
        max_items: int | None = None,
    ) -> AsyncIterator[FlagEvent]:
        """Every matching flag event, page by page with the filters re-sent."""

        async def page(limit: int, after: str | None) -> tuple[list[FlagEvent], Links]:
            found = await self.get_flag_events(
                project_key,
                environment_key,
                application_keys,
                from_ms=from_ms,
                to_ms=to_ms,
                query=query,
                impact_size=impact_size,
                has_experiments=has_experiments,
                global_events=global_events,
                limit=limit,
                after=after,
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
