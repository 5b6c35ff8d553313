"""Benchmark harness: cold start, per-call overhead (ours and a peer), first call, read cache,
HTTP CPU and throughput, client-side validation, context cost, time to answer the standard
questions at 80 ms per upstream request, memory.

Run ``make bench``. Everything runs against the embedded emulator on loopback ports, in one
run, so ratios compare like with like on a noisy shared machine. Prints a Markdown table and
writes ``bench/results/latest.json``.
"""

from __future__ import annotations

import argparse
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
import time_to_answer
from stdio_driver import StdioServer

ROOT = Path(__file__).parents[1]
RESULTS = Path(__file__).parent / "results"
FLOOR_API = Path(__file__).with_name("floor_api_server.py")
FLOOR = Path(__file__).parent / "floor_server.py"
SERVER = [sys.executable, "-m", "ld_insights_mcp"]
EMULATOR = [sys.executable, "-m", "tests.support"]
"""The tests' emulator serving the demo data on loopback (``--port N``), with ``EMULATOR_ENV``."""
EMULATOR_ENV = {"PYTHONPATH": str(ROOT)}
LOAD = Path(__file__).parent / "http_load.py"
CONTRACT = ROOT / "tests" / "contract" / "insights-openapi.json"
REAL_CLIENTS = ROOT / "tests" / "real_clients"
PEER_JS = (
    REAL_CLIENTS / "node_modules" / "@ivotoby" / "openapi-mcp-server" / "bin" / "mcp-server.js"
)
NODE = REAL_CLIENTS / "node_modules" / ".bin" / "node"
NO_CACHE = {"LD_INSIGHTS_CACHE_TTL": "0", "LD_INSIGHTS_LOG_LEVEL": "WARNING"}
"""The latency figures measure the real path: the read cache is off."""


def peer_command(emulator_url: str, token: str, *http: str) -> list[str] | None:
    """The peer, ``@ivotoby/openapi-mcp-server`` (pinned in tests/real_clients), on the
    emulator with the vendored contract; None when ``make real-clients-install`` has not run."""
    if not PEER_JS.exists():
        return None
    node = str(NODE) if NODE.exists() else "node"
    return [
        node,
        str(PEER_JS),
        "--api-base-url",
        emulator_url,
        "--openapi-spec",
        str(CONTRACT),
        "--headers",
        f"Authorization:{token},LD-API-Version:beta",
        *http,
    ]


def cpu_seconds(pid: int) -> float:
    """User plus system CPU a process has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


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
def background(
    command: list[str], port: int, env: dict[str, str] | None = None
) -> Iterator[subprocess.Popen[bytes]]:
    process = subprocess.Popen(
        command,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ, **(env or {})},
    )
    try:
        wait_for_port(port)
        yield process
    finally:
        process.terminate()
        process.wait(timeout=10)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def ms(seconds: float) -> float:
    return round(seconds * 1000, 3)


# --- 1. cold start ----------------------------------------------------------------------------


def cold_start(runs: int, emulator_url: str, token: str) -> dict[str, Any]:
    """Spawn to initialize and to tools/list answered: ours with a token (what users run) and
    with --demo, and the floor; interleaved."""
    commands = {
        "ours": ([*SERVER, "--base-uri", emulator_url], {"LD_ACCESS_TOKEN": token}),
        "ours_demo": ([*SERVER, "--demo"], {}),
        "sdk_floor": ([sys.executable, str(FLOOR)], {}),
    }
    samples: dict[str, dict[str, list[float]]] = {
        name: {"initialize": [], "tools_list": []} for name in commands
    }
    for _ in range(runs):
        for name, (command, env) in commands.items():
            server = StdioServer(command, env=env)
            server.initialize()
            samples[name]["initialize"].append(time.perf_counter() - server.started)
            server.request("tools/list")
            samples[name]["tools_list"].append(time.perf_counter() - server.started)
            server.close()
    medians = {
        name: {f"{k}_ms": ms(statistics.median(v)) for k, v in parts.items()}
        for name, parts in samples.items()
    }
    floor = medians["sdk_floor"]
    report: dict[str, Any] = {"runs": runs, **medians}
    for name in ("ours", "ours_demo"):
        report[f"{name}_added_ms"] = round(
            medians[name]["tools_list_ms"] - floor["tools_list_ms"], 1
        )
        report[f"{name}_ratio"] = round(medians[name]["tools_list_ms"] / floor["tools_list_ms"], 2)
    return report


# --- 2. per-call overhead -----------------------------------------------------------------------


Call = tuple[str, dict[str, Any]]


def stdio_cases(
    ours: StdioServer, project: str, environment: str
) -> dict[str, tuple[Call, Call, Call]]:
    """The timed reads: name → (our tool and arguments, the peer's, the direct path and params)."""
    metric_groups = ours.call_tool("list_metric_groups", {"project_key": project})
    metric_key = metric_groups["structuredContent"]["metric_groups"][0]["key"]
    scope = {"projectKey": project, "environmentKey": environment}
    return {
        "get_insight_scores": (
            ("get_insight_scores", {"project_key": project, "environment_key": environment}),
            ("get-insights-scores", scope),
            ("/api/v2/engineering-insights/insights/scores", scope),
        ),
        "list_insight_groups": (
            ("list_insight_groups", {"limit": 20}),
            ("get-insight-grps", {"limit": 20}),
            ("/api/v2/engineering-insights/insights/groups", {"limit": "20"}),
        ),
        "get_metric_group": (
            ("get_metric_group", {"project_key": project, "key": metric_key}),
            ("get-metric-grp", {"projectKey": project, "metricGroupKey": metric_key}),
            (f"/api/v2/projects/{project}/metric-groups/{metric_key}", {}),
        ),
    }


def interleaved(
    servers: dict[str, StdioServer],
    tools: dict[str, Call],
    direct: httpx.Client,
    path: str,
    params: dict[str, Any],
    calls: int,
) -> tuple[dict[str, list[float]], dict[str, float]]:
    """Each server's tool call, then the direct request, in turn: the timings per server and
    ``direct``, and each server's CPU seconds over the timed calls. The first 20 rounds warm
    every path; interleaving makes drift hit all alike."""
    samples: dict[str, list[float]] = {n: [] for n in [*servers, "direct"]}
    cpu: dict[str, float] = {}
    for i in range(calls + 20):
        if i == 20:
            cpu = {who: cpu_seconds(server.process.pid) for who, server in servers.items()}
        for who, server in servers.items():
            started = time.perf_counter()
            server.call_tool(*tools[who])
            if i >= 20:
                samples[who].append(time.perf_counter() - started)
        started = time.perf_counter()
        direct.get(path, params=params).raise_for_status()
        if i >= 20:
            samples["direct"].append(time.perf_counter() - started)
    used = {who: cpu_seconds(server.process.pid) - cpu[who] for who, server in servers.items()}
    return samples, used


def per_call(
    emulator_url: str, token: str, calls: int, project: str, environment: str
) -> dict[str, Any]:
    """Added latency over a direct request, ours and the peer, calls interleaved (cache off)."""
    servers = {
        "ours": StdioServer(
            [*SERVER, "--base-uri", emulator_url], env={"LD_ACCESS_TOKEN": token, **NO_CACHE}
        )
    }
    peer = peer_command(emulator_url, token)
    if peer is not None:
        servers["peer"] = StdioServer(peer)
    servers["sdk_floor"] = StdioServer(
        [sys.executable, str(FLOOR_API)],
        env={"LD_ACCESS_TOKEN": token, "LD_BASE_URI": emulator_url},
    )
    for server in servers.values():
        server.initialize()
    cases = stdio_cases(servers["ours"], project, environment)
    direct = httpx.Client(
        base_url=emulator_url, headers={"Authorization": token, "LD-API-Version": "beta"}
    )
    report: dict[str, Any] = {"calls": calls, "servers": list(servers)}
    for name, (ours, theirs, (path, params)) in cases.items():
        floor = ("call_api", {"path": path, "params": {k: str(v) for k, v in params.items()}})
        tools = {"ours": ours, "peer": theirs, "sdk_floor": floor}
        samples, cpu = interleaved(servers, tools, direct, path, params, calls)
        direct_median = statistics.median(samples["direct"])
        row: dict[str, Any] = {"direct_median_ms": ms(direct_median)}
        for who in servers:
            median = statistics.median(samples[who])
            row[who] = {
                "tool_median_ms": ms(median),
                "tool_p95_ms": ms(percentile(samples[who], 0.95)),
                "added_median_ms": ms(median - direct_median),
                "cpu_per_call_ms": ms(cpu[who] / calls),
            }
        if "peer" in servers:
            row["added_ratio_ours_to_peer"] = round(
                row["ours"]["added_median_ms"] / row["peer"]["added_median_ms"], 2
            )
        report[name] = row
    direct.close()
    for server in servers.values():
        server.close()
    return report


# --- 2b. first call ------------------------------------------------------------------------------


def first_call(
    emulator_url: str, token: str, runs: int, warm_calls: int, project: str, environment: str
) -> dict[str, Any]:
    """The first tool call made 1 s after tools/list, against warm calls; ours and the peer."""
    commands = {"ours": [*SERVER, "--base-uri", emulator_url]}
    peer = peer_command(emulator_url, token)
    if peer is not None:
        commands["peer"] = peer
    calls = {
        "ours": ("get_insight_scores", {"project_key": project, "environment_key": environment}),
        "peer": ("get-insights-scores", {"projectKey": project, "environmentKey": environment}),
    }
    first: dict[str, list[float]] = {n: [] for n in commands}
    warm: dict[str, list[float]] = {n: [] for n in commands}
    paused: dict[str, list[float]] = {n: [] for n in commands}
    for _ in range(runs):
        for who, command in commands.items():
            server = StdioServer(command, env={"LD_ACCESS_TOKEN": token, **NO_CACHE})
            server.initialize()
            server.request("tools/list")
            time.sleep(1.0)  # a model takes longer than this to choose its first call
            started = time.perf_counter()
            server.call_tool(*calls[who])
            first[who].append(time.perf_counter() - started)
            for _ in range(warm_calls):
                started = time.perf_counter()
                server.call_tool(*calls[who])
                warm[who].append(time.perf_counter() - started)
            for _ in range(2):  # a warm server's call after the same pause: what idling costs
                time.sleep(1.0)
                started = time.perf_counter()
                server.call_tool(*calls[who])
                paused[who].append(time.perf_counter() - started)
            server.close()
    report: dict[str, Any] = {"runs": runs}
    for who in commands:
        f, w = statistics.median(first[who]), statistics.median(warm[who])
        p = statistics.median(paused[who])
        report[who] = {
            "first_ms": ms(f),
            "warm_ms": ms(w),
            "ratio": round(f / w, 2),
            "warm_after_pause_ms": ms(p),
            "ratio_to_warm_after_pause": round(f / p, 2),
        }
    return report


# --- 2c. read cache ------------------------------------------------------------------------------


async def _cache_workload(sessions: int, rounds: int) -> dict[str, Any]:
    from mcp import Client

    from ld_insights_mcp.config import Settings
    from ld_insights_mcp.emulator import DEMO_TOKEN, Emulator
    from ld_insights_mcp.surface.server import create_server

    class Counting(httpx.AsyncBaseTransport):
        def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
            self.inner, self.requests = inner, 0

        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            self.requests += 1
            return await self.inner.handle_async_request(request)

    emulator = Emulator(token=DEMO_TOKEN)
    network = Counting(httpx.ASGITransport(app=emulator.app))
    settings = Settings(access_token=DEMO_TOKEN)  # type: ignore[call-arg]
    cache = settings.read_cache()
    server = create_server(settings, transport=network, cache=cache)
    first = await network.handle_async_request(
        httpx.Request(
            "GET",
            "http://x/api/v2/engineering-insights/insights/groups?limit=1",
            headers={"Authorization": DEMO_TOKEN, "LD-API-Version": "beta"},
        )
    )
    await first.aread()
    item = json.loads(first.content)["items"][0]
    network.requests = 0
    scope = {"project_key": item["projectKey"], "environment_key": item["environmentKey"]}
    workload = [
        ("get_insight_scores", scope),
        ("list_insight_groups", {"limit": 20}),
        ("list_insight_groups", {"limit": 20, "include_scores": True}),
        ("get_insight_scores", scope),
    ]
    calls = 0

    async def session() -> None:
        nonlocal calls
        async with Client(server) as client:
            for _ in range(rounds):
                for name, arguments in workload:
                    result = await client.call_tool(name, arguments)
                    calls += 1
                    assert not result.is_error, result

    import anyio

    async with anyio.create_task_group() as tasks:
        for _ in range(sessions):
            tasks.start_soon(session)
    stats = cache.stats
    reads = stats.hits + stats.shared + stats.misses
    return {
        "sessions": sessions,
        "tool_calls": calls,
        "reads": reads,
        "upstream_requests": network.requests,
        "hits": stats.hits,
        "shared_in_flight": stats.shared,
        "misses": stats.misses,
        "saved": stats.saved,
        "hit_ratio": round(stats.saved / reads, 3) if reads else None,
    }


def cache_workload(sessions: int, rounds: int) -> dict[str, Any]:
    """Concurrent sessions of one server repeating reads (default TTLs): what the cache saves."""
    import anyio

    return anyio.run(_cache_workload, sessions, rounds)


# --- 2d. client-side validation ------------------------------------------------------------------


async def _validation(project: str, environment: str, repeats: int) -> dict[str, Any]:
    import jsonschema
    from jsonschema.validators import validator_for
    from mcp import Client

    from ld_insights_mcp.config import Settings
    from ld_insights_mcp.emulator import DEMO_TOKEN, Emulator
    from ld_insights_mcp.surface.server import create_server

    settings = Settings(access_token=DEMO_TOKEN)  # type: ignore[call-arg]
    server = create_server(
        settings, transport=httpx.ASGITransport(app=Emulator(token=DEMO_TOKEN).app)
    )
    from mcp.server import MCPServer

    # as the SDK derives them (nested: $defs, $ref, anyOf [X, null]) and as published (flat)
    derived = {t.name: t.output_schema for t in await MCPServer.list_tools(server)}
    async with Client(server) as client:
        tools = {t.name: t for t in (await client.list_tools()).tools}
        groups = (await client.call_tool("list_insight_groups", {"limit": 1})).structured_content
        item = (groups or {})["groups"][0]
        scope = {"project_key": item["project_key"], "environment_key": item["environment_key"]}
        metric = await client.call_tool("list_metric_groups", {"project_key": scope["project_key"]})
        metric_key = (metric.structured_content or {})["metric_groups"][0]["key"]
        cases = {
            "get_insight_scores": scope,
            "list_insight_groups": {"limit": 20, "include_scores": True},
            "get_metric_group": {"project_key": scope["project_key"], "key": metric_key},
        }
        report: dict[str, Any] = {"repeats": repeats}
        for name, arguments in cases.items():
            result = await client.call_tool(name, arguments)
            instance = result.structured_content
            row: dict[str, Any] = {}
            for label, schema in (
                ("derived", derived[name]),
                ("published", tools[name].output_schema),
            ):
                assert schema is not None
                compiled = validator_for(schema)(schema)
                started = time.perf_counter()
                for _ in range(repeats):
                    jsonschema.exceptions.best_match(compiled.iter_errors(instance))
                cached = (time.perf_counter() - started) / repeats
                started = time.perf_counter()
                for _ in range(max(1, repeats // 4)):
                    jsonschema.validate(instance, schema)
                one_shot = (time.perf_counter() - started) / max(1, repeats // 4)
                row[label] = {
                    "schema_bytes": len(json.dumps(schema, separators=(",", ":"))),
                    "compiled_validator_ms": ms(cached),
                    "one_shot_validate_ms": ms(one_shot),
                }
            report[name] = row
    return report


def client_validation(project: str, environment: str, repeats: int) -> dict[str, Any]:
    """In process: what checking ``structuredContent`` against ``outputSchema`` costs a client,
    with a compiled validator kept per tool (the SDK's client) and with ``jsonschema.validate``
    per result (clients that do not keep one)."""
    import anyio

    return anyio.run(_validation, project, environment, repeats)


# --- 3. HTTP: latency, CPU per call, throughput -------------------------------------------------


def _load(
    url: str, clients: int, calls: int, tool: str, arguments: dict[str, Any], flags: list[str]
) -> dict[str, Any]:
    """One run of the raw-HTTP load generator, in its own process."""
    out = subprocess.run(
        [
            sys.executable,
            str(LOAD),
            "--url",
            url,
            "--clients",
            str(clients),
            "--calls",
            str(calls),
            "--tool",
            tool,
            "--arguments",
            json.dumps(arguments),
            *flags,
        ],
        capture_output=True,
        check=True,
        timeout=600,
    )
    return dict(json.loads(out.stdout))


def http(
    emulator_url: str,
    token: str,
    project: str,
    environment: str,
    *,
    rounds: int,
    calls: int,
    clients: int,
    calls_each: int,
) -> dict[str, Any]:
    """Streamable HTTP, cache off: per-call latency (one client, rounds alternating between the
    servers), then server CPU per call and throughput with ``clients`` concurrent clients."""
    ours_args = {"project_key": project, "environment_key": environment}
    peer_args = {"projectKey": project, "environmentKey": environment}
    env = {"LD_ACCESS_TOKEN": token, "LD_INSIGHTS_MAX_CONCURRENCY": "32", **NO_CACHE}
    # name: (command flags or peer, load-generator flags, tool, arguments)
    modes: dict[str, tuple[list[str] | None, list[str], str, dict[str, Any]]] = {
        "ours stateless JSON": (
            ["--stateless", "--json-response"],
            [],
            "get_insight_scores",
            ours_args,
        ),
        "ours stateful": ([], ["--session"], "get_insight_scores", ours_args),
    }
    if peer_command(emulator_url, token) is not None:
        modes["peer"] = (None, ["--session", "--stream-answers"], "get-insights-scores", peer_args)
    from contextlib import ExitStack

    report: dict[str, Any] = {"clients": clients, "rounds": rounds, "calls_per_round": calls}
    with ExitStack() as stack:
        urls, pids = {}, {}
        for name, (flags, _, _, _) in modes.items():
            port = free_port()
            if flags is None:
                command = peer_command(
                    emulator_url, token, "--transport", "http", "--port", str(port)
                )
                assert command is not None
            else:
                command = [
                    *SERVER,
                    "--base-uri",
                    emulator_url,
                    "--transport",
                    "streamable-http",
                    "--port",
                    str(port),
                    *flags,
                ]
            process = stack.enter_context(background(command, port, env))
            urls[name], pids[name] = f"http://127.0.0.1:{port}/mcp", process.pid
        direct = httpx.Client(
            base_url=emulator_url, headers={"Authorization": token, "LD-API-Version": "beta"}
        )
        for name, (_, load_flags, tool, arguments) in modes.items():  # warm every path
            _load(urls[name], 2, 20, tool, arguments, load_flags)
        latencies: dict[str, list[float]] = {n: [] for n in [*modes, "direct"]}
        for _ in range(rounds):
            for name, (_, load_flags, tool, arguments) in modes.items():
                latencies[name] += _load(urls[name], 1, calls, tool, arguments, load_flags)[
                    "latencies"
                ]
            for _ in range(calls):
                started = time.perf_counter()
                direct.get(
                    "/api/v2/engineering-insights/insights/scores",
                    params={"projectKey": project, "environmentKey": environment},
                ).raise_for_status()
                latencies["direct"].append(time.perf_counter() - started)
        direct.close()
        direct_median = statistics.median(latencies["direct"])
        report["direct_median_ms"] = ms(direct_median)
        for name, (_, load_flags, tool, arguments) in modes.items():
            before = cpu_seconds(pids[name])
            run = _load(urls[name], clients, calls_each, tool, arguments, load_flags)
            cpu = cpu_seconds(pids[name]) - before
            done = run["calls"] - run["errors"]
            if not latencies[name]:  # every single-client call failed: report, don't crash
                report[name] = {"calls": run["calls"], "errors": run["errors"], "failed": True}
                continue
            report[name] = {
                "median_ms": ms(statistics.median(latencies[name])),
                "added_median_ms": ms(statistics.median(latencies[name]) - direct_median),
                "cpu_per_call_ms": ms(cpu / done) if done > 0 else None,
                "calls": run["calls"],
                "errors": run["errors"],
                "calls_per_s": round(run["calls"] / run["elapsed_s"], 1),
                "p50_ms": ms(percentile(run["latencies"], 0.5)) if run["latencies"] else None,
                "p99_ms": ms(percentile(run["latencies"], 0.99)) if run["latencies"] else None,
                "error_kinds": run.get("error_kinds", {}),
            }
    return report


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
    """RSS after start (initialize, tools/list, its warm-up, one read) and after ``calls``
    more; the peer and the bare SDK server after the same start, beside it."""
    scope = {"projectKey": project, "environmentKey": environment}
    path = "/api/v2/engineering-insights/insights/scores"
    others: dict[str, tuple[list[str] | None, dict[str, str], Call]] = {
        "peer": (peer_command(emulator_url, token), {}, ("get-insights-scores", scope)),
        "sdk_floor": (
            [sys.executable, str(FLOOR_API)],
            {"LD_ACCESS_TOKEN": token, "LD_BASE_URI": emulator_url},
            ("call_api", {"path": path, "params": scope}),
        ),
    }
    peers: dict[str, float] = {}
    for name, (command, env, (tool, arguments)) in others.items():
        if command is None:
            continue
        other = StdioServer(command, env=env)
        other.initialize()
        other.request("tools/list")
        time.sleep(WARM_UP_PAUSE)
        other.call_tool(tool, arguments)
        peers[f"{name}_rss_after_start_mb"] = round(other.rss_mb(), 1)
        other.close()
    server = StdioServer([*SERVER, "--base-uri", emulator_url], env={"LD_ACCESS_TOKEN": token})
    server.initialize()
    server.request("tools/list")  # as a client does; it starts the warm-up
    time.sleep(WARM_UP_PAUSE)
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
        **peers,
    }


WARM_UP_PAUSE = 2.0
"""Seconds after tools/list before the first call: the background warm-up has finished."""


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
    with background([*EMULATOR, "--port", str(emulator_port)], emulator_port, EMULATOR_ENV):
        groups = httpx.get(
            f"{emulator_url}/api/v2/engineering-insights/insights/groups",
            headers={"Authorization": DEMO_TOKEN, "LD-API-Version": "beta"},
            params={"limit": 1},
        ).json()["items"][0]
        project, environment = groups["projectKey"], groups["environmentKey"]
        print("cold start ...", file=sys.stderr)
        results["cold_start"] = cold_start(1 if quick else 15, emulator_url, DEMO_TOKEN)
        print("per-call overhead ...", file=sys.stderr)
        results["per_call"] = per_call(
            emulator_url, DEMO_TOKEN, 30 if quick else 500, project, environment
        )
        print("first call ...", file=sys.stderr)
        results["first_call"] = first_call(
            emulator_url, DEMO_TOKEN, 1 if quick else 7, 10 if quick else 30, project, environment
        )
        print("read cache ...", file=sys.stderr)
        results["cache"] = cache_workload(sessions=5, rounds=3 if quick else 10)
        print("client validation ...", file=sys.stderr)
        results["client_validation"] = client_validation(project, environment, 20 if quick else 200)
        print("HTTP ...", file=sys.stderr)
        results["http"] = http(
            emulator_url,
            DEMO_TOKEN,
            project,
            environment,
            rounds=1 if quick else 5,
            calls=20 if quick else 60,
            clients=50,
            calls_each=2 if quick else 10,
        )
        print("context cost ...", file=sys.stderr)
        results["context"] = context_cost(emulator_url, DEMO_TOKEN, project, environment)
        print("question cost ...", file=sys.stderr)
        results["question_cost"] = question_cost.measure(
            emulator_url, DEMO_TOKEN, project, environment
        )
        print("time to answer at 80 ms per upstream request ...", file=sys.stderr)
        results["time_to_answer"] = time_to_answer.measure(runs=1 if quick else 5)
        print("memory ...", file=sys.stderr)
        results["memory"] = memory(
            emulator_url, DEMO_TOKEN, 200 if quick else 10_000, project, environment
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
        f"| ld-insights-mcp (token) | {c['ours']['initialize_ms']} ms | {c['ours']['tools_list_ms']} ms |",
        f"| ld-insights-mcp --demo | {c['ours_demo']['initialize_ms']} ms | {c['ours_demo']['tools_list_ms']} ms |",
        f"| SDK floor (bare MCPServer) | {c['sdk_floor']['initialize_ms']} ms | {c['sdk_floor']['tools_list_ms']} ms |",
        f"| added / ratio (token; --demo) | | {c['ours_added_ms']} ms / {c['ours_ratio']}x; "
        f"{c['ours_demo_added_ms']} ms / {c['ours_demo_ratio']}x |",
        "",
        "",
    ]
    pc = r["per_call"]
    servers = pc.get("servers", ["ours"])
    lines += [
        f"| added per call over stdio, cache off ({pc['calls']} calls each, interleaved) | direct HTTP | "
        + " | ".join(f"{w}: tool / added / server CPU" for w in servers)
        + (" | ours/peer added |" if "peer" in servers else " |"),
        "|---|---|" + "---|" * len(servers) + ("---|" if "peer" in servers else ""),
    ]
    for name, row in pc.items():
        if isinstance(row, dict):
            cells = " | ".join(
                f"{row[w]['tool_median_ms']} ms / **{row[w]['added_median_ms']} ms** / "
                f"{row[w].get('cpu_per_call_ms')} ms"
                for w in servers
            )
            ratio = f" | {row['added_ratio_ours_to_peer']}x |" if "peer" in servers else " |"
            lines.append(f"| {name} | {row['direct_median_ms']} ms | {cells}{ratio}")
    fc = r.get("first_call")
    if fc:
        lines += [
            "",
            f"| first call 1 s after tools/list (median of {fc['runs']} starts) | first | warm, back to back | first/warm "
            "| warm, 1 s after the last call | first/that |",
            "|---|---|---|---|---|---|",
        ]
        for who in ("ours", "peer"):
            if who in fc:
                row = fc[who]
                lines.append(
                    f"| {who} | {row['first_ms']} ms | {row['warm_ms']} ms | {row['ratio']}x | "
                    f"{row['warm_after_pause_ms']} ms | {row['ratio_to_warm_after_pause']}x |"
                )
    ca = r.get("cache")
    if ca:
        lines += [
            "",
            f"Read cache, {ca['sessions']} concurrent sessions repeating reads ({ca['tool_calls']} tool calls, "
            f"{ca['reads']} reads): {ca['upstream_requests']} upstream requests, {ca['saved']} saved "
            f"({ca['hits']} hits, {ca['shared_in_flight']} shared in flight), hit ratio {ca['hit_ratio']:.0%}.",
        ]
    cv = r.get("client_validation")
    if cv:
        lines += [
            "",
            "| client-side outputSchema check per result, in process | compiled validator (SDK client): nested → flat | jsonschema.validate: nested → flat |",
            "|---|---|---|",
        ]
        for name, row in cv.items():
            if isinstance(row, dict):
                d, f = row["derived"], row["published"]
                lines.append(
                    f"| {name} | {d['compiled_validator_ms']} → **{f['compiled_validator_ms']} ms** | "
                    f"{d['one_shot_validate_ms']} → {f['one_shot_validate_ms']} ms |"
                )
    h = r.get("http")
    if h:
        lines += [
            "",
            f"| streamable HTTP, cache off | median per call (1 client) | added over direct ({h['direct_median_ms']} ms) | "
            f"server CPU per call | {h['clients']} clients: calls/s | p50 | p99 | errors |",
            "|---|---|---|---|---|---|---|---|",
        ]
        for name, row in h.items():
            if isinstance(row, dict) and row.get("failed"):
                lines.append(f"| {name} | every call failed ({row['errors']} errors) | | | | | | |")
            elif isinstance(row, dict):
                lines.append(
                    f"| {name} | {row['median_ms']} ms | {row['added_median_ms']} ms | {row['cpu_per_call_ms']} ms | "
                    f"{row['calls_per_s']} | {row['p50_ms']} ms | {row['p99_ms']} ms | {row['errors']} |"
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
    if "time_to_answer" in r:
        lines += ["", time_to_answer.render(r["time_to_answer"])]
    m = r["memory"]
    lines += [
        "",
        f"Memory: RSS {m['rss_after_start_mb']} MB after start, {m['rss_after_calls_mb']} MB after {m['calls']} calls (growth {m['growth_mb']} MB)"
        + "".join(
            f"; {who} {m[f'{who}_rss_after_start_mb']} MB after start"
            for who in ("peer", "sdk_floor")
            if f"{who}_rss_after_start_mb" in m
        )
        + ".",
    ]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
