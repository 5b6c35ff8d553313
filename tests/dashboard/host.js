// The host side of the MCP Apps bridge, as a chat client would run it: find the tool's view
// (tools/list -> _meta.ui.resourceUri), call the tool, load the view in a sandboxed iframe on
// another origin, answer ui/initialize, send tool-input and tool-result, proxy tools/call.
// window.mcpRequest(method, params) and window.hostConfig() are exposed by the test process
// (an MCP client connected to the real server).
"use strict";
(async function () {
  const VIEW_ORIGIN = "http://view.test";
  const cfg = await window.hostConfig();
  const log = (window.hostLog = []);
  if (cfg.theme === "dark") document.body.className = "dark";
  const listed = await window.mcpRequest("tools/list", {});
  const tool = listed.tools.find((t) => t.name === cfg.tool);
  const uri = tool && tool._meta && tool._meta.ui && tool._meta.ui.resourceUri;
  if (!uri) throw new Error("tool " + cfg.tool + " links no view");
  const result = await window.mcpRequest("tools/call", { name: cfg.tool, arguments: cfg.arguments });

  const frame = document.createElement("iframe");
  frame.id = "view";
  frame.setAttribute("sandbox", "allow-scripts");
  frame.style.width = cfg.width + "px";
  frame.style.height = "200px";
  frame.src = VIEW_ORIGIN + "/view?uri=" + encodeURIComponent(uri);
  document.body.appendChild(frame);

  const post = (message) => {
    log.push({ to: "view", message: message });
    frame.contentWindow.postMessage(Object.assign({ jsonrpc: "2.0" }, message), "*");
  };
  const context = {
    theme: cfg.theme,
    displayMode: "inline",
    availableDisplayModes: ["inline"],
    containerDimensions: { width: cfg.width },
    platform: "web",
    locale: "en-US",
    toolInfo: { tool: tool },
  };
  window.setTheme = (theme) => {
    document.body.className = theme === "dark" ? "dark" : "";
    post({ method: "ui/notifications/host-context-changed", params: { theme: theme } });
  };

  window.addEventListener("message", async (event) => {
    if (event.source !== frame.contentWindow) return;
    const m = event.data;
    if (!m || m.jsonrpc !== "2.0") return;
    log.push({ to: "host", message: m });
    if (m.method === "ui/initialize") {
      post({
        id: m.id,
        result: {
          protocolVersion: m.params.protocolVersion,
          hostInfo: { name: "dashboard-test-host", version: "1" },
          hostCapabilities: { serverTools: {} },
          hostContext: context,
        },
      });
    } else if (m.method === "ui/notifications/initialized") {
      post({ method: "ui/notifications/tool-input", params: { arguments: cfg.arguments } });
      post({ method: "ui/notifications/tool-result", params: result });
    } else if (m.method === "ui/notifications/size-changed") {
      if (m.params && m.params.height) frame.style.height = Math.ceil(m.params.height) + 2 + "px";
    } else if (m.method === "tools/call") {
      try {
        post({ id: m.id, result: await window.mcpRequest("tools/call", m.params) });
      } catch (error) {
        post({ id: m.id, error: { code: -32603, message: String(error) } });
      }
    } else if (m.id !== undefined && m.method !== undefined) {
      post({ id: m.id, error: { code: -32601, message: "Method not found: " + m.method } });
    }
  });
})();
