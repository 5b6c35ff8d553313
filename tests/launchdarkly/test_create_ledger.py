"""The create ledger: one create per key at a time, and a bounded, time-limited memory of the
keys this client sent a create for."""

from __future__ import annotations

import anyio
import anyio.lowlevel
import pytest

from ld_insights_mcp.launchdarkly.create_ledger import CreateLedger

pytestmark = pytest.mark.anyio


class _Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def test_a_sent_create_is_recent_for_exactly_remember_for_seconds() -> None:
    clock = _Clock()
    ledger = CreateLedger(remember_for=60.0, clock=clock)
    assert not ledger.sent_recently("k")
    ledger.mark_sent("k")
    clock.now += 60.0
    assert ledger.sent_recently("k")
    assert not ledger.sent_recently("other")
    clock.now += 0.001
    assert not ledger.sent_recently("k")
    ledger.mark_sent("k")  # sent again: recent again
    assert ledger.sent_recently("k")


def test_by_default_a_create_is_remembered_for_fifteen_minutes() -> None:
    clock = _Clock()
    ledger = CreateLedger(clock=clock)
    ledger.mark_sent("k")
    clock.now += 900.0
    assert ledger.sent_recently("k")
    clock.now += 0.001
    assert not ledger.sent_recently("k")


def test_the_oldest_sent_keys_are_forgotten_beyond_capacity() -> None:
    ledger = CreateLedger(capacity=2, clock=_Clock())
    ledger.mark_sent("a")
    ledger.mark_sent("b")
    ledger.mark_sent("a")  # sent again: now the newest
    ledger.mark_sent("c")
    assert [ledger.sent_recently(k) for k in "abc"] == [True, False, True]


def test_by_default_1024_keys_are_remembered() -> None:
    ledger = CreateLedger(clock=_Clock())
    for i in range(1025):
        ledger.mark_sent(f"k{i}")
    assert not ledger.sent_recently("k0")
    assert ledger.sent_recently("k1")
    assert ledger.sent_recently("k1024")


async def test_creates_of_one_key_run_one_at_a_time_and_other_keys_do_not_wait() -> None:
    ledger = CreateLedger()
    order: list[str] = []
    a_holds, b_queued, b_holds, release_a, release_b = (anyio.Event() for _ in range(5))

    async def a() -> None:
        async with ledger.exclusive("k"):
            order.append("a in")
            a_holds.set()
            await release_a.wait()
        order.append("a out")

    async def b() -> None:
        await a_holds.wait()
        b_queued.set()
        async with ledger.exclusive("k"):
            order.append("b in")
            b_holds.set()
            await release_b.wait()
        order.append("b out")

    async def c() -> None:  # arrives while b holds the key: must wait for b
        async with ledger.exclusive("k"):
            order.append("c in")

    async with anyio.create_task_group() as tg:
        tg.start_soon(a)
        tg.start_soon(b)
        await b_queued.wait()
        async with ledger.exclusive("other"):  # another key is free while "k" is held
            order.append("other")
        release_a.set()
        await b_holds.wait()
        tg.start_soon(c)
        for _ in range(20):  # let c run as far as it can
            await anyio.lowlevel.checkpoint()
        assert "c in" not in order
        release_b.set()
    assert order == ["a in", "other", "a out", "b in", "b out", "c in"]
    assert ledger._locks == {}  # nothing kept once no create of the key runs


async def test_a_failed_create_releases_its_key() -> None:
    ledger = CreateLedger()
    with pytest.raises(RuntimeError):
        async with ledger.exclusive("k"):
            raise RuntimeError("boom")
    with anyio.fail_after(5):
        async with ledger.exclusive("k"):
            pass
    assert ledger._locks == {}
