"""Parsing LaunchDarkly's rate-limit headers: the exact wait each hint asks for, the bounds of a
usable hint (0 to 86,400 s), and how an unusable hint is named in the error."""

from __future__ import annotations

import email.utils
import time
from collections.abc import Iterator

import pytest

from ld_insights_mcp.launchdarkly import RateLimitInfo
from ld_insights_mcp.launchdarkly.rate_limits import MAX_HINT_SECONDS

NOW_MS = 1_763_769_600_000.0  # 2025-11-22T00:00:00Z
DAY_MS = 86_400_000


@pytest.fixture
def away_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is UTC+05:30 for the test (then restored)."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _http_date(offset_seconds: float, *, usegmt: bool = True) -> str:
    return email.utils.formatdate(NOW_MS / 1000 + offset_seconds, usegmt=usegmt)


def _parse(**headers: str) -> RateLimitInfo:
    return RateLimitInfo.from_headers({k.replace("_", "-"): v for k, v in headers.items()}, NOW_MS)


# --- Retry-After ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "seconds"),
    [
        ("0", 0.0),
        ("1.5", 1.5),
        (" 7 ", 7.0),
        ("86400", MAX_HINT_SECONDS),
        (_http_date(30), 30.0),
        (_http_date(86_400), MAX_HINT_SECONDS),
        (_http_date(-30), 0.0),  # a date already past asks for no wait
        ("Sat, 22 Nov 2025 00:00:45 -0000", 45.0),  # no zone given: read as UTC
    ],
    ids=[
        "zero",
        "fraction",
        "spaces",
        "one-day",
        "date-ahead",
        "date-one-day",
        "date-past",
        "naive",
    ],
)
def test_a_usable_retry_after_is_the_wait_in_seconds(value: str, seconds: float) -> None:
    info = _parse(retry_after=value)
    assert info.retry_after == seconds
    assert info.retry_after_problem is None
    assert info.wait_seconds(NOW_MS) == seconds
    assert info.problem(rate_limited=True) is None


@pytest.mark.parametrize(
    "value",
    ["-1", "-0.001", "86400.001", "inf", "nan", "1e20", "soon", "", _http_date(86_401)],
    ids=[
        "negative",
        "just-negative",
        "just-over-a-day",
        "inf",
        "nan",
        "1e20",
        "text",
        "empty",
        "date-past-a-day",
    ],
)
def test_an_unusable_retry_after_is_a_problem_not_a_wait(value: str) -> None:
    info = _parse(retry_after=value)
    assert info.retry_after is None
    assert info.wait_seconds(NOW_MS) is None
    expected = f"Retry-After header {value.strip()!r}"
    assert info.retry_after_problem == expected
    assert info.problem(rate_limited=False) == expected  # Retry-After counts on any status
    assert info.problem(rate_limited=True) == expected


def test_a_long_unusable_value_is_shown_cut_at_forty_characters() -> None:
    assert _parse(retry_after="x" * 40).retry_after_problem == f"Retry-After header {'x' * 40!r}"
    cut = _parse(retry_after=" " + "y" * 41 + " ").retry_after_problem
    assert cut == f"Retry-After header {'y' * 40 + '…'!r}"


def test_a_date_without_a_zone_is_read_as_utc_whatever_the_local_zone(
    away_from_utc: None,
) -> None:
    info = _parse(retry_after="Sat, 22 Nov 2025 00:00:45 -0000")
    assert info.retry_after == 45.0
    assert _parse(retry_after=_http_date(20, usegmt=False)).retry_after == 20.0


# --- X-Ratelimit-Reset ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("offset_ms", "wait"),
    [(2_000, 2.0), (1, 0.001), (DAY_MS, MAX_HINT_SECONDS)],
    ids=["two-seconds", "one-ms", "one-day"],
)
def test_a_reset_ahead_is_waited_until(offset_ms: int, wait: float) -> None:
    reset = int(NOW_MS) + offset_ms
    info = _parse(x_ratelimit_reset=f" {reset} ")
    assert info.reset_at_ms == reset
    assert info.reset_problem is None
    assert info.wait_seconds(NOW_MS) == wait
    assert info.problem(rate_limited=True) is None


@pytest.mark.parametrize("offset_ms", [0, -1, -DAY_MS * 365], ids=["now", "just-past", "past"])
def test_a_reset_now_or_past_asks_for_no_wait_and_is_no_problem(offset_ms: int) -> None:
    info = _parse(x_ratelimit_reset=str(int(NOW_MS) + offset_ms))
    assert info.reset_at_ms == int(NOW_MS) + offset_ms
    assert info.wait_seconds(NOW_MS) is None
    assert info.problem(rate_limited=True) is None


@pytest.mark.parametrize(
    "value",
    [str(int(NOW_MS) + DAY_MS + 1), "9" * 19, "99999999999999999999999", "1e30", "-5", "soon"],
    ids=["just-over-a-day", "19-digits", "23-digits", "float", "negative", "text"],
)
def test_an_unusable_reset_is_a_problem_only_on_a_429_without_retry_after(value: str) -> None:
    info = _parse(x_ratelimit_reset=value)
    assert info.reset_at_ms is None
    assert info.wait_seconds(NOW_MS) is None
    expected = f"X-Ratelimit-Reset header {value!r}"
    assert info.reset_problem == expected
    assert info.problem(rate_limited=True) == expected
    assert info.problem(rate_limited=False) is None
    # a usable Retry-After takes precedence, so the reset is not needed
    assert _parse(x_ratelimit_reset=value, retry_after="3").problem(rate_limited=True) is None


def test_an_eighteen_digit_reset_is_read_not_refused_for_its_length() -> None:
    reset = 10**17  # 18 digits: a time in the past, so no wait and no problem
    info = RateLimitInfo.from_headers({"x-ratelimit-reset": str(reset)}, now_ms=float(10**17 + 1))
    assert info.reset_at_ms == reset
    assert info.reset_problem is None


# --- both hints, and the remaining counts ---------------------------------------------------


def test_retry_after_takes_precedence_over_the_reset_time() -> None:
    info = _parse(retry_after="3", x_ratelimit_reset=str(int(NOW_MS) + 9_000))
    assert info.wait_seconds(NOW_MS) == 3.0


def test_an_unusable_retry_after_is_not_replaced_by_the_reset_time() -> None:
    info = _parse(retry_after="inf", x_ratelimit_reset=str(int(NOW_MS) + 9_000))
    assert info.reset_at_ms == int(NOW_MS) + 9_000
    assert info.wait_seconds(NOW_MS) is None
    assert info.problem(rate_limited=True) == "Retry-After header 'inf'"


def test_a_wait_is_never_longer_than_a_day() -> None:
    info = RateLimitInfo(reset_at_ms=int(NOW_MS) + 3 * DAY_MS)
    assert info.wait_seconds(NOW_MS) == MAX_HINT_SECONDS


def test_the_wait_is_measured_from_the_current_time_by_default() -> None:
    info = RateLimitInfo(reset_at_ms=int(time.time() * 1000) + 60_000)
    wait = info.wait_seconds()
    assert wait is not None
    assert 50.0 < wait <= 60.0
    parsed = RateLimitInfo.from_headers({"x-ratelimit-reset": str(info.reset_at_ms)})
    assert parsed.reset_at_ms == info.reset_at_ms
    too_far = str(int(time.time() * 1000) + 2 * DAY_MS)
    assert RateLimitInfo.from_headers({"x-ratelimit-reset": too_far}).reset_at_ms is None


@pytest.mark.parametrize(
    ("value", "count"),
    [("0", 0), (" 12 ", 12), ("9" * 18, 10**18 - 1), ("9" * 19, None), ("-1", None), ("x", None)],
)
def test_remaining_counts_are_whole_numbers_or_absent(value: str, count: int | None) -> None:
    info = _parse(x_ratelimit_global_remaining=value, x_ratelimit_route_remaining=value)
    assert info.global_remaining == count
    assert info.route_remaining == count


def test_no_headers_no_hints() -> None:
    info = RateLimitInfo.from_headers({}, NOW_MS)
    assert info == RateLimitInfo()
    assert info.wait_seconds(NOW_MS) is None
    assert info.problem(rate_limited=True) is None
