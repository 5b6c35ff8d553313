"""The create path's answers to a 409 and to failures once sent, against the emulator: a
group is reported as this call's only when this call may have made it and it matches in every
field this call sent. Every test runs with LaunchDarkly keeping omitted applicationKeys empty
and with it filling them in (undocumented)."""

from __future__ import annotations

import anyio
import httpx
import pytest
from pydantic import SecretStr

from ld_insights_mcp.launchdarkly import (
    ClientOptions,
    ConflictError,
    KeyTakenError,
    LaunchDarklyClient,
    OutcomeUnknownError,
    RetryPolicy,
    UnexpectedResponseError,
)
from ld_insights_mcp.launchdarkly.models import InsightGroup, NewInsightGroup
from tests.support import Emulator, Fault

from ..conftest import TOKEN

pytestmark = pytest.mark.anyio


@pytest.fixture(autouse=True, params=[False, True], ids=["omitted-kept", "omitted-filled"])
def _omitted_applications(request: pytest.FixtureRequest, emulator: Emulator) -> None:
    emulator.insights.fill_omitted_applications = request.param


MISSED = Fault(status=404)
"""The read of the key answers "absent" although the group is there (a read that raced)."""


def _same_as(existing: InsightGroup, **changes: object) -> NewInsightGroup:
    fields: dict[str, object] = {
        "name": existing.name,
        "key": existing.key,
        "project_key": existing.project_key,
        "environment_key": existing.environment_key,
        "application_keys": list(existing.application_keys),
    }
    fields.update(changes)
    return NewInsightGroup.model_validate(fields)


def _new_group(emulator: Emulator, name: str, key: str) -> NewInsightGroup:
    """A create of a free key in the first project's first environment, applications left out."""
    project = emulator.store.projects[0]
    return NewInsightGroup(
        name=name, key=key, project_key=project.key, environment_key=project.environments[0]
    )


def _posts(emulator: Emulator) -> list[int | None]:
    return [r.status for r in emulator.requests if r.operation_id == "createInsightGroup"]


async def _a_group(ld: LaunchDarklyClient, emulator: Emulator) -> InsightGroup:
    existing = (await ld.list_insight_groups(limit=1)).items[0]
    emulator.clear_requests()
    return existing


async def test_a_409_to_the_first_post_is_a_conflict_even_for_an_identical_group(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    """No POST of this call can have landed before the 409, so an identical group is someone
    else's (made between the check and the POST): never "Created"."""
    existing = await _a_group(ld, emulator)
    emulator.faults.push("getInsightGroup", MISSED)
    with pytest.raises(ConflictError) as caught:
        await ld.create_insight_group(_same_as(existing))
    assert type(caught.value) is ConflictError
    assert caught.value.existing == existing
    assert caught.value.sent_earlier is False
    assert _posts(emulator) == [409]


async def test_a_409_after_a_post_that_may_have_landed_is_this_calls_group_if_it_matches(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    existing = await _a_group(ld, emulator)
    emulator.faults.push("getInsightGroup", MISSED, MISSED)  # the check, the read-back
    emulator.faults.push("createInsightGroup", Fault(status=503))
    created = await ld.create_insight_group(_same_as(existing))
    assert created.reconciled is True
    assert created.resource == existing
    assert _posts(emulator) == [503, 409]


async def test_applications_the_request_left_out_are_no_evidence_against_the_group(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    """The request left applicationKeys to LaunchDarkly; the group read back after a lost
    answer has whatever LaunchDarkly chose: it is this call's group, reported as created."""
    new = _new_group(emulator, "Left out", "left-out")
    emulator.faults.push("createInsightGroup", Fault(status=500, after_handling=True))
    created = await ld.create_insight_group(new)
    assert created.reconciled is True
    project = emulator.store.projects[0]
    filled = emulator.insights.fill_omitted_applications
    assert created.resource.application_keys == (list(project.applications) if filled else [])
    assert _posts(emulator) == [500]


async def test_a_409_after_a_lost_answer_matches_on_the_fields_this_call_sent(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    existing = await _a_group(ld, emulator)
    assert existing.application_keys  # the request leaves them out; the group has some
    emulator.faults.push("getInsightGroup", MISSED, MISSED)
    emulator.faults.push("createInsightGroup", Fault(status=503))
    created = await ld.create_insight_group(_same_as(existing, application_keys=None))
    assert created.reconciled is True
    assert created.resource == existing
    emulator.faults.push("getInsightGroup", MISSED)
    emulator.faults.push("createInsightGroup", Fault(status=500))
    with pytest.raises(KeyTakenError):  # a field it did send differs: not this call's
        await ld.create_insight_group(_same_as(existing, application_keys=["other-app"]))


async def test_a_409_after_a_post_that_may_have_landed_names_a_different_group(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    existing = await _a_group(ld, emulator)
    emulator.faults.push("getInsightGroup", MISSED, MISSED)
    emulator.faults.push("createInsightGroup", Fault(status=503))
    with pytest.raises(ConflictError) as caught:
        await ld.create_insight_group(_same_as(existing, name="Someone else's"))
    assert caught.value.existing == existing
    assert caught.value.sent_earlier is True  # this call's first POST may have landed
    assert _posts(emulator) == [503, 409]


async def test_an_unreadable_answer_to_a_create_that_left_nothing_is_an_unknown_outcome(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    """A 2xx whose body cannot be read, and no group under the key: not resent (the answer
    said it worked), reported as unknown."""
    new = _new_group(emulator, "Garbled", "garbled")
    emulator.faults.push("createInsightGroup", Fault(status=201, body=b"{not json"))
    with pytest.raises(OutcomeUnknownError) as caught:
        await ld.create_insight_group(new)
    assert caught.value.key == "garbled"
    assert "insight group 'garbled'" in str(caught.value)
    assert isinstance(caught.value.__cause__, UnexpectedResponseError)
    assert _posts(emulator) == [201]


async def test_a_second_lost_answer_with_nothing_read_back_is_an_unknown_outcome(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    new = _new_group(emulator, "Lost", "lost-twice")
    emulator.faults.push("createInsightGroup", Fault(status=503), Fault(status=502))
    with pytest.raises(OutcomeUnknownError) as caught:
        await ld.create_insight_group(new)
    assert caught.value.key == "lost-twice"
    assert _posts(emulator) == [503, 502]
    assert "lost-twice" not in emulator.store.insight_groups


async def test_a_failed_read_back_is_an_unknown_outcome_not_a_resend(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    new = _new_group(emulator, "Unread", "unread")
    emulator.faults.push("createInsightGroup", Fault(status=500, after_handling=True))
    emulator.faults.push("getInsightGroup", Fault(), *[Fault(status=500)] * 10)
    with pytest.raises(OutcomeUnknownError) as caught:
        await ld.create_insight_group(new)
    assert caught.value.key == "unread"
    assert _posts(emulator) == [500]


async def test_a_key_taken_after_a_lost_answer_says_whether_this_client_sent_it_before(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    existing = await _a_group(ld, emulator)
    emulator.faults.push("getInsightGroup", MISSED)  # the check misses it; the read-back finds it
    emulator.faults.push("createInsightGroup", Fault(status=500))
    with pytest.raises(KeyTakenError) as caught:
        await ld.create_insight_group(_same_as(existing, name="Another"))
    assert caught.value.existing == existing
    assert caught.value.sent_earlier is False
    assert caught.value.method == "POST"
    assert caught.value.path.endswith("/group")
    assert f"key {existing.key!r} already exists" in str(caught.value)
    assert str(caught.value).endswith(
        "(a different group was found under the key after the create failed)"
    )


async def test_a_key_found_before_sending_says_nothing_was_sent(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    existing = await _a_group(ld, emulator)
    with pytest.raises(KeyTakenError) as caught:
        await ld.create_insight_group(_same_as(existing, name="Another"))
    assert caught.value.method == "GET"
    assert caught.value.path.endswith(f"/groups/{existing.key}")
    assert f"key {existing.key!r} already exists" in str(caught.value)
    assert str(caught.value).endswith("(found before sending the create; nothing was sent)")
    assert _posts(emulator) == []


async def test_a_lost_answer_on_the_last_attempt_is_an_unknown_outcome(
    transport: httpx.AsyncBaseTransport, emulator: Emulator
) -> None:
    """No attempt left to resend after the read-back found nothing: unknown, not an error
    about the 503 and not a silent success."""
    new = _new_group(emulator, "Last", "last-try")
    emulator.faults.push("createInsightGroup", Fault(status=503))
    client = LaunchDarklyClient.create(
        base_url="https://app.launchdarkly.com",
        token=SecretStr(TOKEN),
        options=ClientOptions(retry=RetryPolicy(max_attempts=1)),
        transport=transport,
    )
    async with client:
        with pytest.raises(OutcomeUnknownError) as caught:
            await client.create_insight_group(new)
    assert caught.value.key == "last-try"
    assert "insight group 'last-try'" in str(caught.value)
    assert _posts(emulator) == [503]


async def test_creates_of_different_keys_are_not_serialised(
    ld: LaunchDarklyClient, emulator: Emulator
) -> None:
    """Only creates of one key wait for each other: two keys are created at the same time."""
    existing = await _a_group(ld, emulator)
    emulator.latency = 0.3
    emulator.reset_max_in_flight()
    async with anyio.create_task_group() as tasks:
        for key in ("parallel-one", "parallel-two"):
            group = _same_as(existing, key=key, name=f"Parallel {key}")
            tasks.start_soon(ld.create_insight_group, group)
    assert emulator.max_in_flight >= 2
    assert sorted(s or 0 for s in _posts(emulator)) == [201, 201]
