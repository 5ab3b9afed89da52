// The events page: topics and subscriptions, delivery status per
// subscription, failing endpoints, dead letters with the last outcome, replay;
// a dead-lettered event opens as a table of its fields, with its trace.
"use strict";
(() => {
  const { h, api, flash, register, route, table, when, button, canOperate, fields } = Console;
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
    el.append(h("h3", {}, "Delivery status"), status ? fields(status) : h("p", { class: "muted" }, "Not reported."));
    el.append(h("h3", {}, `Dead letters (${dead.value.length})`));
    if (canOperate() && dead.value.length) {
      el.append(h("div", { class: "toolbar" }, button("Replay all", async () => {
        const r = await api(path + "/deadLetters/replay", { method: "POST", body: {} });
        flash(`Replayed ${r.replayed ?? ""} event(s)`); route();
      })));
    }
    // A dead letter is {sequence, deadLetterEvent, traceparent}; the event
    // is in the subscription's delivery schema (CloudEvents names are lower
    // case).
    const ev = (d) => d.deadLetterEvent || {};
    const attr = (d, k) => ev(d)[k] ?? ev(d)[k.toLowerCase()];
    const detail = h("div", { class: "event-detail" });
    el.append(table([
      { title: "#", key: "sequence" },
      { title: "Event", render: (d) => attr(d, "id") || "" },
      { title: "Type", render: (d) => attr(d, "eventType") || attr(d, "type") || "" },
      { title: "Subject", render: (d) => attr(d, "subject") || "" },
      { title: "Reason", render: (d) => h("span", { class: "error" }, attr(d, "deadLetterReason") || "") },
      { title: "Attempts", render: (d) => attr(d, "deliveryAttempts") ?? "" },
      { title: "Last outcome", render: (d) => attr(d, "lastDeliveryOutcome") || "" },
      { title: "Last attempt", render: (d) => when(attr(d, "lastDeliveryAttemptTime")) },
      { title: "Trace", render: (d) => Console.follow(d.traceparent) },
    ], dead.value, (d) => {
      detail.replaceChildren(h("div", { class: "card" },
        h("h4", {}, "Event ", h("code", {}, attr(d, "id") || ""), " · ", Console.follow(d.traceparent)),
        fields(ev(d), null, d)));
      detail.scrollIntoView({ block: "nearest" });
    }, "No dead-lettered events: every event was delivered or is still being retried."));
    el.append(detail);
    el.append(h("h3", {}, "Subscription"), fields(sub));
  }
})();
