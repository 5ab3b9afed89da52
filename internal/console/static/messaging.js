// The messaging page: queues, topics and subscriptions with their counts,
// peeked messages, and the dead-letter queue with reasons, resubmit and purge;
// a message opens as tables of its fields, with the trace it belongs to.
"use strict";
(() => {
  const { h, api, flash, register, route, table, badge, when, button, canOperate, fieldTable } = Console;
  const base = "/admin/v1/servicebus";

  const counts = (e) => (e.properties && e.properties.countDetails) || {};
  const enc = encodeURIComponent;

  register({
    id: "messaging", title: "Messaging", roles: ["operator"],
    async render(el, params) {
      if (params[0] === "queue" && params[1]) return entity(el, `${base}/queues/${enc(params[1])}`, params[1]);
      if (params[0] === "sub" && params[2]) {
        return entity(el, `${base}/topics/${enc(params[1])}/subscriptions/${enc(params[2])}`, `${params[1]} › ${params[2]}`);
      }
      const [{ value: queues }, { value: topics }] = await Promise.all([api(base + "/queues"), api(base + "/topics")]);
      el.append(h("h3", {}, "Queues"));
      el.append(table(countColumns(), queues, (q) => { location.hash = "#/messaging/queue/" + enc(q.name); },
        "No queues. Define them in the project's servicebus/config.json, or PUT one to /admin/v1/servicebus/queues/NAME."));
      el.append(h("h3", {}, "Topics and subscriptions"));
      const rows = [];
      for (const t of topics) {
        const { value: subs } = await api(`${base}/topics/${enc(t.name)}/subscriptions`);
        for (const s of subs) rows.push(Object.assign({ topic: t.name }, s));
        if (subs.length === 0) rows.push({ topic: t.name, name: "(no subscriptions)", properties: {} });
      }
      el.append(table([{ title: "Topic", key: "topic" }, ...countColumns()], rows,
        (s) => { if (s.id) location.hash = `#/messaging/sub/${enc(s.topic)}/${enc(s.name)}`; }, "No topics."));
    },
  });

  function countColumns() {
    return [
      { title: "Name", key: "name" },
      { title: "Active", render: (e) => counts(e).activeMessageCount ?? "" },
      { title: "Scheduled", render: (e) => counts(e).scheduledMessageCount ?? "" },
      { title: "Dead-letter", render: (e) => {
          const n = counts(e).deadLetterMessageCount;
          return n ? h("span", { class: "error" }, String(n)) : (n ?? "");
        } },
      { title: "Transfer", render: (e) => counts(e).transferMessageCount ?? "" },
      { title: "Sessions", render: (e) => (e.properties && e.properties.requiresSession) ? "yes" : "" },
    ];
  }

  async function entity(el, path, title) {
    const e = await api(path);
    const c = counts(e);
    el.append(h("p", {}, h("a", { href: "#/messaging" }, "Messaging"), " › ", h("strong", {}, title)));
    el.append(h("div", { class: "grid" },
      ["activeMessageCount", "scheduledMessageCount", "deadLetterMessageCount", "deferredMessageCount"].map((k) =>
        h("div", { class: "card" }, h("div", { class: "muted" }, k.replace("MessageCount", "")), h("div", { class: "stat" }, String(c[k] ?? 0))))));

    const { value: dead } = await api(path + "/deadletters?top=200");
    el.append(h("h3", {}, `Dead-letter queue (${dead.length})`));
    if (canOperate() && dead.length > 0) {
      el.append(h("div", { class: "toolbar" },
        button("Resubmit all", async () => {
          const r = await api(path + "/deadletters/resubmit", { method: "POST", body: {} });
          flash(`Resubmitted ${r.resubmitted} message(s)`); route();
        }),
        button("Purge all", async () => {
          if (!confirm("Delete every dead-lettered message of " + title + "?")) return;
          const r = await api(path + "/deadletters", { method: "DELETE" });
          flash(`Purged ${r.purged} message(s)`); route();
        }, "danger")));
    }
    el.append(table([
      { title: "#", key: "sequenceNumber" },
      { title: "Message id", key: "messageId" },
      { title: "Reason", render: (m) => h("span", { class: "error" }, m.deadLetterReason || "") },
      { title: "Description", key: "deadLetterErrorDescription" },
      { title: "Deliveries", key: "deliveryCount" },
      { title: "Enqueued", render: (m) => when(m.enqueuedTime) },
      { title: "", render: (m) => canOperate() ? button("Resubmit", async () => {
          await api(path + "/deadletters/resubmit", { method: "POST", body: { sequenceNumbers: [m.sequenceNumber] } });
          flash(`Resubmitted message ${m.sequenceNumber}`); route();
        }, "secondary") : "" },
    ], dead, (m) => show(deadDetail, m), "No dead-lettered messages."));
    const deadDetail = h("div", { class: "msg-detail" });
    el.append(deadDetail);

    const { value: active } = await api(path + "/messages?top=100");
    el.append(h("h3", {}, `Messages (peek, ${active.length})`));
    el.append(table([
      { title: "#", key: "sequenceNumber" },
      { title: "Message id", key: "messageId" },
      { title: "State", render: (m) => badge(m.state) },
      { title: "Subject", key: "subject" },
      { title: "Session", key: "sessionId" },
      { title: "Deliveries", key: "deliveryCount" },
      { title: "Enqueued", render: (m) => when(m.enqueuedTime) },
      { title: "Trace", render: (m) => Console.follow(traceOf(m)) },
    ], active, (m) => show(activeDetail, m), "No messages waiting: every message has been received, or none was sent."));
    const activeDetail = h("div", { class: "msg-detail" });
    el.append(activeDetail);
  }

  const traceOf = (m) => (m.properties || {})["Diagnostic-Id"] || (m.properties || {}).traceparent;

  // show opens a message under its list: its broker properties, its
  // application properties and its body as tables of fields, the raw JSON
  // one click away.
  function show(holder, m) {
    const system = Object.fromEntries(Object.entries(m).filter(([k]) => !["body", "bodyBase64", "properties"].includes(k)));
    const body = bodyOf(m);
    holder.replaceChildren(h("div", { class: "card" },
      h("h4", {}, `Message ${m.sequenceNumber ?? ""} `, h("span", { class: "muted" }, m.messageId || ""), " · ", Console.follow(traceOf(m))),
      fieldTable(system),
      h("h4", {}, "Application properties"), fieldTable(m.properties || {}),
      h("h4", {}, "Body"),
      body && typeof body === "object" ? fieldTable(body) : h("pre", {}, body === null ? "(empty)" : String(body)),
      m.bodyBase64 ? Console.button("Download the body", () => Console.saveBase64(m.bodyBase64, m.contentType,
        `message-${m.sequenceNumber}${Console.extension(m.contentType)}`), "secondary download") : null,
      h("details", { class: "raw" }, h("summary", {}, "Raw JSON"), h("pre", {}, JSON.stringify(m, null, 2)))));
    holder.scrollIntoView({ block: "nearest" });
  }

  function bodyOf(m) {
    if (m.body === undefined) return m.bodyBase64 ? `(${Math.round(m.bodyBase64.length * 3 / 4)} bytes of binary content)` : null;
    try { return JSON.parse(m.body); } catch { return m.body; }
  }
})();
