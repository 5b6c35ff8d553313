"""A guided tour on the demo backend (``make demo``): the real server over stdio, a real MCP
client, from the scores to their evidence and a confirmed delete, printing what a model reads.
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
    CallToolResult,
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


async def _call(
    client: Client, name: str, arguments: dict[str, Any], title: str | None = None
) -> CallToolResult:
    """Call a tool under a section titled ``title`` (default: the call) and show its text."""
    _section(title or f"{name}({arguments})")
    result = await client.call_tool(name, arguments)
    _show(_text_of(result))
    return result


async def _confirm_as_the_user(
    context: ClientRequestContext, params: ElicitRequestParams
) -> ElicitResult | ErrorData:
    """The tour's stand-in for a person: show the question, then accept it."""
    _show(f"[asked the user] {params.message}\n[the user accepts]")
    return ElicitResult(action="accept", content={"confirm": True})


async def tour() -> None:
    args = ["-m", "ld_insights_mcp", "--demo"]
    params = StdioServerParameters(command=sys.executable, args=args, env={})
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

        await _call(client, "list_insight_groups", {"limit": 5, "include_scores": False})
        scope = {"project_key": "checkout-web", "environment_key": "production"}
        await _call(client, "get_insight_scores", scope)
        page = await client.call_tool("list_insight_groups", {"limit": 1})
        first = (page.structured_content or {}).get("groups", [{}])[0]
        if first:
            title = f"get_insight_group(key={first['key']!r})"
            await _call(client, "get_insight_group", {"key": first["key"]}, title)

        project = first.get("project_key", "checkout-web")
        listing = {"project_key": project, "limit": 5}
        title = f"list_metric_groups(project_key={project!r})"
        groups = await _call(client, "list_metric_groups", listing, title)
        metric_groups = (groups.structured_content or {}).get("metric_groups", [])
        if metric_groups:
            key = metric_groups[0]["key"]
            title = f"get_metric_group(key={key!r}, include_experiments=True)"
            arguments = {"project_key": project, "key": key, "include_experiments": True}
            await _call(client, "get_metric_group", arguments, title)

        new_group = {
            "name": "Walkthrough squad",
            "key": "walkthrough-squad",
            "project_key": project,
            "environment_key": first.get("environment_key", "production"),
        }
        await _call(client, "create_insight_group", new_group)
        title = "create_insight_group again with the same key (a clear error, nothing created)"
        await _call(client, "create_insight_group", new_group, title)

        evidence: list[tuple[str, dict[str, Any]]] = [
            ("get_insight_chart", {**scope, "kind": "lead_time", "group_by": "stage"}),
            ("list_deployments", {**scope, "status": "failed", "limit": 3}),
            ("list_pull_requests", {**scope, "sort": "slowest", "limit": 3}),
            ("explain_score", {**scope, "category": "leadTime"}),
            ("insights_digest", {}),
        ]
        for name, arguments in evidence:
            result = await _call(client, name, arguments)
            listed = (result.structured_content or {}).get("deployments", [])
            if name == "list_deployments" and listed:
                await _call(client, "get_deployment", {"deployment_id": listed[0]["id"]})

        rename = {"key": "walkthrough-squad", "name": "Walkthrough squad (renamed)"}
        title = f"rename_insight_group({rename}): reversible, so nobody is asked"
        await _call(client, "rename_insight_group", rename, title)
        title = "delete_insight_group(key='walkthrough-squad'): the user confirms first"
        await _call(client, "delete_insight_group", {"key": "walkthrough-squad"}, title)

        _section("resource insights://score-categories/leadTime")
        read = await client.read_resource("insights://score-categories/leadTime")
        texts = [c.text for c in read.contents if isinstance(c, TextResourceContents)]
        _show("\n".join(texts), limit=900)
        _section("prompt summarize_engineering_health")
        topic = {"project_key": project, "environment_key": "production"}
        prompt = await client.get_prompt("summarize_engineering_health", topic)
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
