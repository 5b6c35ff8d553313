"""Property-based bad input over every tool: refused naming the field, or sent to exactly the
intended path with the value encoded. The emulator's request log is the witness."""

from __future__ import annotations

import json
import re
import unicodedata
from typing import Any
from urllib.parse import quote

import anyio
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from ld_insights_mcp.surface.server import create_server
from tests.support import Emulator

from ..conftest import NOW_MS, TOKEN, make_settings
from ..mcp_helpers import text_of

KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*$")
NASTY = st.sampled_from(
    ["../", "/", "%2F", "?", "#", "\r\n", "\x00", "..", ".", " ", "é", "😀", "\\", "%", "&", "="]
)
KEYISH = st.one_of(
    st.text(max_size=40),
    st.lists(st.one_of(NASTY, st.text(alphabet="abc.-_", max_size=3)), max_size=6).map("".join),
    st.just("x" * 10_000),
    st.integers(),
    st.none(),
    st.booleans(),
    st.lists(st.text(max_size=3), max_size=2),
    st.floats(allow_nan=True),
)
LIMITISH = st.one_of(
    st.integers(min_value=-5, max_value=200),
    st.text(max_size=3),
    st.integers(min_value=0, max_value=30).map(str),
    st.booleans(),
    st.floats(min_value=-1, max_value=30),
    st.none(),
)
INVISIBLE = st.sampled_from(
    [
        "\u0085",
        "\u202e",
        "\u2028",
        "\u2029",
        "\u200b",
        "\ufeff",
        "\u2066",
        "\x00",
        "\t",
        "\x7f",
        "\U000e0001",
        "\u00ad",
        "\u3164",
        "\u0301",
        " ",
    ]
)
TEXTISH = st.one_of(
    st.text(max_size=300),
    st.lists(st.one_of(INVISIBLE, st.text(max_size=3)), max_size=6).map("".join),
    st.integers(),
    st.none(),
    st.booleans(),
)
REFUSED_CATEGORIES = {"Cc", "Cf", "Zl", "Zp", "Cs"}
SCOPE = {"project_key": "checkout-web", "environment_key": "production"}
EXAMPLES = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def _call(tool: str, arguments: dict[str, Any]) -> tuple[Any, Emulator]:
    emulator = Emulator(token=TOKEN, now_ms=NOW_MS)
    server = create_server(
        make_settings(max_retries=0), transport=httpx.ASGITransport(app=emulator.app)
    )

    async def run() -> Any:
        async with Client(server) as client:
            return await client.call_tool(tool, arguments)

    return anyio.run(run), emulator


def _plain_text(value: Any) -> bool:
    """What may reach LaunchDarkly as a name or search text."""
    return (
        isinstance(value, str)
        and not any(unicodedata.category(c) in REFUSED_CATEGORIES for c in value)
        and bool(value.strip())
    )


def _strict_int(value: Any) -> bool:
    return value is None or (isinstance(value, int) and not isinstance(value, bool))


def _assert_refused_or_exact(
    result: Any, emulator: Emulator, field: str, value: Any, expected_path: str | None
) -> None:
    text = text_of(result)
    assert "Traceback" not in text
    if result.is_error and not emulator.requests:
        assert field in text, text
        return
    assert isinstance(value, str)
    assert KEY.match(value), f"{value!r} should have been refused"
    assert all(r.raw_path == expected_path for r in emulator.requests), [
        r.raw_path for r in emulator.requests
    ]


@EXAMPLES
@given(key=KEYISH)
def test_get_insight_group_key(key: Any) -> None:
    result, emulator = _call("get_insight_group", {"key": key})
    expected = f"/api/v2/engineering-insights/insights/groups/{quote(str(key), safe='')}"
    _assert_refused_or_exact(result, emulator, "key", key, expected)


@EXAMPLES
@given(project=KEYISH, key=KEYISH)
def test_get_metric_group_keys(project: Any, key: Any) -> None:
    result, emulator = _call("get_metric_group", {"project_key": project, "key": key})
    if result.is_error and not emulator.requests:
        text = text_of(result)
        assert "project_key" in text or "key" in text
        return
    expected = (
        f"/api/v2/projects/{quote(str(project), safe='')}/metric-groups/{quote(str(key), safe='')}"
    )
    _assert_refused_or_exact(result, emulator, "key", key, expected)
    assert KEY.match(str(project))


@EXAMPLES
@given(project=KEYISH, environment=KEYISH, apps=st.one_of(st.lists(KEYISH, max_size=3), KEYISH))
def test_get_insight_scores_arguments(project: Any, environment: Any, apps: Any) -> None:
    arguments = {"project_key": project, "environment_key": environment, "application_keys": apps}
    result, emulator = _call("get_insight_scores", arguments)
    if result.is_error and not emulator.requests:
        text = text_of(result)
        assert any(f in text for f in ("project_key", "environment_key", "application_keys"))
        return
    for request in emulator.requests:
        assert request.path == "/api/v2/engineering-insights/insights/scores"
        query = dict(request.query)
        assert query["projectKey"] == project
        assert query["environmentKey"] == environment
        if apps:
            assert query["applicationKey"].split(",") == list(dict.fromkeys(apps))


@EXAMPLES
@given(limit=LIMITISH, offset=LIMITISH, query=TEXTISH)
def test_list_insight_groups_paging_and_query(limit: Any, offset: Any, query: Any) -> None:
    arguments = {k: v for k, v in {"limit": limit, "offset": offset, "query": query}.items()}
    result, emulator = _call("list_insight_groups", arguments)
    if result.is_error and not emulator.requests:
        text = text_of(result)
        assert any(f in text for f in ("limit", "offset", "query"))
        return
    assert _strict_int(limit), f"limit {limit!r} should have been refused"
    assert _strict_int(offset), f"offset {offset!r} should have been refused"
    assert query is None or _plain_text(query), f"query {query!r} should have been refused"
    for request in emulator.requests:
        assert request.path == "/api/v2/engineering-insights/insights/groups"
        sent = dict(request.query)
        assert 1 <= int(sent["limit"]) <= 20
        if query is not None:
            assert sent["query"] == query.strip()


@EXAMPLES
@given(
    name=TEXTISH,
    key=KEYISH,
    extra=st.dictionaries(st.text(min_size=1, max_size=8), st.integers(), max_size=2),
)
def test_create_insight_group_arguments(name: Any, key: Any, extra: dict[str, int]) -> None:
    arguments = {
        "name": name,
        "key": key,
        "project_key": "checkout-web",
        "environment_key": "production",
        **extra,
    }
    result, emulator = _call("create_insight_group", arguments)
    unknown = set(extra) - {"name", "key", "project_key", "environment_key", "application_keys"}
    if unknown:
        assert result.is_error
        assert emulator.requests == []
        return
    if result.is_error and not emulator.writes():
        return
    assert _plain_text(name), f"name {name!r} should have been refused"
    assert KEY.match(str(key))
    for write in emulator.writes():
        assert write.path == "/api/v2/engineering-insights/insights/group"
        assert json.loads(write.body)["name"] == name.strip()


@EXAMPLES
@given(name=TEXTISH)
def test_create_insight_group_names(name: Any) -> None:
    arguments = {"name": name, "key": "new-group", **SCOPE}
    result, emulator = _call("create_insight_group", arguments)
    if result.is_error and not emulator.requests:
        assert "name" in text_of(result)
        return
    assert _plain_text(name), f"name {name!r} should have been refused"
    (write,) = emulator.writes()
    assert json.loads(write.body)["name"] == name.strip()


NON_STRING_ARGUMENTS = [
    ("list_insight_groups", {}, "limit", 5),
    ("list_insight_groups", {}, "offset", 3),
    ("list_insight_groups", {}, "include_scores", True),
    ("list_insight_groups", {}, "include_indicator_counts", False),
    ("get_insight_group", {"key": "ios-team"}, "include_scores", False),
    ("list_metric_groups", {"project_key": "checkout-web"}, "limit", 2),
    ("get_metric_group", {"project_key": "checkout-web", "key": "x"}, "include_experiments", True),
    ("get_insight_scores", SCOPE, "application_keys", ["web"]),
    ("create_insight_group", {**SCOPE, "name": "N", "key": "k"}, "application_keys", ["web"]),
]


def _look_alikes(value: Any) -> list[Any]:
    """Values a lenient validator would turn into ``value``."""
    alikes: list[Any] = [json.dumps(value), str(value)]
    if isinstance(value, bool):
        alikes += [int(value), "yes" if value else "no"]
    elif isinstance(value, int):
        alikes += [float(value), True]
    else:
        alikes += [value[0], {"0": value[0]}]
    return alikes


@EXAMPLES
@given(case=st.sampled_from(NON_STRING_ARGUMENTS), which=st.integers(min_value=0, max_value=3))
def test_non_string_arguments_are_never_coerced(
    case: tuple[str, dict[str, Any], str, Any], which: int
) -> None:
    tool, base, field, value = case
    wrapped = _look_alikes(value)[which]
    result, emulator = _call(tool, {**base, field: wrapped})
    assert result.is_error, f"{field}={wrapped!r} was accepted"
    text = text_of(result)
    assert field in text
    assert "expected" in text
    assert emulator.requests == []
