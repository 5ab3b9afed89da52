// The tables page: Junction's Dataverse tables through the Web API itself:
// their columns, rows filtered with an OData $filter, one row with its change
// history from the change log.
"use strict";
(() => {
  const { h, api, register, table, fields, json, when, button, badge } = Console;
  const web = "/api/data/v9.2/";
  const enc = encodeURIComponent;
  const label = (d) => (d && d.UserLocalizedLabel && d.UserLocalizedLabel.Label) || "";
  let defsCache = null;

  async function definitions() {
    if (!defsCache) {
      const r = await api(web + "EntityDefinitions?$select=LogicalName,EntitySetName,PrimaryIdAttribute,PrimaryNameAttribute,DisplayName");
      defsCache = r.value.sort((a, b) => a.LogicalName.localeCompare(b.LogicalName));
    }
    return defsCache;
  }

  register({
    id: "tables", title: "Tables", roles: ["operator"],
    async render(el, params) {
      defsCache = null;
      const defs = await definitions();
      if (params[0]) {
        const def = defs.find((d) => d.LogicalName === params[0]);
        if (!def) throw new Error("no table " + params[0]);
        return params[1] ? rowPage(el, def, params[1]) : tablePage(el, def, params[2] === undefined ? "" : params[2]);
      }
      el.append(table([
        { title: "Table", render: (d) => h("code", {}, d.LogicalName) },
        { title: "Display name", render: (d) => label(d.DisplayName) },
        { title: "Entity set", render: (d) => h("code", {}, d.EntitySetName) },
        { title: "Primary name", key: "PrimaryNameAttribute" },
      ], defs, (d) => { location.hash = "#/tables/" + enc(d.LogicalName); }));
    },
  });

  async function tablePage(el, def) {
    const filterParam = new URLSearchParams(location.hash.split("?")[1] || "").get("filter") || "";
    el.append(h("p", {}, h("a", { href: "#/tables" }, "Tables"), " › ", h("strong", {}, def.LogicalName)));
    const attrs = await api(`${web}EntityDefinitions(LogicalName='${def.LogicalName}')/Attributes`);
    const filter = h("input", { value: filterParam, placeholder: "OData $filter, e.g. contains(name,'contoso')", "aria-label": "filter" });
    const results = h("div");
    const load = async () => {
      let url = `${web}${def.EntitySetName}?$top=50&$count=true&$orderby=modifiedon desc`;
      if (filter.value.trim()) url += "&$filter=" + enc(filter.value.trim());
      results.replaceChildren(h("p", { class: "muted" }, "Loading…"));
      try {
        const r = await api(url, { headers: { Prefer: 'odata.include-annotations="OData.Community.Display.V1.FormattedValue"' } });
        const cols = [def.PrimaryNameAttribute, ...attrs.value.map((a) => a.LogicalName)
          .filter((n) => n !== def.PrimaryNameAttribute && n !== def.PrimaryIdAttribute && !/^(created|modified|owning|_)/.test(n))].slice(0, 6);
        results.replaceChildren(h("p", { class: "muted" }, `${r["@odata.count"] ?? r.value.length} row(s)`),
          table([...cols.map((c) => ({ title: c, render: (row) => formatted(row, c) })),
                 { title: "modified", render: (row) => when(row.modifiedon) }],
            r.value, (row) => { location.hash = `#/tables/${enc(def.LogicalName)}/${enc(row[def.PrimaryIdAttribute])}`; }));
      } catch (e) {
        if (e.status !== 401) results.replaceChildren(h("p", { class: "error" }, e.message));
      }
    };
    filter.addEventListener("keydown", (ev) => { if (ev.key === "Enter") load(); });
    el.append(h("div", { class: "toolbar" }, filter, button("Apply", load)), results);
    el.append(h("h3", {}, "Columns"));
    el.append(table([
      { title: "Column", render: (a) => h("code", {}, a.LogicalName) },
      { title: "Type", key: "AttributeType" },
      { title: "Display name", render: (a) => label(a.DisplayName) },
      { title: "Required", render: (a) => (a.RequiredLevel && a.RequiredLevel.Value) || "" },
    ], attrs.value));
    await load();
  }

  function formatted(row, col) {
    const f = row[col + "@OData.Community.Display.V1.FormattedValue"] ?? row["_" + col + "_value@OData.Community.Display.V1.FormattedValue"];
    const v = f ?? row[col] ?? row["_" + col + "_value"];
    return v === undefined || v === null ? "" : String(v);
  }

  async function rowPage(el, def, id) {
    el.append(h("p", {}, h("a", { href: "#/tables" }, "Tables"), " › ",
      h("a", { href: "#/tables/" + enc(def.LogicalName) }, def.LogicalName), " › ", h("strong", {}, id)));
    const row = await api(`${web}${def.EntitySetName}(${id})`, { headers: { Prefer: 'odata.include-annotations="*"' } });
    // Formatted values (choice labels, lookup names) stand beside the values
    // they format; the annotations themselves stay in the raw JSON.
    const readable = {};
    for (const [k, v] of Object.entries(row)) {
      if (k.includes("@")) continue;
      const f = row[k + "@OData.Community.Display.V1.FormattedValue"];
      readable[k] = f !== undefined && String(f) !== String(v) ? `${f} (${v})` : v;
    }
    el.append(h("h3", {}, row[def.PrimaryNameAttribute] || id), fields(readable));
    const { value } = await api(`/admin/v1/changes?table=${enc(def.LogicalName)}&id=${enc(id)}&top=50`);
    el.append(h("h3", {}, "Change history"));
    el.append(table([
      { title: "#", key: "seq" },
      { title: "When", render: (c) => when(c.at) },
      { title: "Change", render: (c) => badge(c.message) },
      { title: "Columns", render: (c) => (c.changed || []).join(", ") },
      { title: "Source", key: "source" },
      { title: "Trace", render: (c) => Console.follow(c.traceparent) },
      { title: "Before → after", render: (c) => h("details", {}, h("summary", {}, "show"), json({ before: c.before, after: c.after })) },
    ], value, null, "No changes recorded for this row."));
  }
})();
