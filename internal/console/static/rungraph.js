// A workflow run drawn as its graph, the way Logic Apps' run history shows
// it: actions top to bottom in the order runAfter gives them, parallel
// branches side by side, conditions, switches, scopes and loops as boxes
// around what they hold, each action coloured by its status with its
// duration. Loops show one iteration at a time. Selecting an action calls
// onSelect with its record.
"use strict";
Console.runGraph = (() => {
  const { h } = Console;
  const loops = new Set(["foreach", "until"]);

  // levels orders a scope's actions into rows: an action sits one row below
  // the lowest of the actions it runs after.
  function levels(actions) {
    const names = Object.keys(actions || {});
    const level = {};
    const visit = (n, seen) => {
      if (level[n] !== undefined) return level[n];
      if (seen.has(n)) return 0; // a cycle is the validator's to report
      seen.add(n);
      const deps = Object.keys((actions[n] && actions[n].runAfter) || {}).filter((d) => d in actions);
      level[n] = deps.length ? 1 + Math.max(...deps.map((d) => visit(d, seen))) : 0;
      return level[n];
    };
    names.forEach((n) => visit(n, new Set()));
    const rows = [];
    for (const n of names) (rows[level[n]] ||= []).push(n);
    return rows.map((r) => r.sort());
  }

  function seconds(rec) {
    if (!rec || !rec.startTime || !rec.endTime) return "";
    const ms = new Date(rec.endTime) - new Date(rec.startTime);
    return ms >= 0 ? (ms < 1000 ? ms.toFixed(0) + " ms" : (ms / 1000).toFixed(2) + " s") : "";
  }

  // draw renders one scope: prefix is the record path of its container
  // ("" at the top, "Scope/" or "Loop#2/" inside).
  function draw(actions, prefix, ctx) {
    const rows = levels(actions);
    if (rows.length === 0) return h("div", { class: "g-empty muted" }, "(no actions)");
    return h("div", { class: "g-scope" }, rows.map((row) => h("div", { class: "g-row" }, row.map((name) => node(name, actions[name], prefix, ctx)))));
  }

  function node(name, def, prefix, ctx) {
    const path = prefix + name;
    const rec = ctx.byPath.get(path);
    const status = rec ? rec.status : "NotRun";
    const type = String(def.type || "");
    const card = h("button", { type: "button", class: "g-node " + status, "data-action": name, "data-status": status,
      title: rec && rec.error && status !== "Skipped" ? rec.error.message || "" : "" },
      h("span", { class: "g-name" }, name.replace(/_/g, " ")),
      h("span", { class: "g-meta" }, type, " · ", status === "NotRun" ? "not run" : status, rec && status !== "Skipped" ? " · " + seconds(rec) : ""));
    card.addEventListener("click", (ev) => { ev.stopPropagation(); if (rec) ctx.onSelect(rec); });
    const t = type.toLowerCase();
    let inner = null;
    if (t === "if") {
      inner = branches([["True", def.actions], ["False", def.else && def.else.actions]], path + "/", ctx);
    } else if (t === "switch") {
      const cases = Object.entries(def.cases || {}).map(([c, v]) => [c, v.actions]);
      cases.push(["Default", def.default && def.default.actions]);
      inner = branches(cases, path + "/", ctx);
    } else if (loops.has(t)) {
      inner = loop(name, def, path, ctx);
    } else if (t === "scope") {
      inner = draw(def.actions, path + "/", ctx);
    }
    return h("div", { class: "g-cell" }, card, inner ? h("div", { class: "g-box" }, inner) : null);
  }

  function branches(list, prefix, ctx) {
    return h("div", { class: "g-branches" }, list.map(([label, acts]) =>
      h("div", { class: "g-branch" }, h("div", { class: "g-label muted" }, label), draw(acts || {}, prefix, ctx))));
  }

  // loop shows the iterations a run made of a Foreach or Until, one at a
  // time, with a chooser and how many of them failed.
  function loop(name, def, path, ctx) {
    const its = new Set();
    for (const p of ctx.byPath.keys()) {
      const m = p.startsWith(path + "#") && /^#(\d+)\//.exec(p.slice(path.length));
      if (m) its.add(Number(m[1]));
    }
    const list = [...its].sort((a, b) => a - b);
    if (list.length === 0) return h("div", {}, h("div", { class: "g-label muted" }, "no iterations"), draw(def.actions, path + "#0/", ctx));
    const failed = list.filter((i) => [...ctx.byPath.entries()].some(([p, r]) => p.startsWith(`${path}#${i}/`) && r.status === "Failed"));
    const holder = h("div");
    const show = (i) => holder.replaceChildren(draw(def.actions, `${path}#${i}/`, ctx));
    const pick = h("select", { "aria-label": name + " iteration" }, list.map((i) =>
      h("option", { value: i }, `iteration ${i + 1} of ${list.length}${failed.includes(i) ? " (failed)" : ""}`)));
    pick.addEventListener("change", () => show(Number(pick.value)));
    const first = failed.length ? failed[0] : list[0];
    pick.value = String(first);
    show(first);
    return h("div", {}, h("div", { class: "g-label muted" }, `${list.length} iteration(s)`, failed.length ? `, ${failed.length} failed` : "", " ", pick), holder);
  }

  return function runGraph(def, run, onSelect) {
    const byPath = new Map((run.actions || []).map((a) => [a.path, a]));
    const trig = run.trigger || {};
    const head = h("div", { class: "g-row" }, h("div", { class: "g-cell" },
      h("button", { type: "button", class: "g-node trigger " + (trig.status || ""), "data-action": trig.name || "trigger", "data-status": trig.status || "" },
        h("span", { class: "g-name" }, (trig.name || "trigger").replace(/_/g, " ")),
        h("span", { class: "g-meta" }, "trigger · ", trig.status || ""))));
    return h("div", { class: "g-graph" }, head, draw((def && def.actions) || {}, "", { byPath, onSelect }));
  };
})();
