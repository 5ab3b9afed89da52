// The workflows page: workflows with their last run, run history searchable
// by status, trigger and client tracking id, and one run as a tree of actions
// with inputs, outputs, errors and retries; cancel and resubmit.
"use strict";
(() => {
  const { h, api, flash, register, route, table, badge, json, when, button, canOperate } = Console;
  // A trigger reads as its name and its kind ("manual (Request)").
  const triggerText = (t) => typeof t === "string" ? t : t.name + " (" + [t.type, t.kind].filter(Boolean).join(", ") + ")";
  const base = "/admin/v1/workflows";
  const enc = encodeURIComponent;

  register({
    id: "workflows", title: "Workflows", roles: ["operator"],
    async render(el, params) {
      if (params[0] && params[1]) return runPage(el, params[0], params[1]);
      if (params[0]) return runsPage(el, params[0]);
      const { value } = await api(base);
      const rows = await Promise.all(value.map(async (w) => {
        const runs = await api(`${base}/${enc(w.name)}/runs?top=1`).catch(() => ({ value: [] }));
        return Object.assign({ last: runs.value[0] }, w);
      }));
      el.append(table([
        { title: "Workflow", key: "name" },
        { title: "Kind", key: "kind" },
        { title: "Triggers", render: (w) => (w.triggers || []).map(triggerText).join(", ") },
        { title: "Last run", render: (w) => w.last ? h("span", {}, badge(w.last.status), " ", when(w.last.startTime)) : h("span", { class: "muted" }, "never") },
      ], rows, (w) => { location.hash = "#/workflows/" + enc(w.name); },
      "No workflows. Add a folder with a workflow.json to the project's folder, or PUT one to /admin/v1/workflows/NAME."));
    },
  });

  async function runsPage(el, name) {
    el.append(h("p", {}, h("a", { href: "#/workflows" }, "Workflows"), " › ", h("strong", {}, name)));
    const status = h("select", { "aria-label": "status" }, ["", "Running", "Succeeded", "Failed", "Cancelled"].map((s) => h("option", { value: s }, s || "any status")));
    const tracking = h("input", { placeholder: "client tracking id", "aria-label": "client tracking id" });
    const results = h("div");
    const load = async () => {
      const q = new URLSearchParams({ top: "50" });
      if (status.value) q.set("status", status.value);
      if (tracking.value.trim()) q.set("clientTrackingId", tracking.value.trim());
      const { value } = await api(`${base}/${enc(name)}/runs?${q}`);
      results.replaceChildren(table([
        { title: "Run", render: (r) => h("code", {}, r.name) },
        { title: "Status", render: (r) => badge(r.status) },
        { title: "Started", render: (r) => when(r.startTime) },
        { title: "Duration", render: (r) => r.endTime ? ((new Date(r.endTime) - new Date(r.startTime)) / 1000).toFixed(2) + " s" : "" },
        { title: "Tracking id", key: "clientTrackingId" },
      ], value, (r) => { location.hash = `#/workflows/${enc(name)}/${enc(r.name)}`; },
      status.value || tracking.value.trim() ? "No run matches this search." : "No runs yet: a run starts each time a trigger of this workflow fires."));
    };
    el.append(h("div", { class: "toolbar" }, status, tracking, button("Search", load)), results);
    await load();
  }

  async function runPage(el, name, id) {
    const run = await api(`${base}/${enc(name)}/runs/${enc(id)}`);
    el.append(h("p", {}, h("a", { href: "#/workflows" }, "Workflows"), " › ",
      h("a", { href: "#/workflows/" + enc(name) }, name), " › ", h("strong", {}, id)));
    const acts = [];
    if (canOperate()) {
      if (run.status === "Running" || run.status === "Waiting") {
        acts.push(button("Cancel run", async () => {
          await api(`${base}/${enc(name)}/runs/${enc(id)}/cancel`, { method: "POST" });
          flash("Cancelled"); route();
        }, "danger"));
      }
      acts.push(button("Resubmit", async () => {
        const r = await api(`${base}/${enc(name)}/runs/${enc(id)}/resubmit`, { method: "POST", body: {} });
        flash("Resubmitted as " + (r.name || r.id || "a new run"));
      }));
    }
    el.append(h("div", { class: "toolbar" }, badge(run.status), " started ", when(run.startTime), " · ", Console.follow(run.traceparent), ...acts));
    if (run.error) el.append(h("h3", {}, "Error"), json(run.error));
    const trig = run.trigger || {};
    el.append(h("h3", {}, "Trigger"), h("p", {}, h("strong", {}, trig.name || ""), " ", badge(trig.status)),
      h("details", {}, h("summary", {}, "outputs"), json(trig.outputs ?? trig)));
    // The picture first; the selected action's inputs, outputs, errors and
    // retries beside it; every action as a tree below.
    const wf = await api(`${base}/${enc(name)}`).catch(() => null);
    const detail = h("div", { class: "g-detail" }, h("p", { class: "muted" }, "Select an action to read its inputs and outputs."));
    const graph = Console.runGraph(wf && wf.definition, run, (rec) => {
      for (const n of graph.querySelectorAll(".g-node.selected")) n.classList.remove("selected");
      const sel = graph.querySelector(`.g-node[data-action="${CSS.escape(rec.name)}"]`);
      if (sel) sel.classList.add("selected");
      detail.replaceChildren(actionDetail(rec, name, id));
    });
    el.append(h("h3", {}, "Run"), graph, detail);
    el.append(h("h3", {}, "Actions"), tree(run.actions || [], name, id));
  }

  // actionDetail shows one action's record: status, times, error or the
  // reason it was skipped, inputs, outputs and retries.
  function actionDetail(a, name, id) {
    return h("div", { class: "card" }, h("h4", {}, a.path, " ", badge(a.status), " ", h("span", { class: "muted" }, duration(a))),
      actionBody(a, name, id, "Skipped."));
  }

  // actionBody is what the picture's detail and the tree show of an action:
  // why it was skipped or its error; its inputs and outputs decoded, each
  // binary content offered as a download; its retries as a table; and, unless
  // it was skipped, resubmitting the run from it.
  function actionBody(a, name, id, skippedText) {
    const skipped = a.status === "Skipped";
    const parts = [];
    if (skipped) parts.push(h("p", { class: "muted" }, (a.error && a.error.message) || skippedText));
    else if (a.error) parts.push(h("div", { class: "error" }, "Error"), json(a.error));
    for (const [label, v] of [["Inputs", a.inputs], ["Outputs", a.outputs]]) {
      if (v === undefined) continue;
      const files = Console.binaries(v).map((b) => Console.button(`Download ${b.where || label.toLowerCase()} (${b.size} bytes, ${b.type || "binary"})`,
        () => Console.saveBase64(b.base64, b.type, `${a.name}-${(b.where || label).replace(/[^\w.-]+/g, "_")}${Console.extension(b.type)}`), "secondary download"));
      parts.push(h("div", { class: "muted" }, label), json(v), files.length ? h("div", { class: "toolbar" }, files) : null);
    }
    if (a.retryHistory && a.retryHistory.length) {
      parts.push(h("div", { class: "muted" }, `Retries (${a.retryHistory.length})`), table([
        { title: "Attempt", render: (r) => String(a.retryHistory.indexOf(r) + 1) },
        { title: "Started", render: (r) => when(r.startTime) },
        { title: "Took", render: (r) => duration(r) },
        { title: "Code", render: (r) => r.code || "" },
        { title: "Error", render: (r) => (r.error && (r.error.message || r.error.code)) || "" },
      ], a.retryHistory));
    }
    if (!skipped && canOperate()) parts.push(button("Resubmit from this action", async () => {
      const r = await api(`${base}/${enc(name)}/runs/${enc(id)}/resubmit`, { method: "POST", body: { fromAction: a.name } });
      flash("Resubmitted as " + (r.name || r.id || "a new run"));
    }, "secondary"));
    return parts;
  }

  // tree nests action records by their paths ("Loop#3/Scope/Compose").
  function tree(actions, name, id) {
    const root = { children: new Map() };
    for (const a of actions) {
      let node = root;
      for (const part of a.path.split("/")) {
        if (!node.children.has(part)) node.children.set(part, { children: new Map() });
        node = node.children.get(part);
      }
      node.rec = a;
    }
    const render = (node) => h("ul", { class: "tree" }, [...node.children.entries()].map(([part, child]) => {
      const a = child.rec;
      const skipped = a && a.status === "Skipped";
      const head = h("summary", {}, a ? badge(a.status) : "", " ", h("strong", {}, part),
        a && a.code && a.status !== "Succeeded" && !skipped ? h("span", { class: "muted" }, " " + a.code) : "",
        a ? h("span", { class: "muted" }, " " + duration(a)) : "");
      // A skipped action did not fail: its runAfter conditions were not met.
      const body = a ? actionBody(a, name, id, "Skipped: the actions it runs after did not end as it requires.") : [];
      if (child.children.size) body.push(render(child));
      return h("li", { "data-action": part }, h("details", { open: a && a.status === "Failed" }, head, ...body));
    }));
    return render(root);
  }

  function duration(a) {
    if (!a.startTime || !a.endTime) return "";
    const ms = new Date(a.endTime) - new Date(a.startTime);
    return ms >= 0 ? (ms / 1000).toFixed(3) + " s" : "";
  }
})();
