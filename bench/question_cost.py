"""Question cost: what a model reads to answer the five standard questions on the demo data.

Per question, the shortest sequence of tool calls that gets the facts, with the calls made and
the bytes of tool text returned; once, the bytes of the tool definitions (name, description,
input schema of every tool: what a model reads of tools/list). Baseline: the same facts by
direct HTTP to the emulator (calls and JSON bytes), and what a generic OpenAPI bridge would
make a model read (the issue's measured factors: 1.7x the raw JSON, 52.8 kB of definitions).

Run alone: ``python bench/question_cost.py`` (starts its own emulator); ``bench/run.py``
calls :func:`measure`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import httpx

sys.path.insert(0, str(Path(__file__).parent))
from stdio_driver import StdioServer

SERVER = [sys.executable, "-m", "ld_insights_mcp"]
EI = "/api/v2/engineering-insights"
DAY_MS = 86_400_000
BRIDGE_RESULT_FACTOR = 1.7
BRIDGE_DEFINITIONS_BYTES = 52_800
GROUP = "checkout-squad"


def _questions(project: str, environment: str) -> list[dict[str, Any]]:
    scope = {"project_key": project, "environment_key": environment}
    return [
        {
            "question": "overall health of a project environment and its weakest category",
            "tools": [("get_insight_scores", scope)],
        },
        {
            "question": "why a group's lead time is what it is (stages, slowest pull requests)",
            "tools": [("explain_score", {"category": "leadTime", "group_key": GROUP})],
        },
        {
            "question": "which deployments failed in the last 30 days",
            "tools": [("list_deployments", {**scope, "status": "failed", "days": 30})],
        },
        {
            "question": "which flags are stale and whose they are",
            "tools": [
                ("get_insight_chart", {**scope, "kind": "stale_flags", "group_by": "maintainer"})
            ],
        },
        {
            "question": "which group regressed most since the last period",
            "tools": [("insights_digest", {})],
        },
    ]


def _raw_calls(
    http: httpx.Client, project: str, environment: str
) -> list[list[tuple[str, dict[str, Any]]]]:
    """The direct API calls per question, in order (later ones may need earlier answers)."""
    scope = {"projectKey": project, "environmentKey": environment}
    scores = http.get(f"{EI}/insights/scores", params=scope).json()
    end = scores["period"]["endTime"]
    group = http.get(f"{EI}/insights/groups/{GROUP}", params={"expand": "scores"}).json()
    period = group["scoreMetadata"]["period"]
    group_scope = {
        "projectKey": group["projectKey"],
        "environmentKey": group["environmentKey"],
        "applicationKey": ",".join(group["applicationKeys"]),
    }
    window = {"from": period["startTime"], "to": period["endTime"]}
    return [
        [(f"{EI}/insights/scores", scope)],
        [
            (f"{EI}/insights/groups/{GROUP}", {"expand": "scores"}),
            (f"{EI}/charts/lead-time", {**group_scope, **window, "expand": "metrics"}),
            (
                f"{EI}/pull-requests",
                {**group_scope, **window, "sort": "-leadTime", "expand": "leadTime", "limit": 10},
            ),
        ],
        [
            (
                f"{EI}/deployments",
                {**scope, "status": "failed", "from": end - 30 * DAY_MS, "to": end, "limit": 100},
            )
        ],
        [(f"{EI}/charts/flags/stale", {**scope, "groupBy": "maintainer", "expand": "metrics"})],
        [(f"{EI}/insights/groups", {"limit": 20, "expand": "scores"})],
    ]


def measure(emulator_url: str, token: str, project: str, environment: str) -> dict[str, Any]:
    server = StdioServer(
        [*SERVER, "--base-uri", emulator_url],
        env={"LD_ACCESS_TOKEN": token, "LD_INSIGHTS_LOG_LEVEL": "WARNING"},
    )
    server.initialize()
    try:
        tools = server.request("tools/list")["result"]["tools"]
        definitions = sum(
            len(
                json.dumps(
                    {k: t.get(k) for k in ("name", "description", "inputSchema")},
                    separators=(",", ":"),
                ).encode()
            )
            for t in tools
        )
        rows = []
        for spec in _questions(project, environment):
            text_bytes = 0
            for name, arguments in spec["tools"]:
                result = server.call_tool(name, arguments)
                text_bytes += len("".join(c.get("text", "") for c in result["content"]).encode())
            rows.append(
                {
                    "question": spec["question"],
                    "calls": [f"{n}({json.dumps(a)})" for n, a in spec["tools"]],
                    "tool_calls": len(spec["tools"]),
                    "text_bytes": text_bytes,
                }
            )
    finally:
        server.close()
    headers = {"Authorization": token, "LD-API-Version": "beta"}
    with httpx.Client(base_url=emulator_url, headers=headers) as http:
        for row, calls in zip(rows, _raw_calls(http, project, environment), strict=True):
            raw = 0
            for path, params in calls:
                answer = http.get(path, params=params)
                answer.raise_for_status()
                raw += len(answer.content)
            row["raw_calls"] = len(calls)
            row["raw_bytes"] = raw
            row["text_vs_raw"] = round(row["text_bytes"] / raw, 3)
    text_total = sum(r["text_bytes"] for r in rows)
    raw_total = sum(r["raw_bytes"] for r in rows)
    bridge = BRIDGE_RESULT_FACTOR * raw_total + BRIDGE_DEFINITIONS_BYTES
    return {
        "questions": rows,
        "tool_definitions_bytes": definitions,
        "tools": len(tools),
        "tool_calls": sum(r["tool_calls"] for r in rows),
        "text_bytes": text_total,
        "raw_calls": sum(r["raw_calls"] for r in rows),
        "raw_bytes": raw_total,
        "text_vs_raw": round(text_total / raw_total, 3),
        "bridge_estimate_bytes": round(bridge),
        "ours_vs_bridge": round((text_total + definitions) / bridge, 3),
    }


def render(r: dict[str, Any]) -> str:
    lines = [
        "| question | tool calls | text bytes | raw calls | raw JSON bytes | text/raw |",
        "|---|---|---|---|---|---|",
    ]
    for i, q in enumerate(r["questions"], 1):
        lines.append(
            f"| {i}. {q['question']} | {q['tool_calls']} | {q['text_bytes']} | "
            f"{q['raw_calls']} | {q['raw_bytes']} | {q['text_vs_raw']:.0%} |"
        )
    lines += [
        f"| total | {r['tool_calls']} | {r['text_bytes']} | {r['raw_calls']} | "
        f"{r['raw_bytes']} | {r['text_vs_raw']:.0%} |",
        "",
        f"Tool definitions ({r['tools']} tools, name+description+inputSchema): "
        f"{r['tool_definitions_bytes']} bytes. Text + definitions: "
        f"{r['text_bytes'] + r['tool_definitions_bytes']} bytes = {r['ours_vs_bridge']:.0%} of "
        f"a generic bridge's estimated {r['bridge_estimate_bytes']} bytes.",
    ]
    return "\n".join(lines)


def main() -> None:
    import run  # the harness's loopback helpers
    from ld_insights_mcp.emulator import DEMO_TOKEN

    port = run.free_port()
    url = f"http://127.0.0.1:{port}"
    with run.background([*run.EMULATOR, "--port", str(port)], port, run.EMULATOR_ENV):
        group = httpx.get(
            f"{url}{EI}/insights/groups/{GROUP}",
            headers={"Authorization": DEMO_TOKEN, "LD-API-Version": "beta"},
        ).json()
        result = measure(url, DEMO_TOKEN, group["projectKey"], group["environmentKey"])
    print(json.dumps(result, indent=2))
    print(render(result))


if __name__ == "__main__":
    main()
