// The functions page: functions with their triggers, and invocation history
// with captured logs.
"use strict";
(() => {
  const { h, api, register, table, badge, json, when } = Console;
  const enc = encodeURIComponent;

  register({
    id: "functions", title: "Functions", roles: ["operator"],
    async render(el, params) {
      if (params[0]) return invocations(el, params[0]);
      const { value } = await api("/admin/v1/functions");
      el.append(table([
        { title: "Function", key: "name" },
        { title: "Trigger", render: (f) => f.trigger || (f.triggers || []).join(", ") || "" },
        { title: "Language", render: (f) => f.language || f.kind || "" },
        { title: "State", render: (f) => f.unwired ? h("span", { class: "error" }, f.unwired) : (f.disabled ? "disabled" : "ready") },
      ], value, (f) => { location.hash = "#/functions/" + enc(f.name); }));
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
    ], value));
  }
})();
