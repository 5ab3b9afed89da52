// The events page: topics and subscriptions, delivery status per
// subscription, failing endpoints, dead letters with the last outcome, replay.
"use strict";
(() => {
  const { h, api, flash, register, route, table, badge, json, when, button, canOperate, fields } = Console;
  const base = "/admin/v1/eventgrid/topics";
  const enc = encodeURIComponent;

  register({
    id: "events", title: "Events", roles: ["operator"],
    async render(el, params) {
      if (params[0] && params[1]) return subscription(el, params[0], params[1]);
      const { value: topics } = await api(base);
      for (const t of topics) {
        el.append(h("h3", {}, "Topic ", h("code", {}, t.name), " ", h("span", { class: "muted" }, (t.properties && t.properties.inputSchema) || "")));
        const { value: subs } = await api(`${base}/${enc(t.name)}/eventSubscriptions`);
        const rows = await Promise.all(subs.map(async (s) => Object.assign({ status: await api(`${base}/${enc(t.name)}/eventSubscriptions/${enc(s.name)}/deliveryStatus`).catch(() => null) }, s)));
        el.append(table([
          { title: "Subscription", key: "name" },
          { title: "Destination", render: (s) => { const d = (s.properties && s.properties.destination) || {}; return d.endpointType || ""; } },
          { title: "Delivery", render: (s) => statusText(s.status) },
        ], rows, (s) => { location.hash = `#/events/${enc(t.name)}/${enc(s.name)}`; },
        "No subscriptions: events published to this topic are kept for no one until a subscription is created."));
      }
      if (topics.length === 0) el.append(h("p", { class: "muted" }, "No event topics. Define them in the project's eventgrid.yaml, or PUT one to /admin/v1/eventgrid/topics/NAME."));
    },
  });

  function statusText(st) {
    if (!st) return "";
    const parts = [];
    for (const [k, v] of Object.entries(st)) {
      if (typeof v === "number" || typeof v === "string") parts.push(`${k}: ${v}`);
    }
    return parts.join(" · ");
  }

  async function subscription(el, topic, name) {
    const path = `${base}/${enc(topic)}/eventSubscriptions/${enc(name)}`;
    const [sub, status, dead] = await Promise.all([api(path), api(path + "/deliveryStatus").catch(() => null), api(path + "/deadLetters")]);
    el.append(h("p", {}, h("a", { href: "#/events" }, "Events"), " › ", h("code", {}, topic), " › ", h("strong", {}, name)));
    el.append(h("h3", {}, "Delivery status"), json(status));
    el.append(h("h3", {}, `Dead letters (${dead.value.length})`));
    if (canOperate() && dead.value.length) {
      el.append(h("div", { class: "toolbar" }, button("Replay all", async () => {
        const r = await api(path + "/deadLetters/replay", { method: "POST", body: {} });
        flash(`Replayed ${r.replayed ?? ""} event(s)`); route();
      })));
    }
    el.append(table([
      { title: "Event", render: (d) => d.id || (d.event && d.event.id) || "" },
      { title: "Type", render: (d) => d.eventType || d.type || "" },
      { title: "Reason", render: (d) => h("span", { class: "error" }, d.deadLetterReason || d.deadletterreason || "") },
      { title: "Attempts", render: (d) => d.deliveryAttempts ?? d.deliveryattempts ?? "" },
      { title: "Last outcome", render: (d) => d.lastDeliveryOutcome || d.lastdeliveryoutcome || "" },
      { title: "Last attempt", render: (d) => when(d.lastDeliveryAttemptTime || d.lastdeliveryattempttime) },
      { title: "Event", render: (d) => h("details", {}, h("summary", {}, "show"), json(d)) },
    ], dead.value, null, "No dead-lettered events: every event was delivered or is still being retried."));
    el.append(h("h3", {}, "Subscription"), fields(sub));
  }
})();
