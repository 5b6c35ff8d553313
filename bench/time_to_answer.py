"""Time to answer at real latency: the five standard questions (``question_cost``) against the
emulator with 80 ms added to every upstream request, a typical round trip to LaunchDarkly's US
API from Europe or the US west coast.

Per question: the wall time of the tool calls over stdio, cache-cold (a fresh server, warmed
up, whose cache holds nothing) and cache-warm (the same question asked again at once), the
upstream requests and the dependent rounds they took (a round ends when a request of it is
answered: a request sent after that may depend on it), against the physical limit (one round
trip: every read the question needs sent at once). Beside it, what a generic OpenAPI bridge
costs a model for the same answers: one tool call, i.e. one model turn, per API call, the bytes
it reads (``question_cost``'s factor over the raw JSON) and the upstream wait of those calls
made one after another, model time not counted. Also ``insights_digest`` over 500 groups
(``max_groups=500``: 25 pages of 20).

Run alone: ``python bench/time_to_answer.py [--runs N]``; ``bench/run.py`` calls
:func:`measure`. The emulator runs in this process (its requests are timed by a wrapper); the
server is a subprocess, as a client starts it.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
sys.path.insert(1, str(Path(__file__).parents[1]))  # tests.support: the tests' emulator
import question_cost
from stdio_driver import StdioServer

LATENCY_S = 0.080
SERVER = [sys.executable, "-m", "ld_insights_mcp"]
WARM_UP_S = 1.0
"""Pause after tools/list: the server's background warm-up finishes (a model takes longer to
choose its first call)."""
DIGEST_GROUPS = 500


class TimedApp:
    """An ASGI wrapper that records when each HTTP request started and ended."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.spans: list[tuple[float, float]] = []

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        try:
            await self.app(scope, receive, send)
        finally:
            self.spans.append((started, time.perf_counter()))


def rounds(spans: list[tuple[float, float]]) -> int:
    """Dependent rounds: a request that starts after a request of the current round was
    answered starts a new round."""
    count, first_end = 0, -1.0
    for start, end in sorted(spans):
        if count == 0 or start >= first_end:
            count, first_end = count + 1, end
        else:
            first_end = min(first_end, end)
    return count


def _ask(server: StdioServer, calls: list[tuple[str, dict[str, Any]]]) -> tuple[float, int]:
    """The wall time of the calls in order, and the bytes of text they returned."""
    started = time.perf_counter()
    text = 0
    for name, arguments in calls:
        result = server.call_tool(name, arguments)
        text += len("".join(c.get("text", "") for c in result["content"]).encode())
    return time.perf_counter() - started, text


def _question(
    url: str, token: str, timed: TimedApp, calls: list[tuple[str, dict[str, Any]]], runs: int
) -> dict[str, Any]:
    cold, warm, requests, waves, warm_requests = [], [], [], [], []
    text = 0
    for _ in range(runs):
        server = StdioServer(
            [*SERVER, "--base-uri", url],
            env={"LD_ACCESS_TOKEN": token, "LD_INSIGHTS_LOG_LEVEL": "WARNING"},
        )
        try:
            server.initialize()
            server.request("tools/list")
            time.sleep(WARM_UP_S)
            timed.spans.clear()
            seconds, text = _ask(server, calls)
            spans = list(timed.spans)
            cold.append(seconds)
            requests.append(len(spans))
            waves.append(rounds(spans))
            seconds, _ = _ask(server, calls)
            warm.append(seconds)
            warm_requests.append(len(timed.spans) - len(spans))
        finally:
            server.close()
    return {
        "cold_ms": round(statistics.median(cold) * 1000, 1),
        "warm_ms": round(statistics.median(warm) * 1000, 1),
        "upstream_requests": max(requests),
        "rounds": max(waves),
        "warm_upstream_requests": max(warm_requests),
        "text_bytes": text,
    }


def _bridge_wait(url: str, token: str, project: str, environment: str) -> list[float]:
    """Per question, the upstream wait of the bridge's API calls, one after another."""
    headers = {"Authorization": token, "LD-API-Version": "beta"}
    waits = []
    with httpx.Client(base_url=url, headers=headers) as http:
        for calls in question_cost._raw_calls(http, project, environment):
            started = time.perf_counter()
            for path, params in calls:
                http.get(path, params=params).raise_for_status()
            waits.append(time.perf_counter() - started)
    return waits


def _many_groups(emulator: Any, total: int) -> None:
    """Copies of the seeded insight groups under new keys, up to ``total`` groups."""
    seeded = list(emulator.store.insight_groups.values())
    for i in range(total - len(seeded)):
        group = dict(seeded[i % len(seeded)])
        group["key"] = f"{group['key']}-{i:03d}"
        group["name"] = f"{group['name']} {i:03d}"
        emulator.store.insight_groups[group["key"]] = group


def measure(runs: int = 5) -> dict[str, Any]:
    from tests.support import Emulator, serve_app_on_loopback

    from ld_insights_mcp.emulator import DEMO_TOKEN

    emulator = Emulator(token=DEMO_TOKEN)
    emulator.latency = LATENCY_S
    timed = TimedApp(emulator.app)
    group = emulator.store.insight_groups[question_cost.GROUP]
    project, environment = group["projectKey"], group["environmentKey"]
    rows = []
    with serve_app_on_loopback(timed, date_header=False) as url:
        costs = question_cost.measure(url, DEMO_TOKEN, project, environment)
        waits = _bridge_wait(url, DEMO_TOKEN, project, environment)
        specs = question_cost._questions(project, environment)
        for spec, cost, wait in zip(specs, costs["questions"], waits, strict=True):
            row = {"question": spec["question"], "tools": [n for n, _ in spec["tools"]]}
            row |= _question(url, DEMO_TOKEN, timed, spec["tools"], runs)
            row["bridge_tool_calls"] = cost["raw_calls"]
            row["bridge_bytes"] = round(question_cost.BRIDGE_RESULT_FACTOR * cost["raw_bytes"])
            row["bridge_wait_ms"] = round(wait * 1000, 1)
            rows.append(row)
        _many_groups(emulator, DIGEST_GROUPS)
        digest = {"question": f"insights_digest over {DIGEST_GROUPS} groups (25 pages)"}
        calls = [("insights_digest", {"max_groups": DIGEST_GROUPS})]
        digest |= _question(url, DEMO_TOKEN, timed, calls, max(1, runs // 2))
    return {
        "latency_ms": LATENCY_S * 1000,
        "runs": runs,
        "questions": rows,
        "digest_many_groups": digest,
        "bridge_definitions_bytes": question_cost.BRIDGE_DEFINITIONS_BYTES,
        "tool_definitions_bytes": costs["tool_definitions_bytes"],
    }


def render(r: dict[str, Any]) -> str:
    limit = r["latency_ms"]
    lines = [
        f"| question ({r['latency_ms']:.0f} ms per upstream request, median of {r['runs']}) "
        f"| cold | rounds (requests) | cold / limit ({limit:.0f} ms) | warm "
        "| bridge: tool calls = model turns | bridge: bytes read (ours) | bridge: upstream wait |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for i, q in enumerate(r["questions"], 1):
        lines.append(
            f"| {i}. {q['question']} (`{'`, `'.join(q['tools'])}`) | {q['cold_ms']:.0f} ms "
            f"| {q['rounds']} ({q['upstream_requests']}) | {q['cold_ms'] / limit:.2f} "
            f"| {q['warm_ms']:.1f} ms | {q['bridge_tool_calls']} (ours: {len(q['tools'])}) "
            f"| {q['bridge_bytes']} ({q['text_bytes']}) | {q['bridge_wait_ms']:.0f} ms |"
        )
    d = r["digest_many_groups"]
    lines.append(
        f"| {d['question']} | {d['cold_ms']:.0f} ms | {d['rounds']} ({d['upstream_requests']}) "
        f"| {d['cold_ms'] / limit:.2f} | {d['warm_ms']:.1f} ms | | | |"
    )
    lines += [
        "",
        f"Definitions a model reads once: ours {r['tool_definitions_bytes']} bytes, a generic "
        f"bridge's about {r['bridge_definitions_bytes']} bytes.",
    ]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5, help="fresh servers per question")
    args = parser.parse_args()
    result = measure(args.runs)
    print(json.dumps(result, indent=2))
    print(render(result))


if __name__ == "__main__":
    main()
