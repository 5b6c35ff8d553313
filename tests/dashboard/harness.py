"""A browser host for the dashboard: headless Chromium (the system's, driven by Playwright) loads
tests/dashboard/host.html, which runs the host side of the MCP Apps bridge; every MCP request the
host makes goes to a real MCP client connected to the real server on the demo backend.

The host page (``http://host.test``) and the view (``http://view.test``) are different origins,
served by the test process through Playwright's routing: no port is opened, and any other
request is recorded and refused. The view is served as a host would serve it: the HTML of the
``ui://`` resource, under a CSP header built from the resource's ``_meta.ui.csp``.
"""

from __future__ import annotations

import json
import os
import re
import shutil
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

from mcp import Client
from playwright.async_api import Browser, Frame, Page, Route, async_playwright

from ld_insights_mcp.config import Settings
from ld_insights_mcp.server import create_server

HERE = Path(__file__).parent
ARTIFACTS = HERE / "artifacts"
HOST = "http://host.test"
VIEW = "http://view.test"
CSP_PROBE = """
document.addEventListener("securitypolicyviolation", (e) => {
  (window.__cspViolations = window.__cspViolations || []).push(
    e.violatedDirective + " " + e.blockedURI);
});
"""


def chromium_path() -> str | None:
    """The system Chromium (Debian's ``chromium``), or ``CHROMIUM_PATH``."""
    chosen = os.environ.get("CHROMIUM_PATH")
    if chosen:
        return chosen if Path(chosen).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def host_csp(csp: dict[str, list[str]]) -> str:
    """The CSP a host derives from ``_meta.ui.csp`` (the MCP Apps spec's restrictive default,
    loosened only by declared domains)."""
    resources = " ".join(csp.get("resourceDomains", []))
    connect = " ".join(csp.get("connectDomains", [])) or "'none'"
    frames = " ".join(csp.get("frameDomains", [])) or "'none'"
    base = " ".join(csp.get("baseUriDomains", [])) or "'self'"
    return "; ".join(
        [
            "default-src 'none'",
            f"script-src 'self' 'unsafe-inline' {resources}".strip(),
            f"style-src 'self' 'unsafe-inline' {resources}".strip(),
            f"img-src 'self' data: {resources}".strip(),
            f"font-src 'self' {resources}".strip(),
            "media-src 'self' data:",
            f"connect-src {connect}",
            f"frame-src {frames}",
            f"base-uri {base}",
            "object-src 'none'",
        ]
    )


@dataclass
class Bridge:
    """The MCP side of the host: every request the page made, with what the server answered."""

    client: Client
    calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)

    async def request(self, method: str, params: dict[str, Any]) -> dict[str, Any]:
        if method == "tools/list":
            answer: Any = await self.client.list_tools()
        elif method == "tools/call":
            answer = await self.client.call_tool(params["name"], params.get("arguments") or {})
        elif method == "resources/read":
            answer = await self.client.read_resource(params["uri"])
        else:
            raise ValueError(f"the test host does not proxy {method}")
        dumped: dict[str, Any] = answer.model_dump(mode="json", by_alias=True, exclude_none=True)
        self.calls.append((method, params, dumped))
        return dumped

    def tool_calls(self, name: str) -> list[tuple[dict[str, Any], dict[str, Any]]]:
        """(arguments, result) of each proxied call of tool ``name``, in order."""
        return [
            (params.get("arguments") or {}, result)
            for method, params, result in self.calls
            if method == "tools/call" and params["name"] == name
        ]

    async def serve(self, route: Route) -> None:
        """The two origins: the host page, and the view as a host serves it."""
        url = route.request.url
        if url in (f"{HOST}/host.html", f"{HOST}/host.js"):
            name = url.rsplit("/", 1)[1]
            kind = "text/html" if name.endswith(".html") else "text/javascript"
            await route.fulfill(body=(HERE / name).read_text(), content_type=kind)
        elif url.startswith(f"{VIEW}/view?"):
            (uri,) = parse_qs(urlsplit(url).query)["uri"]
            read = await self.client.read_resource(uri)
            (content,) = read.contents
            item = content.model_dump(mode="json", by_alias=True, exclude_none=True)
            ui = (item.get("_meta") or {}).get("ui") or {}
            await route.fulfill(
                body=item["text"],
                content_type="text/html",
                headers={"Content-Security-Policy": host_csp(ui.get("csp") or {})},
            )
        else:
            self.refused.append(url)
            await route.abort()


@dataclass
class Opened:
    page: Page
    view: Frame
    bridge: Bridge
    result: dict[str, Any]

    async def text(self, selector: str) -> str:
        return (await self.view.locator(selector).inner_text()).strip()

    async def screenshot(self, name: str, path: Path | None = None) -> Path:
        target = path or ARTIFACTS / f"{name}.png"
        target.parent.mkdir(parents=True, exist_ok=True)
        # Chromium paints an iframe only where the viewport is: make the viewport the page
        size = self.page.viewport_size or {"width": 800, "height": 900}
        height = await self.page.evaluate("document.documentElement.scrollHeight")
        await self.page.set_viewport_size({"width": size["width"], "height": height})
        await self.page.screenshot(path=str(target), full_page=True)
        await self.page.set_viewport_size(size)
        return target

    async def violations(self) -> list[str]:
        found: list[str] = await self.view.evaluate("() => window.__cspViolations || []")
        return found


@dataclass
class Host:
    browser: Browser
    client: Client

    async def open(
        self,
        tool: str,
        arguments: dict[str, Any],
        *,
        theme: str = "light",
        width: int = 720,
        ready: str = "#app > *:not(#waiting)",
    ) -> Opened:
        """Open ``host.html``, which calls ``tool`` and renders its view; wait for ``ready``."""
        bridge = Bridge(self.client)
        context = await self.browser.new_context(
            viewport={"width": width + 34, "height": 900}, device_scale_factor=1
        )
        await context.route("**/*", bridge.serve)
        page = await context.new_page()
        await page.add_init_script(CSP_PROBE)
        config = {"tool": tool, "arguments": arguments, "theme": theme, "width": width}
        await page.expose_function("hostConfig", lambda: config)
        await page.expose_function("mcpRequest", bridge.request)
        await page.goto(f"{HOST}/host.html")
        handle = await page.wait_for_selector("iframe#view")
        assert handle is not None
        view = await handle.content_frame()
        assert view is not None
        await view.wait_for_selector(ready)
        ((_, result),) = bridge.tool_calls(tool)[:1]
        return Opened(page, view, bridge, result)

    async def all_trends_drawn(self, opened: Opened) -> None:
        await opened.view.wait_for_function(
            "() => !document.body.textContent.includes('Loading the trend')"
        )


@asynccontextmanager
async def browser_host(executable: str) -> AsyncIterator[Host]:
    """Chromium and an MCP client on the demo server, for one test."""
    server = create_server(Settings(demo=True))
    async with Client(server, cache=None) as client, async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=executable, args=["--no-sandbox", "--disable-gpu"]
        )
        try:
            yield Host(browser, client)
        finally:
            await browser.close()


def rgb(css: str) -> tuple[float, float, float]:
    """``rgb(1, 2, 3)`` / ``rgba(...)`` -> the three channels."""
    r, g, b = (float(v) for v in re.findall(r"[\d.]+", css)[:3])
    return r, g, b


def luminance(css: str) -> float:
    """WCAG relative luminance of a computed colour."""

    def channel(value: float) -> float:
        c = value / 255
        return c / 12.92 if c <= 0.03928 else float(((c + 0.055) / 1.055) ** 2.4)

    r, g, b = (channel(v) for v in rgb(css))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def contrast(a: str, b: str) -> float:
    hi, lo = sorted((luminance(a), luminance(b)), reverse=True)
    return (hi + 0.05) / (lo + 0.05)


def without_cache_line(text: str) -> str:
    """A tool's text minus the ``(cached, N s old)`` line a repeated read may carry."""
    return re.sub(r"^\(cached, \d+ s old\)\n", "", text)


def text_of(result: dict[str, Any]) -> str:
    return "\n".join(c["text"] for c in result.get("content", []) if c.get("type") == "text")


def dumps(value: Any) -> str:
    return json.dumps(value, sort_keys=True)
