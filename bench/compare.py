"""Added latency per stdio tool call: this tree against an earlier commit, in one run.

Run ``make bench-compare REF=<commit>`` (or ``python bench/compare.py <commit>``). The earlier
commit's ``server/`` and ``prompts/`` are exported with ``git archive`` into a temporary
directory, byte-compiled, and served from there (``PYTHONPATH``); both servers and a direct
request to the emulator are called in turn, read cache off, and the medians compared.
"""

from __future__ import annotations

import argparse
import json
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


def export(ref: str, into: Path) -> Path:
    """``server/`` and ``prompts/`` of ``ref`` under ``into``; returns its ``server`` path."""
    archive = subprocess.run(
        ["git", "archive", ref, "server", "prompts"],
        cwd=run.ROOT,
        capture_output=True,
        check=True,
    ).stdout
    subprocess.run(["tar", "-x", "-C", str(into)], input=archive, check=True)
    subprocess.run([sys.executable, "-m", "compileall", "-q", str(into / "server")], check=True)
    return into / "server"


def compare(ref: str, calls: int) -> dict[str, Any]:
    from ld_insights_mcp.emulator import DEMO_TOKEN

    port = run.free_port()
    url = f"http://127.0.0.1:{port}"
    headers = {"Authorization": DEMO_TOKEN, "LD-API-Version": "beta"}
    emulator = [sys.executable, "-m", "ld_insights_mcp.emulator", "--port", str(port)]
    with tempfile.TemporaryDirectory() as scratch, run.background(emulator, port):
        earlier = export(ref, Path(scratch))
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
            ref: StdioServer(command, env={**env, "PYTHONPATH": str(earlier)}),
        }
        for server in servers.values():
            server.initialize()
        cases = run.stdio_cases(servers["this tree"], project, environment)
        direct = httpx.Client(base_url=url, headers=headers)
        report: dict[str, Any] = {"ref": ref, "calls": calls}
        for tool, (ours, _, (path, params)) in cases.items():
            tools = dict.fromkeys(servers, ours)
            samples, _ = run.interleaved(servers, tools, direct, path, params, calls)
            base = statistics.median(samples["direct"])
            report[tool] = {"direct_ms": run.ms(base)} | {
                name: run.ms(statistics.median(samples[name]) - base) for name in servers
            }
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
    print(f"\n| added per call (ms), {args.calls} calls each | direct | this tree | {args.ref} |")
    print("|---|---|---|---|")
    for tool, row in report.items():
        if isinstance(row, dict):
            print(f"| {tool} | {row['direct_ms']} | **{row['this tree']}** | {row[args.ref]} |")


if __name__ == "__main__":
    main()
