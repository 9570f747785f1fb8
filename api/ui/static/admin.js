// Admin pages: schedules (week view, override, the hours document), queues (edit), agents (edit,
// state), users (add, role, disable, password; delete asks on its own page), outbox. Every write goes through the JSON API, which validates and audits it.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const P = window.Puente;
  const $ = (id) => document.getElementById(id);
  const section = $("main").dataset.section;
  const rows = $("rows");
  const safe = (f) => async (...a) => { try { await f(...a); } catch (e) { P.notice(e.message, true); } };
  const DAYS = ["mon", "tue", "wed", "thu", "fri", "sat", "sun"];
  const DAY_NAMES = { mon: "Monday", tue: "Tuesday", wed: "Wednesday", thu: "Thursday", fri: "Friday", sat: "Saturday", sun: "Sunday" };

  // "support:2, billing:1" <-> {support: 2, billing: 1}
  const skillsText = (skills) => Object.entries(skills || {}).map(([k, v]) => k + ":" + v).join(", ");
  function parseSkills(text, where) {
    const out = {};
    for (const part of text.split(",").map((x) => x.trim()).filter(Boolean)) {
      const [name, level = "1"] = part.split(":").map((x) => x.trim());
      if (!/^[A-Za-z0-9_-]+$/.test(name) || !/^\d+$/.test(level)) throw new Error(where + ": write skills as name:level, e.g. support:2, billing:1");
      out[name] = Number(level);
    }
    return out;
  }

  function weekView(s) {
    const hours = s.rules.hours || {};
    const table = P.el("table", { class: "week" });
    table.append(P.el("thead", {}, P.el("tr", {}, ...DAYS.map((d) => P.el("th", { scope: "col" }, DAY_NAMES[d])))));
    table.append(P.el("tbody", {}, P.el("tr", {}, ...DAYS.map((d) => {
      const ranges = hours[d] || [];
      return P.el("td", { class: ranges.length ? "open" : "closed", "data-day": d }, ranges.length ? ranges.join(", ") : "closed");
    }))));
    return table;
  }

  function scheduleCard(s) {
    const ov = s.override;
    const card = P.el("article", { class: "card", "data-schedule": s.schedule },
      P.el("h2", {}, s.schedule + (s.description ? " — " + s.description : "")),
      P.el("p", { class: "state" }, P.el("strong", {}, s.state.toUpperCase()), " now", s.reason ? " (" + s.reason + ")" : "",
        " · next change ", s.next_change ? P.when(s.next_change) : "none planned", " · zone ", s.timezone),
      weekView(s));
    if (ov) {
      card.append(P.el("p", { class: ov.until ? "notice" : "notice bad" }, "Override: " + ov.state + (ov.reason ? " (" + ov.reason + ")" : "") +
        (ov.until ? " until " + P.when(ov.until) : " with no end: it stays until someone clears it")));
    }
    const hol = s.rules.holidays || [];
    const today = new Date().toISOString().slice(0, 10);
    const coming = hol.filter((h) => h.yearly || h.date >= today);
    card.append(P.el("details", {}, P.el("summary", {}, "Holidays: " + coming.length + " to come" + (coming.length ? ", next " + coming[0].date + " " + (coming[0].name || "") : "")),
      hol.length ? P.el("ul", { class: "holidays" }, ...hol.map((h) => P.el("li", {}, h.date + (h.yearly ? " (every year)" : "") + ": " + (h.name || "unnamed"))))
        : P.el("p", { class: "muted" }, "none")));
    const cl = s.rules.closures || [];
    card.append(P.el("details", {}, P.el("summary", {}, "Closures: " + cl.length),
      cl.length ? P.el("ul", {}, ...cl.map((c) => P.el("li", {}, P.when(c.start) + " → " + P.when(c.end) + (c.reason ? ": " + c.reason : ""))))
        : P.el("p", { class: "muted" }, "none")));
    return card;
  }

  const QUEUE_FIELDS = [
    ["skills", "Skills needed (name:minimum level)", "text"],
    ["sl_percent", "Service level target (%)", "number"], ["sl_seconds", "…answered within (s)", "number"],
    ["short_abandon", "Short abandons: hung up within (s)", "number"],
    ["overflow", "Overflow (queue:<name>, callback or flow)", "text"], ["max_wait_seconds", "…after waiting (s)", "number"],
    ["offer_callback_ewt_above", "Offer a callback when the wait is above (s; empty: never)", "number"],
    ["offer_link_ewt_above", "Offer a link when the wait is above (s; empty: never)", "number"],
    ["wrap_up_seconds", "Wrap-up after each call (s)", "number"], ["ring_timeout", "Ring an agent for (s)", "number"],
  ];

  function queueForm(name, cfg) {
    const sl = cfg.service_level || {};
    const values = { skills: skillsText(cfg.skills), sl_percent: sl.percent, sl_seconds: sl.seconds, short_abandon: sl.short_abandon_seconds,
      overflow: cfg.overflow, max_wait_seconds: cfg.max_wait_seconds, offer_callback_ewt_above: cfg.offer_callback_ewt_above,
      offer_link_ewt_above: cfg.offer_link_ewt_above, wrap_up_seconds: cfg.wrap_up_seconds, ring_timeout: cfg.ring_timeout };
    const form = P.el("form", { class: "card queue-form", "data-queue": name }, P.el("h2", {}, name));
    const grid = P.el("div", { class: "form-grid" });
    for (const [key, label, type] of QUEUE_FIELDS) {
      const id = "q-" + name + "-" + key;
      grid.append(P.el("label", { for: id }, label),
        P.el("input", { id, name: key, type, value: values[key] ?? "", step: type === "number" ? "any" : null, min: type === "number" ? "0" : null }));
    }
    form.append(grid, P.el("p", {}, P.el("button", { type: "submit" }, "Save " + name), " ", P.el("span", { class: "muted" }, "Applies to the next caller; no restart.")));
    form.addEventListener("submit", safe(async (ev) => {
      ev.preventDefault();
      const v = (k) => form.elements[k].value.trim();
      const OPTIONAL = ["offer_callback_ewt_above", "offer_link_ewt_above"];
      const num = (k, label) => {
        const x = v(k);
        if (x === "") { if (OPTIONAL.includes(k)) return null; throw new Error(label + ": enter a number"); }
        const n = Number(x); if (!(n >= 0)) throw new Error(label + ": enter a number of 0 or more"); return n;
      };
      const body = Object.assign({}, cfg, {
        skills: parseSkills(v("skills"), "Skills"),
        service_level: { percent: num("sl_percent", "Service level target"), seconds: num("sl_seconds", "Answered within"), short_abandon_seconds: num("short_abandon", "Short abandons") },
        overflow: v("overflow"), max_wait_seconds: num("max_wait_seconds", "After waiting"),
        offer_callback_ewt_above: num("offer_callback_ewt_above", "Offer a callback"), offer_link_ewt_above: num("offer_link_ewt_above", "Offer a link"),
        wrap_up_seconds: num("wrap_up_seconds", "Wrap-up"), ring_timeout: num("ring_timeout", "Ring an agent"),
      });
      if (body.service_level.percent > 100) throw new Error("Service level target: enter a percentage from 0 to 100");
      cfg = await P.api("PUT", "/api/v1/queues/" + encodeURIComponent(name), body);  // the form stays as typed
      P.notice("Queue " + name + " saved; the next caller gets it");
    }));
    return form;
  }

  const pages = {
    schedules: async () => {
      const [list, def] = await Promise.all([P.api("GET", "/api/v1/schedules"), P.api("GET", "/api/v1/schedules/definition")]);
      $("schedules").replaceChildren(...list.map(scheduleCard));
      const sel = $("ov-name"), chosen = sel.value;
      sel.replaceChildren(...list.map((s) => P.el("option", { value: s.schedule, selected: s.schedule === chosen }, s.schedule)));
      if (!$("definition").dataset.edited) $("definition").value = def.document;
      $("definition-version").textContent = "live version: " + def.version;
    },
    queues: async () => {
      const qs = await P.api("GET", "/api/v1/queues");
      $("queue-cards").replaceChildren(...Object.entries(qs).map(([n, cfg]) => queueForm(n, cfg)));
    },
    agents: async () => {
      const agents = await P.api("GET", "/api/v1/agents");
      P.fill(rows, agents.map((a) => {
        const sel = P.el("select", { "aria-label": "State of " + a.agent_id });
        ["available", "away", "offline", "wrap_up"].forEach((s) => sel.append(P.el("option", { value: s, selected: s === a.state }, s)));
        sel.addEventListener("change", safe(async () => { await P.api("PUT", "/api/v1/agents/" + encodeURIComponent(a.agent_id) + "/state", { state: sel.value }); P.notice(a.agent_id + " is " + sel.value); load(); }));
        const edit = P.el("button", { type: "button", class: "secondary" }, "Edit");
        edit.addEventListener("click", () => {
          $("ag-id").value = a.agent_id; $("ag-name").value = a.name; $("ag-endpoint").value = a.endpoint; $("ag-skills").value = skillsText(a.skills);
          $("agent-form-h").textContent = "Change agent " + a.agent_id; $("ag-name").focus();
        });
        const tr = P.row(a.agent_id, a.name, a.endpoint, skillsText(a.skills) || "none", a.state + " since " + P.clock(a.state_since), sel, edit);
        tr.dataset.agent = a.agent_id;
        return tr;
      }));
    },
    users: async () => {
      const users = await P.api("GET", "/api/v1/users");
      const base = (u) => "/api/v1/users/" + encodeURIComponent(u.username);
      P.fill(rows, users.map((u) => {
        const role = P.el("select", { "aria-label": "Role of " + u.username, "data-field": "role" });
        ["agent", "supervisor", "admin"].forEach((r) => role.append(P.el("option", { value: r, selected: r === u.role }, r)));
        role.addEventListener("change", safe(async () => { await P.api("PATCH", base(u), { role: role.value }); u.role = role.value; P.notice(u.username + " is now " + role.value); }));
        const agent = P.el("input", { value: u.agent_id || "", size: 10, maxlength: 64, "aria-label": "Agent id of " + u.username, "data-field": "agent" });
        agent.addEventListener("change", safe(async () => { await P.api("PATCH", base(u), { agent_id: agent.value.trim() || null }); P.notice(u.username + ": agent id saved"); }));
        const toggle = P.el("button", { type: "button", class: "secondary", "data-act": u.active ? "disable" : "enable" }, u.active ? "Disable" : "Enable");
        toggle.addEventListener("click", safe(async () => { await P.api("PATCH", base(u), { active: !u.active }); P.notice(u.username + (u.active ? " disabled; their sessions ended" : " enabled")); load(); }));
        const pass = P.el("input", { type: "password", minlength: 8, maxlength: 256, autocomplete: "new-password", "aria-label": "New password for " + u.username });
        const set = P.el("button", { type: "button", "data-act": "password" }, "Set");
        set.addEventListener("click", safe(async () => {
          if (pass.value.length < 8) throw new Error("New password: at least 8 characters");
          await P.api("POST", base(u) + "/password", { password: pass.value }); pass.value = ""; P.notice("New password set for " + u.username + "; their sessions ended");
        }));
        // Deleting asks on a page of its own (the same one works without scripts)
        const del = P.el("a", { class: "danger", "data-act": "delete", href: "/ui/admin/users/" + encodeURIComponent(u.username) + "/delete" }, "Delete…");
        const tr = P.row(u.username, role, agent, P.el("span", {}, (u.active ? "active " : "disabled "), toggle), P.el("span", { class: "inline" }, pass, set), del);
        tr.dataset.user = u.username;
        if (!u.active) tr.classList.add("disabled");
        return tr;
      }));
    },
    templates: async () => {
      const list = await P.api("GET", "/api/v1/deflections/templates");
      $("templates").replaceChildren(...list.map((t) => {
        const id = "t-" + t.language + "-" + t.key;
        const text = P.el("textarea", { id, rows: 3, cols: 90, maxlength: 2000 }); text.value = t.text;
        const save = P.el("button", { type: "submit" }, "Save");
        const reset = P.el("button", { type: "button", class: "secondary", disabled: !t.overridden }, "Reset to the shipped text");
        const form = P.el("form", { class: "card", "data-template": t.language + "/" + t.key },
          P.el("h2", {}, P.el("label", { for: id }, t.key + " (" + t.language + ")"), t.overridden ? P.el("span", { class: "muted" }, " — changed") : ""),
          text, P.el("p", {}, save, " ", reset));
        form.addEventListener("submit", safe(async (ev) => {
          ev.preventDefault();
          await P.api("PUT", "/api/v1/deflections/templates/" + encodeURIComponent(t.language) + "/" + encodeURIComponent(t.key), { text: text.value });
          P.notice("Template " + t.key + " (" + t.language + ") saved; the next message uses it"); load();
        }));
        reset.addEventListener("click", safe(async () => {
          await P.api("DELETE", "/api/v1/deflections/templates/" + encodeURIComponent(t.language) + "/" + encodeURIComponent(t.key));
          P.notice("Template " + t.key + " (" + t.language + ") is the shipped text again"); load();
        }));
        return form;
      }));
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
      let until = null;
      if ($("ov-until").value) {
        const at = P.zonedToDate($("ov-until").value);
        if (at.getTime() <= Date.now()) throw new Error("Until: choose a time in the future (" + P.zone + ")");
        until = at.toISOString();
      }
      await P.api("PUT", "/api/v1/schedules/" + encodeURIComponent($("ov-name").value) + "/override",
        { state: $("ov-state").value, until, reason: $("ov-reason").value || null });
      P.notice("Override set on " + $("ov-name").value + (until ? " until " + P.when(until) : ": it has no end, clear it by hand"), !until);
      load();
    }));
    $("ov-clear").addEventListener("click", safe(async () => {
      await P.api("DELETE", "/api/v1/schedules/" + encodeURIComponent($("ov-name").value) + "/override");
      P.notice("Override cleared on " + $("ov-name").value); load();
    }));
    $("definition").addEventListener("input", () => { $("definition").dataset.edited = "yes"; });
    $("definition-form").addEventListener("submit", safe(async (ev) => {
      ev.preventDefault();
      const r = await P.api("PUT", "/api/v1/schedules/definition", { document: $("definition").value, comment: $("definition-comment").value || null });
      delete $("definition").dataset.edited;
      P.notice("Schedules version " + r.version + " published; new calls follow it");
      load();
    }));
  }
  const af = $("agent-form");
  if (af && section === "agents") af.addEventListener("submit", safe(async (ev) => {
    ev.preventDefault();
    const id = $("ag-id").value.trim();
    const body = { name: $("ag-name").value.trim() || id, endpoint: $("ag-endpoint").value.trim(), skills: parseSkills($("ag-skills").value, "Skills") };
    await P.api("PUT", "/api/v1/agents/" + encodeURIComponent(id), body);
    P.notice("Agent " + id + " saved; the next call uses it"); af.reset(); $("agent-form-h").textContent = "Add or change an agent"; load();
  }));
  const uf = $("user-form");
  if (uf) uf.addEventListener("submit", safe(async (ev) => {
    ev.preventDefault();
    await P.api("POST", "/api/v1/users", { username: $("u-name").value, password: $("u-pass").value, role: $("u-role").value, agent_id: $("u-agent").value || null });
    P.notice("User " + $("u-name").value + " added"); uf.reset(); load();
  }));
  load();
});
