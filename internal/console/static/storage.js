// The storage page: what takes the space per component, table, queue and
// subscription, the change log's readers, the disk, and the retention in
// force (GET /admin/v1/storage).
"use strict";
(() => {
  const { h, api, register, table, badge, when } = Console;

  // size writes a number of bytes as people read it: 1.2 MB.
  function size(n) {
    if (n === undefined || n === null) return "";
    const units = ["B", "KB", "MB", "GB", "TB"];
    let i = 0;
    while (n >= 1000 && i < units.length - 1) { n /= 1000; i++; }
    return (i === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0)) + "\u00a0" + units[i];
  }
  const count = (n) => (n ?? 0).toLocaleString();
  const kept = (r) => r === "forever" ? "until purged" : r ? "kept " + r : "";

  register({
    id: "storage", title: "Storage", roles: ["operator"],
    async render(el) {
      const r = await api("/admin/v1/storage");
      const cards = [h("div", { class: "card" }, h("div", { class: "muted" }, "Data"),
        h("div", { class: "stat" }, size(r.bytes)), h("div", { class: "muted" }, r.store === "sqlite" ? "SQLite" : "PostgreSQL"))];
      if (r.file) cards.push(h("div", { class: "card" }, h("div", { class: "muted" }, "Database file"),
        h("div", { class: "stat" }, size(r.file.bytes)),
        h("div", { class: "muted" }, `${size(r.file.walBytes)} write-ahead log, ${size(r.file.freeBytes)} free to give back`)));
      if (r.disk) cards.push(h("div", { class: "card" }, h("div", { class: "muted" }, "Disk of the data folder"),
        h("div", { class: "stat" }, size(r.disk.freeBytes), h("span", { class: "muted" }, " free")),
        h("div", { class: "muted" }, `of ${size(r.disk.totalBytes)}`)));
      el.append(h("div", { class: "grid" }, cards));

      const lost = r.consumers.filter((c) => c.lost);
      if (lost.length) el.append(h("p", { class: "error", role: "alert" },
        `${lost.map((c) => c.name).join(", ")} lost ${lost.length === 1 ? "its" : "their"} place in the change log: ` +
        "retention deleted changes not yet read, so a full resync follows."));

      el.append(h("h3", {}, "By component"));
      el.append(table([
        { title: "Component", key: "name" },
        { title: "Rows", render: (c) => count(c.rows) },
        { title: "Size", render: (c) => size(c.bytes) },
        { title: "Retention", render: (c) => kept(c.retention) },
        { title: "Tables", render: (c) => h("span", { class: "muted" }, c.tables.join(", ")) },
      ], r.components));

      el.append(h("h3", {}, "Tables"));
      el.append(table([
        { title: "Table", key: "name" },
        { title: "Rows", render: (t) => count(t.rows) },
        { title: "Size", render: (t) => size(t.bytes) },
      ], r.tables, (t) => { location.hash = "#/tables/" + encodeURIComponent(t.name); }));

      el.append(h("h3", {}, "Queues and subscriptions"));
      el.append(table([
        { title: "Entity", key: "path" },
        { title: "Active", render: (e) => count(e.active) },
        { title: "Scheduled", render: (e) => count(e.scheduled) },
        { title: "Dead letters", render: (e) => e.deadLetter ? h("span", { class: "error" }, count(e.deadLetter)) : "0" },
        { title: "Size", render: (e) => size(e.bytes) },
      ], r.broker, null, "No queues or subscriptions."));

      el.append(h("h3", {}, "Change log readers"));
      el.append(table([
        { title: "Reader", key: "name" },
        { title: "Position", render: (c) => count(c.position) },
        { title: "Behind", render: (c) => count(c.behind) },
        { title: "State", render: (c) => c.lost ? badge("lost") : badge("ok") },
      ], r.consumers, null, "No readers of the change log yet."));

      el.append(h("h3", {}, "Retention"));
      el.append(table([
        { title: "Setting", render: ([k]) => k },
        { title: "Kept", render: ([, v]) => v === "forever" ? "until purged" : v },
      ], Object.entries(r.retention)));
      const p = r.lastPass;
      el.append(p
        ? h("p", { class: "muted" }, `Last pass ${when(p.started)}${p.idle ? " (store idle)" : ""}: ` +
            (Object.entries(p.deleted).filter(([, n]) => n).map(([k, n]) => `${count(n)} ${k}`).join(", ") || "nothing old enough") +
            ` deleted, ${size(p.reclaimedBytes)} given back to the disk.`,
            (p.errors || []).map((e) => h("div", { class: "error" }, e)))
        : h("p", { class: "muted" }, "No retention pass on this node yet (one runs every interval, and sooner when the store is idle)."));
      el.append(h("p", { class: "muted" }, `Measured ${when(r.at)}.`));
    },
  });
})();
