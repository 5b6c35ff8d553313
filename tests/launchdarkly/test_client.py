"""The LaunchDarkly client against the emulator: every method, error mapping, pagination."""

from __future__ import annotations

import json

import pytest
from pydantic import SecretStr

from ld_insights_mcp.emulator import Emulator, Fault
from ld_insights_mcp.launchdarkly import (
    AuthenticationError,
    BadRequestError,
    ClientOptions,
    ConflictError,
    InvalidRequestError,
    LaunchDarklyClient,
    NotFoundError,
    PatchFailedError,
    RateLimitedError,
    ResponseTooLargeError,
    ServerError,
    UnexpectedResponseError,
)
from ld_insights_mcp.launchdarkly.models import (
    SCORE_CATEGORIES,
    MetricInGroupInput,
    NewInsightGroup,
    NewMetricGroup,
    PatchOperation,
)

from ..conftest import FAST_RETRY, TOKEN

pytestmark = pytest.mark.anyio


def _project(emulator: Emulator) -> tuple[str, str]:
    first = emulator.projects()[0]
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
    body = json.loads(emulator.requests[-1].body)
    assert body == {
        "name": "Platform squad",
        "key": "platform-squad",
        "projectKey": project,
        "environmentKey": environment,
    }
    patched = await ld.patch_insight_group(
        "platform-squad", [PatchOperation(op="replace", path="/name", value="Platform team")]
    )
    assert patched.name == "Platform team"
    await ld.delete_insight_group("platform-squad")
    assert await ld.find_insight_group("platform-squad") is None


async def test_duplicate_key_is_a_conflict_that_names_the_existing_group(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    existing = (await ld.list_insight_groups(limit=1)).items[0]
    with pytest.raises(ConflictError) as caught:
        await ld.create_insight_group(
            NewInsightGroup(
                name="Other",
                key=existing.key,
                project_key=existing.project_key,
                environment_key=existing.environment_key,
            )
        )
    assert caught.value.status == 409
    assert getattr(caught.value.existing, "name", None) == existing.name
    assert len([r for r in emulator.writes() if r.method == "POST"]) == 1


async def test_unappliable_patch_is_patch_failed(ld: LaunchDarklyClient) -> None:
    key = (await ld.list_insight_groups(limit=1)).items[0].key
    with pytest.raises(PatchFailedError) as caught:
        await ld.patch_insight_group(key, [PatchOperation(op="remove", path="/no/such/field")])
    assert caught.value.status == 422


async def test_scores_send_comma_separated_application_keys(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    project = emulator.projects()[0]
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


async def test_metric_groups_list_get_create_patch_delete(
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

    metric_keys = [m.key for m in detail.metrics[:2]]
    maintainer = detail.maintainer.member.id if detail.maintainer.member else "member-1"
    created = await ld.create_metric_group(
        project,
        NewMetricGroup(
            key="new-funnel",
            name="New funnel",
            kind="funnel",
            maintainer_id=maintainer or "",
            tags=["test"],
            metrics=[
                MetricInGroupInput(key=k, name_in_group=f"step {i}")
                for i, k in enumerate(metric_keys, 1)
            ],
        ),
    )
    assert created.resource.key == "new-funnel"
    patched = await ld.patch_metric_group(
        project, "new-funnel", [PatchOperation(op="replace", path="/name", value="Renamed")]
    )
    assert patched.name == "Renamed"
    assert patched.version > created.resource.version
    await ld.delete_metric_group(project, "new-funnel")
    assert await ld.find_metric_group(project, "new-funnel") is None


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
    project = emulator.projects()[0]
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
        "createInsightGroup",
        "getInsightGroup",
        "createInsightGroup",
    ]
