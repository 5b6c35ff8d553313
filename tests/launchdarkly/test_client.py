"""The LaunchDarkly client against the emulator: every method, error mapping, pagination."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from ld_insights_mcp.launchdarkly import (
    AuthenticationError,
    BadRequestError,
    ClientOptions,
    ConflictError,
    InvalidRequestError,
    KeyTakenError,
    LaunchDarklyClient,
    NotFoundError,
    OutcomeUnknownError,
    PatchFailedError,
    RateLimitedError,
    ResponseTooLargeError,
    ServerError,
    UnexpectedResponseError,
)
from ld_insights_mcp.launchdarkly.models import (
    SCORE_CATEGORIES,
    NewInsightGroup,
    PatchOperation,
)
from tests.support import Emulator, Fault

from ..conftest import FAST_RETRY, TOKEN

pytestmark = pytest.mark.anyio


def _project(emulator: Emulator) -> tuple[str, str]:
    first = emulator.store.projects[0]
    return first.key, first.environments[0]


async def test_requests_carry_raw_token_beta_header_and_user_agent(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    await ld.list_insight_groups(limit=2)
    sent = emulator.requests[-1]
    assert sent.headers["authorization"] == TOKEN
    assert sent.headers["ld-api-version"] == "beta"
    assert sent.headers["user-agent"].startswith("ld-insights-mcp/")
    assert sent.path == "/api/v2/engineering-insights/insights/groups"
    assert ("limit", "2") in sent.query


async def test_list_sends_every_query_parameter_by_contract_name(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    await ld.list_insight_groups(
        limit=3, offset=1, sort="-name", query="a", expand=["scores", "metadata"]
    )
    query = dict(emulator.requests[-1].query)
    assert query == {
        "limit": "3",
        "offset": "1",
        "sort": "-name",
        "query": "a",
        "expand": "scores,metadata",
    }


async def test_pagination_walks_every_group_exactly_once(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    first_page = await ld.list_insight_groups(limit=20)
    keys = [g.key async for g in ld.iter_insight_groups(page_size=5)]
    assert len(keys) == first_page.total_count == len(set(keys))
    assert len(keys) >= 12
    offsets = [dict(r.query).get("offset") for r in emulator.requests[1:]]
    assert offsets == [str(i) for i in range(0, len(keys), 5)]


async def test_pagination_stops_at_the_callers_cap(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    keys = [g.key async for g in ld.iter_insight_groups(page_size=5, max_items=7)]
    assert len(keys) == 7
    assert [dict(r.query)["limit"] for r in emulator.requests] == ["5", "2"]


async def test_group_with_scores_has_every_required_category(ld: LaunchDarklyClient) -> None:
    page = await ld.list_insight_groups(limit=1)
    group = await ld.get_insight_group(page.items[0].key, expand=["scores"])
    assert group.scores is not None
    categories = group.scores.by_category()
    assert set(SCORE_CATEGORIES) - {"creationRatio"} <= set(categories)
    for score in categories.values():
        assert 0 <= score.score <= 100


async def test_unknown_group_is_not_found_with_launchdarklys_code(
    ld: LaunchDarklyClient,
) -> None:
    with pytest.raises(NotFoundError) as caught:
        await ld.get_insight_group("no-such-group")
    assert caught.value.status == 404
    assert caught.value.code
    assert await ld.find_insight_group("no-such-group") is None


async def test_key_with_slash_is_encoded_and_cannot_change_the_path(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    with pytest.raises(NotFoundError):
        await ld.get_insight_group("../../metrics/x")
    sent = emulator.requests[-1]
    assert sent.raw_path == "/api/v2/engineering-insights/insights/groups/..%2F..%2Fmetrics%2Fx"


@pytest.mark.parametrize("key", ["", ".", ".."])
async def test_dot_and_empty_keys_are_refused_before_sending(
    ld: LaunchDarklyClient, emulator: Emulator, key: str
) -> None:
    with pytest.raises(InvalidRequestError):
        await ld.get_insight_group(key)
    assert emulator.requests == []


async def test_create_get_patch_delete_insight_group(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    project, environment = _project(emulator)
    created = await ld.create_insight_group(
        NewInsightGroup(
            name="Platform squad",
            key="platform-squad",
            project_key=project,
            environment_key=environment,
        )
    )
    assert created.reconciled is False
    assert created.resource.key == "platform-squad"
    assert [(r.method, r.status) for r in emulator.requests] == [("GET", 404), ("POST", 201)]
    body = json.loads(emulator.requests[-1].body)
    assert body == {
        "name": "Platform squad",
        "key": "platform-squad",
        "projectKey": project,
        "environmentKey": environment,
    }
    app = emulator.store.projects[0].applications[0]
    patched = await ld.patch_insight_group(
        "platform-squad",
        [
            PatchOperation(op="replace", path="/name", value="Platform team"),
            PatchOperation(op="add", path="/applicationKeys/-", value=app),
        ],
    )
    assert patched.name == "Platform team"
    assert patched.application_keys == [app]
    sent = emulator.requests[-1]
    assert (sent.method, sent.headers["content-type"]) == ("PATCH", "application/json")
    assert json.loads(sent.body) == [
        {"op": "replace", "path": "/name", "value": "Platform team"},
        {"op": "add", "path": "/applicationKeys/-", "value": app},
    ]
    assert emulator.store.insight_groups["platform-squad"]["name"] == "Platform team"
    await ld.delete_insight_group("platform-squad")
    assert emulator.requests[-1].method == "DELETE"
    assert emulator.requests[-1].status == 204
    assert "platform-squad" not in emulator.store.insight_groups
    assert await ld.find_insight_group("platform-squad") is None


async def test_delete_of_an_unknown_group_is_not_found_and_not_retried(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    with pytest.raises(NotFoundError):
        await ld.delete_insight_group("no-such-group")
    assert [(r.method, r.status) for r in emulator.requests] == [("DELETE", 404)]


async def test_delete_is_not_resent_after_a_server_error(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    key = (await ld.list_insight_groups(limit=1)).items[0].key
    emulator.clear_requests()
    emulator.faults.push("deleteInsightGroup", Fault(status=503))
    with pytest.raises(ServerError):
        await ld.delete_insight_group(key)
    assert [(r.method, r.status) for r in emulator.requests] == [("DELETE", 503)]
    assert key in emulator.store.insight_groups


def _same_as(existing: object, **changes: object) -> NewInsightGroup:
    fields = {
        "name": getattr(existing, "name"),  # noqa: B009
        "key": getattr(existing, "key"),  # noqa: B009
        "project_key": getattr(existing, "project_key"),  # noqa: B009
        "environment_key": getattr(existing, "environment_key"),  # noqa: B009
        "application_keys": list(getattr(existing, "application_keys")),  # noqa: B009
    }
    fields.update(changes)
    return NewInsightGroup.model_validate(fields)


async def test_a_taken_key_is_found_before_anything_is_sent(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    existing = (await ld.list_insight_groups(limit=1)).items[0]
    emulator.clear_requests()
    with pytest.raises(KeyTakenError) as caught:
        await ld.create_insight_group(_same_as(existing))
    assert isinstance(caught.value, ConflictError)
    assert caught.value.existing == existing
    assert caught.value.sent_earlier is False
    assert emulator.writes() == []


async def test_a_second_create_of_a_key_this_client_sent_says_so(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    project, environment = _project(emulator)
    new = NewInsightGroup(
        name="Again", key="again", project_key=project, environment_key=environment
    )
    assert ld.create_sent_recently("again") is False
    await ld.create_insight_group(new)
    assert ld.create_sent_recently("again") is True
    with pytest.raises(KeyTakenError) as caught:
        await ld.create_insight_group(new)
    assert caught.value.sent_earlier is True
    assert len(emulator.writes()) == 1


async def test_a_409_keeps_the_conflict_and_names_the_existing_group(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    """The key is taken between the check and the POST (the check is made to miss it)."""
    existing = (await ld.list_insight_groups(limit=1)).items[0]
    emulator.faults.push("getInsightGroup", Fault(status=404))
    with pytest.raises(ConflictError) as caught:
        await ld.create_insight_group(_same_as(existing, name="Other"))
    assert type(caught.value) is ConflictError
    assert caught.value.status == 409
    assert caught.value.existing == existing
    assert caught.value.sent_earlier is False  # no create of the key was sent before this one
    assert len([r for r in emulator.writes() if r.method == "POST"]) == 1


async def test_a_failed_lookup_after_a_409_keeps_the_conflict_without_the_group(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    project, environment = _project(emulator)
    emulator.faults.push("createInsightGroup", Fault(status=409))
    emulator.faults.push("getInsightGroup", Fault(), *[Fault(status=500)] * FAST_RETRY.max_attempts)
    with pytest.raises(ConflictError) as caught:
        await ld.create_insight_group(
            NewInsightGroup(name="C", key="c-409", project_key=project, environment_key=environment)
        )
    assert type(caught.value) is ConflictError
    assert caught.value.status == 409
    assert caught.value.existing is None


async def test_a_different_group_found_after_a_5xx_is_a_conflict_not_the_5xx(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    """Same key, name, project and environment; only the applications differ."""
    existing = (await ld.list_insight_groups(limit=1)).items[0]
    other_app = next(
        a
        for p in emulator.store.projects
        if p.key == existing.project_key
        for a in p.applications
        if a not in existing.application_keys
    )
    emulator.faults.push("getInsightGroup", Fault(status=404))
    emulator.faults.push("createInsightGroup", Fault(status=500))
    with pytest.raises(KeyTakenError) as caught:
        await ld.create_insight_group(_same_as(existing, application_keys=[other_app]))
    assert caught.value.existing == existing
    assert isinstance(caught.value.__cause__, ServerError)
    assert emulator.store.insight_groups[existing.key]["applicationKeys"] == list(
        existing.application_keys
    )


async def test_application_keys_are_compared_as_a_set_on_read_back(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    """The read-back lists the same applications in another order: still this call's group."""
    project = emulator.store.projects[0]
    apps = list(project.applications[:2])
    new = NewInsightGroup(
        name="Set",
        key="set-squad",
        project_key=project.key,
        environment_key=project.environments[0],
        application_keys=apps,
    )
    read_back = {
        **new.to_wire(),
        "applicationKeys": apps[::-1],
        "createdAt": emulator.store.now_ms,
    }
    emulator.faults.push("createInsightGroup", Fault(status=500, after_handling=True))
    emulator.faults.push("getInsightGroup", Fault(), Fault(body=json.dumps(read_back).encode()))
    created = await ld.create_insight_group(new)
    assert created.reconciled is True
    assert created.resource.application_keys == apps[::-1]


async def test_client_error_texts_name_no_tool(ld: LaunchDarklyClient, emulator: Emulator) -> None:
    """The client knows nothing of MCP: its errors carry data, not tool advice."""
    project, environment = _project(emulator)
    emulator.faults.push("createInsightGroup", Fault(status=500, after_handling=True))
    emulator.faults.push("getInsightGroup", Fault(), *[Fault(status=500)] * 4)
    with pytest.raises(OutcomeUnknownError) as unknown:
        await ld.create_insight_group(
            NewInsightGroup(
                name="U", key="unknown-1", project_key=project, environment_key=environment
            )
        )
    assert (unknown.value.what, unknown.value.key) == ("insight group 'unknown-1'", "unknown-1")
    existing = (await ld.list_insight_groups(limit=1)).items[0]
    with pytest.raises(KeyTakenError) as taken:
        await ld.create_insight_group(_same_as(existing))
    for text in (str(unknown.value), str(taken.value)):
        for tool_word in (
            "get_insight_group",
            "list_insight_groups",
            "list_metric_groups",
            "(key=",
        ):
            assert tool_word not in text


async def test_unappliable_patch_is_patch_failed(ld: LaunchDarklyClient) -> None:
    key = (await ld.list_insight_groups(limit=1)).items[0].key
    with pytest.raises(PatchFailedError) as caught:
        await ld.patch_insight_group(key, [PatchOperation(op="remove", path="/no/such/field")])
    assert caught.value.status == 422


async def test_scores_send_comma_separated_application_keys(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    project = emulator.store.projects[0]
    apps = list(project.applications[:2])
    scores = await ld.get_insight_scores(project.key, project.environments[0], apps)
    assert scores.period.end_time > scores.period.start_time
    assert dict(emulator.requests[-1].query)["applicationKey"] == ",".join(apps)


async def test_scores_for_unknown_environment_name_the_attribute(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    project, _ = _project(emulator)
    with pytest.raises(BadRequestError) as caught:
        await ld.get_insight_scores(project, "no-such-environment")
    assert any(f.attribute == "environmentKey" for f in caught.value.field_errors)


async def test_metric_groups_list_and_get_with_expansions(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    project, _ = _project(emulator)
    page = await ld.list_metric_groups(project, limit=50)
    assert page.items
    funnel = next(g for g in page.items if g.kind == "funnel")
    detail = await ld.get_metric_group(
        project, funnel.key, expand=["experiments", "experimentCount"]
    )
    assert detail.metrics
    assert all(m.name_in_group for m in detail.metrics)
    assert detail.experiment_count is not None
    assert dict(emulator.requests[-1].query)["expand"] == "experiments,experimentCount"


async def test_metric_group_pagination_and_filter(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    project, _ = _project(emulator)
    everything = [g async for g in ld.iter_metric_groups(project, page_size=1)]
    page = await ld.list_metric_groups(project)
    assert len(everything) == page.total_count
    funnels = await ld.list_metric_groups(project, filter="kind equals 'funnel'")
    assert funnels.items
    assert all(g.kind == "funnel" for g in funnels.items)


async def test_metric_group_limit_over_50_is_refused_naming_limit(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    project, _ = _project(emulator)
    with pytest.raises(BadRequestError) as caught:
        await ld.list_metric_groups(project, limit=51)
    assert any(f.attribute == "limit" for f in caught.value.field_errors)


async def test_unknown_project_for_metric_groups_is_not_found(ld: LaunchDarklyClient) -> None:
    with pytest.raises(NotFoundError):
        await ld.list_metric_groups("no-such-project")


async def test_wrong_token_is_an_authentication_error_without_the_token(
    emulator: Emulator, transport: object
) -> None:
    wrong = "api-wrong-token-123"
    client = LaunchDarklyClient.create(
        base_url="https://app.launchdarkly.com",
        token=SecretStr(wrong),
        transport=transport,  # type: ignore[arg-type]
    )
    async with client:
        with pytest.raises(AuthenticationError) as caught:
            await client.list_insight_groups()
    assert caught.value.status == 401
    assert wrong not in str(caught.value)
    assert wrong not in repr(client)
    assert len(emulator.requests) == 1


async def test_rate_limit_is_retried_after_retry_after(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    emulator.faults.push("getInsightGroups", Fault(status=429, headers={"Retry-After": "0"}))
    page = await ld.list_insight_groups(limit=1)
    assert page.items
    assert [r.status for r in emulator.requests] == [429, 200]


async def test_rate_limit_wait_beyond_the_cap_is_reported_not_slept(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    emulator.faults.push("getInsightGroups", Fault(status=429, headers={"Retry-After": "3600"}))
    with pytest.raises(RateLimitedError) as caught:
        await ld.list_insight_groups()
    assert caught.value.retry_after == 3600
    assert caught.value.code == "rate_limited"
    assert len(emulator.requests) == 1


async def test_server_errors_are_retried_until_success(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    emulator.faults.push("getInsightsScores", Fault(status=503), Fault(status=500))
    project = emulator.store.projects[0]
    await ld.get_insight_scores(project.key, project.environments[0])
    assert [r.status for r in emulator.requests] == [503, 500, 200]


async def test_html_error_page_becomes_a_server_error_with_its_status(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    html = Fault(
        status=502, body=b"<html><body>Bad gateway</body></html>", content_type="text/html"
    )
    emulator.faults.push("getInsightGroups", *[html] * FAST_RETRY.max_attempts)
    with pytest.raises(ServerError) as caught:
        await ld.list_insight_groups()
    assert caught.value.status == 502
    assert "text/html" in caught.value.message
    assert len(emulator.requests) == FAST_RETRY.max_attempts


@pytest.mark.parametrize(
    ("body", "expected"),
    [(b"{not json", "not JSON"), (b"", "empty body"), (b'{"items": "nope"}', "schema")],
)
async def test_malformed_success_bodies_are_unexpected_responses(
    ld: LaunchDarklyClient, emulator: Emulator, body: bytes, expected: str
) -> None:
    emulator.faults.push("getInsightGroups", Fault(status=200, body=body))
    with pytest.raises(UnexpectedResponseError) as caught:
        await ld.list_insight_groups()
    assert expected in str(caught.value)
    assert caught.value.status == 200


def _group_json(**changes: object) -> dict[str, object]:
    group: dict[str, object] = {
        "key": "g",
        "name": "G",
        "projectKey": "p",
        "environmentKey": "e",
        "applicationKeys": [],
        "createdAt": 1_700_000_000_000,
    }
    group.update(changes)
    return group


def _score(value: int = 50, **changes: object) -> dict[str, object]:
    score: dict[str, object] = {
        "score": value,
        "indicator": "fair",
        "indicatorRange": {"min": 40, "max": 69},
    }
    score.update(changes)
    return score


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"totalCount": -5, "items": []}, "totalCount"),
        ({"totalCount": 1, "items": [_group_json(), _group_json(key="h")]}, "totalCount"),
        ({"totalCount": 1, "items": [_group_json(createdAt=-1)]}, "createdAt"),
        ({"totalCount": 1, "items": [_group_json(createdAt=10**20)]}, "createdAt"),
        (
            {
                "totalCount": 0,
                "items": [],
                "metadata": {
                    "countByIndicator": {
                        "excellent": 0,
                        "good": -1,
                        "fair": 0,
                        "needsAttention": 0,
                        "notCalculated": 0,
                        "unknown": 0,
                        "total": 0,
                    }
                },
            },
            "good",
        ),
    ],
    ids=["negative-total", "total-below-page", "negative-time", "time-past-9999", "negative-count"],
)
async def test_impossible_group_lists_are_unexpected_responses(
    ld: LaunchDarklyClient, emulator: Emulator, body: dict[str, object], field: str
) -> None:
    emulator.faults.push("getInsightGroups", Fault(status=200, body=json.dumps(body).encode()))
    with pytest.raises(UnexpectedResponseError) as caught:
        await ld.list_insight_groups()
    assert field in str(caught.value)


@pytest.mark.parametrize(
    ("score", "field"),
    [
        (_score(150), "score"),
        (_score(-1), "score"),
        (_score(50, indicatorRange={"min": 0, "max": 101}), "max"),
        (_score(50, diffVsLastPeriod=-101), "diffVsLastPeriod"),
    ],
    ids=["above-100", "negative", "range-above-100", "change-below-minus-100"],
)
async def test_impossible_scores_are_unexpected_responses(
    ld: LaunchDarklyClient, emulator: Emulator, score: dict[str, object], field: str
) -> None:
    project, environment = _project(emulator)
    real = await ld.get_insight_scores(project, environment)
    body = real.model_dump(by_alias=True, mode="json")
    body["scores"]["leadTime"] = score
    emulator.faults.push("getInsightsScores", Fault(status=200, body=json.dumps(body).encode()))
    with pytest.raises(UnexpectedResponseError) as caught:
        await ld.get_insight_scores(project, environment)
    assert field in str(caught.value)


async def test_oversized_answer_is_cut_at_the_byte_cap(
    emulator: Emulator, transport: object
) -> None:
    huge = b'{"totalCount": 0, "items": [], "pad": "' + b"x" * 50_000 + b'"}'
    emulator.faults.push("getInsightGroups", Fault(status=200, body=huge))
    client = LaunchDarklyClient.create(
        base_url="https://app.launchdarkly.com",
        token=SecretStr(TOKEN),
        options=ClientOptions(max_response_bytes=10_000, retry=FAST_RETRY),
        transport=transport,  # type: ignore[arg-type]
    )
    async with client:
        with pytest.raises(ResponseTooLargeError):
            await client.list_insight_groups()


async def test_create_confirmed_by_read_back_after_a_lost_answer(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    project, environment = _project(emulator)
    emulator.faults.push("createInsightGroup", Fault(status=500, after_handling=True))
    created = await ld.create_insight_group(
        NewInsightGroup(name="Once", key="once", project_key=project, environment_key=environment)
    )
    assert created.reconciled is True
    assert created.resource.key == "once"
    assert [(r.method, r.operation_id) for r in emulator.requests] == [
        ("GET", "getInsightGroup"),
        ("POST", "createInsightGroup"),
        ("GET", "getInsightGroup"),
    ]
    assert (
        sum(1 for g in (await ld.list_insight_groups(query="Once")).items if g.key == "once") == 1
    )


async def test_create_resent_once_when_read_back_finds_nothing(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    project, environment = _project(emulator)
    emulator.faults.push("createInsightGroup", Fault(status=503))
    created = await ld.create_insight_group(
        NewInsightGroup(name="Twice", key="twice", project_key=project, environment_key=environment)
    )
    assert created.reconciled is False
    assert [r.operation_id for r in emulator.requests] == [
        "getInsightGroup",
        "createInsightGroup",
        "getInsightGroup",
        "createInsightGroup",
    ]
