// The supervisor wallboard: queue tiles and the agent list polled every 2 s, today's charts every 5 s
// (uPlot, served from /ui/static/vendor), times in the site's zone, a full-screen TV mode.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const P = window.Puente;
  const $ = (id) => document.getElementById(id);
  const QUEUE_MS = 2000, CHART_MS = 5000;
  let agents = [];

  const pct = (v) => (v === null || v === undefined ? "–" : v + "%");

  function tile(cls, label, value, level, ...notes) {
    const t = P.el("div", { class: "tile " + cls, "data-level": level || "none" },
      P.el("span", { class: "label" }, label), P.el("span", { class: "value" }, value));
    for (const n of notes) if (n) t.append(P.el("span", { class: "note" }, n));
    return t;
  }

  function ewtTile(q) {
    const e = q.ewt || { seconds: q.ewt_seconds, method: null, mae_seconds: q.ewt_mae_seconds, samples: q.ewt_samples };
    const free = (q.agents && q.agents.available) || 0;
    // Shown as the estimator gives it; a 0 while callers wait with no free agent is flagged, not hidden.
    const suspect = e.seconds === 0 && q.waiting > 0 && free === 0;
    return tile("ewt", "EWT told to a new caller", e.seconds === null || e.seconds === undefined ? "–" : P.seconds(e.seconds),
      suspect ? "alarm" : null,
      "method: " + (e.method || "not reported"),
      "measured error: " + (e.mae_seconds === null || e.mae_seconds === undefined ? "no samples yet" : "±" + P.seconds(e.mae_seconds) + " over " + e.samples + " calls"),
      "heard today: " + accuracy(q.ewt_accuracy),
      suspect ? "0 with callers waiting and no free agent" : "");
  }

  function queueCard(name, q) {
    const sl = q.service_level, lv = q.levels || {};
    const agentsText = Object.entries(q.agents || {}).filter(([, n]) => n).map(([s, n]) => n + " " + s.replace("_", "-")).join(" · ") || "none";
    const card = P.el("article", { class: "queue card", "data-queue": name, "aria-labelledby": "q-" + name },
      P.el("h3", { id: "q-" + name }, name),
      P.el("div", { class: "tiles" },
        tile("waiting", "Waiting", String(q.waiting), lv.waiting),
        tile("longest", "Longest wait", P.seconds(q.longest_wait_seconds), lv.longest_wait_seconds),
        ewtTile(q),
        tile("sl", "Service level", pct(sl.achieved_percent), lv.service_level_percent,
          "target " + sl.target_percent + "% in " + sl.target_seconds + " s",
          sl.answered_within + " of " + sl.counted + " (answered + abandoned after " + sl.short_abandon_seconds + " s)"),
        tile("abandons", "Abandoned", pct(q.abandon_percent), lv.abandon_percent,
          (q.abandoned - (q.short_abandoned || 0)) + " after " + sl.short_abandon_seconds + " s",
          (q.short_abandoned || 0) + " short (under " + sl.short_abandon_seconds + " s), not counted"),
        tile("asa", "ASA", P.seconds(q.asa_seconds), lv.asa_seconds, q.handled + " answered"),
        tile("agents", "Agents", agentsText, null)));
    return card;
  }

  function renderAgents() {
    const now = Date.now();
    const counts = {};
    P.fill($("agents"), agents.map((a) => {
      counts[a.state] = (counts[a.state] || 0) + 1;
      const tr = P.row(a.agent_id, a.name, a.state.replace("_", "-"), P.seconds(P.since(a.state_since, now)), P.clock(a.state_since), a.reason);
      tr.dataset.agent = a.agent_id;
      tr.dataset.state = a.state;
      tr.children[3].classList.add("in-state");
      return tr;
    }));
    $("agent-summary").textContent = Object.entries(counts).map(([s, n]) => n + " " + s.replace("_", "-")).join(" · ") || "no agents";
  }

  // what callers heard today and how true it was: share inside the band, within ±25%, mean error
  function accuracy(a) {
    if (!a || !a.announced) return "–";
    return pct(a.within_band_percent) + " in band · " + pct(a.within_25_percent) + " ±25% · MAE " +
      P.seconds(a.mae_seconds) + " (" + a.announced + ")";
  }

  async function refreshQueues() {
    try {
      const [data, list] = await Promise.all([P.api("GET", "/api/v1/queues/status"), P.api("GET", "/api/v1/agents")]);
      $("queues").replaceChildren(...Object.entries(data).map(([name, q]) => queueCard(name, q)));
      const first = Object.values(data)[0];
      if (first) {
        $("period").textContent = String(first.period_hours);
        $("sl-definition").textContent = "Service level = " + first.service_level.definition + ".";
      }
      agents = list;
      renderAgents();
      $("updated").textContent = "updated " + P.clock(new Date());
      P.notice("");
    } catch (e) { P.notice("Not updating: " + e.message, true); }
  }

  const charts = {};
  function chartFor(key, title) {
    if (charts[key]) return charts[key];
    const box = P.el("figure", { class: "chart", "data-chart": title });
    const cap = P.el("figcaption", {}, title);
    box.append(cap);
    $("charts").append(box);
    const width = document.body.classList.contains("tv") ? 560 : 440;
    const xLabel = "hour (" + P.zoneLabel() + ")";
    box.dataset.xAxis = xLabel;  // the canvas's axis title, readable without the picture
    const plot = new uPlot({
      width, height: 220, title: "",
      scales: { x: { time: false, range: [-0.5, 23.5] }, y: { range: (u, min, max) => [0, Math.max(4, Math.ceil(max * 1.15))] } },
      axes: [
        { label: xLabel, values: (u, splits) => splits.map((v) => String(v).padStart(2, "0")), incrs: [1, 2, 3, 6], grid: { show: true, stroke: "#e3e5e8" } },
        { label: "count", values: (u, splits) => splits.map((v) => (Number.isInteger(v) ? String(v) : "")), grid: { show: true, stroke: "#e3e5e8" } },
      ],
      legend: { show: false },
      cursor: { drag: { x: false, y: false } },
      series: [{ label: "hour" }, { label: title, fill: "rgba(11,92,173,0.8)", stroke: "rgba(0,0,0,0)", width: 0, paths: uPlot.paths.bars({ size: [0.7, 40] }), points: { show: false } }],
    }, [[0], [0]], box);
    charts[key] = { box, cap, plot };
    return charts[key];
  }

  async function refreshCharts() {
    try {
      const st = await P.api("GET", "/api/v1/stats/today");
      const hours = Array.from({ length: 24 }, (_, i) => i);
      $("chart-zone").textContent = P.zoneLabel();
      for (const [name, values] of Object.entries(st.series)) {
        const title = name[0].toUpperCase() + name.slice(1);
        const c = chartFor(name, title);
        if (values) {
          c.plot.setData([hours, values]);
          c.cap.textContent = title + " — " + values.reduce((a, b) => a + b, 0) + " today";
        } else c.cap.textContent = title + " — not available (that part is not running)";
        c.box.dataset.total = values ? String(values.reduce((a, b) => a + b, 0)) : "";
      }
      $("ratings").textContent = st.ratings
        ? "Ratings today: " + st.ratings.count + " (mean " + (st.ratings.mean ?? "–") + "); by score: " +
          Object.entries(st.ratings.by_score).map(([k, n]) => k + "★ " + n).join(", ")
        : "Ratings: not available (deflection is not running)";
    } catch (e) { P.notice("Charts not updating: " + e.message, true); }
  }

  // TV mode: the board alone, large, full screen (the browser asks for it on this click); Esc leaves.
  const tv = $("tv");
  function setTv(on) {
    document.body.classList.toggle("tv", on);
    tv.setAttribute("aria-pressed", on ? "true" : "false");
    tv.textContent = on ? "Leave TV mode" : "TV mode (full screen)";
  }
  tv.addEventListener("click", async () => {
    const on = !document.body.classList.contains("tv");
    setTv(on);
    try {
      if (on && document.documentElement.requestFullscreen) await document.documentElement.requestFullscreen();
      else if (!on && document.fullscreenElement) await document.exitFullscreen();
    } catch (e) { P.notice("Full screen refused by the browser; TV layout kept", false); }
  });
  document.addEventListener("fullscreenchange", () => { if (!document.fullscreenElement && document.body.classList.contains("tv")) setTv(false); });
  if (new URLSearchParams(location.search).get("tv") === "1") setTv(true);

  refreshQueues();
  refreshCharts();
  setInterval(refreshQueues, QUEUE_MS);
  setInterval(renderAgents, 1000);  // time in state ticks between polls
  setInterval(refreshCharts, CHART_MS);
});
