"""Added latency per stdio tool call: this tree against an earlier commit, in one run.

Run ``make bench-compare REF=<commit>`` (or ``python bench/compare.py <commit>``). The earlier
commit's ``server/``, ``prompts/`` and lock are exported with ``git archive`` into a temporary
directory; its locked dependencies are installed there in a virtual environment of its own
(uv; its cache makes this fast), its code byte-compiled and served from there
(``PYTHONPATH``). Both servers and a direct request to the emulator are called in turn, read
cache off, and the medians compared.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))

import run
from stdio_driver import StdioServer

LOCKS = ("requirements-dev.lock", "requirements.lock")
"""The lock an earlier commit's environment is built from: the first it has."""


def export(ref: str, into: Path) -> tuple[Path, Path]:
    """``server/``, ``prompts/`` and the lock of ``ref`` under ``into``, and a virtual
    environment with that lock's packages; returns (its ``server`` path, its python)."""
    listed = subprocess.run(
        ["git", "ls-tree", "--name-only", ref], cwd=run.ROOT, capture_output=True, check=True
    ).stdout.decode()
    lock = next(name for name in LOCKS if name in listed.split())
    archive = subprocess.run(
        ["git", "archive", ref, "server", "prompts", lock],
        cwd=run.ROOT,
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    uv = shutil.which("uv")
    command = [uv] if uv else [sys.executable, "-m", "uv"]
    venv = into / ".venv"
    subprocess.run([*command, "venv", "--quiet", "--python", sys.executable, str(venv)], check=True)
    python = venv / "bin" / "python"
    sync = [*command, "pip", "sync", "--quiet", "--python", str(python), "--require-hashes"]
    subprocess.run(
        [*sync, str(into / lock)],
        check=True,
        env={**os.environ, "UV_COMPILE_BYTECODE": "1"},
    )
    subprocess.run([str(python), "-m", "compileall", "-q", str(into / "server")], check=True)
    return into / "server", python


def compare(ref: str, calls: int) -> dict[str, Any]:
    from ld_insights_mcp.emulator import DEMO_TOKEN

    port = run.free_port()
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": DEMO_TOKEN, "LD-API-Version": "beta"}
    emulator = [*run.EMULATOR, "--port", str(port)]
    with (
        tempfile.TemporaryDirectory() as scratch,
        run.background(emulator, port, run.EMULATOR_ENV),
    ):
        earlier, python = export(ref, Path(scratch))
        group = httpx.get(
            f"{url}/api/v2/engineering-insights/insights/groups",
            headers=headers,
            params={"limit": 1},
        ).json()["items"][0]
        project, environment = group["projectKey"], group["environmentKey"]
        env = {"LD_ACCESS_TOKEN": DEMO_TOKEN, **run.NO_CACHE}
        command = [*run.SERVER, "--base-uri", url]
        servers = {
            "this tree": StdioServer(command, env=env),
            ref: StdioServer([str(python), *command[1:]], env={**env, "PYTHONPATH": str(earlier)}),
        }
        for server in servers.values():
            server.initialize()
        cases = run.stdio_cases(servers["this tree"], project, environment)
        direct = httpx.Client(base_url=url, headers=headers)
        report: dict[str, Any] = {"ref": ref, "calls": calls}
        for tool, (ours, _, (path, params)) in cases.items():
            tools = dict.fromkeys(servers, ours)
            samples, cpu = run.interleaved(servers, tools, direct, path, params, calls)
            base = statistics.median(samples["direct"])
            report[tool] = {"direct_ms": run.ms(base)} | {
                name: run.ms(statistics.median(samples[name]) - base) for name in servers
            }
            report[tool]["server_cpu_ms"] = {name: run.ms(cpu[name] / calls) for name in servers}
        direct.close()
        for server in servers.values():
            server.close()
    return report


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("ref", help="the earlier commit (anything git archive takes)")
    parser.add_argument("--calls", type=int, default=500)
    args = parser.parse_args()
    report = compare(args.ref, args.calls)
    print(json.dumps(report, indent=2))
    print(
        f"\n| added per call (ms), {args.calls} calls each | direct | this tree | {args.ref} "
        f"| server CPU per call: this tree | {args.ref} |"
    )
    print("|---|---|---|---|---|---|")
    for tool, row in report.items():
        if isinstance(row, dict):
            cpu = row["server_cpu_ms"]
            print(
                f"| {tool} | {row['direct_ms']} | **{row['this tree']}** | {row[args.ref]} "
                f"| {cpu['this tree']} | {cpu[args.ref]} |"
            )


if __name__ == "__main__":
    main()
