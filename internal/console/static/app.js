// The console's frame: sign-in, navigation by role, the API helper, and DOM
// helpers that only ever set text (never HTML) from data.
"use strict";

const Console = (() => {
  const state = { key: sessionStorage.getItem("junction.key") || "", me: null, pages: [] };
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
    try {
      const content = h("div");
      await page.render(content, params);
      el.replaceChildren(content);
    } catch (e) {
      if (e.status === 401) return;
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
  function table(columns, rows, onClick) {
    return h("table", {},
      h("thead", {}, h("tr", {}, columns.map((c) => h("th", {}, c.title)))),
      h("tbody", {}, rows.length === 0
        ? h("tr", {}, h("td", { colspan: columns.length, class: "muted" }, "Nothing here."))
        : rows.map((r) => h("tr", { class: onClick ? "clickable" : "", onclick: onClick ? () => onClick(r) : null },
            columns.map((c) => h("td", {}, c.render ? c.render(r) : fmt(r[c.key])))))));
  }
  function fmt(v) {
    if (v === undefined || v === null) return "";
    if (typeof v === "object") return JSON.stringify(v);
    return String(v);
  }
  function badge(text) { return h("span", { class: "badge " + text }, text); }
  function json(v) { return h("pre", {}, JSON.stringify(v, null, 2)); }
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

  return { h, api, flash, register, route, table, badge, json, when, spark, button, canOperate, state };
})();
