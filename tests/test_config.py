"""Settings: ldcli's variable names, flag precedence, clear start-up errors, no token leaks."""

from __future__ import annotations

import subprocess

import pytest
from pydantic import ValidationError

from ld_insights_mcp.cli import build_parser, format_validation_error, main, settings_from
from ld_insights_mcp.config import ConfigurationError, Settings

from .conftest import TOKEN


def test_token_is_read_from_ld_access_token(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LD_ACCESS_TOKEN", TOKEN)
    assert Settings().require_token().get_secret_value() == TOKEN


def test_token_is_read_from_launchdarkly_api_key_alias(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LAUNCHDARKLY_API_KEY", TOKEN)
    assert Settings().require_token().get_secret_value() == TOKEN


def test_ldcli_variables_set_base_uri_project_and_environment(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("LD_BASE_URI", "https://app.eu.launchdarkly.com/")
    monkeypatch.setenv("LD_PROJECT", "checkout-web")
    monkeypatch.setenv("LD_ENVIRONMENT", "production")
    settings = Settings()
    assert settings.base_uri == "https://app.eu.launchdarkly.com"
    assert (settings.project, settings.environment) == ("checkout-web", "production")


def test_prefixed_variables_set_limits(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LD_INSIGHTS_MAX_RETRIES", "1")
    monkeypatch.setenv("LD_INSIGHTS_CALL_BUDGET", "12.5")
    settings = Settings()
    assert settings.client_options().retry.max_attempts == 2
    assert settings.call_budget == 12.5


def test_flags_override_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LD_PROJECT", "from-env")
    monkeypatch.setenv("LD_BASE_URI", "https://app.launchdarkly.com")
    args = build_parser().parse_args(
        ["--project", "from-flag", "--base-uri", "https://app.eu.launchdarkly.com", "--read-only"]
    )
    settings = settings_from(args)
    assert settings.project == "from-flag"
    assert settings.base_uri == "https://app.eu.launchdarkly.com"
    assert settings.read_only is True


def test_missing_token_names_the_variables_to_set() -> None:
    with pytest.raises(ConfigurationError) as caught:
        Settings().require_token()
    message = str(caught.value)
    assert "LD_ACCESS_TOKEN" in message
    assert "LAUNCHDARKLY_API_KEY" in message
    assert "--demo" in message


def test_missing_token_fails_start_with_one_line(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == 2
    captured = capsys.readouterr()
    assert captured.out == ""
    assert captured.err.count("\n") == 1
    assert "LD_ACCESS_TOKEN" in captured.err


@pytest.mark.parametrize(
    "uri",
    [
        "ftp://app.launchdarkly.com",
        "app.launchdarkly.com",
        "http://app.launchdarkly.com",
        "https://app.launchdarkly.com/api/v2",
        "https://user:pw@app.launchdarkly.com",
        "https://app.launchdarkly.com?x=1",
    ],
)
def test_malformed_base_uri_fails_at_start(uri: str, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["--base-uri", uri]) == 2
    err = capsys.readouterr().err
    assert "invalid configuration: LD_BASE_URI / --base-uri: " in err


def test_a_bad_setting_names_the_variable_that_sets_it(
    monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setenv("LD_INSIGHTS_CALL_BUDGET", "lots")
    monkeypatch.setenv("LD_INSIGHTS_MAX_RETRIES", "99")
    assert main(["--demo"]) == 2
    err = capsys.readouterr().err
    assert "LD_INSIGHTS_CALL_BUDGET: Input should be a valid number" in err
    assert "LD_INSIGHTS_MAX_RETRIES: Input should be less than or equal to 10" in err
    assert "lots" not in err


def test_plain_http_is_allowed_for_loopback_only() -> None:
    assert Settings(base_uri="http://127.0.0.1:8777").base_uri == "http://127.0.0.1:8777"
    with pytest.raises(ValidationError):
        Settings(base_uri="http://10.0.0.1:8777")


def test_token_never_appears_in_repr_str_or_errors(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("LD_ACCESS_TOKEN", TOKEN)
    settings = Settings()
    assert TOKEN not in repr(settings)
    assert TOKEN not in str(settings)
    assert TOKEN not in repr(settings.model_dump())
    with pytest.raises(ValidationError) as caught:
        Settings(call_budget=-1)
    assert TOKEN not in str(caught.value)
    assert TOKEN not in format_validation_error(caught.value)


def test_version_flag_prints_the_version(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["--version"])
    assert exited.value.code == 0
    assert "ld-insights-mcp 0.1.0" in capsys.readouterr().out


BASE_URI_SECRET = "Zq9-s3cr3t-7f1c"
"""A secret pasted into the base URI; the start-up error must not print it back."""


@pytest.mark.parametrize(
    ("source", "value", "fix"),
    [
        ("env", f"https://user:{BASE_URI_SECRET}@app.launchdarkly.com", "LD_ACCESS_TOKEN"),
        ("env", f"https://{BASE_URI_SECRET}@app.launchdarkly.com", "LD_ACCESS_TOKEN"),
        ("env", f"https://app.launchdarkly.com?token={BASE_URI_SECRET}", "LD_ACCESS_TOKEN"),
        ("flag", f"https://app.launchdarkly.com/#{BASE_URI_SECRET}", "LD_ACCESS_TOKEN"),
        ("env", f"https://app.launchdarkly.com/{BASE_URI_SECRET}", "https://app.launchdarkly.com"),
        ("env", f"api-{BASE_URI_SECRET}", "https://app.launchdarkly.com"),
        ("flag", f"http://{BASE_URI_SECRET}.example.com", "https"),
    ],
    ids=["user-password", "user", "query", "fragment", "path", "not-a-url", "plain-http"],
)
def test_rejected_base_uri_is_never_printed_back(source: str, value: str, fix: str) -> None:
    """The start-up error names the setting and the fix, and never echoes the value."""
    from .processes import clean_env, server_command

    args = ["--base-uri", value] if source == "flag" else []
    extra = {"LD_BASE_URI": value} if source == "env" else {}
    done = subprocess.run(
        [*server_command(), *args],
        capture_output=True,
        timeout=60,
        env=clean_env(LD_ACCESS_TOKEN=TOKEN, **extra),
        check=False,
    )
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode == 2, output
    assert BASE_URI_SECRET not in output
    assert TOKEN not in output
    assert "LD_BASE_URI" in output
    assert fix in output
    assert "Traceback" not in output
