// The "choosing a pattern" page: from a requirement to the pattern, the
// Junction surface and its trade-offs (docs/choosing-a-pattern.md says more).
"use strict";
(() => {
  const { h, register, table } = Console;
  const rows = [
    ["A user waits for the answer", "synchronous request", "Web API", "the caller fails when the target is down; keep it fast; make retries idempotent (upsert by key)", "tables"],
    ["High volume in the background", "asynchronous messaging", "broker queue", "late and possibly repeated delivery: idempotent handlers; FIFO only within a session", "messaging"],
    ["Guaranteed delivery to a system that is sometimes down", "asynchronous messaging", "queue with max delivery count and dead-letter queue", "someone watches the dead-letter queue and resubmits", "messaging"],
    ["One change, many systems react", "publish/subscribe", "event topic with filtered subscriptions", "the publisher cannot know subscribers succeeded; subscribers handle retries, duplicates, order", "events"],
    ["A business process, mostly configuration", "orchestration", "workflows", "readable and inspectable run by run; not for heavy computation per item", "workflows"],
    ["Complex validation or transformation", "custom code", "functions", "full control; you own the code and its failures", "functions"],
    ["A schedule, large volumes", "batch", "jobs", "minutes to hours of latency; safe re-runs (watermarks, upsert, reconciliation)", "jobs"],
    ["A partner that only exchanges files", "file", "jobs with a drop zone and built-in SFTP", "late, repeated, half-written or malformed files: pick up once, validate, reject with a report", "jobs"],
  ];
  register({
    id: "choose", title: "Choosing a pattern", roles: ["operator", "sender", "listener"],
    async render(el) {
      el.append(h("p", { class: "muted" }, "Start from the requirement, not the tool."));
      el.append(table([
        { title: "Requirement", render: (r) => r[0] }, { title: "Pattern", render: (r) => r[1] },
        { title: "Junction surface", render: (r) => h("a", { href: "#/" + r[4] }, r[2]) }, { title: "Trade-offs", render: (r) => r[3] },
      ], rows));
    },
  });
})();
