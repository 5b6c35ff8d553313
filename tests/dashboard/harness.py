"""A browser host for the dashboard, built on the official MCP Apps SDK: headless Chromium
(the system's, driven by Playwright) loads tests/dashboard/host.html, whose script
(host.js, bundled here with the pinned esbuild) runs the SDK's ``AppBridge`` the way the SDK's
basic-host example does, with a sandbox proxy on its own origin (sandbox.html) that writes the
view into an inner iframe. Every MCP request the host makes goes to a real MCP client (the
Python SDK's) connected to the real server on the demo backend.

Origins: the host page ``http://host.test``, the sandbox proxy ``http://sandbox.test`` (served
with the CSP a host derives from the resource's ``_meta.ui.csp``). Both are served by the test
process through Playwright's routing: no port is opened, and any other request is recorded
and refused.
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import parse_qs, urlsplit

import httpx
from mcp import Client
from playwright.async_api import Browser, ConsoleMessage, Frame, Page, Route, async_playwright

from ld_insights_mcp.config import Settings
from ld_insights_mcp.emulator import Emulator
from ld_insights_mcp.surface.server import create_server

HERE = Path(__file__).parent
ARTIFACTS = HERE / "artifacts"
NODE_MODULES = HERE.parent / "real_clients" / "node_modules"
ESBUILD = NODE_MODULES / ".bin" / "esbuild"
HOST_SDK = NODE_MODULES / "@modelcontextprotocol" / "ext-apps"
HOST = "http://host.test"
SANDBOX = "http://sandbox.test"


def chromium_path() -> str | None:
    """The system Chromium (Debian's ``chromium``), or ``CHROMIUM_PATH``."""
    chosen = os.environ.get("CHROMIUM_PATH")
    if chosen:
        return chosen if Path(chosen).exists() else None
    return shutil.which("chromium") or shutil.which("chromium-browser")


def host_sdk_missing() -> str | None:
    """Why the official host cannot be built here, or None."""
    if not HOST_SDK.is_dir() or not ESBUILD.exists():
        return "the MCP Apps host SDK is not installed: run `make real-clients-install`"
    return None


@cache
def host_script() -> str:
    """host.js and the SDK's app-bridge bundled into one script (esbuild, offline)."""
    built = subprocess.run(
        [str(ESBUILD), str(HERE / "host.js"), "--bundle", "--format=iife", "--log-level=warning"],
        env={**os.environ, "NODE_PATH": str(NODE_MODULES)},
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    )
    return built.stdout


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
    """The MCP side of the host: every request the page made, with what the server answered,
    and what the browser reported (refused requests, CSP violations)."""

    client: Client
    calls: list[tuple[str, dict[str, Any], dict[str, Any]]] = field(default_factory=list)
    refused: list[str] = field(default_factory=list)
    console: list[str] = field(default_factory=list)

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

    def heard(self, message: ConsoleMessage) -> None:
        self.console.append(message.text)

    def violations(self) -> list[str]:
        return [text for text in self.console if "Content Security Policy" in text]

    async def serve(self, route: Route) -> None:
        """The two origins: the host page with its bundled script, and the sandbox proxy."""
        url = route.request.url
        if url == f"{HOST}/host.html":
            await route.fulfill(body=(HERE / "host.html").read_text(), content_type="text/html")
        elif url == f"{HOST}/host.js":
            await route.fulfill(body=host_script(), content_type="text/javascript")
        elif url.startswith(f"{SANDBOX}/sandbox.html?"):
            (csp,) = parse_qs(urlsplit(url).query)["csp"]
            await route.fulfill(
                body=(HERE / "sandbox.html").read_text(),
                content_type="text/html",
                headers={"Content-Security-Policy": host_csp(json.loads(csp))},
            )
        elif url == f"{SANDBOX}/sandbox.js":
            await route.fulfill(
                body=(HERE / "sandbox.js").read_text(), content_type="text/javascript"
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

    async def host_state(self) -> dict[str, Any]:
        state: dict[str, Any] = await self.page.evaluate("window.hostState")
        return state

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
        return self.bridge.violations()


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
        page.on("console", bridge.heard)
        config = {"tool": tool, "arguments": arguments, "theme": theme, "width": width}
        await page.expose_function("hostConfig", lambda: config)
        await page.expose_function("mcpRequest", bridge.request)
        await page.goto(f"{HOST}/host.html")
        sandbox = await (await page.wait_for_selector("iframe#view")).content_frame()
        assert sandbox is not None
        inner = await sandbox.wait_for_selector("iframe")
        view = await inner.content_frame()
        assert view is not None
        await page.wait_for_function("() => window.hostError || window.hostState?.initialized")
        error = await page.evaluate("window.hostError")
        assert error is None, error
        await view.wait_for_selector(ready)
        ((_, result),) = bridge.tool_calls(tool)[:1]
        return Opened(page, view, bridge, result)

    async def all_trends_drawn(self, opened: Opened) -> None:
        await opened.view.wait_for_function(
            "() => !document.querySelector('.trend[data-state=\"loading\"]')"
        )


@asynccontextmanager
async def browser_host(executable: str, emulator: Emulator | None = None) -> AsyncIterator[Host]:
    """Chromium and an MCP client on the demo server (on ``emulator`` if given, whose token
    must be the demo one), for one test."""
    transport = httpx.ASGITransport(app=emulator.app) if emulator is not None else None
    server = create_server(Settings(demo=True), transport=transport)
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
