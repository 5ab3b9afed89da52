// The jobs page: batch and file jobs, their runs with counts and progress,
// and downloads of rejects files and reconciliation reports.
"use strict";
(() => {
  const { h, api, flash, register, route, table, fields, badge, when, button, canOperate, state } = Console;
  // progressText: a share while a run goes on, its phase while it waits, and
  // nothing once it has ended (its status says how).
  function progressText(r) {
    const status = String(r.status || "").toLowerCase();
    if (status === "running") return r.progress >= 0 ? Math.round(r.progress * 100) + "%" + (r.phase ? " · " + r.phase : "") : (r.phase || "");
    if (status === "queued" || status === "pending") return r.phase || "waiting";
    return "";
  }
  const base = "/admin/v1/jobs";
  const enc = encodeURIComponent;

  register({
    id: "jobs", title: "Jobs and files", roles: ["operator"],
    async render(el, params) {
      if (params[0] && params[1]) return runPage(el, params[0], params[1]);
      if (params[0]) return runsPage(el, params[0]);
      const { value } = await api(base);
      el.append(table([
        { title: "Job", key: "name" },
        { title: "Source", render: (j) => kind(j.source) },
        { title: "Sink", render: (j) => kind(j.sink) },
        { title: "Schedule", render: (j) => (j.trigger && (j.trigger.schedule || j.trigger.cron)) || j.schedule || "" },
      ], value, (j) => { location.hash = "#/jobs/" + enc(j.name); },
      "No jobs. Add a YAML file to the project's jobs/ folder, or PUT one to /admin/v1/jobs/NAME."));
    },
  });

  function kind(x) {
    if (!x) return "";
    if (typeof x === "string") return x;
    return x.type || x.kind || Object.keys(x)[0] || "";
  }

  async function runsPage(el, name) {
    el.append(h("p", {}, h("a", { href: "#/jobs" }, "Jobs"), " › ", h("strong", {}, name)));
    if (canOperate()) {
      el.append(h("div", { class: "toolbar" }, button("Run now", async () => {
        const r = await api(`${base}/${enc(name)}/runs`, { method: "POST", body: {} });
        flash("Started run " + (r.id ?? "")); route();
      })));
    }
    const { value } = await api(`${base}/${enc(name)}/runs?top=50`);
    el.append(table([
      { title: "Run", key: "id" },
      { title: "Status", render: (r) => badge(r.status) },
      { title: "Trigger", render: (r) => r.trigger + (r.file ? " · " + r.file : "") },
      { title: "Progress", render: progressText },
      { title: "Read", key: "read" }, { title: "Rejected", render: (r) => r.rejected ? h("span", { class: "error" }, String(r.rejected)) : "0" },
      { title: "Inserted", key: "inserted" }, { title: "Updated", key: "updated" }, { title: "Unchanged", key: "unchanged" }, { title: "Deleted", key: "deleted" },
      { title: "Created", render: (r) => when(r.created) },
    ], value, (r) => { location.hash = `#/jobs/${enc(name)}/${enc(r.id)}`; },
    "No runs yet: run the job now, or wait for its schedule or a file."));
  }

  async function runPage(el, name, id) {
    const run = await api(`${base}/${enc(name)}/runs/${enc(id)}`);
    el.append(h("p", {}, h("a", { href: "#/jobs" }, "Jobs"), " › ", h("a", { href: "#/jobs/" + enc(name) }, name), " › ", h("strong", {}, "run " + id)));
    el.append(h("div", { class: "toolbar" }, badge(run.status),
      run.hasRejects ? button("Download rejects", () => download(`${base}/${enc(name)}/runs/${enc(id)}/rejects`, `${name}-${id}-rejects`)) : "",
      run.reconciliation ? button("Download reconciliation", () => download(`${base}/${enc(name)}/runs/${enc(id)}/reconciliation`, `${name}-${id}-reconciliation.json`), "secondary") : ""));
    if (run.error) el.append(h("h3", {}, "Error"), h("pre", { class: "error" }, run.error));
    const shown = Object.assign({}, run);
    if (!/running|queued|pending/i.test(String(run.status))) { delete shown.phase; delete shown.progress; }
    el.append(h("h3", {}, "Run"), fields(shown, ["error", "reconciliation"]));
    if (run.reconciliation) el.append(h("h3", {}, "Reconciliation"), fields(run.reconciliation));
  }

  // download fetches with the key (a plain link could not carry it) and saves.
  async function download(path, filename) {
    const resp = await fetch(path, { headers: { Authorization: "Bearer " + state.key } });
    if (!resp.ok) throw new Error(resp.statusText);
    const blob = await resp.blob();
    const a = h("a", { href: URL.createObjectURL(blob), download: filename });
    document.body.append(a); a.click(); a.remove();
  }
})();
