"""Build the MCP bundle ``dist/ld-insights-mcp.mcpb`` for one-click install (Claude Desktop).

The bundle is of manifest 0.4's ``uv`` type: it carries the project (``pyproject.toml``, the
package, the prompts) and a ``uv.lock``, and the app runs it with uv, which installs the
dependencies on first start. Steps:

1. stage ``build/bundle/``: ``bundle/manifest.json`` and ``bundle/main.py``, the files git
   tracks under ``server/ld_insights_mcp`` and ``prompts``, ``README.md``, and
   ``pyproject.toml`` cut to what installing the runtime needs, with the locked versions
   (``requirements-dev.lock``, a superset of ``requirements.lock``) as constraints;
2. ``uv lock`` there (offline when uv's cache has every package, as after ``make install``), so
   the bundle's lock holds exactly the versions ``requirements.lock`` does;
3. ``mcpb validate`` and ``mcpb pack`` (the official CLI, pinned in ``tests/real_clients``).

Run ``make bundle``.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
STAGE = ROOT / "build" / "bundle"
OUT = ROOT / "dist" / "ld-insights-mcp.mcpb"
MCPB = ROOT / "tests" / "real_clients" / "node_modules" / ".bin" / "mcpb"
KEPT_TABLES = ("project", "build-system", "tool.hatch")
"""The ``pyproject.toml`` tables installing the runtime needs (not the dev group or tools)."""
PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^\s;\\]+)")


def runtime_pins(lock: Path) -> list[str]:
    """``name==version`` for every package in a ``uv pip compile`` lock."""
    return [f"{m[1]}=={m[2]}" for line in lock.read_text().splitlines() if (m := PIN.match(line))]


def staged_pyproject(text: str, pins: list[str]) -> str:
    """``pyproject.toml`` with only the tables in ``KEPT_TABLES``, plus the pins as uv
    constraints (so ``uv lock`` picks exactly the locked versions)."""
    kept: list[str] = []
    keep = True
    for line in text.splitlines():
        header = re.match(r"^\[\[?([^\]]+)\]\]?\s*$", line)
        if header:
            name = header[1].strip()
            keep = any(name == t or name.startswith(t + ".") for t in KEPT_TABLES)
        if keep:
            kept.append(line)
    constraints = "".join(f'  "{pin}",\n' for pin in pins)
    uv_table = f"[tool.uv]\nconstraint-dependencies = [\n{constraints}]\n"
    return "\n".join(kept).rstrip() + "\n\n" + uv_table


def tracked(*paths: str) -> list[str]:
    listed = subprocess.run(  # noqa: S603 - fixed arguments
        ["git", "ls-files", "-z", *paths],  # noqa: S607 - git from PATH, as make finds it
        cwd=ROOT,
        capture_output=True,
        check=True,
    ).stdout.decode()
    return [p for p in listed.split("\0") if p]


def stage() -> None:
    if STAGE.exists():
        shutil.rmtree(STAGE)
    STAGE.mkdir(parents=True)
    for name in tracked("server/ld_insights_mcp", "prompts"):
        target = STAGE / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    shutil.copy2(ROOT / "README.md", STAGE / "README.md")
    shutil.copy2(ROOT / "bundle" / "main.py", STAGE / "main.py")
    manifest = json.loads((ROOT / "bundle" / "manifest.json").read_text())
    version = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["version"]
    if manifest["version"] != version:
        sys.exit(f"bundle/manifest.json says {manifest['version']}, pyproject.toml {version}")
    shutil.copy2(ROOT / "bundle" / "manifest.json", STAGE / "manifest.json")
    pins = runtime_pins(ROOT / "requirements-dev.lock")  # a superset: the extras too
    (STAGE / "pyproject.toml").write_text(
        staged_pyproject((ROOT / "pyproject.toml").read_text(), pins)
    )


def uv() -> list[str]:
    found = shutil.which("uv")
    return [found] if found else [sys.executable, "-m", "uv"]


def lock() -> None:
    offline = subprocess.run(  # noqa: S603 - uv and fixed arguments
        [*uv(), "lock", "--quiet", "--offline", "--python", "3.11"],
        cwd=STAGE,
        capture_output=True,
        check=False,
    )
    if offline.returncode != 0:  # a package uv has not cached yet: ask the index
        command = [*uv(), "lock", "--quiet", "--python", "3.11"]
        subprocess.run(command, cwd=STAGE, check=True)  # noqa: S603 - as above


def pack() -> None:
    if not MCPB.exists():
        sys.exit("the mcpb CLI is not installed: run make real-clients-install")
    validate = [str(MCPB), "validate", str(STAGE / "manifest.json")]
    subprocess.run(validate, check=True)  # noqa: S603 - the pinned mcpb CLI
    OUT.parent.mkdir(exist_ok=True)
    OUT.unlink(missing_ok=True)
    subprocess.run([str(MCPB), "pack", str(STAGE), str(OUT)], check=True)  # noqa: S603


def main() -> None:
    stage()
    lock()
    pack()
    print(f"{OUT.relative_to(ROOT)}: {OUT.stat().st_size} bytes")


if __name__ == "__main__":
    main()
