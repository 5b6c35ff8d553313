// The test host: the host side of MCP Apps built on the official SDK's AppBridge
// (@modelcontextprotocol/ext-apps, pinned in tests/real_clients), the way the SDK's
// examples/basic-host builds one: find the tool's view (tools/list -> _meta.ui.resourceUri),
// read it, load a sandbox proxy on another origin, hand it the HTML, let the view
// initialize, then send the tool input and result; tool calls from the view go back to the
// server. The harness bundles this file with esbuild (no network) and exposes
// window.hostConfig() and window.mcpRequest(method, params): an MCP client of the Python SDK
// connected to the real server.
import {
  AppBridge,
  PostMessageTransport,
  RESOURCE_MIME_TYPE,
  getToolUiResourceUri,
} from "@modelcontextprotocol/ext-apps/app-bridge";

const SANDBOX = "http://sandbox.test/sandbox.html";
const HOST_INFO = { name: "dashboard-test-host", version: "1" };
const MAX_HEIGHT = 6000;

function sandboxReady(frame) {
  return new Promise((resolve) => {
    const listener = (event) => {
      if (event.source === frame.contentWindow && event.data?.method === "ui/notifications/sandbox-proxy-ready") {
        window.removeEventListener("message", listener);
        resolve();
      }
    };
    window.addEventListener("message", listener);
  });
}

async function main() {
  const cfg = await window.hostConfig();
  const state = (window.hostState = { initialized: false, sizes: [], links: [], logs: [] });
  document.body.className = cfg.theme === "dark" ? "dark" : "";

  const listed = await window.mcpRequest("tools/list", {});
  const tool = listed.tools.find((t) => t.name === cfg.tool);
  const uri = tool && getToolUiResourceUri(tool);
  if (!uri) throw new Error("tool " + cfg.tool + " links no view");
  const read = await window.mcpRequest("resources/read", { uri });
  if (read.contents.length !== 1) throw new Error("expected one content, got " + read.contents.length);
  const content = read.contents[0];
  if (content.mimeType !== RESOURCE_MIME_TYPE) throw new Error("not an MCP App: " + content.mimeType);
  const csp = content._meta?.ui?.csp;
  const result = window.mcpRequest("tools/call", { name: cfg.tool, arguments: cfg.arguments });

  const frame = document.createElement("iframe");
  frame.id = "view";
  frame.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms");
  frame.style.width = cfg.width + "px";
  frame.style.height = "200px";
  const ready = sandboxReady(frame);
  frame.src = SANDBOX + "?csp=" + encodeURIComponent(JSON.stringify(csp || {}));
  document.body.appendChild(frame);
  await ready;

  let context = {
    theme: cfg.theme,
    displayMode: "inline",
    availableDisplayModes: ["inline"],
    containerDimensions: { width: cfg.width, maxHeight: MAX_HEIGHT },
    platform: "web",
    locale: "en-US",
    timeZone: "UTC",
    toolInfo: { tool },
  };
  const bridge = new AppBridge(null, HOST_INFO, { openLinks: {}, serverTools: {}, logging: {} }, { hostContext: context });
  bridge.oncalltool = (params) => window.mcpRequest("tools/call", params);
  bridge.onopenlink = async ({ url }) => {
    state.links.push(url);
    return {};
  };
  bridge.onloggingmessage = (params) => state.logs.push(params);
  bridge.onsizechange = ({ width, height }) => {
    state.sizes.push({ width, height });
    if (height !== undefined) frame.style.height = Math.min(height, MAX_HEIGHT) + "px";
  };
  const initialized = new Promise((resolve) => {
    bridge.oninitialized = resolve;
  });
  await bridge.connect(new PostMessageTransport(frame.contentWindow, frame.contentWindow));
  await bridge.sendSandboxResourceReady({ html: content.text, csp });
  await initialized;
  state.initialized = true;
  state.appInfo = bridge.getAppVersion();
  state.appCapabilities = bridge.getAppCapabilities();
  await bridge.sendToolInput({ arguments: cfg.arguments });
  await bridge.sendToolResult(await result);

  const update = (changes) => {
    context = { ...context, ...changes };
    bridge.setHostContext(context);
  };
  window.setTheme = (theme) => {
    document.body.className = theme === "dark" ? "dark" : "";
    update({ theme });
  };
  window.setWidth = (width) => {
    frame.style.width = width + "px";
    update({ containerDimensions: { width, maxHeight: MAX_HEIGHT } });
  };
}

main().catch((error) => {
  window.hostError = String((error && error.stack) || error);
});
