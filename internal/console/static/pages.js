// The console's pages. Each surface's page reads that surface's management API.
"use strict";
(() => {
  const { h, api, flash, register, route, table, badge, json, when, spark, button } = Console;

  register({
    id: "overview", title: "Overview", roles: ["operator"],
    async render(el) {
      const o = await api("/admin/v1/overview");
      el.append(h("h3", {}, "Failing now"));
      el.append(o.alerts.length === 0 ? h("p", { class: "muted" }, "Nothing is failing.") :
        table([
          { title: "", render: (a) => badge(a.severity) },
          { title: "Surface", key: "surface" },
          { title: "What", render: (a) => a.link ? h("a", { href: a.link }, a.title) : a.title },
          { title: "Detail", key: "detail" },
        ], o.alerts));
      el.append(h("h3", {}, "Last hour"));
      el.append(o.surfaces.length === 0 ? h("p", { class: "muted" }, "No traffic yet.") :
        h("div", { class: "grid" }, o.surfaces.map((s) => h("div", { class: "card" },
          h("div", { class: "muted" }, s.surface),
          h("div", { class: "stat" }, s.requests.toLocaleString(), h("span", { class: "muted" }, " requests")),
          spark(s.perMinute),
          h("div", { class: s.serverErrors ? "error" : "muted" },
            `${s.serverErrors} server errors (${(s.errorRate * 100).toFixed(1)}%), ${s.clientErrors} refused`),
          s.serverErrors ? spark(s.errorsPerMinute, "bad") : null))));
    },
  });

  register({
    id: "keys", title: "API keys", roles: [],
    async render(el) {
      const { value } = await api("/admin/v1/keys");
      const name = h("input", { placeholder: "what the key is for", "aria-label": "key name" });
      const role = h("select", { "aria-label": "role" }, ["operator", "sender", "listener", "admin"].map((r) => h("option", {}, r)));
      const shown = h("div");
      el.append(h("div", { class: "toolbar" }, name, role, button("Create key", async () => {
        const k = await api("/admin/v1/keys", { method: "POST", body: { name: name.value, role: role.value } });
        // The new secret is shown once, in a field the user copies from; it is not kept.
        shown.replaceChildren(h("p", {}, "Copy this key now; it will not be shown again:"),
          h("input", { value: k.key, readonly: true, size: 60, "aria-label": "new key" }));
        await rerender(el);
      })), shown);
      el.append(keysTable(value));
    },
  });

  function keysTable(keys) {
    return table([
      { title: "Name", key: "name" }, { title: "Role", render: (k) => badge(k.role) },
      { title: "Prefix", render: (k) => h("code", {}, k.prefix + "…") }, { title: "Created", render: (k) => when(k.created) },
      { title: "", render: (k) => button("Revoke", async () => {
          if (!confirm(`Revoke the key "${k.name}"?`)) return;
          await api("/admin/v1/keys/" + encodeURIComponent(k.id), { method: "DELETE" });
          flash("Revoked " + k.name); route();
        }, "secondary") },
    ], keys);
  }
  async function rerender(el) {
    const { value } = await api("/admin/v1/keys");
    el.querySelector(".tablewrap").replaceWith(keysTable(value));
  }
})();
