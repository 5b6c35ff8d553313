"""The retry policy's decisions: which failures are retried (reads vs writes), and the wait it
chooses before each retry (backoff, LaunchDarkly's hint, the cap). Waits are recorded, not
slept."""

from __future__ import annotations

import pytest

from ld_insights_mcp.launchdarkly import (
    APIConnectionError,
    APITimeoutError,
    BadRequestError,
    NotFoundError,
    RateLimitedError,
    RateLimitInfo,
    RetryPolicy,
    ServerError,
    UnexpectedResponseError,
)

pytestmark = pytest.mark.anyio


def _status(cls: type, status: int, **rate_limit: object) -> object:
    return cls(
        status=status,
        code="c",
        message="m",
        method="GET",
        path="/p",
        rate_limit=RateLimitInfo(**rate_limit),  # type: ignore[arg-type]
    )


def _connection(*, sent: bool, timeout: bool = False) -> APIConnectionError:
    cls = APITimeoutError if timeout else APIConnectionError
    return cls("broke", method="POST", path="/p", sent=sent)


POLICY = RetryPolicy(max_wait=10.0)
INF = "Retry-After header 'inf'"
RESET = "X-Ratelimit-Reset header '1e30'"

CASES = {
    # name: (error, retried on a read, retried on a write)
    "refused": (_connection(sent=False), True, True),
    "connect-timeout": (_connection(sent=False, timeout=True), True, True),
    "reset-after-send": (_connection(sent=True), True, False),
    "read-timeout": (_connection(sent=True, timeout=True), True, False),
    "429": (_status(RateLimitedError, 429), True, True),
    "429-wait-at-cap": (_status(RateLimitedError, 429, retry_after=10.0), True, True),
    "429-wait-over-cap": (_status(RateLimitedError, 429, retry_after=10.5), False, False),
    "429-reset-over-cap": (_status(RateLimitedError, 429, reset_at_ms=2**62), False, False),
    "429-unusable-retry-after": (
        _status(RateLimitedError, 429, retry_after_problem=INF),
        False,
        False,
    ),
    "429-unusable-reset": (_status(RateLimitedError, 429, reset_problem=RESET), False, False),
    "503": (_status(ServerError, 503), True, False),
    "503-wait-at-cap": (_status(ServerError, 503, retry_after=10.0), True, False),
    "503-wait-over-cap": (_status(ServerError, 503, retry_after=11.0), False, False),
    "503-reset-far": (_status(ServerError, 503, reset_at_ms=2**62), True, False),
    "503-unusable-retry-after": (_status(ServerError, 503, retry_after_problem=INF), False, False),
    "503-unusable-reset": (_status(ServerError, 503, reset_problem=RESET), True, False),
    "404": (_status(NotFoundError, 404), False, False),
    "400": (_status(BadRequestError, 400), False, False),
    "bad-body": (UnexpectedResponseError("x", status=200, method="GET", path="/p"), False, False),
    "other": (ValueError("x"), False, False),
}


@pytest.mark.parametrize(("error", "read", "write"), CASES.values(), ids=CASES.keys())
def test_what_is_retried_on_reads_and_on_writes(
    error: BaseException, read: bool, write: bool
) -> None:
    assert POLICY.read_is_retryable(error) is read
    assert POLICY.write_is_retryable(error) is write


def test_the_hinted_wait_is_the_rate_limit_wait_or_a_server_errors_retry_after() -> None:
    assert POLICY.hinted_wait(_status(RateLimitedError, 429, retry_after=3.0)) == 3.0
    assert POLICY.hinted_wait(_status(ServerError, 503, retry_after=4.0)) == 4.0
    # a 5xx honours Retry-After only; the reset time is about rate limits
    assert POLICY.hinted_wait(_status(ServerError, 503, reset_at_ms=2**62)) is None
    assert POLICY.hinted_wait(_status(NotFoundError, 404, retry_after=3.0)) is None
    assert POLICY.hinted_wait(_connection(sent=False)) is None


class _Sleeps:
    def __init__(self) -> None:
        self.waits: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.waits.append(seconds)


async def _run(policy: RetryPolicy, failures: list[BaseException]) -> tuple[str, int]:
    calls = 0

    async def call() -> str:
        nonlocal calls
        calls += 1
        if failures:
            raise failures.pop(0)
        return "done"

    return await policy.run(call, retryable=policy.read_is_retryable), calls


async def test_backoff_doubles_with_jitter_up_to_its_maximum() -> None:
    sleeps = _Sleeps()
    policy = RetryPolicy(
        max_attempts=5, backoff_initial=1.0, backoff_max=4.0, max_wait=100.0, sleep=sleeps
    )
    assert await _run(policy, [_connection(sent=True) for _ in range(4)]) == ("done", 5)
    first, second, third, fourth = sleeps.waits
    assert 1.0 <= first <= 2.0
    assert 2.0 <= second <= 3.0
    assert third == fourth == 4.0


async def test_a_small_backoff_stays_small_without_a_hint() -> None:
    sleeps = _Sleeps()
    policy = RetryPolicy(backoff_initial=0.01, backoff_max=5.0, sleep=sleeps)
    await _run(policy, [_status(ServerError, 503), _status(RateLimitedError, 429)])
    first, second = sleeps.waits  # jitter is as small as the first backoff
    assert 0.01 <= first <= 0.02
    assert 0.02 <= second <= 0.03


async def test_a_hint_longer_than_the_backoff_is_waited_exactly() -> None:
    sleeps = _Sleeps()
    policy = RetryPolicy(backoff_initial=0.01, backoff_max=0.05, sleep=sleeps)
    failures = [
        _status(RateLimitedError, 429, retry_after=3.0),
        _status(ServerError, 503, retry_after=7.5),
    ]
    await _run(policy, failures)
    assert sleeps.waits == [3.0, 7.5]


async def test_no_wait_is_longer_than_max_wait() -> None:
    sleeps = _Sleeps()
    policy = RetryPolicy(backoff_initial=20.0, backoff_max=50.0, max_wait=10.0, sleep=sleeps)
    await _run(policy, [_connection(sent=False), _connection(sent=False)])
    assert sleeps.waits == [10.0, 10.0]


async def test_attempts_run_out_and_the_last_error_is_raised() -> None:
    sleeps = _Sleeps()
    policy = RetryPolicy(max_attempts=3, backoff_initial=0.01, backoff_max=0.01, sleep=sleeps)
    errors = [_connection(sent=True) for _ in range(5)]
    last = errors[2]
    with pytest.raises(APIConnectionError) as raised:
        await _run(policy, errors)
    assert raised.value is last
    assert len(sleeps.waits) == 2
    assert len(errors) == 2  # three attempts were made


async def test_a_failure_not_retried_is_raised_at_once() -> None:
    sleeps = _Sleeps()
    policy = RetryPolicy(sleep=sleeps)
    not_found = _status(NotFoundError, 404)
    with pytest.raises(NotFoundError):
        await _run(policy, [not_found])
    assert sleeps.waits == []


def test_the_default_policy() -> None:
    policy = RetryPolicy()
    assert (policy.max_attempts, policy.backoff_initial, policy.backoff_max, policy.max_wait) == (
        4,
        0.25,
        4.0,
        10.0,
    )
