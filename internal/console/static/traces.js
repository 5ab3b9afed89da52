// The trace page: one change followed across the five patterns (GET
// /admin/v1/traces/{id}), each hop indented under the one that caused it,
// with its start, duration and outcome, and the failing hop marked. Rows,
// runs and messages link here ("Follow this change").
"use strict";
(() => {
  const { h, api, register, badge, fields } = Console;

  // traceOf is the trace id of a traceparent, or "".
  function traceOf(tp) {
    const m = /^[0-9a-f]{2}-([0-9a-f]{32})-[0-9a-f]{16}-[0-9a-f]{2}/.exec(tp || "");
    return m ? m[1] : "";
  }
  // follow links to the trace of a traceparent, or says why there is none.
  function follow(tp) {
    const id = traceOf(tp);
    return id ? h("a", { href: "#/traces/" + id, class: "follow" }, "Follow this change") : h("span", { class: "muted" }, "not traced");
  }
  Console.follow = follow;

  const ms = (n) => n < 1 ? "<1 ms" : n < 1000 ? Math.round(n) + " ms" : (n / 1000).toFixed(2) + " s";

  register({
    id: "traces", title: "Traces", roles: ["operator"],
    async render(el, [id]) {
      const input = h("input", { value: id || "", placeholder: "trace id (32 hex digits), or a traceparent", "aria-label": "trace id", size: 60 });
      const go = () => { const v = input.value.trim(); location.hash = "#/traces/" + (traceOf(v) || v.toLowerCase()); };
      input.addEventListener("keydown", (ev) => { if (ev.key === "Enter") go(); });
      el.append(h("div", { class: "toolbar" }, input, Console.button("Open", go)));
      if (!id) {
        el.append(h("p", { class: "muted" },
          "A trace follows one change from the request that made it through the change log, events, workflows, " +
          "the broker and functions. Open one from a row's change history, a workflow run or a message, or paste " +
          "the trace id of a traceparent header (a traced answer names it in its traceresponse header)."));
        return;
      }
      let t;
      try {
        t = await api("/admin/v1/traces/" + encodeURIComponent(id));
      } catch (e) {
        if (e.status === 404) {
          el.append(h("p", { class: "muted empty" }, "No span of this trace is recorded: it was not sampled (--trace-rate), " +
            "is older than --retain-traces, or is still being written (try again in a moment)."));
          return;
        }
        throw e;
      }
      const failed = t.spans.find((s) => s.spanId === t.failedSpanId);
      el.append(h("p", { class: failed ? "error" : "", role: failed ? "alert" : null },
        `${t.spans.length} hop(s) in ${ms(t.durationMs)}`,
        failed ? ` · failed at ${failed.component}: ${failed.name} — ${failed.error}` : " · every hop succeeded"));
      el.append(waterfall(t));
      const detail = h("div", { class: "trace-detail" }, h("p", { class: "muted" }, "Select a hop to read its attributes."));
      el.append(detail);
      el.querySelectorAll("tr[data-span]").forEach((tr) => tr.addEventListener("click", () => {
        const s = t.spans.find((x) => x.spanId === tr.dataset.span);
        detail.replaceChildren(h("h4", {}, s.component, ": ", s.name), fields(Object.assign({
          kind: s.kind, start: s.start, duration: ms((new Date(s.end) - new Date(s.start))), error: s.error,
          span: s.spanId, parent: s.parentSpanId }, s.attributes || {})));
      }));
    },
  });

  // waterfall draws the spans as a tree (children under their parent, in
  // start order) with a bar for when each ran within the trace.
  function waterfall(t) {
    const start = new Date(t.start).getTime();
    const total = Math.max(t.durationMs, 1);
    const ids = new Set(t.spans.map((s) => s.spanId));
    const children = new Map();
    for (const s of t.spans) {
      const p = ids.has(s.parentSpanId) ? s.parentSpanId : "";
      if (!children.has(p)) children.set(p, []);
      children.get(p).push(s);
    }
    const rows = [];
    const walk = (parent, depth) => {
      for (const s of children.get(parent) || []) {
        rows.push([s, depth]);
        walk(s.spanId, depth + 1);
      }
    };
    walk("", 0);
    return h("div", { class: "tablewrap" }, h("table", { class: "trace" },
      h("thead", {}, h("tr", {}, ["Hop", "Surface", "Starts", "Duration", "", "Outcome"].map((c) => h("th", {}, c)))),
      h("tbody", {}, rows.map(([s, depth]) => {
        const from = new Date(s.start).getTime() - start;
        const took = new Date(s.end).getTime() - new Date(s.start).getTime();
        const bar = h("div", { class: "bar" + (s.error ? " bad" : "") });
        bar.style.marginLeft = (100 * from / total).toFixed(1) + "%";
        bar.style.width = Math.max(0.5, 100 * took / total).toFixed(1) + "%";
        return h("tr", { class: "clickable" + (s.spanId === t.failedSpanId ? " failed" : ""), "data-span": s.spanId },
          h("td", { class: "hop" }, h("span", { style: `padding-left:${depth * 1.2}em` }, s.name)),
          h("td", {}, s.component),
          h("td", {}, "+" + ms(from)),
          h("td", {}, ms(took)),
          h("td", { class: "timeline" }, bar),
          h("td", {}, s.error ? h("span", {}, badge("Failed"), " ", s.error) : badge("Succeeded")));
      }))));
  }
})();
