// The dashboard view: speaks JSON-RPC to the host over postMessage (MCP Apps), renders the
// tool result it is given, and asks the host to call tools (charts, explanations).
// Everything is built with DOM calls and textContent: no HTML from data, no network.
"use strict";
(function () {
  const CONFIG = JSON.parse(document.getElementById("ld-config").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const app = document.getElementById("app");
  const pending = new Map();
  let nextId = 1;
  let hostContext = {};
  let toolInput = {};

  // --- the bridge ------------------------------------------------------------------------
  function send(message) {
    window.parent.postMessage(Object.assign({ jsonrpc: "2.0" }, message), "*");
  }
  function request(method, params) {
    const id = nextId++;
    return new Promise(function (resolve, reject) {
      pending.set(id, { resolve: resolve, reject: reject });
      send({ id: id, method: method, params: params });
    });
  }
  function notify(method, params) {
    send({ method: method, params: params || {} });
  }
  function callTool(name, args) {
    return request("tools/call", { name: name, arguments: args });
  }
  window.addEventListener("message", function (event) {
    if (event.source !== window.parent) return;
    const m = event.data;
    if (!m || m.jsonrpc !== "2.0") return;
    if (m.method === undefined && m.id !== undefined) {
      const waiter = pending.get(m.id);
      if (!waiter) return;
      pending.delete(m.id);
      if (m.error) waiter.reject(new Error(m.error.message || "host error"));
      else waiter.resolve(m.result);
      return;
    }
    if (m.id !== undefined) {
      // a request from the host: answer the ones a view must, refuse the rest
      if (m.method === "ui/resource-teardown" || m.method === "ping") send({ id: m.id, result: {} });
      else send({ id: m.id, error: { code: -32601, message: "Method not found: " + m.method } });
      return;
    }
    if (m.method === "ui/notifications/tool-input") toolInput = (m.params && m.params.arguments) || {};
    else if (m.method === "ui/notifications/tool-result") render(m.params || {});
    else if (m.method === "ui/notifications/tool-cancelled") showNote("The tool call was cancelled.");
    else if (m.method === "ui/notifications/host-context-changed") applyContext(m.params || {});
  });

  function applyContext(partial) {
    hostContext = Object.assign({}, hostContext, partial);
    const root = document.documentElement;
    if (hostContext.theme === "dark" || hostContext.theme === "light") root.dataset.theme = hostContext.theme;
    const vars = (hostContext.styles && hostContext.styles.variables) || {};
    Object.keys(vars).forEach(function (name) {
      if (name.indexOf("--") === 0 && typeof vars[name] === "string") root.style.setProperty(name, vars[name]);
    });
  }

  function reportSize() {
    const root = document.documentElement;
    notify("ui/notifications/size-changed", { width: root.scrollWidth, height: root.scrollHeight });
  }

  // --- small DOM helpers -------------------------------------------------------------------
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) node.textContent = String(text);
    return node;
  }
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    return node;
  }
  function clear() { while (app.firstChild) app.removeChild(app.firstChild); }
  function showNote(text) { app.appendChild(el("p", "muted", text)); }

  // --- bands (from the server's vocabulary) ------------------------------------------------
  function bandRank(indicator) {
    const i = CONFIG.bands.findIndex(function (b) { return b.indicator === indicator; });
    return i < 0 ? "none" : String(i);
  }
  function bandClass(indicator) { return "band-" + bandRank(indicator); }
  function calculated(indicator) { return bandRank(indicator) !== "none"; }
  function badge(indicator) { return el("span", "badge " + bandClass(indicator), indicator); }
  function legend() {
    const box = el("div", "legend");
    box.setAttribute("aria-label", "indicator bands");
    CONFIG.bands.concat(CONFIG.special.map(function (s) { return { indicator: s }; })).forEach(function (b) {
      const item = el("span", bandClass(b.indicator));
      item.dataset.band = b.indicator;
      item.appendChild(el("span", "swatch"));
      item.appendChild(el("span", "", b.low === undefined ? b.indicator : b.indicator + " " + b.low + "–" + b.high));
      box.appendChild(item);
    });
    return box;
  }
  function changeText(change, before) {
    if (change === null || change === undefined) return el("span", "change small muted", "no previous period");
    const sign = change > 0 ? "▲ +" : change < 0 ? "▼ " : "";
    const cls = change > 0 ? "up" : change < 0 ? "down" : "";
    const text = sign + change + (before === null || before === undefined ? "" : " vs " + before);
    const node = el("span", "change small " + cls, text);
    node.dataset.change = String(change);
    return node;
  }

  // --- explanations through the host ------------------------------------------------------------
  let explainBox = null;
  function explainable(category) { return CONFIG.explainable.indexOf(category) >= 0; }
  function explain(category, scope) {
    if (!explainBox) return;
    const args = Object.assign({ category: category }, scope);
    explainBox.className = "explain";
    explainBox.dataset.category = category;
    explainBox.dataset.state = "loading";
    while (explainBox.firstChild) explainBox.removeChild(explainBox.firstChild);
    explainBox.appendChild(el("strong", "", "Why " + category + (scope.group_key ? " for " + scope.group_key : "")));
    const body = el("pre", "", "Asking the host to call " + CONFIG.tools.explain + "…");
    explainBox.appendChild(body);
    explainBox.hidden = false;
    explainBox.scrollIntoView({ block: "nearest" });
    callTool(CONFIG.tools.explain, args).then(function (result) {
      body.textContent = textOf(result) || "(no text)";
      explainBox.dataset.state = result && result.isError ? "error" : "done";
      if (result && result.isError) explainBox.className = "explain error";
    }, function (error) {
      body.textContent = "The host could not call " + CONFIG.tools.explain + ": " + error.message;
      explainBox.dataset.state = "error";
      explainBox.className = "explain error";
    });
  }
  function textOf(result) {
    return ((result && result.content) || [])
      .filter(function (c) { return c.type === "text"; })
      .map(function (c) { return c.text; })
      .join("\n");
  }

  // --- rendering ---------------------------------------------------------------------------------
  function render(result) {
    clear();
    explainBox = null;
    const data = result.structuredContent;
    if (result.isError || !data) {
      const box = el("div", "explain error");
      box.appendChild(el("pre", "", textOf(result) || "The tool returned no data."));
      app.appendChild(box);
    } else if (Array.isArray(data.scores)) renderScores(data);
    else if (Array.isArray(data.groups)) renderDigest(data);
    else if (Array.isArray(data.series)) renderChart(data);
    else app.appendChild(el("pre", "", textOf(result)));
    reportSize();
  }

  function header(title, sub, data) {
    const h = el("h1", "", title);
    if (data.data_source === "demo") {
      h.appendChild(document.createTextNode(" "));
      h.appendChild(el("span", "demo", "demo data"));
    }
    app.appendChild(h);
    if (sub) app.appendChild(el("div", "muted small", sub));
  }
  function addExplainBox() {
    explainBox = el("section", "explain");
    explainBox.id = "explain";
    explainBox.hidden = true;
    explainBox.setAttribute("aria-live", "polite");
    app.appendChild(explainBox);
  }

  function scoreTile(score, scope, main) {
    const tile = el(explainable(score.category) ? "button" : "div", "tile " + bandClass(score.indicator) + (main ? " main" : ""));
    tile.dataset.category = score.category;
    tile.appendChild(el("div", "name", score.category));
    tile.appendChild(el("div", "score", calculated(score.indicator) ? score.score : "–"));
    tile.appendChild(badge(score.indicator));
    tile.appendChild(document.createTextNode(" "));
    tile.appendChild(changeText(score.change, score.last_period_score));
    if (tile.tagName === "BUTTON") {
      tile.type = "button";
      tile.title = "Explain " + score.category;
      tile.addEventListener("click", function () { explain(score.category, scope); });
    }
    return tile;
  }

  function renderScores(data) {
    const apps = data.application_keys.length ? data.application_keys.join(", ") : "all applications";
    header(data.project_key + " / " + data.environment_key, apps + " · " + data.period.start + " → " + data.period.end +
      " (vs " + data.last_period.start + " → " + data.last_period.end + ")", data);
    const scope = { project_key: data.project_key, environment_key: data.environment_key };
    if (data.application_keys.length) scope.application_keys = data.application_keys;
    const byName = {};
    data.scores.forEach(function (s) { byName[s.category] = s; });
    const top = ["overall"].concat(CONFIG.parts.overall || []).filter(function (c) { return byName[c]; });
    const tiles = el("div", "tiles");
    tiles.id = "tiles";
    top.forEach(function (c) { tiles.appendChild(scoreTile(byName[c], scope, c === "overall")); });
    app.appendChild(tiles);
    app.appendChild(legend());
    addExplainBox();
    const shown = {};
    top.forEach(function (c) { shown[c] = true; });
    const cards = {};
    (CONFIG.parts.overall || []).forEach(function (composite) {
      const parts = (CONFIG.parts[composite] || []).filter(function (p) { return byName[p]; });
      if (!parts.length) return;
      app.appendChild(el("h2", "", composite));
      const grid = el("div", "cats");
      parts.forEach(function (p) { shown[p] = true; grid.appendChild(categoryCard(byName[p], scope, cards)); });
      app.appendChild(grid);
    });
    const rest = data.scores.filter(function (s) { return !shown[s.category]; });
    if (rest.length) {
      app.appendChild(el("h2", "", "other"));
      const grid = el("div", "cats");
      rest.forEach(function (s) { grid.appendChild(categoryCard(s, scope, cards)); });
      app.appendChild(grid);
    }
    loadCharts(data, scope, cards);
  }

  function categoryCard(score, scope, cards) {
    const card = el("div", "cat " + bandClass(score.indicator));
    card.dataset.category = score.category;
    const head = el("div", "head");
    const name = el("button", "", score.category);
    name.type = "button";
    if (explainable(score.category)) {
      name.title = "Explain " + score.category;
      name.addEventListener("click", function () { explain(score.category, scope); });
    } else {
      name.disabled = true;
      name.title = "No explanation available for " + score.category;
    }
    head.appendChild(name);
    head.appendChild(el("span", "value", calculated(score.indicator) ? score.score : "–"));
    card.appendChild(head);
    const line = el("div", "small");
    line.appendChild(badge(score.indicator));
    line.appendChild(document.createTextNode(" "));
    line.appendChild(changeText(score.change, score.last_period_score));
    card.appendChild(line);
    const trend = el("div", "trend small muted", CONFIG.charts[score.category] ? "Loading the trend…" : "No chart for this category.");
    card.appendChild(trend);
    cards[score.category] = trend;
    return card;
  }

  // --- charts: asked of the host, drawn as inline SVG -------------------------------------------
  function periodDays(data) {
    const days = Math.round((Date.parse(data.period.end) - Date.parse(data.period.start)) / 86400000);
    return days >= 1 && days <= 90 ? days : null;
  }
  function loadCharts(data, scope, cards) {
    const calls = {};
    Object.keys(cards).forEach(function (category) {
      const plan = CONFIG.charts[category];
      if (!plan) return;
      const args = Object.assign({}, scope, plan.call);
      const windowed = plan.call.kind !== "stale_flags" && plan.call.kind !== "flag_status";
      if (windowed) {
        args.points = true;
        const days = periodDays(data);
        if (days) args.days = days;
      }
      const key = JSON.stringify(args);
      if (!calls[key]) calls[key] = callTool(CONFIG.tools.chart, args);
      calls[key].then(function (result) {
        drawTrend(cards[category], category, plan, result);
        reportSize();
      }, function (error) {
        cards[category].textContent = "No trend: " + error.message;
      });
    });
  }

  function summed(series, only) {
    const chosen = series.filter(function (s) { return only === null || s.name === only; });
    if (!chosen.length || !chosen[0].points) return null;
    return chosen[0].points.map(function (p, i) {
      let y = 0;
      chosen.forEach(function (s) { y += (s.points[i] || [null, 0])[1]; });
      return [p[0], y];
    });
  }
  function fmt(value, unit) {
    if (unit !== "milliseconds") return String(Math.round(value * 100) / 100);
    const s = value / 1000;
    if (s < 60) return Math.round(s) + "s";
    if (s < 3600) return Math.round(s / 60) + "m";
    if (s < 86400) return (s / 3600).toFixed(1) + "h";
    return (s / 86400).toFixed(1) + "d";
  }
  function metricLine(chart, category) {
    const m = (chart.metrics || []).find(function (x) { return x.name === category; });
    if (!m) return null;
    const line = el("div", "metric small");
    line.appendChild(document.createTextNode(m.value + " " + m.unit + " " + m.modifier + " "));
    line.appendChild(badge(m.indicator));
    return line;
  }

  function drawTrend(box, category, plan, result) {
    while (box.firstChild) box.removeChild(box.firstChild);
    box.className = "trend small";
    const chart = result && result.structuredContent;
    if (!chart || result.isError) {
      box.textContent = "No trend: " + (textOf(result) || "no data");
      return;
    }
    const metric = metricLine(chart, category);
    if (chart.window_from === null) {
      const stale = chart.series.find(function (s) { return s.name === plan.series; });
      const all = chart.summary.flags;
      if (stale && typeof all === "number" && all > 0) {
        const bar = el("div", "bar");
        bar.setAttribute("role", "img");
        const said = stale.total + " of " + all + " flags " + plan.series + " now";
        bar.setAttribute("aria-label", said);
        const fill = el("div", "");
        fill.style.width = Math.round((100 * stale.total) / all) + "%";
        bar.appendChild(fill);
        box.appendChild(bar);
        box.appendChild(el("div", "muted", said));
      }
      if (metric) box.appendChild(metric);
      return;
    }
    const points = summed(chart.series, plan.series);
    if (!points) {
      box.appendChild(el("div", "muted", "No data in this window."));
      if (metric) box.appendChild(metric);
      return;
    }
    const label = plan.label + " per " + chart.bucket;
    box.appendChild(sparkline(points, chart.y_unit, label));
    if (metric) box.appendChild(metric);
  }

  function sparkline(points, unit, label) {
    // a zero duration bucket means no items that bucket: leave it out rather than draw 0
    const plotted = unit === "milliseconds" ? points.filter(function (p) { return p[1] > 0; }) : points;
    const wrap = el("div", "series");
    if (!plotted.length) { wrap.appendChild(el("div", "muted", label + ": no data")); return wrap; }
    const width = 200, height = 40;
    const max = Math.max.apply(null, plotted.map(function (p) { return p[1]; }));
    const xs = points.map(function (p) { return p[0]; });
    const x = function (p) { return xs.length > 1 ? (xs.indexOf(p[0]) * width) / (xs.length - 1) : width / 2; };
    const y = function (p) { return max > 0 ? height - 2 - ((height - 4) * p[1]) / max : height - 2; };
    const peak = plotted.reduce(function (a, b) { return b[1] > a[1] ? b : a; });
    const summary = label + ", " + xs[0].slice(0, 10) + " to " + xs[xs.length - 1].slice(0, 10) + ": max " + fmt(peak[1], unit) + " on " + peak[0].slice(0, 10);
    const chart = svg("svg", { class: "spark", viewBox: "0 0 " + width + " " + height, preserveAspectRatio: "none", role: "img", "aria-label": summary });
    chart.appendChild(svg("line", { class: "base", x1: 0, y1: height - 1, x2: width, y2: height - 1 }));
    chart.appendChild(svg("polyline", {
      points: plotted.map(function (p) { return x(p).toFixed(1) + "," + y(p).toFixed(1); }).join(" "),
    }));
    wrap.appendChild(chart);
    wrap.appendChild(el("div", "muted", summary));
    return wrap;
  }

  // --- the digest: band counts and a sortable table -------------------------------------------
  const COLUMNS = [
    { key: "rank", label: "#", numeric: true },
    { key: "name", label: "Group", numeric: false },
    { key: "overall", label: "Overall", numeric: true },
    { key: "change", label: "Change", numeric: true },
    { key: "weakest_score", label: "Weakest", numeric: true },
  ];
  function renderDigest(data) {
    header(data.total_groups + " insight groups", data.period ? data.period.start + " → " + data.period.end : "", data);
    const counts = el("div", "tiles counts");
    counts.id = "band-counts";
    CONFIG.bands.map(function (b) { return b.indicator; }).concat(CONFIG.special).forEach(function (indicator) {
      if (!(indicator in data.band_counts)) return;
      const tile = el("div", "tile " + bandClass(indicator));
      tile.dataset.band = indicator;
      tile.appendChild(el("div", "name", indicator));
      tile.appendChild(el("div", "score", data.band_counts[indicator]));
      counts.appendChild(tile);
    });
    app.appendChild(counts);
    app.appendChild(legend());
    addExplainBox();
    const table = el("table");
    table.id = "groups";
    const headRow = el("tr");
    const body = el("tbody");
    const state = { key: "rank", dir: "ascending" };
    COLUMNS.forEach(function (col) {
      const th = el("th", col.numeric ? "num" : "");
      th.dataset.key = col.key;
      th.setAttribute("aria-sort", col.key === state.key ? state.dir : "none");
      const b = el("button", "", col.label);
      b.type = "button";
      b.addEventListener("click", function () {
        const first = col.numeric && col.key !== "rank" ? "descending" : "ascending";
        state.dir = state.key === col.key ? (state.dir === "ascending" ? "descending" : "ascending") : first;
        state.key = col.key;
        Array.prototype.forEach.call(headRow.children, function (cell) {
          cell.setAttribute("aria-sort", cell.dataset.key === state.key ? state.dir : "none");
        });
        fill();
      });
      th.appendChild(b);
      headRow.appendChild(th);
    });
    const thead = el("thead");
    thead.appendChild(headRow);
    table.appendChild(thead);
    table.appendChild(body);
    app.appendChild(table);

    function compare(a, b) {
      const va = a[state.key], vb = b[state.key];
      if (va === null || va === undefined) return vb === null || vb === undefined ? a.rank - b.rank : 1;
      if (vb === null || vb === undefined) return -1;
      let d = typeof va === "string" ? va.localeCompare(vb) : va - vb;
      if (state.dir === "descending") d = -d;
      return d || a.rank - b.rank;
    }
    function fill() {
      while (body.firstChild) body.removeChild(body.firstChild);
      data.groups.slice().sort(compare).forEach(function (g) {
        const row = el("tr", "row");
        row.dataset.key = g.key;
        row.appendChild(el("td", "num", g.rank));
        const name = el("td");
        name.appendChild(el("span", "", g.name));
        name.appendChild(el("span", "sub", g.key + " · " + g.project_key + "/" + g.environment_key));
        row.appendChild(name);
        const overall = el("td", "num");
        overall.appendChild(el("strong", "", g.overall === null ? "–" : g.overall));
        overall.appendChild(el("br"));
        overall.appendChild(badge(g.indicator));
        row.appendChild(overall);
        const change = el("td", "num");
        change.appendChild(changeText(g.change, null));
        row.appendChild(change);
        const weakest = el("td");
        if (g.weakest) {
          const b = el("button", "link", g.weakest + " " + (g.weakest_score === null ? "" : g.weakest_score));
          b.type = "button";
          b.dataset.category = g.weakest;
          b.title = "Explain " + g.weakest + " for " + g.key;
          b.disabled = !explainable(g.weakest);
          b.addEventListener("click", function () { explain(g.weakest, { group_key: g.key }); });
          weakest.appendChild(b);
        }
        row.appendChild(weakest);
        body.appendChild(row);
      });
      reportSize();
    }
    fill();
    if (data.next_call) app.appendChild(el("p", "small muted", "Worth explaining next: " + data.next_call));
  }

  // --- a chart opened from get_insight_chart -------------------------------------------------
  function renderChart(data) {
    const scope = (data.project_key || "all projects") + (data.environment_key ? " / " + data.environment_key : "");
    const when = data.window_from ? data.window_from.slice(0, 10) + " → " + data.window_to.slice(0, 10) + ", " + data.bucket + " buckets" : "now";
    header(data.kind, scope + " · " + when + (data.group_by ? " · by " + data.group_by : ""), data);
    (data.metrics || []).forEach(function (m) {
      const line = el("div", "metric " + bandClass(m.indicator));
      line.appendChild(el("strong", "", m.name + " "));
      line.appendChild(document.createTextNode(m.value + " " + m.unit + " " + m.modifier + " "));
      line.appendChild(badge(m.indicator));
      if (m.next_tier) line.appendChild(el("span", "small muted", " next " + m.next_tier));
      app.appendChild(line);
    });
    app.appendChild(legend());
    const grid = el("div", "cats");
    data.series.forEach(function (s) {
      const card = el("div", "cat band-none");
      card.dataset.series = s.name;
      const head = el("div", "head");
      head.appendChild(el("strong", "", s.name));
      head.appendChild(el("span", "value", s.total !== null && s.total !== undefined ? s.total : s.average !== null ? fmt(s.average, data.y_unit) : "–"));
      card.appendChild(head);
      if (s.points) card.appendChild(sparkline(s.points, data.y_unit, s.name + " per " + data.bucket));
      else if (s.trend) card.appendChild(el("div", "small muted", "trend " + s.trend));
      grid.appendChild(card);
    });
    app.appendChild(grid);
  }

  // --- start: the handshake --------------------------------------------------------------------
  request("ui/initialize", {
    appInfo: { name: "ld-insights-dashboard", version: "1" },
    appCapabilities: { availableDisplayModes: ["inline"] },
    protocolVersion: "2026-01-26",
  }).then(function (result) {
    applyContext((result && result.hostContext) || {});
    notify("ui/notifications/initialized", {});
    if (typeof ResizeObserver === "function") new ResizeObserver(reportSize).observe(document.body);
  }, function (error) {
    showNote("The host did not answer ui/initialize: " + error.message);
  });
})();
