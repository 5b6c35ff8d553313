"""Every answer carries exactly one ``Date``: the emulator's clock, as LaunchDarkly's would."""

from __future__ import annotations

from email.utils import parsedate_to_datetime

import httpx
import pytest

from tests.support import Emulator, Fault, aserve_on_loopback

from .conftest import BASE_URL, HEADERS, TOKEN

pytestmark = pytest.mark.anyio

GROUPS = "/api/v2/engineering-insights/insights/groups"
SKEWED_MS = 1_700_000_000_000  # 2023-11-14T22:13:20Z


def clock_at(epoch_ms: int) -> Emulator:
    return Emulator(token=TOKEN, clock=lambda: epoch_ms)


def date_of(response: httpx.Response) -> int:
    values = response.headers.get_list("date")
    assert len(values) == 1, values
    return int(parsedate_to_datetime(values[0]).timestamp())


async def test_in_process_answers_carry_the_emulator_clock_as_date() -> None:
    emu = clock_at(SKEWED_MS)
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        ok = await http.get(GROUPS, headers=HEADERS)
        refused = await http.get(GROUPS, headers={"Authorization": "api-wrong"})
    assert ok.status_code == 200
    assert refused.status_code == 401
    assert date_of(ok) == SKEWED_MS // 1000
    assert date_of(refused) == SKEWED_MS // 1000


async def test_a_loopback_server_sends_one_date_the_emulators() -> None:
    emu = clock_at(SKEWED_MS)
    async with (
        aserve_on_loopback(emu) as url,
        httpx.AsyncClient(base_url=url, headers=HEADERS, timeout=5) as http,
    ):
        answer = await http.get(GROUPS)
    assert date_of(answer) == SKEWED_MS // 1000


async def test_a_fault_may_replace_the_date() -> None:
    emu = clock_at(SKEWED_MS)
    emu.faults.push("getInsightGroups", Fault(headers={"Date": "Sat, 22 Nov 2025 00:00:00 GMT"}))
    transport = httpx.ASGITransport(app=emu.app)
    async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
        answer = await http.get(GROUPS, headers=HEADERS)
    assert date_of(answer) == 1_763_769_600
