"""The MCP bundle (``make bundle``): built and validated with the official mcpb CLI, unpacked
with it, and started the way the manifest says, as the official mcpb library computes it
(uv, offline: every package comes from uv's cache and the bundle's lock), answering
``tools/list`` and a call on the demo data through the SDK's client."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tomllib
from pathlib import Path
from typing import Any

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from .mcp_helpers import structured

ROOT = Path(__file__).parents[1]
REAL_CLIENTS = ROOT / "tests" / "real_clients"
MCPB = REAL_CLIENTS / "node_modules" / ".bin" / "mcpb"
BUNDLE = ROOT / "dist" / "ld-insights-mcp.mcpb"

pytestmark = pytest.mark.skipif(
    not MCPB.exists(), reason="the mcpb CLI is not installed: make real-clients-install"
)


@pytest.fixture(scope="module")
def unpacked(tmp_path_factory: pytest.TempPathFactory) -> Path:
    subprocess.run([sys.executable, "scripts/bundle.py"], cwd=ROOT, check=True, timeout=300)
    into = tmp_path_factory.mktemp("bundle")
    subprocess.run([str(MCPB), "unpack", str(BUNDLE), str(into)], check=True, timeout=60)
    return into


def launch(unpacked: Path, user_config: dict[str, Any]) -> dict[str, Any]:
    """``{command, args, env}`` for the bundle, from the official library."""
    done = subprocess.run(
        ["node", str(REAL_CLIENTS / "mcpb_config.mjs"), str(unpacked), json.dumps(user_config)],
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    config: dict[str, Any] = json.loads(done.stdout)
    return config


def test_the_manifest_is_valid_and_versioned_like_the_project() -> None:
    done = subprocess.run(
        [str(MCPB), "validate", str(ROOT / "bundle" / "manifest.json")],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    manifest = json.loads((ROOT / "bundle" / "manifest.json").read_text())
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    assert manifest["version"] == project["version"]
    assert manifest["manifest_version"] == "0.4"
    assert manifest["server"]["type"] == "uv"
    assert manifest["user_config"]["access_token"]["sensitive"] is True
    assert manifest["user_config"]["proxy"]["sensitive"] is True
    assert {"access_token", "project", "environment", "read_only", "demo"} <= set(
        manifest["user_config"]
    )


def test_the_bundle_locks_exactly_the_runtime_versions(unpacked: Path) -> None:
    pin = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)", re.M)
    runtime = {
        name.lower().replace("_", "-"): version
        for name, version in pin.findall((ROOT / "requirements.lock").read_text())
    }
    locked = tomllib.loads((unpacked / "uv.lock").read_text())["package"]
    versions = {p["name"]: p["version"] for p in locked if p["name"] != "ld-insights-mcp"}
    assert {name: versions.get(name) for name in runtime} == runtime
    assert "aiohttp" not in versions
    assert not (unpacked / "tests").exists()


def started(unpacked: Path, user_config: dict[str, Any]) -> StdioServerParameters:
    """How the app starts the bundle with these settings (uv offline: packages from its cache)."""
    config = launch(unpacked, user_config)
    assert config["command"] == "uv"
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LD_", "VIRTUAL_ENV"))}
    return StdioServerParameters(
        command=config["command"],
        args=config["args"],
        env={**env, **config["env"], "UV_OFFLINE": "1"},
    )


@pytest.mark.anyio
async def test_the_unpacked_bundle_starts_as_the_manifest_says_and_answers_on_demo_data(
    unpacked: Path,
) -> None:
    params = started(unpacked, {"demo": True})
    with anyio.fail_after(240):  # the first start installs the runtime into the bundle
        async with Client(params) as client:  # type: ignore[arg-type]
            tools = {t.name for t in (await client.list_tools()).tools}
            groups = structured(await client.call_tool("list_insight_groups", {"limit": 1}))
    assert {"get_insight_scores", "create_insight_group", "explain_score"} <= tools
    assert groups["groups"]


@pytest.mark.anyio
async def test_read_only_in_the_settings_removes_the_write_tools(unpacked: Path) -> None:
    params = started(unpacked, {"demo": True, "read_only": True})
    with anyio.fail_after(240):
        async with Client(params) as client:  # type: ignore[arg-type]
            tools = {t.name for t in (await client.list_tools()).tools}
    assert "get_insight_scores" in tools
    assert "create_insight_group" not in tools


@pytest.mark.anyio
async def test_a_blank_instance_field_takes_the_default_instead_of_stopping_the_server(
    unpacked: Path,
) -> None:
    """A user who empties "LaunchDarkly instance" in the form sends ``LD_BASE_URI=""``."""
    params = started(unpacked, {"demo": True, "base_uri": ""})
    assert params.env is not None
    assert params.env["LD_BASE_URI"] == ""
    with anyio.fail_after(240):
        async with Client(params) as client:  # type: ignore[arg-type]
            tools = {t.name for t in (await client.list_tools()).tools}
    assert "get_insight_scores" in tools


def test_without_a_token_or_demo_data_the_message_names_the_extension_s_settings(
    unpacked: Path,
) -> None:
    """A bundle's user has no command line: the message names the form's fields, not --demo."""
    params = started(unpacked, {})
    done = subprocess.run(
        [params.command, *params.args],
        env=params.env,
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    manifest = json.loads((ROOT / "bundle" / "manifest.json").read_text())
    fields = manifest["user_config"]
    assert f'"{fields["access_token"]["title"]}"' in done.stderr
    assert f'"{fields["demo"]["title"]}"' in done.stderr
    assert "--demo" not in done.stderr
    assert "LD_ACCESS_TOKEN" not in done.stderr
