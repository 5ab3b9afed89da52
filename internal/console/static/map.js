// The integration map: the project as it runs, read from each surface's
// management API (never drawn by hand). Tables, event topics, queues and
// topics, workflows, functions and jobs are nodes; the routes between them
// (event subscriptions, triggers, connector actions, job sources and sinks,
// function bindings, Web API callers' writes) are edges. Each node carries
// its backlog and failures; each edge its live rate, read from the server's
// own counters at /metrics (messages into a queue or subscription, event
// deliveries, workflow runs, function invocations), and the backlog where it
// leads into a queue, subscription or event subscription; an edge whose
// deliveries fail is drawn red, so an operator sees where a business change
// goes and where it is stuck.
"use strict";
(() => {
  const { h, api, register } = Console;
  const enc = encodeURIComponent;
  const lanes = ["callers", "source", "events", "messaging", "logic", "sink"];

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
      // extra may name the edge's counter (metric, labels, unit) and backlog;
      // otherwise both follow from what the edge leads into (see measure).
      edge(from, to, label, failures, extra) {
        const same = edges.find((e) => e.from === from && e.to === to && e.label === (label || ""));
        if (same) same.failures += failures || 0;
        else edges.push(Object.assign({ from, to, label: label || "", failures: failures || 0 }, extra || {}));
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
        const to = destination(g, p.destination || {}, fnByURL);
        // Into a queue or topic the edge reads the entity's own arrivals
        // (and backlog); into anything else, the subscription's deliveries
        // and the events pending for it.
        g.edge(tid, to, s.name, failing, /^(queue|sub|topic):/.test(to) ? {} : {
          counter: { metric: "junction_events_subscription_delivered_total", labels: { topic: t.name, subscription: s.name }, unit: "deliveries/s" },
          backlog: st.pending || 0, backlogWord: "pending" });
      }
    }
    // Web API callers write the tables whose changes start routes.
    for (const n of [...g.nodes.values()].filter((x) => x.kind === "table" && x.lane === "source")) {
      g.edge(g.node("webapi", "callers", "Web API callers", "callers", { link: "#/tables" }).id, n.id, "writes");
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
    if (type === "request") g.edge(g.node("callers", "callers", "HTTP callers", "callers").id, wid, "request");
    else if (type === "recurrence" || type === "slidingwindow") g.edge(g.node("schedule", "schedule", "schedule", "callers").id, wid, name);
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
    } else if (type === "httptrigger") other = g.node("callers", "callers", "HTTP callers", "callers").id;
    else if (type === "timertrigger") other = g.node("schedule", "schedule", "schedule", "callers").id;
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

  // sample reads the server's counters from /metrics (Prometheus' text
  // format) as name -> [{labels, value}], with when they were read.
  async function sample() {
    const at = Date.now();
    // A refusal here leaves the map without rates rather than signing the
    // person out.
    const text = await api("/metrics", { signin: true }).catch(() => "");
    const series = new Map();
    for (const line of String(text || "").split("\n")) {
      const m = /^([a-zA-Z_:][\w:]*)(?:\{(.*)\})?\s+(\S+)/.exec(line);
      if (!m || !m[1].startsWith("junction_")) continue;
      const labels = {};
      for (const l of (m[2] || "").matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]] = l[2].replace(/\\(.)/g, (_, c) => c === "n" ? "\n" : c);
      if (!series.has(m[1])) series.set(m[1], []);
      series.get(m[1]).push({ labels, value: Number(m[3]) });
    }
    return { at, series };
  }

  // total sums a counter's series whose labels match (entity paths compare
  // without case, as the broker resolves them).
  function total(smp, c) {
    let n = 0;
    for (const x of smp.series.get(c.metric) || []) {
      if (Object.entries(c.labels).every(([k, v]) => String(x.labels[k] || "").toLowerCase() === String(v).toLowerCase())) n += x.value;
    }
    return n;
  }

  // measure gives each edge its counter and backlog from what it leads
  // into, unless the route set them: a queue's or subscription's arrivals
  // and waiting messages, a workflow's runs, a function's invocations.
  function measure(g) {
    for (const e of g.edges) {
      const to = g.nodes.get(e.to);
      if (!to) continue;
      if (e.counter === undefined) {
        e.counter = null;
        if (to.kind === "queue") e.counter = { metric: "junction_broker_entity_messages_total", labels: { entity: to.name }, unit: "msg/s" };
        else if (to.kind === "subscription") {
          const [topic, sub] = to.name.split("/");
          e.counter = { metric: "junction_broker_entity_messages_total", labels: { entity: `${topic}/subscriptions/${sub}` }, unit: "msg/s" };
        } else if (to.kind === "workflow") e.counter = { metric: "junction_workflow_runs_total", labels: { workflow: to.name }, unit: "runs/s" };
        else if (to.kind === "function") e.counter = { metric: "junction_function_invocations_total", labels: { function: to.name }, unit: "runs/s" };
      }
      if (e.backlog === undefined && (to.kind === "queue" || to.kind === "subscription")) { e.backlog = to.backlog; e.backlogWord = "waiting"; }
    }
  }

  // rates sets each measured edge's rate from two samples (a counter that
  // went back, a restarted node, reads as 0).
  function rates(g, before, after) {
    const secs = Math.max(0.001, (after.at - before.at) / 1000);
    for (const e of g.edges) if (e.counter) e.rate = Math.max(0, total(after, e.counter) - total(before, e.counter)) / secs;
  }

  const rateText = (e) => {
    if (!e.counter || e.rate === undefined) return "";
    const r = e.rate;
    return (r === 0 ? "0" : r >= 10 ? Math.round(r).toString() : r >= 0.1 ? r.toFixed(1) : r.toFixed(2)) + " " + e.counter.unit;
  };
  const backlogText = (e) => e.backlog === undefined ? "" : `${e.backlog} ${e.backlogWord}`;

  const refreshEvery = 3000;

  register({
    id: "map", title: "Integration map", roles: ["operator"],
    async render(el) {
      let before = await sample();
      const g = await build();
      if (g.nodes.size === 0) {
        el.append(h("p", { class: "muted" }, "Nothing is defined yet: load a project (junction serve --project DIR) to see its routes here."));
        return;
      }
      // Rates need two readings of the counters: the first draw waits for a
      // second; the map then redraws itself every few seconds while open.
      await new Promise((ok) => setTimeout(ok, Math.max(0, 1000 - (Date.now() - before.at))));
      let after = await sample();
      measure(g);
      rates(g, before, after);
      el.append(h("p", { class: "muted" }, "Where data goes, read from the running configuration: from who calls and what changes (left) ",
        "through events and messages to the workflows, functions and jobs that act on it, and what they write (right). ",
        "Rates are this node's, over the last few seconds, from its metrics; backlogs and failures are live. Select a node to open it."));
      const holder = h("div");
      const show = (graph) => holder.replaceChildren(draw(graph), h("h3", {}, "Routes"), routes(graph));
      show(g);
      el.append(holder);
      const tick = async () => {
        if (!el.isConnected) return;
        try {
          const next = await build();
          before = after;
          after = await sample();
          measure(next);
          rates(next, before, after);
          if (el.isConnected) show(next);
        } catch { /* the next tick tries again */ }
        setTimeout(tick, refreshEvery);
      };
      setTimeout(tick, refreshEvery);
    },
  });

  function routes(g) {
    return Console.table([
      { title: "From", render: (e) => label(g, e.from) }, { title: "Via", key: "label" },
      { title: "To", render: (e) => label(g, e.to) },
      { title: "Rate", render: rateText },
      { title: "Backlog", render: backlogText },
      { title: "Failures", render: (e) => e.failures ? h("span", { class: "error" }, String(e.failures)) : "0" },
    ], g.edges, null, "No routes.");
  }

  function label(g, id) { const n = g.nodes.get(id); return n ? (n.kind === "callers" ? n.name : `${n.kind} ${n.name}`) : id; }

  // draw lays the nodes out in lanes and joins them with curves.
  function draw(g) {
    const W = 190, H = 46, GX = 100, GY = 14, PAD = 10;
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
    ["Callers", "Sources", "Events", "Messaging", "Workflows, functions, jobs", "Destinations"].forEach((t, i) =>
      root.append(svg("text", { x: PAD + i * (W + GX), y: PAD + 10, class: "map-lane" }, t)));
    const labels = new Map();
    for (const e of g.edges) {
      const a = pos.get(e.from), b = pos.get(e.to);
      if (!a || !b) continue;
      const x1 = a.x + W, y1 = a.y + H / 2, x2 = b.x, y2 = b.y + H / 2;
      const dx = Math.max(40, Math.abs(x2 - x1) / 2);
      const path = svg("path", { d: `M${x1},${y1} C${x1 + dx},${y1} ${x2 - dx},${y2} ${x2},${y2}`, class: "map-edge" + (e.failures ? " failing" : "") },
        svg("title", {}, `${label(g, e.from)} → ${label(g, e.to)} (${e.label})${e.failures ? `: ${e.failures} failing` : ""}`));
      root.append(path);
      // An edge with something moving or waiting says so where it enters
      // its node; edges into the same node stack their words upwards (the
      // same words once: edges into a queue read the queue's arrivals).
      const words = [rateText(e), backlogText(e)].filter(Boolean).join(" · ");
      if (e.rate || e.backlog) {
        const at = labels.get(e.to) || [];
        labels.set(e.to, at);
        const same = at.find((l) => l.words === words);
        if (same) same.edges.push(`${e.from}>${e.to}`);
        else at.push({ x: x2 - 4, y: y2 - 4 - at.length * 13, words, edges: [`${e.from}>${e.to}`] });
      }
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
    for (const l of [...labels.values()].flat()) {
      root.append(svg("text", { x: l.x, y: l.y, class: "map-rate", "text-anchor": "end", "data-edge": l.edges.join(" ") }, l.words));
    }
    return h("div", { class: "map-wrap" }, root);
  }
})();
