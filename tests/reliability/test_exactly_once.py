"""Creates are exactly-once, and "Created" is said only with evidence that this call made it.

Every test counts what upstream saw (POSTs sent, 201s answered, groups stored) from the
emulator's request log and store, and checks what the model was told. Every test runs twice:
with LaunchDarkly keeping a create's omitted applicationKeys empty, and filling them with the
project's applications (which it does is undocumented).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

import anyio
import pytest
from mcp import Client

from tests.support import Emulator, Fault, RecordedRequest

from ..mcp_helpers import structured, text_of

pytestmark = pytest.mark.anyio

CREATE = "createInsightGroup"


@pytest.fixture(autouse=True, params=[False, True], ids=["omitted-kept", "omitted-filled"])
def _omitted_applications(request: pytest.FixtureRequest, emulator: Emulator) -> None:
    emulator.insights.fill_omitted_applications = request.param


def _posts(emulator: Emulator) -> list[RecordedRequest]:
    return [r for r in emulator.writes() if r.operation_id == CREATE]


def _answered_201(emulator: Emulator) -> int:
    return sum(1 for r in _posts(emulator) if r.status == 201)


def _stored(emulator: Emulator, key: str) -> dict[str, Any] | None:
    return emulator.store.insight_groups.get(key)


def _arguments(emulator: Emulator, key: str, **extra: Any) -> dict[str, Any]:
    project = emulator.store.projects[0]
    return {
        "name": f"Squad {key}",
        "key": key,
        "project_key": project.key,
        "environment_key": project.environments[0],
        **extra,
    }


# (faults on the POSTs, POSTs upstream must see, whether the model hears "read back")
SEQUENCES: dict[str, tuple[list[Fault], int, bool]] = {
    "lost-answer-500": ([Fault(status=500, after_handling=True)], 1, True),
    "lost-answer-reset": ([Fault(reset=True, after_handling=True)], 1, True),
    "lost-answer-timeout": ([Fault(delay=3.0, after_handling=True)], 1, True),
    "empty-201": ([Fault(status=201, body=b"", after_handling=True)], 1, True),
    "rejected-503": ([Fault(status=503)], 2, False),
    "reset-before-handling": ([Fault(reset=True)], 2, False),
    "rate-limited-twice": (
        [
            Fault(status=429, headers={"Retry-After": "0"}),
            Fault(status=429, headers={"Retry-After": "0"}),
        ],
        3,
        False,
    ),
    "lost-then-rejected": (
        [Fault(status=500, after_handling=True), Fault(status=503)],
        1,
        True,
    ),
}


@pytest.mark.parametrize("name", list(SEQUENCES))
async def test_create_sends_no_post_after_one_may_have_landed(
    network_server: Callable[..., Any], emulator: Emulator, name: str
) -> None:
    """A POST that may have arrived is read back before anything is sent again: upstream
    sees exactly the POSTs the fault sequence needs, one group, and at most one 201."""
    faults, expected_posts, read_back = SEQUENCES[name]
    emulator.faults.push(CREATE, *faults)
    before = len(emulator.store.insight_groups)
    arguments = _arguments(emulator, f"squad-{name}")
    async with Client(network_server(read_timeout=1.0)) as client:
        result = await client.call_tool("create_insight_group", arguments)
    data = structured(result)
    assert data["group"]["key"] == arguments["key"]
    assert data["confirmed_by_read_back"] is read_back
    assert "Created" in text_of(result)
    assert len(_posts(emulator)) == expected_posts, [
        (r.operation_id, r.status) for r in emulator.requests
    ]
    # A 201 is seen when the real handler answered, or when the lost answer was an empty 201.
    assert _answered_201(emulator) == (0 if read_back and name != "empty-201" else 1)
    assert len(emulator.store.insight_groups) == before + 1
    stored = _stored(emulator, arguments["key"])
    assert stored is not None
    assert stored["name"] == arguments["name"]


def _seed_existing(emulator: Emulator, key: str, apps: list[str]) -> dict[str, Any]:
    """A group created long before the test (months ago), as the issue's reproduction has."""
    project = emulator.store.projects[0]
    group = {
        "key": key,
        "name": "Billing",
        "projectKey": project.key,
        "environmentKey": "production",
        "applicationKeys": apps,
        "createdAt": emulator.store.now_ms - 120 * 86_400_000,
    }
    emulator.store.insight_groups[key] = dict(group)
    return group


@pytest.mark.parametrize(
    "requested_apps",
    [["web-storefront"], ["payments-service"]],
    ids=["different-apps", "same-fields"],
)
async def test_someone_elses_group_is_never_reported_as_created(
    network_server: Callable[..., Any], emulator: Emulator, requested_apps: list[str]
) -> None:
    """Issue 8, defect 8: the group exists (created months ago); a create of the same key,
    name, project and environment whose POST is answered 500 must say it already existed."""
    existing = _seed_existing(emulator, "default-production-billing", ["payments-service"])
    emulator.faults.push(CREATE, *[Fault(status=500)] * 4)
    before = len(emulator.store.insight_groups)
    arguments = {
        "name": "Billing",
        "key": "default-production-billing",
        "project_key": existing["projectKey"],
        "environment_key": "production",
        "application_keys": requested_apps,
    }
    async with Client(network_server()) as client:
        result = await client.call_tool("create_insight_group", arguments)
    text = text_of(result)
    assert result.is_error, text
    assert "Created" not in text
    assert "already exist" in text
    assert "get_insight_group" in text
    assert _answered_201(emulator) == 0
    assert len(emulator.store.insight_groups) == before
    assert _stored(emulator, "default-production-billing") == existing


async def test_twenty_concurrent_creates_of_one_key_tell_exactly_one_caller_created(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    """Issue 8, defect 8: 20 identical creates at once, every fifth POST failing: one caller
    is told "Created", upstream answers one 201, and the store holds one group."""
    slow_failure = Fault(status=500, delay=0.3)
    emulator.faults.push(CREATE, *[slow_failure, Fault(), Fault(), Fault(), Fault()] * 4)
    arguments = _arguments(emulator, "crowded-squad")
    before = len(emulator.store.insight_groups)
    results = []
    async with Client(network_server(call_budget=60)) as client:

        async def create() -> None:
            results.append(await client.call_tool("create_insight_group", arguments))

        with anyio.fail_after(60):
            async with anyio.create_task_group() as tasks:
                for _ in range(20):
                    tasks.start_soon(create)
    told_created = [r for r in results if not r.is_error]
    assert len(results) == 20
    assert len(told_created) == 1, [text_of(r) for r in told_created]
    assert _answered_201(emulator) == 1
    assert len(emulator.store.insight_groups) == before + 1
    for refused in (r for r in results if r.is_error):
        text = text_of(refused)
        assert "already exist" in text, text
        assert "Nothing was created" not in text
        assert "get_insight_group" in text


async def test_refused_connection_is_retried_and_reported_without_creating(
    emulator: Emulator,
) -> None:
    from ld_insights_mcp.surface.server import create_server

    from ..conftest import make_settings
    from ..processes import free_port

    server = create_server(make_settings(base_uri=f"http://127.0.0.1:{free_port()}", max_retries=2))
    async with Client(server) as client:
        result = await client.call_tool(
            "create_insight_group",
            {"name": "N", "key": "n", "project_key": "p", "environment_key": "e"},
        )
    assert result.is_error
    assert "Could not reach LaunchDarkly" in text_of(result)
    assert emulator.requests == []


async def test_a_lost_create_renamed_before_the_read_back_is_not_disowned(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    """Review of issue 18: the create landed, its answer was lost, and someone renamed the
    group before it was read back. It may be this call's: the server cannot tell, says so, and
    says what to check (never "Created", never "This call did not create it")."""
    arguments = _arguments(emulator, "renamed-squad")

    def renamed(body: Any) -> Any:
        emulator.store.insight_groups["renamed-squad"]["name"] = "Renamed by Ana"
        return {**body, "name": "Renamed by Ana"}

    emulator.faults.push(CREATE, Fault(status=500, after_handling=True))
    # the check finds the key free; the read-back finds the group renamed
    emulator.faults.push("getInsightGroup", Fault(), Fault(edit=renamed))
    before = len(emulator.store.insight_groups)
    async with Client(network_server()) as client:
        result = await client.call_tool("create_insight_group", arguments)
    text = text_of(result)
    assert result.is_error, text
    assert "cannot tell whether this call created it" in text
    assert "did not create it" not in text
    assert "Created" not in text
    assert '"Renamed by Ana"' in text
    assert "created 20" in text  # its creation time, to compare
    assert "get_insight_group" in text
    assert len(_posts(emulator)) == 1
    assert len(emulator.store.insight_groups) == before + 1


async def test_an_explicit_empty_application_list_is_sent_as_asked(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    """Review of issue 18: ``application_keys: []`` (all applications) was sent as omitted,
    so a LaunchDarkly that fills omitted applications fixed the group to today's."""
    async with Client(network_server()) as client:
        everything = await client.call_tool(
            "create_insight_group", _arguments(emulator, "all-apps", application_keys=[])
        )
        left_out = await client.call_tool("create_insight_group", _arguments(emulator, "left-out"))
    bodies = [json.loads(r.body) for r in _posts(emulator)]
    assert bodies[0]["applicationKeys"] == []
    assert "applicationKeys" not in bodies[1]
    assert structured(everything)["group"]["application_keys"] == []
    stored = _stored(emulator, "all-apps")
    assert stored is not None
    assert stored["applicationKeys"] == []
    filled = list(emulator.store.projects[0].applications)
    expected = filled if emulator.insights.fill_omitted_applications else []
    assert structured(left_out)["group"]["application_keys"] == expected
