"""Faults, latency and concurrency, mostly over a real loopback socket."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import AsyncIterator
from pathlib import Path

import anyio
import httpx
import pytest

from tests.support import (
    EmulatedConnectionReset,
    Emulator,
    Fault,
    aserve_on_loopback,
    serve_on_loopback,
)

from .conftest import BASE_URL, HEADERS, NOW_MS, TOKEN, Contract

pytestmark = pytest.mark.anyio

IG = "/api/v2/engineering-insights/insights"
GROUPS = f"{IG}/groups"
SCORES = f"{IG}/scores"
NEW_GROUP = {
    "name": "Reliability squad",
    "key": "reliability-squad",
    "projectKey": "checkout-web",
    "environmentKey": "production",
}


@pytest.fixture
async def url(emu: Emulator) -> AsyncIterator[str]:
    async with aserve_on_loopback(emu) as base_url:
        yield base_url


@pytest.fixture
async def http(url: str) -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=5) as client:
        yield client


async def wait_until_disconnected(emu: Emulator, index: int = 0) -> None:
    with anyio.fail_after(3):
        while len(emu.requests) <= index or not emu.requests[index].disconnected:  # noqa: ASYNC110 - set by the server thread
            await anyio.sleep(0.01)


async def test_a_status_sequence_then_recovery(
    emu: Emulator, http: httpx.AsyncClient, contract: Contract
) -> None:
    emu.faults.push("getInsightGroups", Fault(status=503), Fault(status=500), Fault(status=429))
    assert emu.faults.pending("getInsightGroups") == 3
    scores = await http.get(
        SCORES, params={"projectKey": "mobile-app", "environmentKey": "staging"}
    )
    assert scores.status_code == 200  # other operations are unaffected
    answers = [await http.get(GROUPS) for _ in range(4)]
    assert [a.status_code for a in answers] == [503, 500, 429, 200]
    assert [a.json()["code"] for a in answers[:3]] == [
        "service_unavailable",
        "internal_server_error",
        "rate_limited",
    ]
    contract.check("GET", GROUPS, 429, answers[2].content)
    assert emu.faults.pending() == 0
    assert [r.status for r in emu.requests] == [200, 503, 500, 429, 200]


async def test_fault_headers_pass_through_and_override_rate_limit_headers(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    reset_ms = str(int(time.time() * 1000) + 1234)
    emu.faults.push(
        "getInsightsScores",
        Fault(status=429, headers={"Retry-After": "1"}),
        Fault(status=429, headers={"X-Ratelimit-Reset": reset_ms}),
    )
    params = {"projectKey": "checkout-web", "environmentKey": "production"}
    first = await http.get(SCORES, params=params)
    second = await http.get(SCORES, params=params)
    assert first.status_code == second.status_code == 429
    assert first.headers["retry-after"] == "1"
    assert first.headers["x-ratelimit-route-remaining"] == "0"
    assert first.headers["x-ratelimit-global-remaining"] == "0"
    assert second.headers["x-ratelimit-reset"] == reset_ms
    assert "retry-after" not in second.headers
    assert first.json() == {
        "code": "rate_limited",
        "message": "You've exceeded the API rate limit. Try again later.",
    }


async def test_after_handling_the_write_happens_and_the_client_sees_500(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.faults.push("createInsightGroup", Fault(status=500, after_handling=True))
    answer = await http.post(f"{IG}/group", json=NEW_GROUP)
    assert answer.status_code == 500
    assert answer.json()["code"] == "internal_server_error"
    assert "reliability-squad" in emu.store.insight_groups
    assert (await http.get(f"{GROUPS}/reliability-squad")).status_code == 200
    assert (await http.post(f"{IG}/group", json=NEW_GROUP)).status_code == 409
    assert [r.status for r in emu.writes()] == [500, 409]


async def test_reset_before_handling_breaks_the_connection_and_writes_nothing(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.faults.push("createInsightGroup", Fault(reset=True))
    with pytest.raises(httpx.RemoteProtocolError):
        await http.post(f"{IG}/group", json=NEW_GROUP)
    assert "reliability-squad" not in emu.store.insight_groups
    assert emu.requests[-1].status is None
    assert (await http.post(f"{IG}/group", json=NEW_GROUP)).status_code == 201


async def test_reset_after_handling_loses_the_answer_but_not_the_write(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.faults.push("createInsightGroup", Fault(reset=True, after_handling=True))
    with pytest.raises(httpx.TransportError):
        await http.post(f"{IG}/group", json=NEW_GROUP)
    assert "reliability-squad" in emu.store.insight_groups
    record = emu.writes()[0]
    assert (record.status, record.disconnected) == (None, False)


async def test_reset_under_asgi_transport_is_the_same_protocol_error(emu: Emulator) -> None:
    emu.faults.push("getInsightGroups", Fault(reset=True))
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=HEADERS) as c:
        with pytest.raises(httpx.RemoteProtocolError) as caught:
            await c.get(GROUPS)
        assert isinstance(caught.value, EmulatedConnectionReset)
        assert caught.value.request.url.path == GROUPS
        assert (await c.get(GROUPS)).status_code == 200


async def test_a_client_that_gives_up_during_a_delay_is_recorded_as_disconnected(
    emu: Emulator, url: str
) -> None:
    emu.faults.push("createInsightGroup", Fault(delay=10.0))
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(f"{IG}/group", json=NEW_GROUP)
    await wait_until_disconnected(emu)
    assert emu.requests[0].status is None
    assert "reliability-squad" not in emu.store.insight_groups  # never handled
    assert emu.in_flight == 0


async def test_a_stalled_answer_after_the_write_can_be_abandoned(emu: Emulator, url: str) -> None:
    emu.faults.push("createInsightGroup", Fault(delay=10.0, after_handling=True))
    async with httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=0.2) as client:
        with pytest.raises(httpx.ReadTimeout):
            await client.post(f"{IG}/group", json=NEW_GROUP)
    await wait_until_disconnected(emu)
    assert "reliability-squad" in emu.store.insight_groups  # the lost answer case


async def test_cancelling_a_delayed_request_under_asgi_marks_it_disconnected(
    emu: Emulator,
) -> None:
    emu.faults.push("getInsightGroups", Fault(delay=10.0))
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL, headers=HEADERS) as c:
        with anyio.move_on_after(0.1):
            await c.get(GROUPS)
    assert emu.requests[0].disconnected
    assert emu.requests[0].status is None
    assert emu.in_flight == 0


async def test_a_delay_then_the_real_answer(emu: Emulator, http: httpx.AsyncClient) -> None:
    emu.faults.push("getInsightGroups", Fault(delay=0.2))
    started = time.monotonic()
    response = await http.get(GROUPS)
    assert response.status_code == 200
    assert time.monotonic() - started >= 0.2


async def test_latency_and_peak_concurrency_with_20_requests(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.latency = 0.4
    started = time.monotonic()
    statuses: list[int] = []

    async def one() -> None:
        statuses.append((await http.get(GROUPS, params={"limit": 1})).status_code)

    with anyio.fail_after(5):
        async with anyio.create_task_group() as tasks:
            for _ in range(20):
                tasks.start_soon(one)
    elapsed = time.monotonic() - started
    assert statuses == [200] * 20
    assert 0.4 <= elapsed < 2.0  # concurrent, not 20 x 0.4 s
    assert emu.max_in_flight == 20
    assert emu.in_flight == 0
    emu.reset_max_in_flight()
    assert emu.max_in_flight == 0
    emu.latency = 0.0
    started = time.monotonic()
    await http.get(GROUPS)
    assert time.monotonic() - started < 0.4
    assert emu.max_in_flight == 1


@pytest.mark.parametrize(
    ("fault", "content_type", "content"),
    [
        (Fault(status=200, body=b"{oops"), "application/json", b"{oops"),
        (Fault(status=200, body=b""), "application/json", b""),
        (
            Fault(status=502, body=b"<html>Bad gateway</html>", content_type="text/html"),
            "text/html",
            b"<html>Bad gateway</html>",
        ),
        (Fault(status=200, body=b"[" + b"0," * 2_500_000 + b"0]"), "application/json", None),
    ],
    ids=["invalid-json", "empty", "html", "huge"],
)
async def test_body_overrides_arrive_byte_for_byte(
    emu: Emulator, http: httpx.AsyncClient, fault: Fault, content_type: str, content: bytes | None
) -> None:
    emu.faults.push("getInsightGroups", fault)
    response = await http.get(GROUPS)
    assert response.status_code == fault.status
    assert response.headers["content-type"] == content_type
    assert response.content == (fault.body if content is None else content)
    assert int(response.headers["content-length"]) == len(response.content)


async def test_a_fault_without_status_keeps_the_real_answer(
    emu: Emulator, http: httpx.AsyncClient
) -> None:
    emu.faults.push(
        "getInsightGroup",
        Fault(headers={"X-Ratelimit-Route-Remaining": "3"}),
        Fault(body=b"not json", content_type="text/plain"),
    )
    first = await http.get(f"{GROUPS}/checkout-squad")
    assert first.status_code == 200
    assert first.headers["x-ratelimit-route-remaining"] == "3"
    assert first.json()["key"] == "checkout-squad"
    missing = await http.get(f"{GROUPS}/nope")
    assert (missing.status_code, missing.text) == (404, "not json")


async def test_faults_are_checked_per_operation_and_can_be_cleared(emu: Emulator) -> None:
    with pytest.raises(ValueError, match="unknown operationId 'getInsightsGroups'"):
        emu.faults.push("getInsightsGroups", Fault(status=500))
    emu.faults.push("getMetricGroups", Fault(status=500), Fault(status=500))
    emu.faults.push("deleteMetricGroup", Fault(reset=True))
    assert emu.faults.pending() == 3
    emu.faults.clear()
    assert emu.faults.pending() == 0
    assert emu.faults.take("getMetricGroups") is None


def test_serving_is_loopback_only_fast_and_clean(emu: Emulator) -> None:
    with (
        pytest.raises(ValueError, match=r"127\.0\.0\.1"),
        serve_on_loopback(emu, host="0.0.0.0"),  # noqa: S104 - refused on purpose
    ):
        pass
    started = time.monotonic()
    with serve_on_loopback(emu) as base_url:
        assert base_url.startswith("http://127.0.0.1:")
        port = int(base_url.rsplit(":", 1)[1])
        response = httpx.get(f"{base_url}{GROUPS}", headers=HEADERS, params={"limit": 1})
        assert response.status_code == 200
    assert time.monotonic() - started < 2.0
    with pytest.raises(httpx.ConnectError):
        httpx.get(f"{base_url}{GROUPS}", headers=HEADERS, timeout=1)
    with serve_on_loopback(emu, port) as again:  # the port is free again at once
        assert again == base_url


def test_module_entry_point_serves_and_prints_where() -> None:
    process = subprocess.Popen(
        [sys.executable, "-m", "tests.support", "--port", "0", "--now-ms", str(NOW_MS)],
        cwd=Path(__file__).parents[2],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert process.stderr is not None
        line = process.stderr.readline()
        assert "http://127.0.0.1:" in line
        base_url = line.split()[-1]
        token = process.stderr.readline().split()[-1]
        response = httpx.get(
            f"{base_url}{GROUPS}",
            headers={"Authorization": token, "LD-API-Version": "beta"},
            params={"limit": 1},
            timeout=5,
        )
        assert response.status_code == 200
        assert json.loads(response.content)["totalCount"] >= 12
    finally:
        process.terminate()
        process.wait(timeout=10)
        assert process.stdout is not None
        assert process.stdout.read() == ""
        process.stdout.close()
        if process.stderr:
            process.stderr.close()


def test_token_is_never_in_an_answer_even_under_faults(emu: Emulator) -> None:
    emu.faults.push("getInsightGroups", Fault(status=401), Fault(status=400))
    with serve_on_loopback(emu) as base_url, httpx.Client(base_url=base_url) as client:
        answers = [
            client.get(GROUPS, headers={"Authorization": TOKEN, "LD-API-Version": "beta"}),
            client.get(GROUPS, headers={"Authorization": TOKEN}),
            client.get(GROUPS, headers={"Authorization": f"Bearer {TOKEN}"}),
            client.get("/api/v2/nothing", headers={"Authorization": TOKEN}),
        ]
    for answer in answers:
        assert TOKEN not in answer.text
        assert all(TOKEN not in v for v in answer.headers.values())
    assert [a.status_code for a in answers] == [401, 400, 401, 404]
