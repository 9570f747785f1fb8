// The agent desk: live feed (SSE) with the screen pop and the contact's state as the server knows it
// (offered → on call → wrap-up → done), talk timer, wrap-up countdown with "more time", state
// buttons, open work with callback actions, wrap-up notes.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const P = window.Puente;
  const main = document.getElementById("main");
  let agentId = main.dataset.agentId || "";
  let source = null;
  let agentState = "";
  let wrapUntil = null;  // Date when the timed wrap-up ends (from the server)
  // The contact: {callId, queue, phase: offered|on_call|wrap_up|done, answeredAt, known}
  let contact = null;
  const $ = (id) => document.getElementById(id);
  const q = () => "?agent_id=" + encodeURIComponent(agentId);

  const PHASE_TEXT = {
    offered: "Incoming contact: ringing your phone",
    on_call: "On call",
    wrap_up: "Wrap-up: finish your notes",
  };

  function setState(state) {
    agentState = state || "";
    $("agent-state").textContent = state || "unknown";
    $("agent-state").dataset.state = state || "";
  }

  function showContact() {
    const phase = contact ? contact.phase : "none";
    $("pop").dataset.contact = phase;
    $("pop").classList.toggle("active", phase === "offered" || phase === "on_call" || phase === "wrap_up");
    let text = contact ? PHASE_TEXT[contact.phase] || "" : "No contact. A screen pop appears here when a call or callback is offered to you.";
    if (contact && contact.phase === "on_call" && !contact.known) text += " (this phone system did not report when the call was answered: no talk time)";
    $("contact-status").textContent = text;
    $("pop-body").hidden = !contact;
    $("timers").hidden = !contact || (contact.phase !== "on_call" && contact.phase !== "wrap_up");
    $("talk").hidden = !contact || contact.phase !== "on_call" || !contact.answeredAt;
    $("wrap-left").hidden = !contact || contact.phase !== "wrap_up";
    tick();
  }

  function tick() {
    if (contact && contact.phase === "on_call" && contact.answeredAt) $("talk-time").textContent = P.seconds(P.since(contact.answeredAt));
    if (contact && contact.phase === "wrap_up") {
      if (wrapUntil) {
        const left = Math.max(0, (wrapUntil.getTime() - Date.now()) / 1000);
        $("wrap-time").textContent = P.seconds(Math.ceil(left)) + " (at " + P.clock(wrapUntil) + ")";
        $("wrap-left").classList.toggle("ending", left <= 10);
        $("more-time").disabled = false;
      } else {
        $("wrap-time").textContent = "no set end: choose Available when you are ready";
        $("more-time").disabled = true;
      }
    }
  }

  function describeInput(i) {
    const said = i.transcript ? "said “" + i.transcript + "”" + (i.confidence != null ? " (confidence " + Math.round(i.confidence * 100) + "%)" : "") : "";
    const chose = i.choice ? "chose “" + i.choice + "”" + (i.digits ? " (key " + i.digits + ")" : "") : (i.digits ? "pressed " + i.digits : "");
    return (i.step || i.node) + ": " + [said, chose].filter(Boolean).join(", ") + " [" + (i.mode === "speech" ? "speech" : "keypad") + "]";
  }

  function renderPop(pop) {
    const c = pop.context || {};
    const connected = pop.kind === "agent/connected";
    if (!contact || contact.callId !== pop.call_id) contact = { callId: pop.call_id, queue: pop.queue, phase: "offered", answeredAt: null, known: false };
    if (connected) { contact.phase = "on_call"; contact.answeredAt = pop.at; contact.known = true; }
    $("pop-caller").textContent = c.caller || "unknown";
    // why they called: the need the flow marked (named like the choice that led to it), else the last option chosen
    const chosen = (c.inputs || []).filter((i) => i.choice).map((i) => i.choice);
    $("pop-reason").textContent = c.reason || (c.variables && c.variables.need) || chosen[chosen.length - 1] || "not said (no menu choice recorded)";
    $("pop-language").textContent = c.language_name || c.language || "–";
    $("pop-queue").textContent = pop.queue || c.queue || "–";
    $("pop-wait").textContent = P.seconds(c.waited_seconds);
    $("pop-path").textContent = (c.steps || c.path || []).join(" → ") || "–";
    $("pop-call").textContent = pop.call_id;
    $("pop-inputs").replaceChildren(...(c.inputs || []).map((i) => P.el("li", {}, describeInput(i))));
    if (!(c.inputs || []).length) $("pop-inputs").replaceChildren(P.el("li", { class: "muted" }, "nothing recorded"));
    const hist = pop.history || [];
    $("pop-history").replaceChildren(...hist.map((h) => P.el("li", {}, P.when(h.at) + " · " + h.kind + " · " + (h.disposition || h.state || h.status || h.stage || h.description || h.score || "") + (h.legs > 1 ? " (" + h.legs + " legs: resumed on another node)" : ""))));
    if (!hist.length) $("pop-history").replaceChildren(P.el("li", { class: "muted" }, pop.history_available ? "no earlier contacts" : "history unavailable"));
    if ($("wrap-call").value !== pop.call_id) { $("wrap-call").value = pop.call_id; $("wrap-notes").value = ""; }
    $("wrap-queue").value = pop.queue || "";
    $("wrap-for").textContent = "Notes for the current contact (" + pop.call_id + ").";
    showContact();
    P.notice((connected ? "Connected: " : "Offered: ") + (c.caller || "unknown") + " in " + (pop.queue || "queue"));
  }

  // The agent's state says where the contact is: busy = on call, wrap_up = notes, anything else = over.
  function followState(state) {
    if (!contact) return;
    if (state === "busy" && contact.phase === "offered") { contact.phase = "on_call"; }
    else if (state === "wrap_up" && (contact.phase === "on_call" || contact.phase === "offered")) { contact.phase = "wrap_up"; }
    else if (["available", "away", "offline"].includes(state)) {
      const missed = contact.phase === "offered";
      const ended = contact.callId;
      contact = null;
      $("wrap-for").textContent = missed ? "" : "The contact " + ended + " has ended; its notes can still be saved here.";
      if (missed) { $("wrap-call").value = ""; P.notice("Missed contact " + ended + ": it was offered to someone else"); }
    }
    showContact();
  }

  function connect() {
    if (source) source.close();
    if (!agentId) return;
    $("feed").textContent = "(connecting)";
    source = new EventSource("/api/v1/desk/events" + q());
    source.addEventListener("hello", (ev) => { const d = JSON.parse(ev.data); setState(d.state); $("agent-name").textContent = d.agent_id; $("feed").textContent = "(live)"; });
    source.addEventListener("state", (ev) => { const d = JSON.parse(ev.data); setState(d.state); followState(d.state); loadWork(); loadCall(); });
    source.addEventListener("pop", (ev) => { renderPop(JSON.parse(ev.data)); loadCall(); });
    source.onerror = () => { $("feed").textContent = "(reconnecting: the contact shown may be out of date)"; };
  }

  function callbackRow(cb) {
    const act = P.el("div", { class: "buttons" });
    const now = P.el("button", { type: "button", "data-act": "now" }, "Call now");
    const when = P.el("input", { type: "datetime-local", "aria-label": "New time for " + cb.number + " (" + P.zone + ")" });
    const later = P.el("button", { type: "button", "data-act": "reschedule" }, "Reschedule");
    const close = P.el("button", { type: "button", "data-act": "close", class: "secondary" }, "Close");
    const base = "/api/v1/callbacks/" + encodeURIComponent(cb.id);
    now.addEventListener("click", safe(async () => { await P.api("POST", base + "/reschedule", { at: new Date().toISOString() }); P.notice("Callback to " + cb.number + " is due now"); loadWork(); }));
    later.addEventListener("click", safe(async () => {
      if (!when.value) { P.notice("Choose the new time first", true); when.focus(); return; }
      const at = P.zonedToDate(when.value);
      if (at.getTime() <= Date.now()) { P.notice("Choose a time in the future", true); return; }
      await P.api("POST", base + "/reschedule", { at: at.toISOString() });
      P.notice("Callback to " + cb.number + " rescheduled for " + P.when(at)); loadWork();
    }));
    close.addEventListener("click", safe(async () => { await P.api("POST", base + "/cancel"); P.notice("Callback to " + cb.number + " closed"); loadWork(); }));
    act.append(now, when, later, close);
    const tr = P.row(cb.number, cb.queue, cb.state, P.when(cb.due_at), act);
    tr.dataset.callback = cb.id;
    return tr;
  }

  const safe = (f) => async (...a) => { try { await f(...a); } catch (e) { P.notice(e.message, true); } };

  const REPLY_STATE = { queued: "sent", sent: "sent", delivered: "delivered", read: "read", failed: "failed", deferred: "waiting for the end of the customer's quiet hours" };
  function caseRow(cs) {
    const history = P.el("ul", { class: "replies" }, ...(cs.replies || []).map((r) => P.el("li", {},
      P.when(r.at) + " " + r.username + " (" + (r.channel || "?") + ", " + (REPLY_STATE[r.status] || r.status || "not sent") +
      (r.status === "deferred" && r.not_before ? " until " + P.when(r.not_before) : "") + "): " + r.text)));
    if (!(cs.replies || []).length) history.append(P.el("li", { class: "muted" }, "no reply yet"));
    const text = P.el("textarea", { rows: "2", cols: "36", maxlength: "480", "aria-label": "Reply to case " + cs.id });
    const send = P.el("button", { type: "button", "data-act": "reply" }, "Send reply");
    const close = P.el("button", { type: "button", "data-act": "close-case", class: "secondary" }, "Close case");
    const base = "/api/v1/deflections/cases/" + encodeURIComponent(cs.id);
    send.addEventListener("click", safe(async () => {
      if (!text.value.trim()) { P.notice("Write the reply first", true); text.focus(); return; }
      const r = await P.api("POST", base + "/reply", { text: text.value });
      P.notice(r.outcome === "deferred" ? "Reply to case " + cs.id + " will go at " + P.when(r.not_before) + " (the customer's quiet hours)" : "Reply to case " + cs.id + " sent by " + r.channel);
      text.value = ""; loadWork();
    }));
    close.addEventListener("click", safe(async () => { await P.api("POST", base + "/close"); P.notice("Case " + cs.id + " closed"); loadWork(); }));
    const tr = P.row(String(cs.id), cs.number, cs.description, P.when(cs.respond_by), P.el("div", {}, history, text, P.el("div", { class: "buttons" }, send, close)));
    tr.dataset.case = cs.id;
    return tr;
  }

  // Hold / resume / transfer of the live call: what the server says is possible, and why not.
  let liveCall = null;
  const BACKENDS = { asterisk: "Asterisk", sip: "Puente's own SIP endpoint" };
  function renderControls(r) {
    liveCall = r && r.call;
    const sel = $("transfer-queue");
    const queues = (r && r.queues) || [];
    if (sel.options.length !== queues.length) sel.replaceChildren(...queues.map((name) => P.el("option", { value: name }, name)));
    const agents = (r && r.agents) || [];
    const chosen = $("transfer-agent").value;
    const free = agents.some((a) => a.state === "available");
    $("transfer-agent").replaceChildren(...(free ? [] : [P.el("option", { value: "" }, "nobody else is available")]),
      ...agents.map((a) => P.el("option", { value: a.agent_id, disabled: a.state !== "available" }, a.name + " (" + a.state.replace("_", " ") + ")")));
    if (chosen && agents.some((a) => a.agent_id === chosen && a.state === "available")) $("transfer-agent").value = chosen;
    const why = liveCall ? liveCall.unavailable : null;
    $("hold-btn").hidden = !!(liveCall && liveCall.held);
    $("resume-btn").hidden = !(liveCall && liveCall.held);
    $("hold-btn").disabled = !liveCall || !!why.hold;
    $("resume-btn").disabled = !liveCall || !!why.resume;
    $("transfer-btn").disabled = !liveCall || !!why.transfer;
    $("transfer-agent-btn").disabled = !liveCall || !!why.transfer || !free;
    let text = "Hold and transfer become available once the call is answered.";
    if (liveCall && liveCall.transferring_to) text = "Transferring the caller to " + liveCall.transferring_to + ".";
    else if (liveCall && liveCall.held) text = "The caller is on hold (music) since " + P.clock(new Date(liveCall.held_since)) + ".";
    else if (liveCall && why.hold && why.transfer) text = "Not available on this call: " + why.transfer + ".";
    else if (liveCall) text = "On call" + (BACKENDS[liveCall.backend] ? " through " + BACKENDS[liveCall.backend] : "") + ": hold, or transfer to a queue or an agent." + (why.hold ? " Hold: " + why.hold + "." : "");
    $("control-status").textContent = text;
  }
  async function loadCall() {
    if (!agentId) return;
    try { renderControls(await P.api("GET", "/api/v1/desk/call" + q())); } catch (e) { renderControls(null); }
  }
  const callUrl = (what) => "/api/v1/desk/calls/" + encodeURIComponent(liveCall.call_id) + "/" + what;
  $("hold-btn").addEventListener("click", safe(async () => { await P.api("POST", callUrl("hold")); await loadCall(); P.notice("Caller on hold"); }));
  $("resume-btn").addEventListener("click", safe(async () => { await P.api("POST", callUrl("resume")); await loadCall(); P.notice("Caller back on the line"); }));
  $("transfer-agent-btn").addEventListener("click", safe(async () => {
    const agent = $("transfer-agent").value;
    await P.api("POST", callUrl("transfer"), { agent_id: agent });
    P.notice("Caller transferred to agent " + agent); loadCall();
  }));
  $("transfer-btn").addEventListener("click", safe(async () => {
    const queue = $("transfer-queue").value;
    await P.api("POST", callUrl("transfer"), { queue });
    P.notice("Caller transferred to " + queue); loadCall();
  }));

  async function loadWork() {
    if (!agentId) return;
    try {
      const w = await P.api("GET", "/api/v1/desk/work" + q());
      if (w.agent) {
        setState(w.agent.state);
        $("agent-name").textContent = w.agent.name + " (" + w.agent.agent_id + ")";
        wrapUntil = w.agent.wrap_up_until ? new Date(w.agent.wrap_up_until) : null;
        tick();
      }
      P.fill($("callbacks"), (w.callbacks || []).map(callbackRow));
      // a refresh must not lose a reply being written
      const drafts = new Map([...$("cases").querySelectorAll("tr[data-case]")].map((tr) => [tr.dataset.case, tr.querySelector("textarea").value]));
      P.fill($("cases"), (w.cases || []).map(caseRow));
      $("cases").querySelectorAll("tr[data-case]").forEach((tr) => { if (drafts.get(tr.dataset.case)) tr.querySelector("textarea").value = drafts.get(tr.dataset.case); });
      $("wrapups").replaceChildren(...(w.wrapups || []).map((x) => P.el("li", {}, P.when(x.at) + " " + x.call_id + ": " + x.disposition + (x.notes ? " — " + x.notes : ""))));
    } catch (e) { P.notice(e.message, true); }
  }

  document.querySelectorAll("button[data-state]").forEach((b) => b.addEventListener("click", async () => {
    try { await P.api("PUT", "/api/v1/agents/" + encodeURIComponent(agentId) + "/state", { state: b.dataset.state }); P.notice("State set to " + b.dataset.state); }
    catch (e) { P.notice(e.message, true); }
  }));

  $("more-time").addEventListener("click", safe(async () => {
    const r = await P.api("POST", "/api/v1/desk/wrapup/more-time" + q(), { seconds: 30 });
    wrapUntil = new Date(r.wrap_up_until);
    P.notice("Wrap-up now ends at " + P.clock(wrapUntil));
    tick();
  }));

  $("wrapup-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const body = { call_id: $("wrap-call").value, disposition: $("wrap-disposition").value, notes: $("wrap-notes").value, queue: $("wrap-queue").value || null };
    try {
      const r = await P.api("POST", "/api/v1/desk/wrapup" + q(), body);
      P.notice("Wrap-up saved (" + r.disposition + "); state " + (r.agent_state || "unchanged"));
      $("wrap-notes").value = "";
      $("wrap-call").value = "";
      $("wrap-queue").value = "";
      $("wrap-for").textContent = "Notes for the contact you are on, or the one that just ended.";
      if (contact && contact.callId === body.call_id && contact.phase === "wrap_up") { contact = null; showContact(); }
      loadWork();
    } catch (e) { P.notice(e.message, true); }
  });

  const form = $("agent-form");
  if (form) form.addEventListener("submit", (ev) => { ev.preventDefault(); agentId = $("agent-id").value.trim(); connect(); loadWork(); loadCall(); });
  setInterval(tick, 1000);
  setInterval(() => { if (contact && contact.phase === "on_call") loadCall(); }, 3000);
  connect();
  loadWork();
  loadCall();
});
