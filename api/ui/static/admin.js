// Small admin pages: schedules (overrides), queues, agents (state), users (add), outbox.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const P = window.Puente;
  const $ = (id) => document.getElementById(id);
  const section = $("main").dataset.section;
  const rows = $("rows");
  const safe = (f) => async (...a) => { try { await f(...a); } catch (e) { P.notice(e.message, true); } };

  const pages = {
    schedules: async () => {
      const list = await P.api("GET", "/api/v1/schedules");
      P.fill(rows, list.map((s) => P.row(s.schedule, s.state || "–", s.override ? s.override.state + (s.override.until ? " until " + P.when(s.override.until) : " — no end set") : "none", P.when(s.next_change))));
    },
    queues: async () => {
      const qs = await P.api("GET", "/api/v1/queues");
      P.fill(rows, Object.entries(qs).map(([n, cfg]) => P.row(n, Object.entries(cfg).map(([k, v]) => k + "=" + JSON.stringify(v)).join(", "))));
    },
    agents: async () => {
      const agents = await P.api("GET", "/api/v1/agents");
      P.fill(rows, agents.map((a) => {
        const sel = P.el("select", { "aria-label": "State of " + a.agent_id });
        ["available", "away", "offline", "wrap_up"].forEach((s) => sel.append(P.el("option", { value: s, selected: s === a.state }, s)));
        sel.addEventListener("change", safe(async () => { await P.api("PUT", "/api/v1/agents/" + encodeURIComponent(a.agent_id) + "/state", { state: sel.value }); P.notice(a.agent_id + " is " + sel.value); load(); }));
        return P.row(a.agent_id, a.name, a.endpoint, a.state, sel);
      }));
    },
    users: async () => {
      const users = await P.api("GET", "/api/v1/users");
      P.fill(rows, users.map((u) => P.row(u.username, u.role, u.agent_id)));
    },
    outbox: async () => {
      const msgs = await P.api("GET", "/api/v1/deflections/outbox");
      P.fill(rows, msgs.map((m) => P.row(P.when(m.created_at || m.at), m.channel || "", m.number || m.to || "", m.status || "", m.body || "")));
    },
  };
  const load = safe(async () => { if (pages[section]) await pages[section](); });

  const ov = $("override-form");
  if (ov) {
    ov.addEventListener("submit", safe(async (ev) => {
      ev.preventDefault();
      await P.api("PUT", "/api/v1/schedules/" + encodeURIComponent($("ov-name").value) + "/override",
        { state: $("ov-state").value, until: $("ov-until").value || null, reason: $("ov-reason").value || null });
      P.notice("Override set"); load();
    }));
    $("ov-clear").addEventListener("click", safe(async () => {
      await P.api("DELETE", "/api/v1/schedules/" + encodeURIComponent($("ov-name").value) + "/override");
      P.notice("Override cleared"); load();
    }));
  }
  const uf = $("user-form");
  if (uf) uf.addEventListener("submit", safe(async (ev) => {
    ev.preventDefault();
    await P.api("POST", "/api/v1/users", { username: $("u-name").value, password: $("u-pass").value, role: $("u-role").value, agent_id: $("u-agent").value || null });
    P.notice("User " + $("u-name").value + " added"); uf.reset(); load();
  }));
  load();
});
