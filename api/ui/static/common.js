// Shared helpers: JSON API calls with the session cookie (writes carry X-Requested-With, our CSRF guard).
"use strict";
window.Puente = (function () {
  async function api(method, url, body) {
    const headers = { "Accept": "application/json" };
    if (method !== "GET") headers["X-Requested-With"] = "puente-ui";
    const init = { method, headers, credentials: "same-origin" };
    if (body !== undefined) { headers["Content-Type"] = "application/json"; init.body = JSON.stringify(body); }
    const r = await fetch(url, init);
    if (r.status === 401) { location.href = "/ui/login?next=" + encodeURIComponent(location.pathname); throw new Error("signed out"); }
    const type = r.headers.get("content-type") || "";
    const text = await r.text();  // 204 answers have no body
    const data = type.includes("json") && text ? JSON.parse(text) : text;
    if (!r.ok) { const err = new Error(detail(data) || r.statusText); err.status = r.status; err.data = data; throw err; }
    return data;
  }
  function detail(data) {
    if (!data || typeof data !== "object") return String(data || "");
    const d = data.detail;
    if (typeof d === "string") return d;
    // Validation errors read as "Until: Input should be a valid datetime", not "body.until: …"
    if (Array.isArray(d)) return d.map((e) => { const f = String((e.loc || []).filter((x) => x !== "body").slice(-1)[0] || "input").replace(/_/g, " "); return f[0].toUpperCase() + f.slice(1) + ": " + e.msg; }).join("; ");
    if (d && d.message) return d.message + (d.problems ? ": " + d.problems.join("; ") : "");
    return JSON.stringify(d);
  }
  function el(tag, attrs, ...children) {
    const node = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "text") node.textContent = v; else node.setAttribute(k, v === true ? "" : v);
    }
    for (const c of children) node.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return node;
  }
  function notice(text, bad) {
    const n = document.getElementById("notice");
    if (!n) return;
    n.textContent = text || "";
    n.classList.toggle("bad", !!bad);
  }
  function seconds(v) {
    if (v === null || v === undefined) return "–";
    v = Number(v);
    if (v < 60) return Math.round(v) + " s";
    return Math.floor(v / 60) + " min " + Math.round(v % 60) + " s";
  }
  // Times: always in the site's zone (the page's <meta name="puente-timezone">), always with the zone's
  // short name, so "Respond by 04:35 CET" means the same to the agent and to the caller who heard it.
  const zoneMeta = document.querySelector('meta[name="puente-timezone"]');
  const zone = (zoneMeta && zoneMeta.content) || "UTC";
  const fmt = (opts) => new Intl.DateTimeFormat("en-GB", Object.assign({ timeZone: zone, hourCycle: "h23", timeZoneName: "short" }, opts));
  const fmtDateTime = fmt({ year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit" });
  const fmtTime = fmt({ hour: "2-digit", minute: "2-digit", second: "2-digit" });
  const fmtHour = new Intl.DateTimeFormat("en-GB", { timeZone: zone, hour: "2-digit", hourCycle: "h23" });
  function toDate(v) { if (v === null || v === undefined || v === "") return null; const d = v instanceof Date ? v : new Date(v); return isNaN(d) ? null : d; }
  function when(v) {  // 2026-12-24 18:00 CET
    const d = toDate(v); if (!d) return "–";
    const p = Object.fromEntries(fmtDateTime.formatToParts(d).map((x) => [x.type, x.value]));
    return p.year + "-" + p.month + "-" + p.day + " " + p.hour + ":" + p.minute + " " + p.timeZoneName;
  }
  function clock(v) { const d = toDate(v); return d ? fmtTime.format(d) : "–"; }
  function hourOf(v) { const d = toDate(v); return d ? Number(fmtHour.format(d)) % 24 : null; }
  // The zone's name as it reads now (CET / CEST): for headings such as "per hour (Europe/Madrid, CET)".
  function zoneLabel() { const part = fmtTime.formatToParts(new Date()).find((p) => p.type === "timeZoneName"); return zone + (part ? ", " + part.value : ""); }
  function since(v, now) { const d = toDate(v); return d ? Math.max(0, ((now || Date.now()) - d.getTime()) / 1000) : null; }
  // A wall time typed in a datetime-local field ("2026-12-24T18:00"), read in the site's zone -> Date.
  function zonedToDate(local) {
    const [d, t] = local.split("T"); const [y, mo, da] = d.split("-").map(Number); const [h, mi] = (t || "0:0").split(":").map(Number);
    const wall = Date.UTC(y, mo - 1, da, h, mi);
    const offsetAt = (ms) => {  // the zone's offset from UTC at that instant, in ms
      const p = Object.fromEntries(new Intl.DateTimeFormat("en-US", { timeZone: zone, hourCycle: "h23", year: "numeric", month: "2-digit", day: "2-digit", hour: "2-digit", minute: "2-digit", second: "2-digit" }).formatToParts(new Date(ms)).map((x) => [x.type, x.value]));
      return Date.UTC(+p.year, +p.month - 1, +p.day, +p.hour, +p.minute, +p.second) - ms;
    };
    let guess = wall - offsetAt(wall);
    guess = wall - offsetAt(guess);  // a second pass settles the days clocks change
    return new Date(guess);
  }
  function fill(tbody, rows) { tbody.replaceChildren(...rows); }
  function row(...cells) { return el("tr", {}, ...cells.map((c) => el("td", {}, c === null || c === undefined ? "–" : c))); }
  document.addEventListener("DOMContentLoaded", () => {
    const out = document.getElementById("logout");
    if (out) out.addEventListener("click", async () => {
      try { await api("POST", "/api/v1/auth/logout"); } finally { location.href = "/ui/login"; }
    });
  });
  return { api, el, notice, seconds, fill, row, zone, when, clock, hourOf, zoneLabel, since, zonedToDate };
})();
