// The dashboard view: speaks JSON-RPC to the host over postMessage (MCP Apps), renders the
// tool result it is given, and asks the host to call tools (charts, deployments, explanations).
// Everything is built with DOM calls and textContent: no HTML from data, no network.
//
// The bridge below is hand-written rather than the SDK's App class: bundled, App (with the
// MCP client and zod it needs) grows this page about fifteenfold (docs/dashboard.md has the
// figures). The browser tests run this bridge against the SDK's own AppBridge host.
"use strict";
(function () {
  const CONFIG = JSON.parse(document.getElementById("ld-config").textContent);
  const SVG = "http://www.w3.org/2000/svg";
  const DAY_MS = 86400000;
  const HOUR_MS = 3600000;
  const MAX_PAGES = 10;
  const BUCKET_DAYS = { week: 7, day: 1 };
  // the top of the score tree: the composite no other composite is made of
  const ROOT = Object.keys(CONFIG.parts).find(function (name) {
    return !Object.keys(CONFIG.parts).some(function (other) { return CONFIG.parts[other].indexOf(name) >= 0; });
  });
  const app = document.getElementById("app");
  const pending = new Map();
  let nextId = 1;
  let hostContext = {};
  let hostCapabilities = {};

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
    if (!hostCapabilities.serverTools) {
      return Promise.reject(new Error("this host does not let views call tools"));
    }
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
    if (m.method === "ui/notifications/tool-result") render(m.params || {});
    else if (m.method === "ui/notifications/tool-cancelled") showNote("The tool call was cancelled.");
    else if (m.method === "ui/notifications/host-context-changed") applyContext(m.params || {});
  });

  function applyContext(partial) {
    hostContext = Object.assign({}, hostContext, partial);
    const root = document.documentElement;
    if (hostContext.theme === "dark" || hostContext.theme === "light") {
      root.dataset.theme = hostContext.theme;
      root.style.colorScheme = hostContext.theme;
    }
    const vars = (hostContext.styles && hostContext.styles.variables) || {};
    Object.keys(vars).forEach(function (name) {
      if (name.indexOf("--") === 0 && typeof vars[name] === "string") root.style.setProperty(name, vars[name]);
    });
  }

  // The size the official App reports: the document's max-content height and the window's
  // width, once per frame, only when one changed.
  let sizeQueued = false;
  let lastSize = "";
  function reportSize() {
    if (sizeQueued) return;
    sizeQueued = true;
    requestAnimationFrame(function () {
      sizeQueued = false;
      const root = document.documentElement;
      const before = root.style.height;
      root.style.height = "max-content";
      const height = Math.ceil(root.getBoundingClientRect().height);
      root.style.height = before;
      const width = Math.ceil(window.innerWidth);
      if (width + "x" + height === lastSize) return;
      lastSize = width + "x" + height;
      notify("ui/notifications/size-changed", { width: width, height: height });
    });
  }

  // --- small DOM helpers -------------------------------------------------------------------
  function el(tag, cls, text) {
    const node = document.createElement(tag);
    if (cls) node.className = cls;
    if (text !== undefined && text !== null) keepWords(node, String(text));
    return node;
  }
  // A token with a hyphen or slash ("payments-service", "acme/billing") moves to the next line
  // whole instead of breaking at its hyphen; one longer than the line still wraps inside.
  function keepWords(node, text) {
    text.split(/(\s+)/).forEach(function (part) {
      if (/\S[-\/]\S/.test(part)) {
        const word = document.createElement("span");
        word.className = "word";
        word.textContent = part;
        node.appendChild(word);
      } else if (part) {
        node.appendChild(document.createTextNode(part));
      }
    });
  }
  function svg(tag, attrs) {
    const node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) { node.setAttribute(k, String(attrs[k])); });
    return node;
  }
  function add(parent) {
    for (let i = 1; i < arguments.length; i++) {
      const child = arguments[i];
      if (child === null || child === undefined) continue;
      parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
    }
    return parent;
  }
  function clear(node) { while (node.firstChild) node.removeChild(node.firstChild); }
  function showNote(text) { app.appendChild(el("p", "muted", text)); }

  // --- words and numbers -------------------------------------------------------------------
  function plural(n, word) { return n + "\u00a0" + word + (n === 1 ? "" : "s"); }
  function title(category) { return CONFIG.titles[category] || category; }
  function words(key) {
    const text = String(key).replace(/_/g, " ").replace(/([a-z])([A-Z])/g, "$1 $2").toLowerCase();
    return text.charAt(0).toUpperCase() + text.slice(1);
  }
  // One rounding for every value the page shows, the server's own (analysis/units.number):
  // whole numbers as they are; two decimals below 10, one from 10, trailing zeros dropped;
  // three significant digits past a quadrillion. Rounded like Python, on the exact binary
  // value, a tie to even. The browser tests compare the two over many values.
  function num(value) {
    if (typeof value !== "number" || !isFinite(value)) return "–";
    const sign = value < 0 ? "-" : "";
    const size = Math.abs(value);
    if (size >= 1e15) return sign + scientific(size);
    if (Number.isInteger(value)) return sign + BigInt(size).toString();
    const digits = size >= 10 ? 1 : 2;
    const exact = size.toFixed(100).split(".");
    const kept = roundDigits(exact[0] + exact[1], exact[0].length + digits);
    const text = kept.slice(0, kept.length - digits) + "." + kept.slice(kept.length - digits);
    return sign + text.replace(/0+$/, "").replace(/\.$/, "");
  }
  // Python's "{:.3g}" past 1e15: "1.2e+15"
  function scientific(size) {
    const whole = BigInt(Math.trunc(size)).toString();
    const rest = Number.isInteger(size) ? "" : size.toFixed(100).split(".")[1];
    const kept = roundDigits(whole + rest, 3);
    const exponent = whole.length - 1 + (kept.length > 3 ? 1 : 0);
    const mantissa = (kept.charAt(0) + "." + kept.slice(1, 3)).replace(/0+$/, "").replace(/\.$/, "");
    return mantissa + "e+" + String(exponent).padStart(2, "0");
  }
  // the decimal digits "digits" cut to their first "keep", rounded half to even
  function roundDigits(digits, keep) {
    const head = digits.slice(0, keep), tail = digits.slice(keep);
    const tie = /^50*$/.test(tail);
    const up = tail.charAt(0) > "5" || (tail.charAt(0) === "5" && (!tie || Number(head.slice(-1)) % 2 === 1));
    return up ? (BigInt(head) + 1n).toString().padStart(head.length, "0") : head;
  }
  window.ldInsightsNumber = num;
  function withUnit(value, unit) {
    if (unit === "percent") return num(value) + "\u00a0%";
    if (unit === "hours") return num(value) + "\u00a0h";
    if (unit === "days") return num(value) + "\u00a0d";
    if (unit === "milliseconds") return num(value / HOUR_MS) + "\u00a0h";
    if (unit === "count" || !unit) return num(value);
    return num(value) + "\u00a0" + unit;
  }
  function metricText(metric) { return withUnit(metric.value, metric.unit) + " " + metric.modifier; }
  function metricNodes(parent, metric) {
    return add(parent, el("span", "amount", withUnit(metric.value, metric.unit)), " " + metric.modifier + " ", badge(metric.indicator));
  }
  function tierOf(metric, indicator) {
    const found = (metric.tiers || []).find(function (t) { return t.indexOf(indicator + ":") === 0; });
    return found ? found.slice(indicator.length + 1).trim() : null;
  }
  const DAY = new Intl.DateTimeFormat("en-US", { month: "short", day: "numeric", timeZone: "UTC" });
  const YEAR = new Intl.DateTimeFormat("en-US", { year: "numeric", timeZone: "UTC" });
  function date(iso, withYear) {
    const when = new Date(iso.length === 10 ? iso + "T00:00:00Z" : iso);
    const text = DAY.format(when) + (withYear ? ", " + YEAR.format(when) : "");
    return el("span", "date", text);
  }
  // a period from its first day to its exclusive end, shown with its last day: "Nov 7 – Dec 6"
  function range(from, end) {
    const span = el("span", "range");
    return add(span, date(from, false), "\u00a0–\u00a0", date(lastInstant(end), true));
  }
  // the last instant before an exclusive end (a date is its midnight, UTC)
  function lastInstant(end) {
    return new Date(Date.parse(end.length === 10 ? end + "T00:00:00Z" : end) - 1).toISOString();
  }

  // --- bands (from the server's vocabulary) ------------------------------------------------
  function bandOf(indicator) {
    const i = CONFIG.bands.findIndex(function (b) { return b.indicator === indicator; });
    if (i >= 0) return Object.assign({ cls: "band-" + i, calculated: true }, CONFIG.bands[i]);
    const j = CONFIG.special.findIndex(function (s) { return s.indicator === indicator; });
    if (j >= 0) return Object.assign({ cls: "band-x" + j, calculated: false }, CONFIG.special[j]);
    // an indicator the contract does not define: drawn like the last special one (undetermined)
    const last = CONFIG.special.length - 1;
    return { cls: "band-x" + last, calculated: false, label: indicator ? words(indicator) : "–", glyph: CONFIG.special[last].glyph };
  }
  function badge(indicator) {
    const band = bandOf(indicator);
    const node = el("span", "badge " + band.cls, band.label);
    node.dataset.indicator = indicator;
    if (band.meaning) node.title = band.meaning;
    return node;
  }
  function scoreText(score) {
    const band = bandOf(score.indicator);
    return band.calculated ? String(score.score) : band.glyph;
  }
  function legend() {
    const box = el("div", "legend");
    box.setAttribute("aria-label", "indicator bands");
    CONFIG.bands.concat(CONFIG.special).forEach(function (b) {
      const band = bandOf(b.indicator);
      const item = el("span", band.cls);
      item.dataset.band = b.indicator;
      item.title = b.meaning;
      add(item, el("span", "swatch"), el("span", "", b.low === undefined ? b.label : b.label + " " + b.low + "–" + b.high));
      box.appendChild(item);
    });
    return box;
  }
  function changeText(change, before) {
    if (change === null || change === undefined) return el("span", "change small muted", "no previous period");
    const sign = change > 0 ? "▲\u00a0+" : change < 0 ? "▼\u00a0" : "";
    const cls = change > 0 ? "up" : change < 0 ? "down" : "";
    const text = sign + change + (before === null || before === undefined ? "" : " vs\u00a0" + before);
    const node = el("span", "change small " + cls, text);
    node.dataset.change = String(change);
    return node;
  }
  function errorText(result, fallback) {
    const text = textOf(result).trim();
    return text || fallback;
  }
  function textOf(result) {
    return ((result && result.content) || [])
      .filter(function (c) { return c.type === "text"; })
      .map(function (c) { return c.text; })
      .join("\n");
  }
  function lines(parent, text) {
    text.split("\n").filter(function (l) { return l.trim(); }).forEach(function (l) {
      parent.appendChild(el("p", "error-line", l));
    });
    return parent;
  }

  // --- explanations through the host ------------------------------------------------------------
  let explainBox = null;
  function explain(category, scope) {
    if (!explainBox) return;
    const args = Object.assign({ category: category }, scope);
    clear(explainBox);
    explainBox.className = "explain";
    explainBox.dataset.category = category;
    explainBox.dataset.state = "loading";
    const head = el("div", "explain-head");
    add(head, el("h2", "", "Why " + title(category)));
    const close = el("button", "close", "×");
    close.type = "button";
    close.title = "Close";
    close.setAttribute("aria-label", "Close the explanation");
    close.addEventListener("click", function () { explainBox.hidden = true; reportSize(); });
    head.appendChild(close);
    explainBox.appendChild(head);
    const body = el("div", "explain-body");
    body.appendChild(el("p", "muted", "Asking the host to call " + CONFIG.tools.explain + "…"));
    explainBox.appendChild(body);
    explainBox.hidden = false;
    explainBox.scrollIntoView({ block: "nearest" });
    reportSize();
    callTool(CONFIG.tools.explain, args).then(function (result) {
      clear(body);
      const data = result && result.structuredContent;
      if (!result || result.isError || !data) {
        explainBox.dataset.state = "error";
        explainBox.className = "explain error";
        body.appendChild(el("p", "", CONFIG.tools.explain + " could not explain " + title(category) + ":"));
        lines(body, errorText(result, "it returned no data."));
      } else {
        drawExplanation(body, data);
        explainBox.dataset.state = "done";
      }
      reportSize();
    }, function (error) {
      clear(body);
      explainBox.dataset.state = "error";
      explainBox.className = "explain error";
      body.appendChild(el("p", "", "The host could not call " + CONFIG.tools.explain + ": " + error.message));
      reportSize();
    });
  }

  function scoreLine(score) {
    const line = el("div", "score-line");
    line.dataset.category = score.category;
    add(line, el("strong", "", title(score.category) + " " + scoreText(score)), " ", badge(score.indicator), " ",
      changeText(score.change, score.last_period_score));
    return line;
  }

  function drawExplanation(body, data) {
    const scope = data.scope || {};
    const where = el("p", "muted small");
    add(where, (scope.group_key ? "Group " + scope.group_key + " · " : "") + scope.project_key + " / " + scope.environment_key + " · ",
      range(data.period.start, data.period.end), " vs ", range(data.last_period.start, data.last_period.end));
    body.appendChild(where);
    body.appendChild(scoreLine(data.category));
    const composite = data.parts && data.parts.length > 0;
    if (composite) {
      const parts = el("div", "parts");
      parts.appendChild(el("span", "muted small", "Made of: "));
      data.parts.forEach(function (p) { parts.appendChild(scoreLine(p)); });
      body.appendChild(parts);
      const facts = compositeDriver(data);
      if (facts.firstChild) body.appendChild(facts);
    }
    // a composite explains the base category under its driver first, then its weakest ones
    const driven = composite && data.driven_by ? data.driven_by.leaf || data.driven_by.part : null;
    const first = data.explained.filter(function (leaf) { return leaf.category === driven; });
    const rest = data.explained.filter(function (leaf) { return leaf.category !== driven; });
    if (composite && first.length) body.appendChild(el("p", "small muted role", "What drove it, explained:"));
    first.forEach(function (leaf) { body.appendChild(leafExplanation(leaf, true, "driver")); });
    if (composite && rest.length) body.appendChild(el("p", "small muted role", (first.length ? "Its weakest other parts" : "Its weakest parts") + ", explained:"));
    rest.forEach(function (leaf) { body.appendChild(leafExplanation(leaf, composite || data.explained.length > 1, composite ? "weakest" : "self")); });
    if (!data.explained.length) body.appendChild(el("p", "muted", "No part of it has a calculated score to explain."));
  }

  // a score's move as "Efficiency 55 → 49"
  function moved(score) {
    if (!score) return "";
    const before = score.last_period_score;
    return title(score.category) + " " + (before === null || before === undefined ? "" : before + "\u00a0→\u00a0") + scoreText(score);
  }
  // explain_score's driven_by of a composite: the part that moved it most, the base category
  // within that part, and the largest move the other way
  function compositeDriver(data) {
    const facts = el("dl", "facts composite-driver");
    const d = data.driven_by;
    const part = function (name) { return data.parts.find(function (p) { return p.category === name; }); };
    if (!d || !d.direction) return facts;
    if (!d.part) {
      add(facts, el("dt", "", "Driver"), el("dd", "driver", d.direction === "unchanged" ? "none: the score did not change" : "none named"));
      return facts;
    }
    const dd = el("dd", "driver", moved(part(d.part)) + " (" + (d.direction === "improved" ? "better" : "worse") + ")");
    dd.dataset.part = d.part;
    const inner = d.leaf && d.leaf !== d.part ? data.explained.find(function (l) { return l.category === d.leaf; }) : null;
    if (inner) {
      dd.dataset.leaf = d.leaf;
      add(dd, ", within it ", moved(inner));
    }
    add(facts, el("dt", "", "Driver"), dd);
    if (d.counter) {
      const against = el("dd", "counter", moved(part(d.counter)));
      against.dataset.part = d.counter;
      add(facts, el("dt", "", "Despite"), against);
    }
    return facts;
  }

  function leafExplanation(leaf, showHead, role) {
    const box = el("article", "leaf");
    box.dataset.category = leaf.category;
    box.dataset.role = role;
    if (showHead) box.appendChild(scoreLine({
      category: leaf.category, score: leaf.score, indicator: leaf.indicator,
      change: leaf.change, last_period_score: leaf.last_period_score,
    }));
    const facts = el("dl", "facts");
    const stated = leaf.metric_value && leaf.metric_value.stated;
    if (stated) {
      const m = stated;
      const dd = el("dd", "metric");
      metricNodes(dd, m);
      const own = tierOf(m, m.indicator);
      if (own) add(dd, " ", el("span", "tier", own));
      if (m.next_tier) {
        const next = m.next_tier.split(":");
        add(dd, el("span", "next small muted", "next: " + bandOf(next[0]).label + (next.length > 1 ? ", " + next.slice(1).join(":").trim() : "")));
      }
      add(facts, el("dt", "", "Metric"), dd);
    } else if (leaf.metric) {
      add(facts, el("dt", "", "Metric"), el("dd", "metric", leaf.metric));
    }
    if (leaf.driver) add(facts, el("dt", "", "Driver"), el("dd", "driver", leaf.driver));
    if (leaf.caveat) add(facts, el("dt", "", "Note"), el("dd", "caveat", leaf.caveat));
    if (facts.firstChild) box.appendChild(facts);
    if (leaf.evidence && leaf.evidence.length) {
      box.appendChild(el("div", "small muted", "Evidence"));
      const list = el("ul", "evidence");
      leaf.evidence.forEach(function (item) {
        const li = el("li", "");
        li.dataset.kind = item.kind;
        li.dataset.id = item.id;
        li.appendChild(el("span", "text", item.text));
        if (item.url && hostCapabilities.openLinks) {
          const open = el("button", "link small", "open");
          open.type = "button";
          open.title = item.url;
          open.addEventListener("click", function () { request("ui/open-link", { url: item.url }).catch(function () {}); });
          add(li, " ", open);
        }
        list.appendChild(li);
      });
      box.appendChild(list);
    }
    if (leaf.missing && leaf.missing.length) {
      box.appendChild(el("p", "small missing", "Shown without (its read failed): " + leaf.missing.join("; ")));
    }
    return box;
  }

  // --- rendering ---------------------------------------------------------------------------------
  function render(result) {
    clear(app);
    explainBox = null;
    const data = result.structuredContent;
    if (result.isError || !data) {
      const box = el("div", "explain error");
      lines(box, errorText(result, "The tool returned no data."));
      app.appendChild(box);
    } else if (Array.isArray(data.scores)) renderScores(data);
    else if (Array.isArray(data.groups)) renderDigest(data);
    else if (Array.isArray(data.series)) renderChart(data);
    else lines(app, textOf(result));
    reportSize();
  }

  function header(heading, sub, data) {
    const h = el("h1", "", heading);
    if (data.data_source === "demo") add(h, " ", el("span", "demo", "demo data"));
    app.appendChild(h);
    if (sub) app.appendChild(sub);
  }
  function addExplainBox() {
    explainBox = el("section", "explain");
    explainBox.id = "explain";
    explainBox.hidden = true;
    explainBox.setAttribute("aria-live", "polite");
    app.appendChild(explainBox);
  }

  function scoreTile(score, scope, main) {
    const tile = el("button", "tile " + bandOf(score.indicator).cls + (main ? " main" : ""));
    tile.type = "button";
    tile.dataset.category = score.category;
    tile.title = "Explain " + title(score.category);
    add(tile, el("div", "name", title(score.category)), el("div", "score", scoreText(score)), badge(score.indicator), " ",
      changeText(score.change, score.last_period_score));
    tile.addEventListener("click", function () { explain(score.category, scope); });
    return tile;
  }

  function renderScores(data) {
    const sub = el("div", "muted small");
    add(sub, (data.application_keys.length ? data.application_keys.join(", ") : "all applications") + " · ",
      range(data.period.start, data.period.end), " · compared with ", range(data.last_period.start, data.last_period.end));
    header(data.project_key + " / " + data.environment_key, sub, data);
    const scope = { project_key: data.project_key, environment_key: data.environment_key };
    if (data.application_keys.length) scope.application_keys = data.application_keys;
    const byName = {};
    data.scores.forEach(function (s) { byName[s.category] = s; });
    const top = [ROOT].concat(CONFIG.parts[ROOT] || []).filter(function (c) { return byName[c]; });
    const tiles = el("div", "tiles");
    tiles.id = "tiles";
    top.forEach(function (c) { tiles.appendChild(scoreTile(byName[c], scope, c === ROOT)); });
    app.appendChild(tiles);
    app.appendChild(legend());
    addExplainBox();
    const shown = {};
    top.forEach(function (c) { shown[c] = true; });
    const cards = {};
    function section(heading, scores) {
      if (!scores.length) return;
      app.appendChild(el("h2", "", heading));
      const grid = el("div", "cats");
      scores.forEach(function (s) { shown[s.category] = true; grid.appendChild(categoryCard(s, scope, cards)); });
      app.appendChild(grid);
    }
    (CONFIG.parts[ROOT] || []).forEach(function (composite) {
      section(title(composite), (CONFIG.parts[composite] || []).filter(function (p) { return byName[p]; }).map(function (p) { return byName[p]; }));
    });
    section("Other", data.scores.filter(function (s) { return !shown[s.category]; }));
    loadCharts(data, scope, cards);
  }

  function categoryCard(score, scope, cards) {
    const card = el("div", "cat " + bandOf(score.indicator).cls);
    card.dataset.category = score.category;
    const head = el("div", "head");
    const name = el("button", "", title(score.category));
    name.type = "button";
    name.title = "Explain " + title(score.category);
    name.addEventListener("click", function () { explain(score.category, scope); });
    add(head, name, el("span", "value", scoreText(score)));
    card.appendChild(head);
    card.appendChild(add(el("div", "small"), badge(score.indicator), " ", changeText(score.change, score.last_period_score)));
    const plan = CONFIG.charts[score.category];
    const trend = el("div", "trend small" + (plan ? "" : " muted"),
      plan ? "Loading the trend…" : "No chart: this server does not know what charts this category.");
    trend.dataset.state = plan ? "loading" : "none";
    card.appendChild(trend);
    if (plan) cards[score.category] = trend;
    return card;
  }

  // --- trends: asked of the host, drawn as bars ----------------------------------------------
  function dayBefore(iso) {
    return new Date(Date.parse(iso + "T00:00:00Z") - DAY_MS).toISOString().slice(0, 10);
  }
  function loadCharts(data, scope, cards) {
    // the scores' period as whole UTC days (its end date is exclusive)
    const span = { from_date: data.period.start, to_date: dayBefore(data.period.end) };
    const days = Math.round((Date.parse(data.period.end) - Date.parse(data.period.start)) / DAY_MS);
    const bucket = days > 14 ? "week" : "day";
    const calls = {};
    function once(tool, args) {
      const key = tool + JSON.stringify(args);
      if (!calls[key]) calls[key] = tool === CONFIG.tools.deployments ? allPages(args) : callTool(tool, args);
      return calls[key];
    }
    function chartArgs(chart, windowed) {
      const args = Object.assign({}, scope, chart);
      return windowed ? Object.assign(args, span, { bucket: bucket, points: true }) : args;
    }
    Object.keys(cards).forEach(function (category) {
      const plan = CONFIG.charts[category];
      if (plan.explained) {
        once(CONFIG.tools.explain, Object.assign({ category: category }, scope)).then(function (result) {
          drawExplained(cards[category], category, plan, result);
        }, function (error) {
          failTrend(cards[category], "The host could not call the tool: " + error.message);
        }).then(reportSize);
        return;
      }
      const metricChart = plan.metric || plan.chart;
      const windowed = !plan.snapshot;
      const drawn = plan.deployments
        ? once(CONFIG.tools.deployments, Object.assign({}, scope, plan.deployments, span, { limit: 100 }))
        : once(CONFIG.tools.chart, chartArgs(plan.chart, windowed));
      const metric = once(CONFIG.tools.chart, chartArgs(metricChart, windowed));
      Promise.all([drawn, metric]).then(function (results) {
        drawTrend(cards[category], category, plan, results[0], results[1], bucket);
      }, function (error) {
        failTrend(cards[category], "The host could not call the tool: " + error.message);
      }).then(reportSize);
    });
  }

  // list_deployments pages (newest first): all of them, up to MAX_PAGES
  function allPages(args) {
    const items = [];
    function page(cursor, n) {
      const call = cursor ? Object.assign({}, args, { cursor: cursor }) : args;
      return callTool(CONFIG.tools.deployments, call).then(function (result) {
        const data = result && result.structuredContent;
        if (!data || result.isError) return result;
        data.deployments.forEach(function (d) { items.push(d); });
        if (data.next_cursor && n < MAX_PAGES) return page(data.next_cursor, n + 1);
        return { structuredContent: Object.assign({}, data, { deployments: items, next_cursor: data.next_cursor }) };
      });
    }
    return page(null, 1);
  }

  function failTrend(box, text) {
    clear(box);
    box.className = "trend small muted";
    box.dataset.state = "error";
    lines(box, text);
  }

  function metricLine(measured, category) {
    if (!measured || measured.isError || !measured.structuredContent) {
      return lines(el("div", "metric muted"), "No metric: " + errorText(measured, "the tool returned no data."));
    }
    const m = (measured.structuredContent.metrics || []).find(function (x) { return x.name === category; });
    const none = (measured.structuredContent.no_value || {})[category];
    // over nothing ("no flag change in this window"), or a marker of LaunchDarkly's in place of a value
    const empty = / in this window$/.test(none || "");
    if (none) return el("div", "metric muted", (empty ? "No data in this period: " + none.replace(/ in this window$/, "") : "No value: " + none) + ".");
    if (!m) return el("div", "metric muted", "The chart carries no " + title(category).toLowerCase() + " metric.");
    const line = el("div", "metric");
    metricNodes(line, m);
    return line;
  }

  function drawTrend(box, category, plan, drawn, measured, bucket) {
    const drawnData = drawn && drawn.structuredContent;
    if (!drawnData || drawn.isError) {
      failTrend(box, "No chart: " + errorText(drawn, "the tool returned no data."));
      return;
    }
    clear(box);
    box.className = "trend small";
    box.dataset.state = "drawn";
    let series;
    if (plan.deployments) series = countDeployments(drawnData, bucket);
    else if (drawnData.window_from === null) series = snapshotSeries(drawnData, plan);
    else series = chartSeries(drawnData, plan);
    if (series.missing) box.appendChild(el("div", "muted", series.missing));
    else if (series.now !== undefined) box.appendChild(snapshot(plan.label, series.now, measured, category));
    else box.appendChild(bars(plan.label + " per " + series.bucket, series));
    box.appendChild(metricLine(measured, category));
  }

  // a category LaunchDarkly charts nothing for: the metric explain_score counts, this period
  // against the last
  function drawExplained(box, category, plan, result) {
    const data = result && !result.isError ? result.structuredContent : null;
    const leaf = data && data.explained.find(function (l) { return l.category === category; });
    const measure = leaf && leaf.metric_value;
    if (!measure || measure.value === null) {
      const why = leaf ? leaf.metric || leaf.caveat : errorText(result, "the tool returned no data.");
      failTrend(box, "No chart: " + (why || CONFIG.tools.explain + " could not count it."));
      return;
    }
    clear(box);
    box.className = "trend small";
    box.dataset.state = "drawn";
    const columns = [
      { start: data.last_period.start, end: lastInstant(data.last_period.end), value: measure.last_value },
      { start: data.period.start, end: lastInstant(data.period.end), value: measure.value },
    ];
    box.appendChild(bars(plan.label + ", last period and this", { bucket: "period", unit: "count", columns: columns }));
    const line = el("div", "metric");
    add(line, el("span", "amount", num(measure.value)), " " + plan.label.toLowerCase() + ". " + plan.source);
    box.appendChild(line);
  }

  // the series a card draws: all of them, or the one the plan names
  function chosenSeries(chart, plan) {
    const chosen = chart.series.filter(function (s) { return !plan.series || s.name === plan.series; });
    const missing = plan.series ? "This chart has no " + plan.series + " series." : "No data in this window.";
    return chosen.length ? { chosen: chosen } : { missing: missing };
  }
  // the sum of the chosen series per bucket; a zero duration means no items that bucket
  function chartSeries(chart, plan) {
    const found = chosenSeries(chart, plan);
    if (found.missing) return found;
    const chosen = found.chosen;
    if (!chosen[0].points) return { missing: "The chart came without points." };
    const duration = chart.y_unit === "milliseconds";
    const columns = chosen[0].points.map(function (p, i) {
      let y = 0;
      chosen.forEach(function (s) { y += (s.points[i] || [null, 0])[1]; });
      return { start: p[0], value: duration && y === 0 ? null : y };
    });
    return withEnds({ bucket: chart.bucket, unit: chart.y_unit, columns: columns }, chart.window_to);
  }
  function snapshotSeries(chart, plan) {
    const found = chosenSeries(chart, plan);
    if (found.missing) return found;
    return { now: found.chosen.reduce(function (sum, s) { return sum + (s.total || 0); }, 0) };
  }
  function countDeployments(page, bucket) {
    const step = (bucket === "week" ? 7 : 1) * DAY_MS;
    const from = Date.parse(page.window_from), to = Date.parse(page.window_to);
    const columns = [];
    for (let t = from; t < to; t += step) columns.push({ start: new Date(t).toISOString().replace(".000Z", "Z"), value: 0 });
    page.deployments.forEach(function (d) {
      const i = Math.floor((Date.parse(d.started) - from) / step);
      if (i >= 0 && i < columns.length) columns[i].value += 1;
    });
    const series = withEnds({ bucket: bucket, unit: "count", columns: columns }, page.window_to);
    if (page.next_cursor) series.partial = "Counted from the newest " + page.deployments.length + " of " + page.total_count + ".";
    return series;
  }
  function withEnds(series, windowTo) {
    series.columns.forEach(function (c, i) {
      const next = i + 1 < series.columns.length ? series.columns[i + 1].start : windowTo;
      c.end = lastInstant(next);
      c.until = next;
      c.days = Math.round((Date.parse(next) - Date.parse(c.start)) / DAY_MS);
    });
    return series;
  }

  function bars(label, series) {
    const wrap = el("div", "series");
    wrap.appendChild(el("div", "series-label", label));
    const values = series.columns.map(function (c) { return c.value; }).filter(function (v) { return v !== null; });
    const max = values.length ? Math.max.apply(null, values) : 0;
    const box = el("div", "bars");
    box.setAttribute("role", "img");
    const said = series.columns.map(function (c) {
      return DAY.format(new Date(c.start)) + ": " + (c.value === null ? "no data" : withUnit(c.value, series.unit));
    });
    box.setAttribute("aria-label", label + ". " + said.join("; "));
    const labelAll = series.columns.length <= 6;
    const length = BUCKET_DAYS[series.bucket];
    const partial = [];
    series.columns.forEach(function (c, i) {
      const short = length !== undefined && c.days < length;
      const col = el("div", "col" + (short ? " partial" : ""));
      col.dataset.start = c.start;
      col.dataset.value = c.value === null ? "" : String(c.value);
      col.title = DAY.format(new Date(c.start)) + "–" + DAY.format(new Date(c.end)) + ": " + (c.value === null ? "no data" : withUnit(c.value, series.unit));
      if (short) {
        col.dataset.days = String(c.days);
        col.title += " (partial: " + c.days + " of " + plural(length, "day") + ")";
        partial.push(c);
      }
      col.appendChild(el("span", "v", c.value === null ? "–" : withUnit(c.value, series.unit)));
      const track = el("div", "track");
      const fill = el("div", "fill");
      fill.style.height = (max > 0 && c.value ? (100 * c.value) / max : 0) + "%";
      track.appendChild(fill);
      col.appendChild(track);
      const first = i === 0, last = i === series.columns.length - 1;
      col.appendChild(labelAll || first || last ? date(c.start, false) : el("span", "date", "\u00a0"));
      box.appendChild(col);
    });
    wrap.appendChild(box);
    partial.forEach(function (c) {
      const note = el("div", "muted partial-note", "Dashed: a partial " + series.bucket + ", ");
      add(note, range(c.start, c.until), " (" + c.days + " of " + plural(length, "day") + ").");
      wrap.appendChild(note);
    });
    if (series.partial) wrap.appendChild(el("div", "muted", series.partial));
    return wrap;
  }

  function snapshot(label, now, measured, category) {
    const chart = measured && !measured.isError ? measured.structuredContent : null;
    const wrap = el("div", "series");
    const head = el("div", "series-label", label + " now: " + num(now));
    wrap.appendChild(head);
    const m = ((chart && chart.metrics) || []).find(function (x) { return x.name === category; });
    if (m && m.unit === "percent" && m.value >= 0 && m.value <= 100) {
      const bar = el("div", "bar");
      bar.setAttribute("role", "img");
      bar.setAttribute("aria-label", metricText(m));
      const fill = el("div", "");
      fill.style.width = m.value + "%";
      bar.appendChild(fill);
      wrap.appendChild(bar);
    }
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
    const sub = data.period ? add(el("div", "muted small"), range(data.period.start, data.period.end)) : null;
    header(data.total_groups + " insight groups", sub, data);
    const counts = el("div", "tiles counts");
    counts.id = "band-counts";
    CONFIG.bands.concat(CONFIG.special).forEach(function (b) {
      if (!(b.indicator in data.band_counts)) return;
      const tile = el("div", "tile " + bandOf(b.indicator).cls);
      tile.dataset.band = b.indicator;
      add(tile, el("div", "name", b.label), el("div", "score", data.band_counts[b.indicator]));
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
    table.appendChild(add(el("thead"), headRow));
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
      clear(body);
      data.groups.slice().sort(compare).forEach(function (g) {
        const row = el("tr", "row");
        row.dataset.key = g.key;
        row.appendChild(el("td", "num rank", g.rank));
        const where = add(el("span", "sub"), el("span", "key", g.key), " · ", el("span", "key", g.project_key), " / ", el("span", "key", g.environment_key));
        row.appendChild(add(el("td", "group"), el("span", "", g.name), where));
        const overall = el("td", "num score-cell");
        add(overall, el("strong", "", g.overall === null ? bandOf(g.indicator).glyph || "–" : g.overall), el("br"), badge(g.indicator));
        row.appendChild(overall);
        row.appendChild(add(el("td", "num change"), changeText(g.change, null)));
        const weakest = el("td", "weakest");
        if (g.weakest) {
          const b = el("button", "link", title(g.weakest) + (g.weakest_score === null ? "" : " " + g.weakest_score));
          b.type = "button";
          b.dataset.category = g.weakest;
          b.title = "Explain " + title(g.weakest) + " for " + g.key;
          b.addEventListener("click", function () { explain(g.weakest, { group_key: g.key }); });
          weakest.appendChild(b);
        }
        row.appendChild(weakest);
        body.appendChild(row);
      });
      reportSize();
    }
    fill();
  }

  // --- a chart opened from get_insight_chart -------------------------------------------------
  function renderChart(data) {
    const sub = el("div", "muted small");
    add(sub, (data.project_key || "all projects") + (data.environment_key ? " / " + data.environment_key : "") + " · ");
    if (data.window_from) add(sub, range(data.window_from, data.window_to), ", " + data.bucket + " buckets");
    else add(sub, "now");
    if (data.group_by) add(sub, " · by " + data.group_by);
    header(words(data.kind), sub, data);
    (data.metrics || []).forEach(function (m) {
      const line = el("div", "metric " + bandOf(m.indicator).cls);
      line.dataset.name = m.name;
      metricNodes(add(line, el("strong", "", title(m.name) + ": ")), m);
      if (m.next_tier) line.appendChild(el("span", "small muted", " next " + m.next_tier));
      app.appendChild(line);
    });
    Object.keys(data.no_value || {}).forEach(function (name) {
      const line = el("div", "metric muted");
      line.dataset.name = name;
      add(line, el("strong", "", title(name) + ": "), "no value (" + data.no_value[name] + ")");
      app.appendChild(line);
    });
    app.appendChild(legend());
    const grid = el("div", "cats");
    data.series.forEach(function (s) {
      const card = el("div", "cat");
      card.dataset.series = s.name;
      const shown = s.total !== null && s.total !== undefined ? num(s.total) : s.average !== null ? withUnit(s.average, data.y_unit) : "–";
      card.appendChild(add(el("div", "head"), el("strong", "", words(s.name)), el("span", "value", shown)));
      if (s.points) {
        const duration = data.y_unit === "milliseconds";
        const columns = s.points.map(function (p) { return { start: p[0], value: duration && p[1] === 0 ? null : p[1] }; });
        card.appendChild(bars(words(s.name) + " per " + data.bucket, withEnds({ bucket: data.bucket, unit: data.y_unit, columns: columns }, data.window_to)));
      } else if (s.trend) card.appendChild(el("div", "small muted", "trend " + s.trend));
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
    hostCapabilities = (result && result.hostCapabilities) || {};
    applyContext((result && result.hostContext) || {});
    notify("ui/notifications/initialized", {});
    if (typeof ResizeObserver === "function") {
      const watch = new ResizeObserver(reportSize);
      watch.observe(document.documentElement);
      watch.observe(document.body);
    }
    reportSize();
  }, function (error) {
    showNote("The host did not answer ui/initialize: " + error.message);
  });
})();
