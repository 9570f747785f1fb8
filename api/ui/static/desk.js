// The agent desk: live feed (SSE) with the screen pop, state buttons, open work, wrap-up.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const P = window.Puente;
  const main = document.getElementById("main");
  let agentId = main.dataset.agentId || "";
  let source = null;
  const $ = (id) => document.getElementById(id);
  const q = () => "?agent_id=" + encodeURIComponent(agentId);

  function setState(state) { $("agent-state").textContent = state || "unknown"; $("agent-state").dataset.state = state || ""; }

  function renderPop(pop) {
    const c = pop.context || {};
    $("pop-empty").hidden = true;
    $("pop-body").hidden = false;
    $("pop").classList.add("active");
    $("pop-h").textContent = pop.kind === "agent/offered" ? "Incoming contact (ringing)" : "Current contact";
    $("pop-caller").textContent = c.caller || "unknown";
    $("pop-language").textContent = c.language || "–";
    $("pop-queue").textContent = pop.queue || c.queue || "–";
    $("pop-wait").textContent = P.seconds(c.waited_seconds);
    $("pop-path").textContent = (c.path || []).join(" → ") || "–";
    $("pop-call").textContent = pop.call_id;
    $("pop-inputs").replaceChildren(...(c.inputs || []).map((i) => {
      const said = i.transcript ? "said “" + i.transcript + "”" + (i.confidence != null ? " (confidence " + Math.round(i.confidence * 100) + "%)" : "") : "";
      const pressed = i.digits ? "pressed " + i.digits : "";
      return P.el("li", {}, i.node + ": " + [said, pressed].filter(Boolean).join(", ") + " [" + i.mode + "]");
    }));
    if (!(c.inputs || []).length) $("pop-inputs").replaceChildren(P.el("li", { class: "muted" }, "nothing recorded"));
    const hist = pop.history || [];
    $("pop-history").replaceChildren(...hist.map((h) => P.el("li", {}, P.when(h.at) + " · " + h.kind + " · " + (h.disposition || h.state || h.status || h.stage || h.description || h.score || ""))));
    if (!hist.length) $("pop-history").replaceChildren(P.el("li", { class: "muted" }, pop.history_available ? "no earlier contacts" : "history unavailable"));
    $("wrap-call").value = pop.call_id;
    $("wrap-queue").value = pop.queue || "";
    P.notice("Contact from " + (c.caller || "unknown") + " in " + (pop.queue || "queue"));
  }

  function connect() {
    if (source) source.close();
    if (!agentId) return;
    $("feed").textContent = "(connecting)";
    source = new EventSource("/api/v1/desk/events" + q());
    source.addEventListener("hello", (ev) => { const d = JSON.parse(ev.data); setState(d.state); $("agent-name").textContent = d.agent_id; $("feed").textContent = "(live)"; });
    source.addEventListener("state", (ev) => { setState(JSON.parse(ev.data).state); loadWork(); });
    source.addEventListener("pop", (ev) => renderPop(JSON.parse(ev.data)));
    source.onerror = () => { $("feed").textContent = "(reconnecting)"; };
  }

  async function loadWork() {
    if (!agentId) return;
    try {
      const w = await P.api("GET", "/api/v1/desk/work" + q());
      if (w.agent) { setState(w.agent.state); $("agent-name").textContent = w.agent.name + " (" + w.agent.agent_id + ")"; }
      P.fill($("callbacks"), (w.callbacks || []).map((cb) => P.row(cb.number, cb.queue, cb.state, P.when(cb.due_at))));
      P.fill($("cases"), (w.cases || []).map((cs) => P.row(String(cs.id), cs.number, cs.description, P.when(cs.respond_by))));
      $("wrapups").replaceChildren(...(w.wrapups || []).map((x) => P.el("li", {}, P.when(x.at) + " " + x.call_id + ": " + x.disposition + (x.notes ? " — " + x.notes : ""))));
    } catch (e) { P.notice(e.message, true); }
  }

  document.querySelectorAll("button[data-state]").forEach((b) => b.addEventListener("click", async () => {
    try { await P.api("PUT", "/api/v1/agents/" + encodeURIComponent(agentId) + "/state", { state: b.dataset.state }); P.notice("State set to " + b.dataset.state); }
    catch (e) { P.notice(e.message, true); }
  }));

  $("wrapup-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { call_id: $("wrap-call").value, disposition: $("wrap-disposition").value, notes: $("wrap-notes").value, queue: $("wrap-queue").value || null };
    try {
      const r = await P.api("POST", "/api/v1/desk/wrapup" + q(), body);
      P.notice("Wrap-up saved (" + r.disposition + "); state " + (r.agent_state || "unchanged"));
      $("wrap-notes").value = "";
      $("pop").classList.remove("active");
      loadWork();
    } catch (e) { P.notice(e.message, true); }
  });

  const form = $("agent-form");
  if (form) form.addEventListener("submit", (ev) => { ev.preventDefault(); agentId = $("agent-id").value.trim(); connect(); loadWork(); });
  connect();
  loadWork();
});
