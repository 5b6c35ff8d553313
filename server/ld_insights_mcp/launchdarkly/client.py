"""Async client for LaunchDarkly's Engineering Insights and metric-group API (beta): one
``httpx.AsyncClient`` per process (``transport=``: the emulator or a test server)."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import nullcontext
from dataclasses import dataclass
from types import TracebackType
from typing import Any, Generic, Self, TypeVar

import httpx
from pydantic import BaseModel, SecretStr, ValidationError

from ld_insights_mcp import __version__
from ld_insights_mcp.launchdarkly.cache import ReadCache, fresh_reads, token_identity
from ld_insights_mcp.launchdarkly.changes import ChangeOperations
from ld_insights_mcp.launchdarkly.create_ledger import CreateLedger
from ld_insights_mcp.launchdarkly.errors import (
    APIConnectionError,
    APIStatusError,
    ConflictError,
    KeyTakenError,
    LaunchDarklyError,
    NotFoundError,
    OutcomeUnknownError,
    ServerError,
    UnexpectedResponseError,
)
from ld_insights_mcp.launchdarkly.evidence import EvidenceOperations, comma_list
from ld_insights_mcp.launchdarkly.models import (
    InsightGroup,
    InsightGroupCollection,
    InsightGroupExpand,
    InsightScores,
    MetricGroup,
    MetricGroupCollection,
    MetricGroupExpand,
    NewInsightGroup,
    PatchOperation,
)
from ld_insights_mcp.launchdarkly.network import route_for
from ld_insights_mcp.launchdarkly.options import ClientOptions
from ld_insights_mcp.launchdarkly.pagination import iterate_offset_pages
from ld_insights_mcp.launchdarkly.transport import (
    READ_METHODS,
    Exchange,
    ExchangeHooks,
    RawTokenAuth,
    Response,
    path_segment,
)

ModelT = TypeVar("ModelT", bound=BaseModel)

INSIGHTS = "/api/v2/engineering-insights/insights"
USER_AGENT = f"ld-insights-mcp/{__version__}"


def pool_limits(options: ClientOptions) -> httpx.Limits:
    """Unbounded: the exchange's semaphore is the one concurrency bound."""
    return httpx.Limits(max_connections=None, max_keepalive_connections=options.max_concurrency)


def http_client(
    base_url: str,
    options: ClientOptions,
    transport: httpx.AsyncBaseTransport | None = None,
    *,
    auth: httpx.Auth | None = None,
) -> httpx.AsyncClient:
    """The ``httpx.AsyncClient`` a client sends through: on ``transport``, else the route to
    ``base_url``. Redirects are not followed (the token stays with the base URI)."""
    limits = pool_limits(options)
    if transport is None:
        route = route_for(base_url, proxy=options.proxy, ca_bundle=options.ca_bundle)
        transport = route.transport(limits)
    return httpx.AsyncClient(
        base_url=base_url,
        auth=auth,
        headers={"User-Agent": USER_AGENT, "Accept": "application/json"},
        timeout=httpx.Timeout(options.read_timeout, connect=options.connect_timeout),
        limits=limits,
        transport=transport,
        follow_redirects=False,
        trust_env=False,
    )


@dataclass(frozen=True, slots=True)
class Created(Generic[ModelT]):
    """A created resource; ``reconciled``: confirmed by reading it back after an ambiguous
    failure, not by the create's own answer."""

    resource: ModelT
    reconciled: bool = False


class _ReconciledAbsent(Exception):
    """An ambiguous create was read back and found absent: send it once more."""


_AMBIGUOUS = (APIConnectionError, ServerError, UnexpectedResponseError)
"""Failures of a create after which it may or may not have happened (if it was sent)."""


class LaunchDarklyClient(EvidenceOperations, ChangeOperations):
    """Typed access to insight groups, scores, metric groups, their evidence and changes."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        options: ClientOptions | None = None,
        *,
        cache: ReadCache | None = None,
        identity: str = "",
        hooks: ExchangeHooks | None = None,
    ) -> None:
        self._http = http
        self._options = options or ClientOptions()
        self._cache = cache if cache is not None else ReadCache.off()
        self._identity = identity
        self._exchange = _WriteAwareExchange(
            http,
            cache=self._cache,
            max_response_bytes=self._options.max_response_bytes,
            max_concurrency=self._options.max_concurrency,
        )
        self._exchange.hooks = hooks
        self._exchange.identity = identity
        self._creates = CreateLedger()

    @classmethod
    def create(
        cls,
        *,
        base_url: str,
        token: SecretStr,
        options: ClientOptions | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        cache: ReadCache | None = None,
        hooks: ExchangeHooks | None = None,
    ) -> LaunchDarklyClient:
        """A client with its own ``httpx.AsyncClient`` (see ``http_client``)."""
        opts = options or ClientOptions()
        http = http_client(base_url, opts, transport, auth=RawTokenAuth(token))
        identity = token_identity(token, str(http.base_url))
        return cls(http, opts, cache=cache, identity=identity, hooks=hooks)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> Self:
        return self

    async def __aexit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.aclose()

    def __repr__(self) -> str:
        return f"LaunchDarklyClient(base_url={str(self._http.base_url)!r})"

    # --- insight groups -----------------------------------------------------------------

    async def list_insight_groups(
        self,
        *,
        limit: int | None = None,
        offset: int | None = None,
        sort: str | None = None,
        query: str | None = None,
        expand: Sequence[InsightGroupExpand] = (),
    ) -> InsightGroupCollection:
        """One page of insight groups (``limit`` 1-20, default 20)."""
        params = {"limit": limit, "offset": offset, "sort": sort, "query": query}
        params["expand"] = comma_list(expand)
        return await self._read(InsightGroupCollection, f"{INSIGHTS}/groups", params)

    def iter_insight_groups(
        self,
        *,
        page_size: int = 20,
        max_items: int | None = None,
        sort: str | None = None,
        query: str | None = None,
        expand: Sequence[InsightGroupExpand] = (),
    ) -> AsyncIterator[InsightGroup]:
        """Every insight group, page by page, up to ``max_items``."""

        async def page(offset: int, limit: int) -> tuple[list[InsightGroup], int | None]:
            found = await self.list_insight_groups(
                limit=limit, offset=offset, sort=sort, query=query, expand=expand
            )
            return found.items, found.total_count

        return iterate_offset_pages(page, page_size=page_size, max_items=max_items)

    async def get_insight_group(
        self, key: str, *, expand: Sequence[InsightGroupExpand] = ()
    ) -> InsightGroup:
        return await self._read(InsightGroup, _group_path(key), {"expand": comma_list(expand)})

    async def find_insight_group(self, key: str) -> InsightGroup | None:
        """The group with this key, or None when LaunchDarkly says it does not exist."""
        try:
            return await self.get_insight_group(key)
        except NotFoundError:
            return None

    async def create_insight_group(self, group: NewInsightGroup) -> Created[InsightGroup]:
        """Create a group exactly once (the API has no idempotency key), one create per key at
        a time. A key already taken: ``KeyTakenError``, nothing sent. The POST is retried only
        where it cannot have arrived; after a failure once sent the key is read back: a group
        matching the request is this call's, a different one ``KeyTakenError``, none one more
        POST. A 409 is ``ConflictError`` unless an earlier POST of this call matches."""
        async with self._creates.exclusive(group.key):
            sent_earlier = self._creates.sent_recently(group.key)
            with fresh_reads():  # a cached answer may predate a delete made elsewhere
                before = await self.find_insight_group(group.key)
            if before is not None:
                raise KeyTakenError(
                    key=group.key,
                    existing=before,
                    sent_earlier=sent_earlier,
                    method="GET",
                    path=_group_path(group.key),
                    how="found before sending the create; nothing was sent",
                )
            return await self._post_new_group(group, sent_earlier=sent_earlier)

    def create_sent_recently(self, key: str) -> bool:
        """Whether this client sent a create of insight group ``key`` in the last minutes."""
        return self._creates.sent_recently(key)

    async def patch_insight_group(self, key: str, patch: Sequence[PatchOperation]) -> InsightGroup:
        """Apply a JSON Patch to a group (``/name``, ``/applicationKeys``)."""
        body = [op.to_wire() for op in patch]
        return await self._options.retry.run(
            lambda: self._send_for(InsightGroup, "PATCH", _group_path(key), json_body=body),
            retryable=self._options.retry.write_is_retryable,
        )

    async def delete_insight_group(self, key: str) -> None:
        path = _group_path(key)
        await self._options.retry.run(
            lambda: self._exchange.send("DELETE", path),
            retryable=self._options.retry.write_is_retryable,
        )

    # --- insight scores -----------------------------------------------------------------

    async def get_insight_scores(
        self,
        project_key: str,
        environment_key: str,
        application_keys: Sequence[str] = (),
    ) -> InsightScores:
        """Scores for a project and environment, optionally narrowed to applications."""
        params: dict[str, str | int | None] = {
            "projectKey": project_key,
            "environmentKey": environment_key,
            "applicationKey": ",".join(application_keys) or None,
        }
        return await self._read(InsightScores, f"{INSIGHTS}/scores", params)

    # --- metric groups ------------------------------------------------------------------

    async def list_metric_groups(
        self,
        project_key: str,
        *,
        limit: int | None = None,
        offset: int | None = None,
        filter: str | None = None,
        sort: str | None = None,
    ) -> MetricGroupCollection:
        """One page of a project's metric groups (``limit`` up to 50, default 20)."""
        params = {"limit": limit, "offset": offset, "filter": filter, "sort": sort}
        return await self._read(MetricGroupCollection, _metric_groups_path(project_key), params)

    def iter_metric_groups(
        self,
        project_key: str,
        *,
        page_size: int = 50,
        max_items: int | None = None,
        filter: str | None = None,
        sort: str | None = None,
    ) -> AsyncIterator[MetricGroup]:
        """Every metric group of a project, page by page, up to ``max_items``."""

        async def page(offset: int, limit: int) -> tuple[list[MetricGroup], int | None]:
            found = await self.list_metric_groups(
                project_key, limit=limit, offset=offset, filter=filter, sort=sort
            )
            return found.items, found.total_count

        return iterate_offset_pages(page, page_size=page_size, max_items=max_items)

    async def get_metric_group(
        self, project_key: str, key: str, *, expand: Sequence[MetricGroupExpand] = ()
    ) -> MetricGroup:
        path = f"{_metric_groups_path(project_key)}/{path_segment(key, name='metricGroupKey')}"
        return await self._read(MetricGroup, path, {"expand": comma_list(expand)})

    # --- plumbing -----------------------------------------------------------------------

    async def _read(
        self, model: type[ModelT], path: str, params: Mapping[str, str | int | None]
    ) -> ModelT:
        clean = {k: v for k, v in params.items() if v is not None}
        retry = self._options.retry

        async def get() -> tuple[ModelT, bytes]:  # the parsed answer and the body cached
            response = await self._exchange.send("GET", path, params=clean)
            return _parse(model, response, method="GET", path=path), response.body

        async def fetch() -> tuple[ModelT, bytes]:
            return await retry.run(get, retryable=retry.read_is_retryable)

        # a stored body parsed as ``model`` once, so it is decoded the same way again
        return await self._cache.read(self._identity, path, clean, fetch, model.model_validate_json)

    async def _send_for(
        self, model: type[ModelT], method: str, path: str, *, json_body: Any = None
    ) -> ModelT:
        response = await self._exchange.send(method, path, json_body=json_body)
        return _parse(model, response, method=method, path=path)

    async def _post_new_group(
        self, group: NewInsightGroup, *, sent_earlier: bool
    ) -> Created[InsightGroup]:
        """POST a group whose key was just read and found free; see ``create_insight_group``."""
        retry = self._options.retry
        path = f"{INSIGHTS}/group"
        what = f"insight group {group.key!r}"
        body = group.to_wire()
        landed = False  # an earlier POST of this call may have reached LaunchDarkly
        resent = False

        async def attempt() -> Created[InsightGroup]:
            nonlocal landed, resent
            self._creates.mark_sent(group.key)
            try:
                return Created(await self._send_for(InsightGroup, "POST", path, json_body=body))
            except ConflictError as conflict:
                existing = await self._find_quietly(group.key)
                if landed and existing is not None and group.matches(existing):
                    return Created(existing, reconciled=True)
                conflict.existing = existing
                conflict.sent_earlier = sent_earlier or landed
                conflict.after_lost_answer = landed
                raise
            except _AMBIGUOUS as failure:
                if isinstance(failure, APIConnectionError) and not failure.sent:
                    raise
                landed = True
                try:
                    existing = await self.find_insight_group(group.key)
                except LaunchDarklyError as lookup_failure:
                    raise OutcomeUnknownError(what, group.key) from lookup_failure
                if existing is not None:
                    if group.matches(existing):
                        return Created(existing, reconciled=True)
                    raise KeyTakenError(
                        key=group.key,
                        existing=existing,
                        sent_earlier=sent_earlier,
                        method="POST",
                        path=path,
                        how="a different group was found under the key after the create failed",
                        after_lost_answer=True,
                    ) from failure
                if resent or isinstance(failure, UnexpectedResponseError):
                    raise OutcomeUnknownError(what, group.key) from failure
                resent = True
                raise _ReconciledAbsent from failure

        def retryable(exc: BaseException) -> bool:
            return isinstance(exc, _ReconciledAbsent) or retry.write_is_retryable(exc)

        try:
            return await retry.run(attempt, retryable=retryable)
        except _ReconciledAbsent as exhausted:
            raise OutcomeUnknownError(what, group.key) from exhausted

    async def _find_quietly(self, key: str) -> InsightGroup | None:
        """The group under ``key``, or None if absent or if reading it failed."""
        try:
            return await self.find_insight_group(key)
        except LaunchDarklyError:
            return None


class _WriteAwareExchange(Exchange):
    """The exchange, where every write sent drops the cached reads it touches."""

    def __init__(self, http: httpx.AsyncClient, *, cache: ReadCache, **limits: int) -> None:
        super().__init__(http, **limits)
        self._cache = cache
        self.hooks: ExchangeHooks | None = None
        self.identity = ""  # who sends: a write drops this identity's cached reads only

    async def send(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, str | int] | None = None,
        json_body: Any = None,
    ) -> Response:
        hooks = self.hooks
        if hooks is not None:
            await hooks.before(method, path)
        started = time.perf_counter()
        writing = (
            nullcontext() if method in READ_METHODS else self._cache.writing(self.identity, path)
        )
        try:
            async with writing:
                response = await super().send(method, path, params=params, json_body=json_body)
        except Exception as exc:
            if hooks is not None:
                outcome = exc.status if isinstance(exc, APIStatusError) else type(exc).__name__
                await hooks.after(method, path, outcome, time.perf_counter() - started, exc)
            raise
        if hooks is not None:
            await hooks.after(method, path, response.status, time.perf_counter() - started, None)
        return response


def _parse(model: type[ModelT], response: Response, *, method: str, path: str) -> ModelT:
    response.refuse_non_finite(method=method, path=path)
    try:  # the common case in one step: pydantic parses and validates the JSON together
        return model.model_validate_json(response.body)
    except ValidationError:
        pass  # then find out what is wrong, for the error text
    payload = response.json(method=method, path=path)
    try:
        return model.model_validate(payload)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or 'body'}: {err['msg']}"
            for err in exc.errors()[:3]
        )
        raise UnexpectedResponseError(
            f"LaunchDarkly's answer does not match the {model.__name__} schema ({problems})",
            status=response.status,
            method=method,
            path=path,
        ) from None


def _group_path(key: str) -> str:
    return f"{INSIGHTS}/groups/{path_segment(key, name='insightGroupKey')}"


def _metric_groups_path(project_key: str) -> str:
    return f"/api/v2/projects/{path_segment(project_key, name='projectKey')}/metric-groups"
