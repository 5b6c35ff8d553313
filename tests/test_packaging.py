"""Packaging: the wheel carries everything the server reads at run time; the wheel and sdist
build with ``python -m build`` and pass ``twine check``; the wheel runs with ``uvx`` (the
runtime only: the hosted extra's Redis is absent); the locks agree with each other."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import anyio
import pytest
from mcp import Client
from mcp.client.stdio import StdioServerParameters

from .mcp_helpers import structured

ROOT = Path(__file__).parents[1]
PIN = re.compile(
    r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;]+)(?: ?;[^\\\n]*)?((?:\s*\\\n\s*--hash=\S+)+)",
    re.M,
)
DEV_ONLY = {"pytest", "mypy", "ruff", "playwright", "hypothesis", "mutmut", "twine", "trustme"}
HOSTED = {"redis", "uvloop"}


def uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


@pytest.fixture(scope="module")
def dist(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The wheel and the sdist, built by ``python -m build`` (uv installs the backend)."""
    out = tmp_path_factory.mktemp("dist")
    subprocess.run(
        [sys.executable, "-m", "build", "--installer", "uv", "--outdir", str(out), str(ROOT)],
        check=True,
        capture_output=True,
        timeout=300,
    )
    return out


def wheel_of(dist: Path) -> Path:
    (wheel,) = dist.glob("ld_insights_mcp-*.whl")
    return wheel


def test_wheel_ships_prompts_knowledge_and_entry_point(dist: Path) -> None:
    with zipfile.ZipFile(wheel_of(dist)) as archive:
        names = set(archive.namelist())
        entry_points = next(n for n in names if n.endswith("entry_points.txt"))
        scripts = archive.read(entry_points).decode()
    shipped_prompts = {
        n.rsplit("/", 1)[1] for n in names if n.startswith("ld_insights_mcp/prompts/")
    }
    assert shipped_prompts == {p.name for p in (ROOT / "prompts").glob("*.md")}
    assert "ld_insights_mcp/knowledge/score_categories.json" in names
    assert "ld_insights_mcp/py.typed" in names
    assert "ld-insights-mcp = ld_insights_mcp.cli:main" in scripts


def test_the_wheel_ships_no_test_support(dist: Path) -> None:
    """The tests' emulator (request log, faults, latency, loopback serving, hostile text) stays
    in ``tests/support``: the demo needs none of it."""
    support = {p.name for p in (ROOT / "tests" / "support").glob("*.py")} - {"__init__.py"}
    with zipfile.ZipFile(wheel_of(dist)) as archive:
        names = archive.namelist()
    assert "ld_insights_mcp/emulator/app.py" in names
    assert not [n for n in names if n.startswith("tests/")]
    assert not [
        n
        for n in names
        if n.startswith("ld_insights_mcp/emulator/") and n.rsplit("/", 1)[1] in support
    ]


def test_the_wheel_and_sdist_pass_twine_check(dist: Path) -> None:
    built = sorted(p.name for p in dist.iterdir())
    assert len(built) == 2, built
    done = subprocess.run(
        [sys.executable, "-m", "twine", "check", "--strict", *map(str, dist.iterdir())],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr


def uvx(wheel: Path, *args: str) -> list[str]:
    """``uvx --from <wheel> ld-insights-mcp ARGS``, within the locked versions (uv resolves
    them against the package index; the packages come from its cache)."""
    constraints = str(ROOT / "requirements.lock")
    run = [*uv(), "tool", "run", "--isolated", "--constraints", constraints]
    return [*run, "--from", str(wheel), "ld-insights-mcp", *args]


def runtime_env() -> dict[str, str]:
    return {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("LD_", "LAUNCHDARKLY_", "VIRTUAL_ENV"))
    }


@pytest.mark.anyio
async def test_uvx_runs_the_wheel_over_stdio_on_the_demo(dist: Path) -> None:
    command, *args = uvx(wheel_of(dist), "--demo")
    params = StdioServerParameters(command=command, args=args, env=runtime_env())
    with anyio.fail_after(180):
        async with Client(params) as client:  # type: ignore[arg-type]
            tools = {t.name for t in (await client.list_tools()).tools}
            page = structured(await client.call_tool("list_insight_groups", {"limit": 1}))
    assert "get_insight_scores" in tools
    assert page["groups"]


def test_the_runtime_alone_refuses_a_redis_url_naming_the_hosted_extra(dist: Path) -> None:
    done = subprocess.run(
        uvx(wheel_of(dist), "--demo"),
        capture_output=True,
        text=True,
        env={**runtime_env(), "LD_INSIGHTS_REDIS_URL": "redis://127.0.0.1:6379/0"},
        timeout=180,
        check=False,
    )
    assert done.returncode == 2, done.stderr
    assert "install ld-insights-mcp[hosted]" in done.stderr


def locked(name: str) -> dict[str, tuple[str, str]]:
    text = (ROOT / name).read_text()
    return {m[1].lower(): (m[2], " ".join(sorted(m[3].split()))) for m in PIN.finditer(text)}


def test_the_runtime_lock_is_the_dev_lock_s_versions_without_dev_tools_or_extras() -> None:
    runtime, dev = locked("requirements.lock"), locked("requirements-dev.lock")
    assert runtime
    assert {name: dev.get(name) for name in runtime} == runtime  # same versions and hashes
    assert not (DEV_ONLY | HOSTED) & set(runtime)
    assert set(dev) >= DEV_ONLY | HOSTED
    assert not {"aiohttp", "httpx-aiohttp"} & (set(runtime) | set(dev))


def test_the_hosted_lock_is_the_runtime_lock_plus_the_hosted_extra() -> None:
    """The image installs requirements-hosted.lock: the runtime's pins and hashes, the hosted
    extra's, no dev tool, every pin the dev lock's."""
    runtime, hosted = locked("requirements.lock"), locked("requirements-hosted.lock")
    dev = locked("requirements-dev.lock")
    assert {name: hosted.get(name) for name in runtime} == runtime
    assert set(hosted) >= HOSTED
    assert not DEV_ONLY & set(hosted)
    assert {name: dev.get(name) for name in hosted} == hosted


DOCKERFILE = ROOT / "deploy" / "Dockerfile"


def build_stage() -> list[tuple[str, list[str]]]:
    """The Dockerfile's first stage as (instruction, arguments), continuations joined."""
    text = re.sub(r"\\\n", " ", DOCKERFILE.read_text())
    lines = [line.strip() for line in text.splitlines()]
    instructions = [line.split(maxsplit=1) for line in lines if line and line[0] != "#"]
    stages = [i for i, (name, _) in enumerate(instructions) if name == "FROM"]
    return [(name, rest.split()) for name, rest in instructions[stages[0] + 1 : stages[1]]]


def test_the_image_s_install_steps_give_a_hosted_server(tmp_path: Path) -> None:
    """The Dockerfile's build stage without Docker: its COPY lines into a fresh directory, its
    RUN lines there (the image's venv under tmp_path, pip from its own cache), then the hosted
    modules import, a Redis URL is accepted and the entry point answers --help."""
    src, venv = tmp_path / "src", tmp_path / "venv"
    src.mkdir()
    stage = build_stage()
    assert [name for name, _ in stage if name not in ("ENV", "WORKDIR")] == [
        "COPY",
        "COPY",
        "COPY",
        "RUN",
    ], "a new kind of step: teach this test to run it"
    for name, args in stage:
        if name == "COPY":
            *sources, dest = args
            for source in sources:
                if (ROOT / source).is_dir():
                    ignore = shutil.ignore_patterns("__pycache__")
                    shutil.copytree(ROOT / source, src / dest, ignore=ignore, dirs_exist_ok=True)
                else:
                    shutil.copy2(ROOT / source, src / dest / Path(source).name)
        elif name == "RUN":
            command = " ".join(args).replace("/opt/venv", str(venv))
            done = subprocess.run(
                ["sh", "-c", command],
                cwd=src,
                env={**runtime_env(), "PYTHON": sys.executable},
                capture_output=True,
                text=True,
                timeout=600,
                check=False,
            )
            assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    check = (
        "import redis.asyncio, uvloop, prometheus_client\n"
        "import ld_insights_mcp.shared.redis_link, ld_insights_mcp.transports.http\n"
        "from ld_insights_mcp.config import Settings\n"
        "Settings(access_token='api-x', redis_url='redis://127.0.0.1:6379/0')\n"
    )
    python, entry = venv / "bin" / "python", venv / "bin" / "ld-insights-mcp"
    imported = subprocess.run(
        [str(python), "-c", check], capture_output=True, text=True, timeout=120, check=False
    )
    assert imported.returncode == 0, imported.stderr
    helped = subprocess.run(
        [str(entry), "--help"], capture_output=True, text=True, timeout=120, check=False
    )
    assert helped.returncode == 0, helped.stderr
    assert "--transport" in helped.stdout
