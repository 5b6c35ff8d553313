"""``ld-insights-mcp doctor``: the installed console script, run as a subprocess against the
emulator on a loopback port (each failure injected) and against the demo backend."""

from __future__ import annotations

import json
import re
import subprocess
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest

from tests.support import Emulator, Fault, serve_on_loopback

from .processes import clean_env, free_port, server_command

TOKEN = "api-doctor-3f9a51c2-7e4d-4b1a-9c0e-5d2f8a6b1c3e"
ORDER = [
    "token",
    "base_uri",
    "token_accepted",
    "insights_enabled",
    "access",
    "rate_limit",
    "clock",
]
TITLES = {
    "token": "Access token",
    "base_uri": "Base URI",
    "token_accepted": "Token accepted",
    "insights_enabled": "Engineering Insights",
    "access": "Projects and environments",
    "rate_limit": "Rate-limit headroom",
    "clock": "Clock",
}
MARK = {"pass": "✓", "fail": "✗", "skip": "–"}


@dataclass
class Run:
    code: int
    out: str
    err: str

    def json(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.out)
        return data

    def line(self, check_id: str) -> str:
        """The text line of one check (mark, title, reason)."""
        found = [
            line for line in self.out.splitlines() if line[2:].startswith(f"{TITLES[check_id]}: ")
        ]
        assert len(found) == 1, self.out
        return found[0]

    def statuses(self) -> dict[str, str]:
        """Each check's status, read from the ✓/✗/– marks of the text output."""
        by_mark = {mark: status for status, mark in MARK.items()}
        return {i: by_mark[self.line(i)[0]] for i in ORDER}

    def fix_after(self, check_id: str) -> str | None:
        lines = self.out.splitlines()
        index = lines.index(self.line(check_id))
        following = lines[index + 1] if index + 1 < len(lines) else ""
        return following.strip().removeprefix("fix: ") if following.startswith("    fix:") else None


def doctor(*args: str, secrets: tuple[str, ...] = (TOKEN,), **env: str) -> Run:
    done = subprocess.run(
        [*server_command(), "doctor", *args],
        capture_output=True,
        env=clean_env(**env),
        timeout=90,
        check=False,
    )
    run = Run(done.returncode, done.stdout.decode(), done.stderr.decode())
    for secret in secrets:
        assert secret not in run.out + run.err
    assert "Traceback" not in run.err, run.err
    return run


def both(*args: str, **env: str) -> tuple[Run, dict[str, Any]]:
    """The text run and the ``--json`` run of the same setup (faults must allow two runs)."""
    text = doctor(*args, **env)
    machine = doctor(*args, "--json", **env)
    assert machine.code == text.code
    data = machine.json()
    assert [c["id"] for c in data["checks"]] == ORDER
    assert {c["id"]: c["status"] for c in data["checks"]} == text.statuses()
    assert data["ok"] is (text.code == 0)
    for check in data["checks"]:
        assert check["reason"]
        assert "\n" not in check["reason"]
        if check["status"] == "fail":
            assert check["fix"]
            assert "\n" not in check["fix"]
            assert text.fix_after(check["id"]) == check["fix"]
        else:
            assert check["fix"] is None
            assert text.fix_after(check["id"]) is None
    return text, data


def by_id(data: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {c["id"]: c for c in data["checks"]}


@pytest.fixture
def emu() -> Emulator:
    return Emulator(token=TOKEN)


@pytest.fixture
def url(emu: Emulator) -> Iterator[str]:
    with serve_on_loopback(emu) as base_url:
        yield base_url


def setup(url: str, token: str = TOKEN, **extra: str) -> dict[str, str]:
    return {"LD_ACCESS_TOKEN": token, "LD_BASE_URI": url, **extra}


def pairs_of(emu: Emulator) -> set[str]:
    groups = emu.store.insight_groups.values()
    return {f"{g['projectKey']}/{g['environmentKey']}" for g in groups}


# --- everything right ---------------------------------------------------------------------


def test_a_right_setup_passes_every_check(emu: Emulator, url: str) -> None:
    text, data = both(**setup(url))
    assert text.code == 0
    assert text.statuses() == dict.fromkeys(ORDER, "pass")
    assert text.out.rstrip().endswith("all 7 checks passed")
    assert "a server on this machine" in text.line("base_uri")
    assert "from LD_ACCESS_TOKEN" in text.line("token")
    checks = by_id(data)
    assert set(checks["access"]["details"]["readable"]) == pairs_of(emu)
    assert checks["access"]["details"]["unreadable"] == []
    assert checks["insights_enabled"]["details"]["insightGroups"] == len(emu.store.insight_groups)
    assert abs(checks["clock"]["details"]["skewSeconds"]) <= 2
    assert data["baseUri"] == url
    # every request carried the token raw, with the beta header, and nothing was written
    assert emu.requests
    assert all(r.headers["authorization"] == TOKEN for r in emu.requests)
    assert all(r.headers["ld-api-version"] == "beta" for r in emu.requests)
    assert emu.writes() == []


def test_the_demo_backend_passes_every_check_without_a_token() -> None:
    text, data = both("--demo", LD_ACCESS_TOKEN=TOKEN)
    assert text.code == 0
    assert text.statuses() == dict.fromkeys(ORDER, "pass")
    assert "built-in demo" in text.out
    assert data["demo"] is True
    assert by_id(data)["access"]["details"]["readable"]


def test_the_configured_project_and_environment_are_checked_first(emu: Emulator, url: str) -> None:
    run = doctor("--json", **setup(url, LD_PROJECT="data-platform", LD_ENVIRONMENT="staging"))
    assert run.code == 0
    scores = [r for r in emu.requests if r.operation_id == "getInsightsScores"]
    assert dict(scores[0].query) == {"projectKey": "data-platform", "environmentKey": "staging"}


# --- the token ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("sdk-5a1e0c43-8f0b-4c2e-9d7a-1b2c3d4e5f60", "server-side SDK key"),
        ("mob-5a1e0c43-8f0b-4c2e-9d7a-1b2c3d4e5f60", "mobile key"),
        ("5f3c2a1b0d9e8f7a6b5c4d3e", "client-side ID"),
        (f"Bearer {TOKEN}", "starts with 'Bearer '"),
        (f"{TOKEN}\n", "spaces or a line break around it"),
        ("ghp_0123456789abcdefghij", "not a LaunchDarkly access token"),
    ],
)
def test_a_value_that_is_not_an_access_token_is_never_sent(
    emu: Emulator, url: str, value: str, says: str
) -> None:
    text, data = both(**setup(url, token=value))
    assert text.code == 1
    assert text.statuses() == {
        "token": "fail",
        "base_uri": "pass",
        "token_accepted": "skip",
        "insights_enabled": "skip",
        "access": "skip",
        "rate_limit": "skip",
        "clock": "pass",
    }
    assert says in text.line("token")
    assert "LD_ACCESS_TOKEN" in (text.fix_after("token") or "")
    assert "skipped: needs Access token, which failed" in text.line("token_accepted")
    assert value.strip() not in text.out + text.err
    # the base URI was probed without any Authorization header: the value never left
    assert emu.requests
    assert all("authorization" not in r.headers for r in emu.requests)
    assert by_id(data)["token"]["status"] == "fail"


def test_no_token_at_all(url: str) -> None:
    run = doctor(LD_BASE_URI=url)
    assert run.code == 1
    assert run.statuses()["token"] == "fail"
    assert "no access token" in run.line("token")
    assert "--demo" in (run.fix_after("token") or "")


def test_a_wrong_token_is_refused_with_401(emu: Emulator, url: str) -> None:
    wrong = "api-0000aaaa-1111-2222-3333-444455556666"
    text, data = both(secrets=(TOKEN, wrong), **setup(url, token=wrong))
    assert text.code == 1
    assert text.statuses() == {
        "token": "pass",
        "base_uri": "pass",
        "token_accepted": "fail",
        "insights_enabled": "skip",
        "access": "skip",
        "rate_limit": "skip",
        "clock": "pass",
    }
    assert "HTTP 401" in text.line("token_accepted")
    assert "LD_BASE_URI" in (text.fix_after("token_accepted") or "")
    assert "skipped: needs Token accepted, which failed" in text.line("insights_enabled")
    assert not data["ok"]
    # one request only: nothing more is tried with a refused token
    assert len(emu.requests) == 2  # one per run (text and --json)


# --- the base URI ---------------------------------------------------------------------------


def test_an_unreachable_base_uri_skips_everything_after_it() -> None:
    dead = f"http://127.0.0.1:{free_port()}"
    text, data = both(**setup(dead))
    assert text.code == 1
    assert text.statuses() == {
        "token": "pass",
        "base_uri": "fail",
        **dict.fromkeys(ORDER[2:], "skip"),
    }
    assert "unreachable" in text.line("base_uri")
    assert "ConnectError" in text.line("base_uri")
    assert "https://app.eu.launchdarkly.com" in (text.fix_after("base_uri") or "")
    assert all(c["reason"] == "skipped: needs Base URI, which failed" for c in data["checks"][2:])


@pytest.mark.parametrize(
    ("value", "says"),
    [
        ("app.launchdarkly.com", "must be an http(s) URL"),
        ("https://sdk.launchdarkly.com", "does not serve the REST API"),
    ],
)
def test_a_wrong_base_uri_is_a_failed_check_not_a_crash(value: str, says: str) -> None:
    run = doctor(**setup(value))
    assert run.code == 1
    assert run.statuses()["base_uri"] == "fail"
    assert says in run.line("base_uri")
    assert all(run.statuses()[i] == "skip" for i in ORDER[2:])


@pytest.mark.parametrize(
    ("host", "region"),
    [
        ("https://app.launchdarkly.com", "US commercial instance"),
        ("https://app.eu.launchdarkly.com", "EU instance"),
        ("https://app.launchdarkly.us", "US federal instance"),
    ],
)
def test_the_region_is_named_from_the_base_uri(host: str, region: str) -> None:
    from ld_insights_mcp.doctor.checks import region_of

    assert region_of(host) == (region, None)


@pytest.mark.parametrize(
    ("value", "shown", "secrets"),
    [
        ("app.launchdarkly.com", '"app.launchdarkly.com"', ()),
        (
            "https://me:hunter2@app.launchdarkly.com",
            '"https://…@app.launchdarkly.com"',
            ("hunter2", "me:"),
        ),
        (
            "https://app.launchdarkly.com/api/v2?key=s3cr3t",
            '"https://app.launchdarkly.com/…?…"',
            ("s3cr3t", "api/v2"),
        ),
        (
            "https://app.launchdarkly.com/api-aaaaaaaa-bbbb-cccc-dddd-eeeeeeeeeeee",
            '"https://app.launchdarkly.com/…"',
            ("aaaaaaaa-bbbb",),
        ),
        ("api-0badc0de-pasted-here", "a value not shown (not a URL)", ("0badc0de",)),
    ],
)
@pytest.mark.parametrize("given", ["LD_BASE_URI", "--base-uri"])
def test_an_invalid_base_uri_is_shown_as_given_never_its_secrets(
    value: str, shown: str, secrets: tuple[str, ...], given: str
) -> None:
    """The header names what was given and where, not the default it fell back to; a user
    name, password, path or query is left out (a pasted URL can carry a token in any of them),
    and a value that is not a URL is not shown."""
    flags, env = (("--base-uri", value), {}) if given == "--base-uri" else ((), {given: value})
    env = {"LD_ACCESS_TOKEN": TOKEN, **env}
    run = doctor(*flags, secrets=(TOKEN, *secrets), **env)
    machine = doctor(*flags, "--json", secrets=(TOKEN, *secrets), **env)
    header = run.out.splitlines()[0]
    assert (
        header
        == f"ld-insights-mcp doctor: checking {shown} from {given}: not a valid base URI, see below"
    )
    assert run.statuses()["base_uri"] == "fail"
    assert "LD_BASE_URI" in run.line("base_uri")
    assert "LD_BASE_URI" in (run.fix_after("base_uri") or "")
    assert machine.json()["baseUri"] == (json.loads(shown) if shown[0] == '"' else None)


def test_other_unreadable_settings_exit_2_naming_the_setting(url: str) -> None:
    run = doctor(**setup(url, LD_INSIGHTS_READ_TIMEOUT="soon"))
    assert run.code == 2
    assert "LD_INSIGHTS_READ_TIMEOUT: Input should be a valid number" in run.err
    assert "soon" not in run.err
    assert run.out == ""


# --- Engineering Insights and access ---------------------------------------------------------


@pytest.mark.parametrize(("status", "says"), [(403, "may not use"), (404, "are not there")])
def test_no_engineering_insights_for_the_account(
    emu: Emulator, url: str, status: int, says: str
) -> None:
    emu.faults.push("getInsightGroups", Fault(status=status), Fault(status=status))
    text, data = both(**setup(url))
    assert text.code == 1
    assert text.statuses() == {
        "token": "pass",
        "base_uri": "pass",
        "token_accepted": "pass",
        "insights_enabled": "fail",
        "access": "skip",
        "rate_limit": "pass",
        "clock": "pass",
    }
    assert says in text.line("insights_enabled")
    assert f"HTTP {status}" in text.line("insights_enabled")
    assert "enable Engineering Insights" in (text.fix_after("insights_enabled") or "")
    assert not by_id(data)["insights_enabled"]["details"]


def test_an_answer_that_is_not_launchdarklys(emu: Emulator, url: str) -> None:
    page = Fault(status=200, body=b"<html>Sign in to the proxy</html>", content_type="text/html")
    emu.faults.push("getInsightGroups", page)
    run = doctor(**setup(url))
    assert run.code == 1
    statuses = run.statuses()
    assert statuses["token_accepted"] == "fail"
    assert "not JSON" in run.line("token_accepted")
    assert "LD_BASE_URI" in (run.fix_after("token_accepted") or "")
    assert statuses["insights_enabled"] == "skip"


def test_text_upstream_echoes_back_is_redacted(emu: Emulator, url: str) -> None:
    body = json.dumps({"code": "forbidden", "message": f"token {TOKEN} lacks beta access"})
    emu.faults.push("getInsightGroups", Fault(status=403, body=body.encode()))
    run = doctor(**setup(url))
    assert run.statuses()["insights_enabled"] == "fail"
    assert "token [redacted] lacks beta access" in run.line("insights_enabled")


def test_a_configured_project_the_token_cannot_read(emu: Emulator, url: str) -> None:
    emu.faults.push("getInsightsScores", Fault(status=403))
    run = doctor("--json", **setup(url, LD_PROJECT="checkout-web", LD_ENVIRONMENT="production"))
    assert run.code == 1
    access = by_id(run.json())["access"]
    assert access["status"] == "fail"
    assert "checkout-web/production (LD_PROJECT/LD_ENVIRONMENT) cannot be read" in access["reason"]
    assert access["details"]["unreadable"][0]["pair"] == "checkout-web/production"
    assert access["details"]["unreadable"][0]["why"] == "denied"
    assert access["details"]["unreadable"][0]["answer"].startswith("HTTP 403")
    assert set(access["details"]["readable"]) == pairs_of(emu) - {"checkout-web/production"}
    assert [c["status"] for c in run.json()["checks"]].count("fail") == 1


def test_an_unknown_configured_project(url: str) -> None:
    run = doctor(**setup(url, LD_PROJECT="no-such-project", LD_ENVIRONMENT="production"))
    assert run.code == 1
    assert run.statuses()["access"] == "fail"
    assert "no-such-project/production" in run.line("access")


def test_without_groups_or_a_configured_project_nothing_can_be_checked(
    emu: Emulator, url: str
) -> None:
    emu.store.insight_groups.clear()
    run = doctor(**setup(url))
    assert run.code == 1
    assert run.statuses()["access"] == "fail"
    assert "LD_PROJECT" in (run.fix_after("access") or "")


# --- rate limits and the clock ------------------------------------------------------------


def test_low_rate_limit_headroom(emu: Emulator, url: str) -> None:
    low = Fault(headers={"X-Ratelimit-Global-Remaining": "3"})
    emu.faults.push("getInsightGroups", low, low)
    text, data = both(**setup(url))
    assert text.code == 1
    assert [i for i, s in text.statuses().items() if s != "pass"] == ["rate_limit"]
    assert "only 3 requests left" in text.line("rate_limit")
    assert by_id(data)["rate_limit"]["details"]["lowest"] == 3


def test_a_429_is_reported_as_no_headroom(emu: Emulator, url: str) -> None:
    emu.faults.push("getInsightsScores", Fault(status=429, headers={"Retry-After": "30"}))
    run = doctor(**setup(url))
    assert run.code == 1
    statuses = run.statuses()
    assert statuses["rate_limit"] == "fail"
    assert "429" in run.line("rate_limit")
    # one pair failed, the others were readable
    assert statuses["access"] == "pass"
    assert "(failed)" in run.line("access")


def test_missing_rate_limit_headers(emu: Emulator, url: str) -> None:
    stripped = Fault(
        headers={"X-Ratelimit-Global-Remaining": "", "X-Ratelimit-Route-Remaining": ""}
    )
    emu.faults.push("getInsightGroups", stripped)
    emu.store.insight_groups.clear()  # no scores to read: the stripped answer is the only one
    run = doctor(**setup(url))
    assert run.statuses()["rate_limit"] == "fail"
    assert "no X-Ratelimit-* headers" in run.line("rate_limit")
    assert len(emu.requests) == 1


@pytest.mark.parametrize(("offset_s", "direction"), [(600, "behind"), (-600, "ahead of")])
def test_a_skewed_server_clock(offset_s: int, direction: str) -> None:
    emu = Emulator(token=TOKEN, clock=lambda: int(time.time() * 1000) + offset_s * 1000)
    with serve_on_loopback(emu) as url:
        text, data = both(**setup(url))
    assert text.code == 1
    assert [i for i, s in text.statuses().items() if s != "pass"] == ["clock"]
    said = re.search(r"clock is (\d+) s (behind|ahead of) LaunchDarkly's", text.line("clock"))
    assert said is not None
    assert said[2] == direction
    # the Date header is in whole seconds and the round trip blurs it: 599-601 s on a busy machine
    assert abs(int(said[1]) - abs(offset_s)) <= 2
    assert "NTP" in (text.fix_after("clock") or "")
    assert abs(by_id(data)["clock"]["details"]["skewSeconds"] - offset_s) <= 2


def test_a_date_header_that_cannot_be_read(emu: Emulator, url: str) -> None:
    emu.faults.push("getInsightGroups", Fault(headers={"Date": "yesterday"}))
    run = doctor(**setup(url))
    assert run.statuses()["clock"] == "fail"
    assert "could not be read" in run.line("clock")


def test_a_terminal_that_cannot_show_the_marks_gets_ascii_ones(url: str) -> None:
    run = doctor(PYTHONIOENCODING="ascii", **setup(url))
    assert run.code == 0
    assert run.out.count("[ok] ") == len(ORDER)
    assert run.out.isascii()
