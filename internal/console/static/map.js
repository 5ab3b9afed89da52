// The integration map: the project as it runs, read from each surface's
// management API (never drawn by hand). Tables, event topics, queues and
// topics, workflows, functions and jobs are nodes; the routes between them
// (event subscriptions, triggers, connector actions, job sources and sinks,
// function bindings) are edges. Each node carries its backlog and failures;
// an edge whose deliveries fail is drawn red, so an operator sees where a
// business change goes and where it is stuck.
"use strict";
(() => {
  const { h, api, register } = Console;
  const enc = encodeURIComponent;
  const lanes = ["source", "events", "messaging", "logic", "sink"];

  // graph collects nodes and edges by id.
  function graph() {
    const nodes = new Map();
    const edges = [];
    return {
      nodes, edges,
      node(id, kind, name, lane, extra) {
        const n = nodes.get(id) || { id, kind, name, lane, backlog: 0, failures: 0, notes: [] };
        Object.assign(n, extra || {});
        nodes.set(id, n);
        return n;
      },
      edge(from, to, label, failures) {
        const same = edges.find((e) => e.from === from && e.to === to && e.label === (label || ""));
        if (same) same.failures += failures || 0;
        else edges.push({ from, to, label: label || "", failures: failures || 0 });
      },
      // written is the node of a table as a destination: tables appear on the
      // left where their changes start routes, and on the right where routes
      // write to them, so that every route reads left to right.
      written(table) { return this.node("tablewrite:" + table, "table", table, "sink", { link: "#/tables/" + enc(table) }).id; },
    };
  }

  const lastSegment = (s) => String(s || "").split("/").filter(Boolean).pop() || "";
  const host = (u) => { try { return new URL(u, location.origin).host; } catch { return String(u); } };

  async function build() {
    const g = graph();
    const get = (p) => api(p).catch(() => ({ value: [] }));
    const [queues, topics, evTopics, flows, funcs, jobs] = await Promise.all([
      get("/admin/v1/servicebus/queues"), get("/admin/v1/servicebus/topics"), get("/admin/v1/eventgrid/topics"),
      get("/admin/v1/workflows"), get("/admin/v1/functions"), get("/admin/v1/jobs")]);
    const fnByURL = new Map((funcs.value || []).map((f) => [f.url, f.name]));

    for (const q of queues.value || []) {
      const c = (q.properties && q.properties.countDetails) || {};
      g.node("queue:" + q.name, "queue", q.name, "messaging", { backlog: c.activeMessageCount || 0, failures: c.deadLetterMessageCount || 0, failWord: "dead-lettered",
        link: "#/messaging/queue/" + enc(q.name) });
      const fwd = q.properties && q.properties.forwardTo;
      if (fwd) g.edge("queue:" + q.name, brokerEntity(g, fwd), "forward");
    }
    for (const t of topics.value || []) {
      g.node("topic:" + t.name, "topic", t.name, "messaging");
      const subs = await get(`/admin/v1/servicebus/topics/${enc(t.name)}/subscriptions`);
      for (const s of subs.value || []) {
        const c = (s.properties && s.properties.countDetails) || {};
        const id = `sub:${t.name}/${s.name}`;
        g.node(id, "subscription", `${t.name}/${s.name}`, "messaging", { backlog: c.activeMessageCount || 0, failures: c.deadLetterMessageCount || 0, failWord: "dead-lettered",
          link: `#/messaging/sub/${enc(t.name)}/${enc(s.name)}` });
        g.edge("topic:" + t.name, id, "subscription");
        const fwd = s.properties && s.properties.forwardTo;
        if (fwd) g.edge(id, brokerEntity(g, fwd), "forward");
      }
    }
    for (const t of evTopics.value || []) {
      const tid = "eventtopic:" + t.name;
      g.node(tid, "event topic", t.name, "events");
      const subs = await get(`/admin/v1/eventgrid/topics/${enc(t.name)}/eventSubscriptions`);
      for (const s of subs.value || []) {
        const p = s.properties || {};
        const st = await api(`/admin/v1/eventgrid/topics/${enc(t.name)}/eventSubscriptions/${enc(s.name)}/deliveryStatus`).catch(() => ({}));
        const failing = (st.deadLettered || 0) + (st.retrying || 0);
        const prefix = p.filter && p.filter.subjectBeginsWith;
        const table = prefix && /^\/tables\/([^/]+)/.exec(prefix);
        if (t.name === "records") {
          const src = table ? "table:" + table[1] : "table:*";
          g.node(src, "table", table ? table[1] : "every table", "source", { link: table ? "#/tables/" + enc(table[1]) : "#/tables" });
          g.edge(src, tid, "changes");
        }
        g.edge(tid, destination(g, p.destination || {}, fnByURL), s.name, failing);
      }
    }
    for (const w of flows.value || []) {
      const wid = "workflow:" + w.name;
      const runs = await get(`/admin/v1/workflows/${enc(w.name)}/runs?top=50&status=Failed`);
      const hourAgo = Date.now() - 3600e3;
      const failed = (runs.value || []).filter((r) => new Date(r.startTime) >= hourAgo).length;
      g.node(wid, "workflow", w.name, "logic", { failures: failed, link: "#/workflows/" + enc(w.name) });
      const full = await api(`/admin/v1/workflows/${enc(w.name)}`).catch(() => null);
      const def = (full && full.definition) || {};
      for (const [tn, tr] of Object.entries(def.triggers || {})) trigger(g, wid, tn, tr);
      walk(def.actions, (an, a) => action(g, wid, an, a));
    }
    for (const f of funcs.value || []) {
      const fid = "function:" + f.name;
      if (f.state === "error") { // not loaded: no bindings to draw
        g.node(fid, "function", f.name, "logic", { failures: 1, notes: ["not loaded: " + f.error], link: "#/functions" });
        continue;
      }
      g.node(fid, "function", f.name, "logic", { link: "#/functions/" + enc(f.name) });
      binding(g, fid, f.trigger, true);
      for (const o of f.outputs || []) binding(g, fid, o, false);
    }
    for (const j of jobs.value || []) {
      const jid = "job:" + j.name;
      const runs = await get(`/admin/v1/jobs/${enc(j.name)}/runs?top=1`);
      const last = (runs.value || [])[0];
      g.node(jid, "job", j.name, "logic", { failures: last && last.status === "failed" ? 1 : 0, link: "#/jobs/" + enc(j.name),
        notes: last ? ["last run " + last.status] : [] });
      g.edge(end(g, j.source, "source"), jid, (j.trigger && j.trigger.schedule) || (j.trigger && j.trigger.files ? "new files" : "on demand"));
      const deletes = j.sink && j.sink.deletes && j.sink.deletes !== "ignore" ? ", deletes: " + j.sink.deletes : "";
      g.edge(jid, end(g, j.sink, "sink"), (j.sink && j.sink.type === "file" ? "files" : "upserts") + deletes);
    }
    return g;
  }

  function brokerEntity(g, name) {
    const n = lastSegment(name);
    return g.nodes.has("topic:" + n) ? "topic:" + n : "queue:" + n;
  }

  // destination is the node an event subscription delivers to.
  function destination(g, d, fnByURL) {
    const p = d.properties || {};
    switch (String(d.endpointType || "").toLowerCase()) {
      case "servicebusqueue": return g.node("queue:" + lastSegment(p.resourceId), "queue", lastSegment(p.resourceId), "messaging").id;
      case "servicebustopic": return g.node("topic:" + lastSegment(p.resourceId), "topic", lastSegment(p.resourceId), "messaging").id;
      case "workflow": return g.node("workflow:" + lastSegment(p.resourceId), "workflow", lastSegment(p.resourceId), "logic").id;
      case "azurefunction": return g.node("function:" + lastSegment(p.resourceId), "function", lastSegment(p.resourceId), "logic").id;
      case "webhook": {
        const u = p.endpointUrl || "";
        let path = "";
        try { path = new URL(u).pathname; } catch { /* not absolute */ }
        if (fnByURL.has(path)) return "function:" + fnByURL.get(path);
        return g.node("webhook:" + host(u), "webhook", host(u), "sink").id;
      }
    }
    return g.node("endpoint:" + (d.endpointType || "?"), "endpoint", d.endpointType || "endpoint", "sink").id;
  }

  // walk visits every action of a definition, nested ones included.
  function walk(actions, visit) {
    for (const [name, a] of Object.entries(actions || {})) {
      visit(name, a);
      walk(a.actions, visit);
      if (a.else) walk(a.else.actions, visit);
      for (const c of Object.values(a.cases || {})) walk(c.actions, visit);
      if (a.default) walk(a.default.actions, visit);
    }
  }

  const literal = (v) => typeof v === "string" && !v.startsWith("@") ? v : "";

  function trigger(g, wid, name, t) {
    const type = String(t.type || "").toLowerCase();
    const params = (t.inputs && t.inputs.parameters) || {};
    if (type === "request") g.edge(g.node("callers", "callers", "HTTP callers", "source").id, wid, "request");
    else if (type === "recurrence" || type === "slidingwindow") g.edge(g.node("schedule", "schedule", "schedule", "source").id, wid, name);
    else if (params.queueName && literal(params.queueName)) g.edge(g.node("queue:" + params.queueName, "queue", params.queueName, "messaging").id, wid, name);
    else if (params.topicName && literal(params.topicName)) {
      const sub = `sub:${params.topicName}/${params.subscriptionName || ""}`;
      g.edge(g.node(sub, "subscription", `${params.topicName}/${params.subscriptionName || ""}`, "messaging").id, wid, name);
    }
  }

  function action(g, wid, name, a) {
    const type = String(a.type || "").toLowerCase();
    const inp = a.inputs || {};
    const params = inp.parameters || {};
    const op = String((inp.serviceProviderConfiguration && inp.serviceProviderConfiguration.operationId) || (inp.host && inp.host.operationId) || "");
    if (/^send/i.test(op) && literal(params.entityName || params.queueName || params.topicName)) {
      g.edge(wid, brokerEntity(g, literal(params.entityName || params.queueName || params.topicName)), name);
    } else if (/record|item|entities/i.test(op) && literal(params.entityName)) {
      g.edge(wid, g.written(literal(params.entityName)), name);
    } else if (/publish/i.test(op) && literal(params.topicName || params.topic)) {
      const t = literal(params.topicName || params.topic);
      g.edge(wid, g.node("eventtopic:" + t, "event topic", t, "events").id, name);
    } else if (op === "runJob" && literal(params.job || params.name)) {
      const j = literal(params.job || params.name);
      g.edge(wid, g.node("job:" + j, "job", j, "logic").id, name);
    } else if (type === "http" && literal(inp.uri)) {
      g.edge(wid, g.node("webhook:" + host(inp.uri), "web service", host(inp.uri), "sink").id, name);
    } else if (type === "workflow" && inp.host && inp.host.workflow) {
      const w = lastSegment(inp.host.workflow.id || inp.host.workflowReferenceName || "");
      if (w) g.edge(wid, g.node("workflow:" + w, "workflow", w, "logic").id, name);
    }
  }

  function binding(g, fid, b, isTrigger) {
    if (!b) return;
    const type = String(b.type || "").toLowerCase();
    let other = "";
    if (type.startsWith("servicebus")) {
      other = b.queueName ? g.node("queue:" + b.queueName, "queue", b.queueName, "messaging").id
        : b.topicName ? (isTrigger ? g.node(`sub:${b.topicName}/${b.subscriptionName || ""}`, "subscription", `${b.topicName}/${b.subscriptionName || ""}`, "messaging").id
          : g.node("topic:" + b.topicName, "topic", b.topicName, "messaging").id) : "";
    } else if (type === "httptrigger") other = g.node("callers", "callers", "HTTP callers", "source").id;
    else if (type === "timertrigger") other = g.node("schedule", "schedule", "schedule", "source").id;
    else if (type.startsWith("eventgrid") && !isTrigger) other = g.node("eventtopic:" + (b.topicName || b.name), "event topic", b.topicName || b.name, "events").id;
    else if ((type === "dataverse" || b.table) && !isTrigger) other = g.written(b.table);
    if (!other) return;
    if (isTrigger) g.edge(other, fid, b.type); else g.edge(fid, other, b.type);
  }

  // end is the node a job reads from or writes to.
  function end(g, x, lane) {
    x = x || {};
    const type = String(x.type || "");
    if (type === "table") {
      return lane === "source" ? g.node("table:" + x.table, "table", x.table, "source", { link: "#/tables/" + enc(x.table || "") }).id : g.written(x.table);
    }
    const kinds = { file: "folder", sftp: "SFTP", sql: "SQL database", dataverse: "Dataverse org" };
    const name = x.connection || x.table || x.path || x.folder || x.sftpUser || x.address || (x.org && x.org.url) || type;
    return g.node(`${type}:${name}`, kinds[type] || type || "?", name, lane === "source" ? "source" : "sink").id;
  }

  register({
    id: "map", title: "Integration map", roles: ["operator"],
    async render(el) {
      const g = await build();
      if (g.nodes.size === 0) {
        el.append(h("p", { class: "muted" }, "Nothing is defined yet: load a project (junction serve --project DIR) to see its routes here."));
        return;
      }
      el.append(h("p", { class: "muted" }, "Where data goes, read from the running configuration: from what changes or calls (left) ",
        "through events and messages to the workflows, functions and jobs that act on it, and what they write (right). ",
        "Backlogs and failures are live; select a node to open it."));
      el.append(draw(g));
      el.append(h("h3", {}, "Routes"), Console.table([
        { title: "From", render: (e) => label(g, e.from) }, { title: "Via", key: "label" },
        { title: "To", render: (e) => label(g, e.to) },
        { title: "Failures", render: (e) => e.failures ? h("span", { class: "error" }, String(e.failures)) : "0" },
      ], g.edges, null, "No routes."));
    },
  });

  function label(g, id) { const n = g.nodes.get(id); return n ? `${n.kind} ${n.name}` : id; }

  // draw lays the nodes out in lanes and joins them with curves.
  function draw(g) {
    const W = 190, H = 46, GX = 56, GY = 14, PAD = 10;
    const cols = lanes.map((l) => [...g.nodes.values()].filter((n) => n.lane === l).sort((a, b) => a.kind.localeCompare(b.kind) || a.name.localeCompare(b.name)));
    const pos = new Map();
    cols.forEach((col, i) => col.forEach((n, j) => pos.set(n.id, { x: PAD + i * (W + GX), y: PAD + 22 + j * (H + GY) })));
    const width = PAD * 2 + lanes.length * W + (lanes.length - 1) * GX;
    const height = PAD * 2 + 22 + Math.max(1, ...cols.map((c) => c.length)) * (H + GY);
    const svg = (tag, attrs, ...kids) => {
      const e = document.createElementNS("http://www.w3.org/2000/svg", tag);
      for (const [k, v] of Object.entries(attrs || {})) e.setAttribute(k, String(v));
      for (const k of kids) e.append(k instanceof Node ? k : document.createTextNode(String(k)));
      return e;
    };
    const root = svg("svg", { viewBox: `0 0 ${width} ${height}`, width, height, class: "map", role: "img", "aria-label": "integration map" });
    ["Sources", "Events", "Messaging", "Workflows, functions, jobs", "Destinations"].forEach((t, i) =>
      root.append(svg("text", { x: PAD + i * (W + GX), y: PAD + 10, class: "map-lane" }, t)));
    for (const e of g.edges) {
      const a = pos.get(e.from), b = pos.get(e.to);
      if (!a || !b) continue;
      const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
      const dx = Math.max(40, Math.abs(x2 - x1) / 2);
      const path = svg("path", { d: `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`, class: "map-edge" + (e.failures ? " failing" : "") },
        svg("title", {}, `${label(g, e.from)} → ${label(g, e.to)} (${e.label})${e.failures ? `: ${e.failures} failing` : ""}`));
      root.append(path);
    }
    for (const n of g.nodes.values()) {
      const p = pos.get(n.id);
      const state = n.failures ? "failing" : n.backlog ? "backlog" : "ok";
      const box = svg("g", { class: "map-node " + state, "data-node": n.id, transform: `translate(${p.x},${p.y})`, tabindex: n.link ? 0 : -1 },
        svg("rect", { width: W, height: H, rx: 6 }),
        svg("text", { x: 8, y: 17, class: "map-name" }, n.name.length > 28 ? n.name.slice(0, 27) + "…" : n.name),
        svg("text", { x: 8, y: 34, class: "map-meta" }, [n.kind, n.backlog ? `${n.backlog} waiting` : "", n.failures ? `${n.failures} ${n.failWord || "failed"}` : "", ...n.notes].filter(Boolean).join(" · ")),
        svg("title", {}, `${n.kind} ${n.name}`));
      if (n.link) box.addEventListener("click", () => { location.hash = n.link; });
      root.append(box);
    }
    return h("div", { class: "map-wrap" }, root);
  }
})();
