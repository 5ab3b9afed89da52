// The console's frame: sign-in, navigation by role, the API helper, and DOM
// helpers that only ever set text (never HTML) from data.
"use strict";

const Console = (() => {
  const state = { key: sessionStorage.getItem("junction.key") || "", me: null, pages: [], turn: 0 };
  const $ = (id) => document.getElementById(id);

  // h builds an element: h("td", {class: "x", onclick: fn}, "text", child, ...).
  function h(tag, attrs, ...children) {
    const el = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
      else if (k === "class") el.className = v;
      else el.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      el.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return el;
  }

  class APIError extends Error {
    constructor(status, message) { super(message); this.status = status; }
  }

  // api calls the management API (or any Junction path) with the signed-in key.
  async function api(path, opts = {}) {
    const headers = Object.assign({ Authorization: "Bearer " + state.key }, opts.headers || {});
    let body = opts.body;
    if (body !== undefined && typeof body !== "string") {
      body = JSON.stringify(body);
      headers["Content-Type"] = "application/json";
    }
    const resp = await fetch(path, { method: opts.method || "GET", headers, body });
    if (resp.status === 401 && !opts.signin) { signOut("Your key is no longer accepted."); throw new APIError(401, "signed out"); }
    const text = await resp.text();
    let data = null;
    try { data = text ? JSON.parse(text) : null; } catch { data = text; }
    if (!resp.ok) {
      const msg = (data && data.error && (data.error.message || data.error.code)) || resp.statusText;
      throw new APIError(resp.status, msg);
    }
    return data;
  }

  function flash(message, bad) {
    const el = $("flash");
    el.textContent = message;
    el.className = bad ? "bad" : "";
    if (message) setTimeout(() => { if (el.textContent === message) el.textContent = ""; }, 6000);
  }

  // register adds a page: {id, title, roles, render(el, params) -> Promise}.
  function register(page) { state.pages.push(page); }

  function allowed(page) {
    return state.me && (state.me.role === "admin" || (page.roles || []).includes(state.me.role));
  }

  async function route() {
    if (!state.me) return;
    const [id, ...params] = (location.hash.replace(/^#\/?/, "") || "overview").split("/").map(decodeURIComponent);
    const page = state.pages.find((p) => p.id === id && allowed(p)) || state.pages.find(allowed);
    for (const a of $("nav").querySelectorAll("a")) a.classList.toggle("active", a.dataset.page === page.id);
    $("title").textContent = page.title;
    $("actions").replaceChildren();
    const el = $("page");
    el.replaceChildren(h("p", { class: "muted" }, "Loading…"));
    // A page still loading when the person moves on must not replace the
    // page they moved to.
    const turn = ++state.turn;
    try {
      const content = h("div");
      await page.render(content, params);
      if (turn === state.turn) el.replaceChildren(content);
    } catch (e) {
      if (e.status === 401 || turn !== state.turn) return;
      el.replaceChildren(h("p", { class: "error" }, e.status === 404 ? "Not available on this server: " + e.message : e.message));
    }
  }

  function showShell() {
    $("signin").hidden = true;
    $("shell").hidden = false;
    $("who").textContent = state.me.name + " · " + state.me.role;
    $("nav").replaceChildren(...state.pages.filter(allowed).map((p) =>
      h("li", {}, h("a", { href: "#/" + p.id, "data-page": p.id }, p.title))));
    route();
  }

  function signOut(message) {
    state.key = ""; state.me = null;
    sessionStorage.removeItem("junction.key");
    $("shell").hidden = true;
    $("signin").hidden = false;
    $("signin-error").textContent = message || "";
    $("key").value = "";
  }

  async function signIn(key) {
    state.key = key;
    try {
      state.me = await api("/admin/v1/whoami", { signin: true });
      sessionStorage.setItem("junction.key", key);
      showShell();
    } catch (e) {
      signOut(e.status === 401 ? "That key is not valid." : e.message);
    }
  }

  window.addEventListener("hashchange", route);
  document.addEventListener("DOMContentLoaded", () => {
    $("signin-form").addEventListener("submit", (ev) => { ev.preventDefault(); signIn($("key").value.trim()); });
    $("signout").addEventListener("click", () => signOut(""));
    if (state.key) signIn(state.key); else signOut("");
  });

  // Small shared views.
  // table draws rows under columns; empty is what a person reads when there
  // are no rows (say what would make some appear). The table scrolls on its
  // own when it is wider than the page.
  function table(columns, rows, onClick, empty) {
    return h("div", { class: "tablewrap" }, h("table", {},
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c.title)))),
      h("tbody", {}, rows.length === 0
        ? h("tr", {}, h("td", { colspan: columns.length, class: "muted empty" }, empty || "None yet."))
        : rows.map((r) => h("tr", { class: onClick ? "clickable" : "", onclick: onClick ? () => onClick(r) : null },
            columns.map((c) => h("td", {}, c.render ? c.render(r) : fmt(r[c.key]))))))));
  }
  function fmt(v) {
    if (v === undefined || v === null) return "";
    if (typeof v === "object") return JSON.stringify(decoded(v));
    return String(v);
  }
  // fieldTable shows an object as a table of its fields: nested objects
  // spread into dotted names ("data.after.name"), lists of plain values
  // joined, content envelopes decoded; skip names top-level fields to leave
  // out.
  function fieldTable(obj, skip) {
    const rows = flat(decoded(obj || {}), "", [], 0).filter(([k, v]) => !(skip || []).includes(k.split(".")[0]) && v !== null && v !== undefined && v !== "");
    return h("div", { class: "tablewrap" }, h("table", { class: "fields" }, h("tbody", {}, rows.length === 0
      ? h("tr", {}, h("td", { class: "muted empty" }, "No fields."))
      : rows.map(([k, v]) => h("tr", {}, h("th", {}, k), h("td", {}, valueView(k, v)))))));
  }
  function flat(obj, prefix, out, depth) {
    for (const [k, v] of Object.entries(obj)) {
      const key = prefix ? prefix + "." + k : k;
      if (v && typeof v === "object" && !Array.isArray(v) && depth < 3 && Object.keys(v).length) flat(v, key, out, depth + 1);
      else out.push([key, v]);
    }
    return out;
  }
  function valueView(k, v) {
    if (Array.isArray(v) && v.every((x) => x === null || typeof x !== "object")) return v.join(", ");
    if (v && typeof v === "object") return h("pre", {}, JSON.stringify(v, null, 2));
    return fieldText(k, v);
  }
  // fields is fieldTable with the raw JSON (raw, else obj) one click away.
  function fields(obj, skip, raw) {
    return h("div", {}, fieldTable(obj, skip),
      h("details", { class: "raw" }, h("summary", {}, "Raw JSON"), h("pre", {}, JSON.stringify(raw === undefined ? obj : raw, null, 2))));
  }
  function fieldText(k, v) {
    if (typeof v === "string" && /^\d{4}-\d\d-\d\dT\d\d:\d\d/.test(v)) return when(v);
    return String(v);
  }
  // decoded replaces content envelopes ({"$content-type", "$content"}) whose
  // content is JSON or text by what they hold, so people read the payload
  // rather than its base64.
  function decoded(v) {
    if (Array.isArray(v)) return v.map(decoded);
    if (!v || typeof v !== "object") return v;
    if (typeof v["$content"] === "string") {
      const type = String(v["$content-type"] || "");
      if (/json|^text\/|xml|csv|urlencoded/i.test(type) || type === "") {
        try {
          const bytes = Uint8Array.from(atob(v["$content"]), (c) => c.charCodeAt(0));
          const text = new TextDecoder("utf-8", { fatal: true }).decode(bytes);
          if (/json/i.test(type)) { try { return JSON.parse(text); } catch { return text; } }
          return text;
        } catch { /* not base64 text: shown as it is */ }
      }
      return { "$content-type": type, "$content": `(${Math.round(v["$content"].length * 3 / 4)} bytes of binary content)` };
    }
    return Object.fromEntries(Object.entries(v).map(([k, x]) => [k, decoded(x)]));
  }
  // binaries finds the content envelopes in v whose content is binary (not
  // JSON or text), with where they are ("body", "body.$multipart[0]").
  function binaries(v, where, out) {
    out = out || [];
    if (Array.isArray(v)) v.forEach((x, i) => binaries(x, `${where || ""}[${i}]`, out));
    else if (v && typeof v === "object") {
      if (typeof v["$content"] === "string") {
        const d = decoded(v);
        if (d && typeof d === "object" && "$content" in d) {
          out.push({ where: where || "", type: String(v["$content-type"] || ""), base64: v["$content"], size: Math.round(v["$content"].replace(/=+$/, "").length * 3 / 4) });
        }
      } else for (const [k, x] of Object.entries(v)) binaries(x, where ? where + "." + k : k, out);
    }
    return out;
  }
  // saveBase64 saves base64 content as a file of the given type.
  function saveBase64(b64, type, filename) {
    const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
    const a = h("a", { href: URL.createObjectURL(new Blob([bytes], { type: type || "application/octet-stream" })), download: filename });
    document.body.append(a); a.click(); a.remove();
  }
  function extension(type) {
    const m = /^[\w.+-]+\/([\w.+-]+)/.exec(type || "");
    const sub = m ? m[1].toLowerCase() : "";
    return { pdf: ".pdf", png: ".png", jpeg: ".jpg", gif: ".gif", zip: ".zip", "x-zip-compressed": ".zip", "octet-stream": ".bin",
      "vnd.openxmlformats-officedocument.spreadsheetml.sheet": ".xlsx", "vnd.openxmlformats-officedocument.wordprocessingml.document": ".docx" }[sub] || ".bin";
  }
  function badge(text) { return h("span", { class: "badge " + text }, text || "unknown"); }
  function json(v) { return h("pre", {}, JSON.stringify(decoded(v), null, 2)); }
  function when(t) { return t ? new Date(t).toLocaleString() : ""; }
  function spark(values, cls) {
    const max = Math.max(1, ...values);
    const pts = values.map((v, i) => `${(i / (values.length - 1)) * 100},${30 - (v / max) * 28}`).join(" ");
    const svg = document.createElementNS("http://www.w3.org/2000/svg", "svg");
    svg.setAttribute("viewBox", "0 0 100 30"); svg.setAttribute("preserveAspectRatio", "none"); svg.setAttribute("class", "spark");
    const line = document.createElementNS("http://www.w3.org/2000/svg", "polyline");
    line.setAttribute("points", pts); line.setAttribute("fill", "none");
    line.setAttribute("stroke", cls === "bad" ? "#b42318" : "#2457c5"); line.setAttribute("stroke-width", "1.5");
    svg.append(line);
    return svg;
  }
  function button(label, onclick, cls) {
    const b = h("button", { class: cls || "", type: "button" }, label);
    b.addEventListener("click", async () => {
      b.disabled = true;
      try { await onclick(); } catch (e) { if (e.status !== 401) flash(e.message, true); } finally { b.disabled = false; }
    });
    return b;
  }
  function canOperate() { return state.me && (state.me.role === "admin" || state.me.role === "operator"); }

  return { h, api, flash, register, route, table, fields, fieldTable, decoded, binaries, saveBase64, extension, badge, json, when, spark, button, canOperate, state };
})();
