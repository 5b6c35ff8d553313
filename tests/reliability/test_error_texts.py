"""What the model is told when LaunchDarkly fails: for every kind of failure, the status,
LaunchDarkly's own code and message, and the one next step, as a real MCP client reads them."""

from __future__ import annotations

import json
import logging
import re
import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from mcp import Client

from ld_insights_mcp.launchdarkly import (
    BadRequestError,
    FieldError,
    InvalidRequestError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    RateLimitInfo,
    ServerError,
)
from ld_insights_mcp.launchdarkly.changes import ChangeNotAppliedError, ConcurrentChangeError
from ld_insights_mcp.tools.upstream import (
    FIELDS_SHOWN,
    CallBudget,
    Write,
    _budget_spent,
    describe_failure,
)
from tests.support import Emulator, Fault

from ..conftest import TOKEN, make_settings
from ..mcp_helpers import text_of

pytestmark = pytest.mark.anyio


@pytest.fixture
def away_from_utc(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    """The process's local time zone is UTC+05:30 for the test (then restored)."""
    monkeypatch.setenv("TZ", "Asia/Kolkata")
    time.tzset()
    yield
    monkeypatch.undo()
    time.tzset()


def _error_text(result: Any, tool: str) -> str:
    """The tool error's own text, without the SDK's "Error executing tool <name>: " prefix."""
    assert result.is_error
    prefix = f"Error executing tool {tool}: "
    text = text_of(result)
    assert text.startswith(prefix), text
    return text.removeprefix(prefix)


def _error_body(code: str, message: str, **extra: Any) -> bytes:
    return json.dumps({"code": code, "message": message, **extra}).encode()


@dataclass(frozen=True)
class Kind:
    """One error status: what LaunchDarkly sends, and what the text must say."""

    status: int
    headline: str
    next_step: str
    headers: dict[str, str] | None = None
    field_errors: tuple[dict[str, str], ...] = ()


TOKEN_STEP = (
    "The token is missing, malformed or revoked: the user must set LD_ACCESS_TOKEN to a valid "
    "access token (not an SDK key or client-side ID) and restart the server. Retrying will "
    "not help."
)
PERMISSION_STEP = (
    "The token lacks permission for this project or for Engineering Insights: ask a "
    "LaunchDarkly admin for a role with access. Retrying will not help."
)
STATUS_KINDS = {
    "400": Kind(
        400,
        "LaunchDarkly refused the request (400).",
        'Fields: "name: must not be empty"; "key: already used". Fix it and call again.',
        field_errors=(
            {"attribute": "name", "reason": "must not be empty"},
            {"attribute": "key", "reason": "already used"},
        ),
    ),
    "400-no-fields": Kind(400, "LaunchDarkly refused the request (400).", "Fix it and call again."),
    "401": Kind(401, "LaunchDarkly rejected the access token (401).", TOKEN_STEP),
    "403": Kind(403, "LaunchDarkly refused access (403).", PERMISSION_STEP),
    "405": Kind(405, "LaunchDarkly answered 405.", ""),
    "409": Kind(409, "LaunchDarkly answered 409.", ""),
    "422": Kind(422, "LaunchDarkly could not apply the change (422).", ""),
    "429": Kind(
        429,
        "LaunchDarkly rate limit reached (429).",
        "Retry after 600 s (at {at} UTC); do not retry sooner.",
        headers={"Retry-After": "600"},
    ),
    "429-no-hint": Kind(
        429, "LaunchDarkly rate limit reached (429).", "Wait a minute before trying again."
    ),
    "500": Kind(
        500, "LaunchDarkly failed (500), after retries.", "Wait a minute before trying again."
    ),
    "503-hint": Kind(
        503,
        "LaunchDarkly failed (503), after retries.",
        "Retry after 600 s (at {at} UTC); do not retry sooner.",
        headers={"Retry-After": "600"},
    ),
}


def _clock_times_around(wait: float) -> set[str]:
    """The HH:MM:SS a wait of ``wait`` seconds ends at, give or take a couple of seconds."""
    now = datetime.now(UTC)
    return {f"{now + timedelta(seconds=wait + d):%H:%M:%S}" for d in range(-3, 4)}


def _ends_with_step(text: str, step: str) -> None:
    if "{at}" not in step:
        assert text.endswith(step), text
        return
    pattern = re.escape(step).replace(re.escape("{at}"), r"(\d\d:\d\d:\d\d)") + "$"
    found = re.search(pattern, text)
    assert found, text
    assert found.group(1) in _clock_times_around(600), text


@pytest.mark.parametrize("kind", STATUS_KINDS.values(), ids=STATUS_KINDS.keys())
async def test_every_error_status_names_status_code_message_and_the_next_step(
    network_server: Callable[..., Any], emulator: Emulator, kind: Kind
) -> None:
    body = _error_body(
        f"code_{kind.status}", f"message for {kind.status}", errors=list(kind.field_errors)
    )
    emulator.faults.push(
        "getInsightGroups", Fault(status=kind.status, body=body, headers=kind.headers or {})
    )
    async with Client(network_server(max_retries=0)) as client:
        result = await client.call_tool("list_insight_groups", {})
    text = _error_text(result, "list_insight_groups")
    said = f'LaunchDarkly said: "code_{kind.status}: message for {kind.status}".'
    assert text.startswith(f"{kind.headline} {said}"), text
    _ends_with_step(text, f"{said} {kind.next_step}".rstrip())
    assert "Fields" in text if kind.field_errors else "Fields" not in text
    assert len(emulator.requests) == 1


async def test_not_found_gives_the_tools_own_next_step(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    async with Client(network_server()) as client:
        result = await client.call_tool("get_insight_group", {"key": "no-such-group"})
    text = _error_text(result, "get_insight_group")
    assert text.startswith("Not found (404). LaunchDarkly said: "), text
    assert text.endswith(
        ". Next: no insight group has key 'no-such-group'; call list_insight_groups to see the "
        "existing group keys."
    ), text


async def test_a_read_timeout_says_the_request_was_sent_and_to_try_again_shortly(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.faults.push("getInsightGroups", Fault(delay=5.0))
    async with Client(network_server(read_timeout=0.3, max_retries=0)) as client:
        result = await client.call_tool("list_insight_groups", {})
    assert _error_text(result, "list_insight_groups") == (
        "LaunchDarkly did not answer in time (LaunchDarkly timed out (ReadTimeout, after the "
        "request was sent)). It may be slow or unreachable; try again shortly."
    )


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


async def test_a_refused_connection_says_nothing_was_sent_and_to_check_the_network() -> None:
    from ld_insights_mcp.surface.server import create_server

    server = create_server(
        make_settings(base_uri=f"http://127.0.0.1:{_closed_port()}", max_retries=0)
    )
    async with Client(server) as client:
        result = await client.call_tool("list_insight_groups", {})
    assert _error_text(result, "list_insight_groups") == (
        "Could not reach LaunchDarkly (LaunchDarkly connection failed (ConnectError, before the "
        "request was sent)). Check the network and LD_BASE_URI; try again shortly."
    )


async def test_a_broken_connection_says_the_request_was_sent(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.faults.push("getInsightGroups", Fault(reset=True))
    async with Client(network_server(max_retries=0)) as client:
        result = await client.call_tool("list_insight_groups", {})
    assert re.fullmatch(
        r"Could not reach LaunchDarkly \(LaunchDarkly (connection failed|connection broke while "
        r"reading the answer) \(\w+, after the request was sent\)\)\. Check the network and "
        r"LD_BASE_URI; try again shortly\.",
        _error_text(result, "list_insight_groups"),
    ), text_of(result)


async def test_an_unusable_body_is_an_upstream_problem_not_the_input(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    emulator.faults.push(
        "getInsightGroups", Fault(status=200, body=b"<html/>", content_type="text/html")
    )
    async with Client(network_server(max_retries=0)) as client:
        result = await client.call_tool("list_insight_groups", {})
    assert _error_text(result, "list_insight_groups").endswith(
        'LaunchDarkly answered with status 200 but an unusable body: "LaunchDarkly answered 200 '
        'with a body that is not JSON (text/html, 7 bytes)". This is an upstream problem, not '
        "your input; try again later."
    ), text_of(result)


# --- pure texts: invalid arguments, unknown outcomes, the budget, the retry advice ----------


def test_an_invalid_argument_is_named_with_the_fix() -> None:
    text = describe_failure(InvalidRequestError("key must not be empty"), not_found="")
    assert text == "Invalid argument: key must not be empty. Fix it and call again."


UNKNOWN_STEP = "Do not repeat it, and do not make it again under another key. Next: {} to see"


@pytest.mark.parametrize(
    ("read_back", "step"),
    [
        ("call get_insight_group with key='k'", "call get_insight_group with key='k'"),
        (None, "read it back by key"),
    ],
    ids=["tool-read-back", "generic"],
)
def test_an_unknown_outcome_says_not_to_repeat_and_how_to_check(
    read_back: str | None, step: str
) -> None:
    exc = OutcomeUnknownError("insight group 'k'", "k")
    write = Write("the create of insight group 'k'", read_back, creates=True) if read_back else None
    text = describe_failure(exc, not_found="", write=write)
    assert text.startswith(f"Outcome unknown: {exc}. ")
    assert text.endswith(f"{UNKNOWN_STEP.format(step)} whether it happened.")


def _write(sent: bool) -> Write:
    return Write(
        what="the create of insight group 'k'",
        read_back="call get_insight_group with key='k'",
        sent=lambda: sent,
        creates=True,
    )


def test_a_budget_spent_after_a_write_was_sent_is_an_unknown_outcome() -> None:
    assert _budget_spent(1.5, _write(sent=True)) == (
        "Outcome unknown: this call's 1.5 s time budget ran out during the create of insight "
        "group 'k', which may already have reached LaunchDarkly; it may or may not have "
        "happened. Do not repeat it, and do not make it again under another key. Next: call "
        "get_insight_group with key='k' to see whether it happened."
    )


def test_a_budget_spent_before_a_write_was_sent_says_nothing_was_created() -> None:
    assert _budget_spent(2, _write(sent=False)) == (
        "LaunchDarkly did not finish within this call's 2 s budget (retries included), before "
        "the create of insight group 'k' was sent: nothing was created. It may be slow or "
        "degraded: try again in a minute."
    )


def test_a_budget_spent_on_a_read_suggests_asking_for_less() -> None:
    assert _budget_spent(30, None) == (
        "LaunchDarkly did not finish within this call's 30 s budget (retries included). It may "
        "be slow or degraded: try again in a minute, or ask for less data (a smaller limit)."
    )


def test_a_missing_read_is_one_line_without_a_next_step() -> None:
    """One of an analysis tool's reads: the tool's answer says what it is missing, not what to
    call next."""
    exc = NotFoundError(
        status=404, code="not_found", message="no such chart", method="GET", path="/p"
    )
    said = 'LaunchDarkly said: "not_found: no such chart"'
    assert CallBudget.reason(exc) == f"Not found (404). {said}."
    assert CallBudget.reason(None) == "no answer within the call's time budget"


def _rate_limited(wait: float | None) -> RateLimitedError:
    return RateLimitedError(
        status=429,
        code="rate_limited",
        message="slow down",
        method="GET",
        path="/p",
        rate_limit=RateLimitInfo(retry_after=wait),
    )


@pytest.mark.parametrize("wait", [0.0, 0.4, 59.6, 3600.0, 86_400.0])
def test_a_usable_wait_is_given_in_seconds_and_as_a_clock_time(
    wait: float, away_from_utc: None
) -> None:
    """The clock time is UTC, as it says, whatever the machine's zone."""
    text = describe_failure(_rate_limited(wait), not_found="")
    found = re.search(
        r"Retry after (\d+) s \(at (\d\d:\d\d:\d\d) UTC\); do not retry sooner\.$", text
    )
    assert found, text
    assert found.group(1) == f"{wait:.0f}"
    now = datetime.now(UTC)
    assert found.group(2) in {f"{now + timedelta(seconds=wait + d):%H:%M:%S}" for d in range(-3, 4)}


@pytest.mark.parametrize(
    ("wait", "advice"),
    [
        (None, "Wait a minute before trying again."),
        (float("nan"), "Wait a minute before trying again."),
        (-0.5, "Wait a minute before trying again."),
        (86_400.5, "LaunchDarkly asked to wait more than a day; do not retry now, tell the user."),
        (
            float("inf"),
            "LaunchDarkly asked to wait more than a day; do not retry now, tell the user.",
        ),
    ],
)
def test_an_unusable_wait_gives_advice_without_a_clock_time(
    wait: float | None, advice: str
) -> None:
    assert describe_failure(_rate_limited(wait), not_found="").endswith(f'slow down". {advice}')


def test_a_server_error_with_field_errors_still_gives_the_retry_advice() -> None:
    exc = ServerError(
        status=502,
        code="bad_gateway",
        message="upstream down",
        method="GET",
        path="/p",
        field_errors=(FieldError("x", "y"),),
        rate_limit=RateLimitInfo(),
    )
    assert describe_failure(exc, not_found="") == (
        'LaunchDarkly failed (502), after retries. LaunchDarkly said: "bad_gateway: upstream '
        'down". Wait a minute before trying again.'
    )


def _bad_request(fields: int) -> BadRequestError:
    errors = tuple(FieldError(f"field{i}", "is wrong") for i in range(fields))
    return BadRequestError(
        status=400, code="invalid", message="bad", method="POST", path="/p", field_errors=errors
    )


@pytest.mark.parametrize("fields", [FIELDS_SHOWN, FIELDS_SHOWN + 3])
def test_a_400_names_at_most_five_fields_and_counts_the_rest(fields: int) -> None:
    shown = "; ".join(f'"field{i}: is wrong"' for i in range(FIELDS_SHOWN))
    rest = "; 3 more" if fields > FIELDS_SHOWN else ""
    assert describe_failure(_bad_request(fields), not_found="") == (
        'LaunchDarkly refused the request (400). LaunchDarkly said: "invalid: bad". '
        f"Fields: {shown}{rest}. Fix it and call again."
    )


# --- a change that did not go through: what was changed, and the one next step -------------

_RENAME = Write("the update of insight group 'k'", "call get_insight_group with key='k'")
_CHANGED_SINCE = (
    "Not changed: insight group 'k' changed since it was read (its values differ); this change "
    "was not applied. Someone or something else changed it after it was read; "
)
_ASK_AGAIN = ", show the user its current values and ask again before changing anything."


@pytest.mark.parametrize(
    ("maybe_applied", "write", "done", "step"),
    [
        (
            False,
            _RENAME,
            "nothing was changed by this call (the change is guarded, so it was refused)",
            "call get_insight_group with key='k'",
        ),
        (
            True,
            _RENAME,
            "this change may have been applied first and then overwritten",
            "call get_insight_group with key='k'",
        ),
        (
            False,
            None,
            "nothing was changed by this call (the change is guarded, so it was refused)",
            "read it again",
        ),
    ],
    ids=["refused", "maybe-applied-then-overwritten", "no-read-back"],
)
def test_a_change_made_meanwhile_says_what_this_call_changed_and_to_ask_again(
    maybe_applied: bool, write: Write | None, done: str, step: str
) -> None:
    exc = ConcurrentChangeError("insight group 'k'", current=object())
    exc.maybe_applied = maybe_applied
    assert describe_failure(exc, not_found=None, write=write) == (
        f"{_CHANGED_SINCE}{done}. Next: {step}{_ASK_AGAIN}"
    )


def test_a_write_that_read_back_shows_unapplied_says_so_after_the_failure() -> None:
    cause = NotFoundError(status=404, code="gone", message="m", method="PATCH", path="/p")
    exc = ChangeNotAppliedError("the update of insight group 'k'", cause)
    assert describe_failure(exc, not_found="n", write=_RENAME) == (
        f"{describe_failure(cause, not_found='n')} Reading it back shows nothing was changed by "
        "the update of insight group 'k'."
    )


@pytest.mark.parametrize(
    ("write", "tail"),
    [
        (_RENAME, " Nothing was changed."),
        (Write("the create of insight group 'k'", "read it", creates=True), ""),
        (None, ""),
    ],
    ids=["change", "create", "read"],
)
def test_only_a_failed_change_adds_that_nothing_was_changed(write: Write | None, tail: str) -> None:
    said = describe_failure(_bad_request(0), not_found="", write=None)
    assert describe_failure(_bad_request(0), not_found="", write=write) == said + tail


def test_an_unknown_outcome_of_a_change_says_only_not_to_repeat_it() -> None:
    exc = OutcomeUnknownError("insight group 'k'", "k")
    assert describe_failure(exc, not_found="", write=_RENAME) == (
        f"Outcome unknown: {exc}. Do not repeat it. Next: call get_insight_group with key='k' "
        "to see whether it happened."
    )


async def test_an_upstream_failure_is_logged_with_launchdarklys_error_and_no_token(
    network_server: Callable[..., Any], emulator: Emulator, caplog: pytest.LogCaptureFixture
) -> None:
    emulator.faults.push("getInsightGroups", Fault(status=401, body=_error_body("nope", "bad")))
    caplog.set_level(logging.INFO, logger="ld_insights_mcp.tools.upstream")
    async with Client(network_server(max_retries=0)) as client:
        await client.call_tool("list_insight_groups", {})
    logged = [r.getMessage() for r in caplog.records if r.name == "ld_insights_mcp.tools.upstream"]
    assert len(logged) == 1, logged
    assert logged[0].startswith("LaunchDarkly call failed: GET "), logged
    assert logged[0].endswith(" -> 401 nope: bad"), logged
    assert TOKEN not in caplog.text


async def test_an_unknown_create_outcome_names_the_tools_read_back(
    network_server: Callable[..., Any], emulator: Emulator
) -> None:
    """Two lost answers and nothing read back: the model is told to read the key back with
    the exact call, not to create again."""
    project = emulator.store.projects[0]
    emulator.faults.push("createInsightGroup", Fault(status=503), Fault(status=502))
    arguments = {
        "name": "Lost",
        "key": "lost-twice",
        "project_key": project.key,
        "environment_key": project.environments[0],
    }
    async with Client(network_server()) as client:
        result = await client.call_tool("create_insight_group", arguments)
    text = _error_text(result, "create_insight_group")
    assert text.startswith("Outcome unknown: the create of insight group 'lost-twice' "), text
    assert text.endswith(
        "Do not repeat it, and do not make it again under another key. Next: call "
        "get_insight_group with key='lost-twice' to see whether it happened."
    ), text
