// The sandbox proxy of the test host, as the MCP Apps SDK's basic-host runs one: a page on
// its own origin (served with the CSP the view's resource asks for) that writes the view's
// HTML into an inner iframe and relays messages between the host and the view, checking
// both origins.
"use strict";
(function () {
  if (window.self === window.top) throw new Error("the sandbox proxy runs only in an iframe");
  if (!document.referrer) throw new Error("no referrer: cannot check the embedding host");
  const HOST_ORIGIN = new URL(document.referrer).origin;
  const OWN_ORIGIN = window.location.origin;
  const inner = document.createElement("iframe");
  inner.style = "width:100%; height:100%; border:none; display:block;";
  inner.setAttribute("sandbox", "allow-scripts allow-same-origin allow-forms");
  document.body.appendChild(inner);

  window.addEventListener("message", function (event) {
    if (event.source === window.parent) {
      if (event.origin !== HOST_ORIGIN) return;
      const m = event.data;
      if (m && m.method === "ui/notifications/sandbox-resource-ready") {
        const doc = inner.contentDocument;
        doc.open();
        doc.write(m.params.html);
        doc.close();
      } else if (inner.contentWindow) {
        inner.contentWindow.postMessage(m, "*");
      }
    } else if (event.source === inner.contentWindow) {
      if (event.origin !== OWN_ORIGIN) return;
      window.parent.postMessage(event.data, HOST_ORIGIN);
    }
  });
  window.parent.postMessage({ jsonrpc: "2.0", method: "ui/notifications/sandbox-proxy-ready", params: {} }, HOST_ORIGIN);
})();
