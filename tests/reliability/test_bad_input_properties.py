"""Property-based bad input over every tool: refused naming the field, or sent to exactly the
intended path with the value encoded. The emulator's request log is the witness."""

from __future__ import annotations

import re
from typing import Any
from urllib.parse import quote

import anyio
import httpx
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from mcp import Client

from ld_insights_mcp.emulator import Emulator
from ld_insights_mcp.server import create_server

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
LIMITISH = st.one_of(st.integers(min_value=-5, max_value=200), st.text(max_size=3), st.none())
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
@given(limit=LIMITISH, offset=LIMITISH, query=st.one_of(st.text(max_size=300), st.none()))
def test_list_insight_groups_paging_and_query(limit: Any, offset: Any, query: Any) -> None:
    arguments = {k: v for k, v in {"limit": limit, "offset": offset, "query": query}.items()}
    result, emulator = _call("list_insight_groups", arguments)
    if result.is_error and not emulator.requests:
        text = text_of(result)
        assert any(f in text for f in ("limit", "offset", "query"))
        return
    for request in emulator.requests:
        assert request.path == "/api/v2/engineering-insights/insights/groups"
        sent = dict(request.query)
        assert 1 <= int(sent["limit"]) <= 20
        if query is not None:
            assert sent["query"] == query.strip()


@EXAMPLES
@given(
    name=st.one_of(st.text(max_size=300), st.integers(), st.none()),
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
    assert isinstance(name, str)
    assert name.strip()
    assert KEY.match(str(key))
    for write in emulator.writes():
        assert write.path == "/api/v2/engineering-insights/insights/group"
