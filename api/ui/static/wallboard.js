// The supervisor wallboard: queue figures polled every 2 s, today's charts every 30 s.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const P = window.Puente;
  const NS = "http://www.w3.org/2000/svg";
  const $ = (id) => document.getElementById(id);

  function pct(v) { return v === null || v === undefined ? "–" : v + "%"; }

  // what callers heard today and how true it was: share inside the band, within ±25%, mean error
  function accuracy(a) {
    if (!a || !a.announced) return "–";
    return pct(a.within_band_percent) + " in band · " + pct(a.within_25_percent) + " ±25% · MAE " +
      P.seconds(a.mae_seconds) + " (" + a.announced + ")";
  }

  async function refreshQueues() {
    try {
      const data = await P.api("GET", "/api/v1/queues/status");
      P.fill($("queues"), Object.entries(data).map(([name, q]) => {
        const agents = Object.entries(q.agents || {}).filter(([, n]) => n).map(([s, n]) => s + " " + n).join(", ") || "none";
        const tr = P.row(name, String(q.waiting), P.seconds(q.longest_wait_seconds), P.seconds(q.ewt_seconds), accuracy(q.ewt_accuracy),
          pct(q.service_level.achieved_percent) + " (target " + q.service_level.target_percent + "% in " + q.service_level.target_seconds + " s)",
          q.abandon_rate === null ? "–" : Math.round(q.abandon_rate * 1000) / 10 + "%", P.seconds(q.asa_seconds), agents);
        tr.dataset.queue = name;
        tr.children[1].classList.add("waiting");
        return tr;
      }));
      $("updated").textContent = "updated " + new Date().toLocaleTimeString();
    } catch (e) { P.notice(e.message, true); }
  }

  function svg(tag, attrs) { const n = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs)) n.setAttribute(k, v); return n; }

  function chart(title, values, labels) {
    const w = 320, h = 120, pad = 18, max = Math.max(1, ...values), bw = (w - pad) / values.length;
    const s = svg("svg", { width: w, height: h + 16, viewBox: "0 0 " + w + " " + (h + 16), role: "img", "aria-label": title + ": " + values.reduce((a, b) => a + b, 0) + " in total" });
    values.forEach((v, i) => {
      const bh = Math.round((h - pad) * v / max);
      const r = svg("rect", { class: "bar", x: pad + i * bw + 1, y: h - bh, width: Math.max(bw - 2, 1), height: bh });
      const t = svg("title", {}); t.textContent = labels[i] + ": " + v; r.append(t); s.append(r);
    });
    [0, Math.floor(values.length / 2), values.length - 1].forEach((i) => { const t = svg("text", { x: pad + i * bw, y: h + 12 }); t.textContent = labels[i]; s.append(t); });
    const m = svg("text", { x: 0, y: 10 }); m.textContent = String(max); s.append(m);
    const fig = P.el("figure", { class: "chart" }, s, P.el("figcaption", {}, title + " — " + values.reduce((a, b) => a + b, 0)));
    fig.dataset.chart = title;
    return fig;
  }

  async function refreshCharts() {
    try {
      const st = await P.api("GET", "/api/v1/stats/today");
      const hours = Array.from({ length: 24 }, (_, i) => String(i).padStart(2, "0") + "h");
      const figs = [];
      for (const [name, values] of Object.entries(st.series)) {
        if (values) figs.push(chart(name[0].toUpperCase() + name.slice(1), values, hours));
        else figs.push(P.el("p", { class: "muted" }, name + ": not available"));
      }
      if (st.ratings) {
        figs.push(chart("Ratings (mean " + (st.ratings.mean ?? "–") + ")", Object.values(st.ratings.by_score), Object.keys(st.ratings.by_score).map((k) => k + "★")));
      }
      $("charts").replaceChildren(...figs);
    } catch (e) { P.notice(e.message, true); }
  }

  refreshQueues();
  refreshCharts();
  setInterval(refreshQueues, 2000);
  setInterval(refreshCharts, 30000);
});
