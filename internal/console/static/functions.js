// The functions page: functions with their triggers, and invocation history
// with captured logs.
"use strict";
(() => {
  const { h, api, register, table, badge, json, when } = Console;
  // triggerText says what starts a function: its kind and what it listens on.
  function triggerText(t) {
    if (!t) return "";
    if (typeof t === "string") return t;
    const on = t.route || t.queueName || t.topicName || t.schedule || t.topic || "";
    const methods = (t.methods || []).filter((m) => m !== "options").map((m) => m.toUpperCase()).join(", ");
    return [t.type, methods, on].filter(Boolean).join(" · ");
  }
  const enc = encodeURIComponent;

  register({
    id: "functions", title: "Functions", roles: ["operator"],
    async render(el, params) {
      if (params[0]) return invocations(el, params[0]);
      const { value } = await api("/admin/v1/functions");
      el.append(table([
        { title: "Function", key: "name" },
        { title: "Trigger", render: (f) => triggerText(f.trigger) || (f.triggers || []).map(triggerText).join(", ") },
        { title: "Language", render: (f) => f.language || f.kind || "" },
        { title: "State", render: (f) => f.state === "error" ? h("span", { class: "error" }, "not loaded: " + f.error)
          : f.unwired ? h("span", { class: "error" }, f.unwired) : (f.disabled ? "disabled" : "ready") },
      ], value, (f) => { location.hash = "#/functions/" + enc(f.name); },
      "No functions. Add a function app to the project's functions/ folder."));
    },
  });

  async function invocations(el, name) {
    el.append(h("p", {}, h("a", { href: "#/functions" }, "Functions"), " › ", h("strong", {}, name)));
    const { value } = await api(`/admin/v1/functions/${enc(name)}/invocations?top=100`);
    el.append(table([
      { title: "Started", render: (i) => when(i.started) },
      { title: "Status", render: (i) => badge(i.status) },
      { title: "Trigger", render: (i) => i.trigger + (i.detail ? " · " + i.detail : "") },
      { title: "Duration", render: (i) => (i.durationMs ?? 0).toFixed(1) + " ms" },
      { title: "Error", render: (i) => i.error ? h("span", { class: "error" }, i.error) : "" },
      { title: "Logs", render: (i) => (i.logs && i.logs.length)
          ? h("details", {}, h("summary", {}, `${i.logs.length} line(s)`), h("pre", {}, i.logs.map((l) => `${l.time} ${l.level} ${l.message}`).join("\n")))
          : "" },
    ], value, null, "No invocations yet: they appear here each time the function runs."));
  }
})();
