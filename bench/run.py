"""Benchmark harness: cold start, per-call overhead, HTTP throughput, context cost, memory.

Run ``make bench``. Everything runs against the embedded emulator on loopback ports, in one
run, so ratios compare like with like on a noisy shared machine. Prints a Markdown table and
writes ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
import question_cost
from stdio_driver import StdioServer

ROOT = Path(__file__).parents[1]
RESULTS = Path(__file__).parent / "results"
FLOOR = Path(__file__).parent / "floor_server.py"
SERVER = [sys.executable, "-m", "ld_insights_mcp"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def wait_for_port(port: int, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with socket.socket() as sock:
            if sock.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.02)
    raise RuntimeError(f"nothing listening on {port}")


@contextmanager
def background(command: list[str], port: int, env: dict[str, str] | None = None) -> Iterator[None]:
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    try:
        wait_for_port(port)
        yield
    finally:
        process.terminate()
        process.wait(timeout=10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


# --- 1. cold start ----------------------------------------------------------------------------


def cold_start(runs: int) -> dict[str, Any]:
    """Spawn to initialize and to tools/list answered; ours and the floor interleaved."""
    commands = {"ours": [*SERVER, "--demo"], "sdk_floor": [sys.executable, str(FLOOR)]}
    samples: dict[str, dict[str, list[float]]] = {
        name: {"initialize": [], "tools_list": []} for name in commands
    }
    for _ in range(runs):
        for name, command in commands.items():
            server = StdioServer(command)
            server.initialize()
            samples[name]["initialize"].append(time.perf_counter() - server.started)
            server.request("tools/list")
            samples[name]["tools_list"].append(time.perf_counter() - server.started)
            server.close()
    medians = {
        name: {f"{k}_ms": ms(statistics.median(v)) for k, v in parts.items()}
        for name, parts in samples.items()
    }
    ours, floor = medians["ours"], medians["sdk_floor"]
    return {
        "runs": runs,
        "ours": ours,
        "sdk_floor": floor,
        "added_ms": round(ours["tools_list_ms"] - floor["tools_list_ms"], 1),
        "ratio": round(ours["tools_list_ms"] / floor["tools_list_ms"], 2),
    }


# --- 2. per-call overhead -----------------------------------------------------------------------


def per_call(
    emulator_url: str, token: str, calls: int, project: str, environment: str
) -> dict[str, Any]:
    cases = {
        "get_insight_scores": (
            {"project_key": project, "environment_key": environment},
            "/api/v2/engineering-insights/insights/scores",
            {"projectKey": project, "environmentKey": environment},
        ),
        "list_insight_groups": (
            {"limit": 20},
            "/api/v2/engineering-insights/insights/groups",
            {"limit": "20"},
        ),
    }
    server = StdioServer(
        [*SERVER, "--base-uri", emulator_url],
        env={"LD_ACCESS_TOKEN": token, "LD_INSIGHTS_LOG_LEVEL": "WARNING"},
    )
    server.initialize()
    metric_groups = server.call_tool("list_metric_groups", {"project_key": project})
    metric_key = metric_groups["structuredContent"]["metric_groups"][0]["key"]
    cases["get_metric_group"] = (
        {"project_key": project, "key": metric_key},
        f"/api/v2/projects/{project}/metric-groups/{metric_key}",
        {},
    )
    direct = httpx.Client(
        base_url=emulator_url, headers={"Authorization": token, "LD-API-Version": "beta"}
    )
    report: dict[str, Any] = {"calls": calls}
    for name, (arguments, path, params) in cases.items():
        for _ in range(20):  # warm both paths
            server.call_tool(name, arguments)
            direct.get(path, params=params).raise_for_status()
        tool_times, direct_times = [], []
        for _ in range(calls):  # interleaved, so drift hits both alike
            started = time.perf_counter()
            server.call_tool(name, arguments)
            tool_times.append(time.perf_counter() - started)
            started = time.perf_counter()
            direct.get(path, params=params).raise_for_status()
            direct_times.append(time.perf_counter() - started)
        tool_median, direct_median = statistics.median(tool_times), statistics.median(direct_times)
        report[name] = {
            "tool_median_ms": ms(tool_median),
            "tool_p95_ms": ms(percentile(tool_times, 0.95)),
            "direct_median_ms": ms(direct_median),
            "direct_p95_ms": ms(percentile(direct_times, 0.95)),
            "added_median_ms": ms(tool_median - direct_median),
            "ratio": round(tool_median / direct_median, 2),
        }
    direct.close()
    server.close()
    return report


# --- 3. throughput ------------------------------------------------------------------------------


async def _throughput_run(
    url: str, clients: int, calls_each: int, stateless: bool, arguments: dict[str, str]
) -> dict[str, Any]:
    from mcp import Client

    latencies: list[float] = []
    errors = 0

    async def worker() -> None:
        nonlocal errors
        try:
            async with Client(url, mode="auto" if stateless else "legacy") as client:  # type: ignore[arg-type]
                for _ in range(calls_each):
                    started = time.perf_counter()
                    result = await client.call_tool("get_insight_scores", arguments)
                    latencies.append(time.perf_counter() - started)
                    errors += bool(result.is_error)
        except Exception:
            errors += calls_each

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "clients": clients,
        "calls": len(latencies),
        "calls_per_s": round(len(latencies) / elapsed, 1),
        "p50_ms": ms(percentile(latencies, 0.5)) if latencies else None,
        "p99_ms": ms(percentile(latencies, 0.99)) if latencies else None,
        "errors": errors,
    }


def throughput(
    emulator_url: str, token: str, levels: list[int], project: str, environment: str
) -> list[dict[str, Any]]:
    rows = []
    for stateless in (False, True):
        port = free_port()
        command = [
            *SERVER,
            "--base-uri",
            emulator_url,
            "--transport",
            "streamable-http",
            "--port",
            str(port),
        ]
        if stateless:
            command.append("--stateless")
        env = {"LD_ACCESS_TOKEN": token, "LD_INSIGHTS_MAX_CONCURRENCY": "32"}
        with background(command, port, env):
            for clients in levels:
                row = asyncio.run(
                    _throughput_run(
                        f"http://127.0.0.1:{port}/mcp",
                        clients,
                        5,
                        stateless,
                        {"project_key": project, "environment_key": environment},
                    )
                )
                row["mode"] = "stateless" if stateless else "stateful"
                rows.append(row)
    return rows


# --- 4. context cost -----------------------------------------------------------------------------


def context_cost(emulator_url: str, token: str, project: str, environment: str) -> dict[str, Any]:
    server = StdioServer([*SERVER, "--base-uri", emulator_url], env={"LD_ACCESS_TOKEN": token})
    server.initialize()
    tools_list = server.request("tools/list")["result"]
    direct = httpx.Client(
        base_url=emulator_url, headers={"Authorization": token, "LD-API-Version": "beta"}
    )
    metric_key = server.call_tool("list_metric_groups", {"project_key": project})[
        "structuredContent"
    ]["metric_groups"][0]["key"]
    cases = {
        "get_insight_scores": (
            {"project_key": project, "environment_key": environment},
            (
                "/api/v2/engineering-insights/insights/scores",
                {"projectKey": project, "environmentKey": environment},
            ),
        ),
        "list_insight_groups(include_scores)": (
            {"limit": 20, "include_scores": True},
            ("/api/v2/engineering-insights/insights/groups", {"limit": "20", "expand": "scores"}),
        ),
        "list_insight_groups": (
            {"limit": 20},
            ("/api/v2/engineering-insights/insights/groups", {"limit": "20"}),
        ),
        "get_metric_group": (
            {"project_key": project, "key": metric_key},
            (f"/api/v2/projects/{project}/metric-groups/{metric_key}", {}),
        ),
    }
    rows = {}
    for label, (arguments, (path, params)) in cases.items():
        name = label.split("(")[0]
        result = server.call_tool(name, arguments)
        text = "".join(c.get("text", "") for c in result["content"]).encode()
        structured = json.dumps(result.get("structuredContent"), separators=(",", ":")).encode()
        raw = direct.get(path, params=params).content
        rows[label] = {
            "raw_api_bytes": len(raw),
            "text_bytes": len(text),
            "structured_bytes": len(structured),
            "text_vs_raw": round(len(text) / len(raw), 3),
            "text_tokens_est": len(text) // 4,
            "raw_tokens_est": len(raw) // 4,
        }
    direct.close()
    server.close()
    listing = json.dumps(tools_list, separators=(",", ":")).encode()
    return {
        "tools_list_bytes": len(listing),
        "tools_list_tokens_est": len(listing) // 4,
        "tokens": "bytes/4 estimate",
        "tools": rows,
    }


# --- 5. memory -----------------------------------------------------------------------------------


def memory(
    emulator_url: str, token: str, calls: int, project: str, environment: str
) -> dict[str, Any]:
    server = StdioServer([*SERVER, "--base-uri", emulator_url], env={"LD_ACCESS_TOKEN": token})
    server.initialize()
    arguments = {"project_key": project, "environment_key": environment}
    server.call_tool("get_insight_scores", arguments)
    after_start = server.rss_mb()
    for i in range(calls):
        server.call_tool(
            "get_insight_scores" if i % 2 else "list_insight_groups",
            arguments if i % 2 else {"limit": 5},
        )
    after_calls = server.rss_mb()
    server.close()
    return {
        "calls": calls,
        "rss_after_start_mb": round(after_start, 1),
        "rss_after_calls_mb": round(after_calls, 1),
        "growth_mb": round(after_calls - after_start, 1),
    }


# --- main ----------------------------------------------------------------------------------------


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--quick", action="store_true", help="fewer iterations (smoke run)")
    args = parser.parse_args()
    quick = args.quick
    from ld_insights_mcp.emulator import DEMO_TOKEN

    emulator_port = free_port()
    emulator_url = f"http://127.0.0.1:{emulator_port}"
    results: dict[str, Any] = {
        "machine": {
            "python": platform.python_version(),
            "platform": platform.platform(),
            "cpus": os.cpu_count(),
        },
        "started": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    with background(
        [sys.executable, "-m", "ld_insights_mcp.emulator", "--port", str(emulator_port)],
        emulator_port,
    ):
        groups = httpx.get(
            f"{emulator_url}/api/v2/engineering-insights/insights/groups",
            headers={"Authorization": DEMO_TOKEN, "LD-API-Version": "beta"},
            params={"limit": 1},
        ).json()["items"][0]
        project, environment = groups["projectKey"], groups["environmentKey"]
        print("cold start ...", file=sys.stderr)
        results["cold_start"] = cold_start(3 if quick else 15)
        print("per-call overhead ...", file=sys.stderr)
        results["per_call"] = per_call(
            emulator_url, DEMO_TOKEN, 50 if quick else 500, project, environment
        )
        print("throughput ...", file=sys.stderr)
        results["throughput"] = throughput(
            emulator_url, DEMO_TOKEN, [10] if quick else [10, 50, 200], project, environment
        )
        print("context cost ...", file=sys.stderr)
        results["context"] = context_cost(emulator_url, DEMO_TOKEN, project, environment)
        print("question cost ...", file=sys.stderr)
        results["question_cost"] = question_cost.measure(
            emulator_url, DEMO_TOKEN, project, environment
        )
        print("memory ...", file=sys.stderr)
        results["memory"] = memory(
            emulator_url, DEMO_TOKEN, 500 if quick else 10_000, project, environment
        )
    RESULTS.mkdir(exist_ok=True)
    (RESULTS / ("quick.json" if quick else "latest.json")).write_text(
        json.dumps(results, indent=2) + "\n"
    )
    print(render(results))


def render(r: dict[str, Any]) -> str:
    lines = [
        f"Machine: {r['machine']['cpus']} CPUs, Python {r['machine']['python']}, {r['machine']['platform']}; run {r['started']}",
        "",
    ]
    c = r["cold_start"]
    lines += [
        f"| cold start (median of {c['runs']}) | to initialize | to tools/list |",
        "|---|---|---|",
        f"| ld-insights-mcp --demo | {c['ours']['initialize_ms']} ms | {c['ours']['tools_list_ms']} ms |",
        f"| SDK floor (bare MCPServer) | {c['sdk_floor']['initialize_ms']} ms | {c['sdk_floor']['tools_list_ms']} ms |",
        f"| added / ratio | | {c['added_ms']} ms / {c['ratio']}x |",
        "",
        f"| per call over stdio ({r['per_call']['calls']} calls) | tool median | tool p95 | direct HTTP median | added median | ratio |",
        "|---|---|---|---|---|---|",
    ]
    for name, row in r["per_call"].items():
        if isinstance(row, dict):
            lines.append(
                f"| {name} | {row['tool_median_ms']} ms | {row['tool_p95_ms']} ms | {row['direct_median_ms']} ms | {row['added_median_ms']} ms | {row['ratio']}x |"
            )
    lines += [
        "",
        "| HTTP throughput | clients | calls | calls/s | p50 | p99 | errors |",
        "|---|---|---|---|---|---|---|",
    ]
    for row in r["throughput"]:
        lines.append(
            f"| {row['mode']} | {row['clients']} | {row['calls']} | {row['calls_per_s']} | {row['p50_ms']} ms | {row['p99_ms']} ms | {row['errors']} |"
        )
    ctx = r["context"]
    lines += [
        "",
        f"tools/list: {ctx['tools_list_bytes']} bytes (~{ctx['tools_list_tokens_est']} tokens, bytes/4)",
        "",
        "| context cost | raw API bytes | text bytes | structured bytes | text/raw |",
        "|---|---|---|---|---|",
    ]
    for name, row in ctx["tools"].items():
        lines.append(
            f"| {name} | {row['raw_api_bytes']} | {row['text_bytes']} | {row['structured_bytes']} | {row['text_vs_raw']:.0%} |"
        )
    if "question_cost" in r:
        lines += ["", question_cost.render(r["question_cost"])]
    m = r["memory"]
    lines += [
        "",
        f"Memory: RSS {m['rss_after_start_mb']} MB after start, {m['rss_after_calls_mb']} MB after {m['calls']} calls (growth {m['growth_mb']} MB).",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
