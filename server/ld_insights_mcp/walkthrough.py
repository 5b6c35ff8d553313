"""A guided tour on the demo backend: the real server over stdio, a real MCP client.

Run ``make demo`` (or ``python -m ld_insights_mcp.walkthrough``). It starts
``ld-insights-mcp --demo`` as a subprocess, connects, lists what the server offers, calls each
read tool, walks from a score to its evidence (chart, deployments, pull requests,
``explain_score``, ``insights_digest``), creates, renames and — after a confirmation the tour
answers as the user would — deletes an insight group, and prints what a model would read.
"""

from __future__ import annotations

import sys
import textwrap
import time
from typing import Any

import anyio
from mcp import Client
from mcp.client.session import ClientRequestContext
from mcp.client.stdio import StdioServerParameters
from mcp.types import (
    ElicitRequestParams,
    ElicitResult,
    ErrorData,
    TextContent,
    TextResourceContents,
)

WIDTH = 100


def _section(title: str) -> None:
    print(f"\n== {title} " + "=" * max(0, WIDTH - len(title) - 4))


def excerpt(text: str, limit: int = 1600) -> str:
    """``text`` up to ``limit`` characters, cut at the end of a line (of a word, if its first
    line is longer), and a note that what the model reads is the whole of it."""
    if len(text) <= limit:
        return text
    cut = text.rfind("\n", 0, limit + 1)
    if cut <= 0:
        cut = text.rfind(" ", 0, limit + 1)
    if cut <= 0:
        cut = limit
    shown = text[:cut].rstrip()
    return (
        f"{shown}\n[the tour shows {len(shown)} of {len(text)} characters; the model receives "
        "the whole result]"
    )


def _show(text: str, *, limit: int = 1600) -> None:
    print(textwrap.indent(excerpt(text, limit), "  "))


def _text_of(result: Any) -> str:
    return "\n".join(c.text for c in result.content if isinstance(c, TextContent))


async def _confirm_as_the_user(
    context: ClientRequestContext, params: ElicitRequestParams
) -> ElicitResult | ErrorData:
    """The tour's stand-in for a person: show the question, then accept it."""
    _show(f"[asked the user] {params.message}\n[the user accepts]")
    return ElicitResult(action="accept", content={"confirm": True})


async def tour() -> None:
    params = StdioServerParameters(
        command=sys.executable, args=["-m", "ld_insights_mcp", "--demo"], env={}
    )
    started = time.perf_counter()
    async with Client(params, mode="legacy", elicitation_callback=_confirm_as_the_user) as client:
        _section(f"connected over stdio in {time.perf_counter() - started:.2f} s")
        tools = (await client.list_tools()).tools
        print(f"  {len(tools)} tools:")
        for tool in tools:
            hints = tool.annotations
            kind = "read" if hints and hints.read_only_hint else "write"
            print(f"   - {tool.name} ({kind}): {tool.title}")
        resources = (await client.list_resources()).resources
        templates = (await client.list_resource_templates()).resource_templates
        prompts = (await client.list_prompts()).prompts
        print(f"  resources: {', '.join(str(r.uri) for r in resources)}")
        print(f"  templates: {', '.join(t.uri_template for t in templates)}")
        print(f"  prompts:   {', '.join(p.name for p in prompts)}")

        calls: list[tuple[str, dict[str, Any]]] = [
            ("list_insight_groups", {"limit": 5, "include_scores": False}),
            (
                "get_insight_scores",
                {"project_key": "checkout-web", "environment_key": "production"},
            ),
        ]
        for name, arguments in calls:
            _section(f"{name}({arguments})")
            _show(_text_of(await client.call_tool(name, arguments)))

        page = await client.call_tool("list_insight_groups", {"limit": 1})
        first = (page.structured_content or {}).get("groups", [{}])[0]
        if first:
            _section(f"get_insight_group(key={first['key']!r})")
            _show(_text_of(await client.call_tool("get_insight_group", {"key": first["key"]})))

        project = first.get("project_key", "checkout-web")
        groups = await client.call_tool("list_metric_groups", {"project_key": project, "limit": 5})
        _section(f"list_metric_groups(project_key={project!r})")
        _show(_text_of(groups))
        metric_groups = (groups.structured_content or {}).get("metric_groups", [])
        if metric_groups:
            key = metric_groups[0]["key"]
            _section(f"get_metric_group(key={key!r}, include_experiments=True)")
            _show(
                _text_of(
                    await client.call_tool(
                        "get_metric_group",
                        {"project_key": project, "key": key, "include_experiments": True},
                    )
                )
            )

        new_group = {
            "name": "Walkthrough squad",
            "key": "walkthrough-squad",
            "project_key": project,
            "environment_key": first.get("environment_key", "production"),
        }
        _section(f"create_insight_group({new_group})")
        _show(_text_of(await client.call_tool("create_insight_group", new_group)))
        _section("create_insight_group again with the same key (a clear error, nothing created)")
        _show(_text_of(await client.call_tool("create_insight_group", new_group)))

        scope = {"project_key": "checkout-web", "environment_key": "production"}
        evidence: list[tuple[str, dict[str, Any]]] = [
            ("get_insight_chart", {**scope, "kind": "lead_time", "group_by": "stage"}),
            ("list_deployments", {**scope, "status": "failed", "limit": 3}),
            ("list_pull_requests", {**scope, "sort": "slowest", "limit": 3}),
            ("explain_score", {**scope, "category": "leadTime"}),
            ("insights_digest", {}),
        ]
        for name, arguments in evidence:
            _section(f"{name}({arguments})")
            result = await client.call_tool(name, arguments)
            _show(_text_of(result))
            if name == "list_deployments":
                listed = (result.structured_content or {}).get("deployments", [])
                if listed:
                    one = {"deployment_id": listed[0]["id"]}
                    _section(f"get_deployment({one})")
                    _show(_text_of(await client.call_tool("get_deployment", one)))

        rename = {"key": "walkthrough-squad", "name": "Walkthrough squad (renamed)"}
        _section(f"rename_insight_group({rename}): reversible, so nobody is asked")
        _show(_text_of(await client.call_tool("rename_insight_group", rename)))
        _section("delete_insight_group(key='walkthrough-squad'): the user confirms first")
        deleted = await client.call_tool("delete_insight_group", {"key": "walkthrough-squad"})
        _show(_text_of(deleted))

        _section("resource insights://score-categories/leadTime")
        read = await client.read_resource("insights://score-categories/leadTime")
        _show(
            "\n".join(c.text for c in read.contents if isinstance(c, TextResourceContents)),
            limit=900,
        )
        _section("prompt summarize_engineering_health")
        prompt = await client.get_prompt(
            "summarize_engineering_health",
            {"project_key": project, "environment_key": "production"},
        )
        message = prompt.messages[0].content
        _show(message.text if isinstance(message, TextContent) else str(message), limit=700)

    _section("next")
    print(
        "  Connect a desktop client: copy the 'ld-insights-demo' entry of\n"
        "  claude_desktop_config.example.json into your client's MCP configuration,\n"
        "  or use the 'launchdarkly-insights' entry with LD_ACCESS_TOKEN for real data."
    )


def main() -> None:
    anyio.run(tour)


if __name__ == "__main__":
    main()
