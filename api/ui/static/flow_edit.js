// The flow editor: YAML with validation as you type, a node form, the graph, drafts, publish, rollback, diff.
// Every action says how it went next to the button that started it; publish and rollback ask first,
// naming what changes.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const P = window.Puente;
  const $ = (id) => document.getElementById(id);
  const main = $("main");
  const name = main.dataset.flow;
  const canEdit = main.dataset.canEdit === "yes";
  const base = "/api/v1/flows/" + encodeURIComponent(name);
  const yaml = $("yaml");
  let languages = [];
  let nodes = {}, graph = { nodes: [], edges: [] }, bad = new Set(), selected = null, timer = null, seq = 0;
  let inService = null; // the version in service (0: the shipped file), null: none (a new flow)

  // A message beside the action that caused it, scrolled into view; errors also go to the top notice.
  function say(where, text, isBad) {
    const box = $(where);
    if (box) {
      box.textContent = text;
      box.classList.toggle("bad", !!isBad);
      box.scrollIntoView({ block: "nearest" });
    }
    P.notice(text, isBad);
  }

  function lineOf(node) {
    if (!node) return null;
    const lines = yaml.value.split("\n");
    const re = new RegExp("^\\s+" + node.replace(/[.*+?^${}()|[\]\\]/g, "\\$&") + "\\s*:");
    const i = lines.findIndex((l) => re.test(l));
    return i < 0 ? null : i + 1;
  }
  function goToLine(n) {
    const lines = yaml.value.split("\n");
    const start = lines.slice(0, n - 1).join("\n").length + (n > 1 ? 1 : 0);
    yaml.focus(); yaml.setSelectionRange(start, start + lines[n - 1].length);
  }
  function listItems(list, items, cls) {
    return items.map((p) => {
      const line = lineOf(p.node);
      const text = (line ? "line " + line + " · " : "") + (p.node ? p.node + ": " : "") + p.message;
      const li = P.el("li", { class: cls }, text);
      if (line) { li.tabIndex = 0; li.addEventListener("click", () => goToLine(line)); }
      return li;
    });
  }
  function showProblems(problems, warnings) {
    bad = new Set(problems.map((p) => p.node).filter(Boolean));
    yaml.setAttribute("aria-invalid", problems.length ? "true" : "false");
    $("problem-count").textContent = problems.length ? "(" + problems.length + ")" : "(none)";
    $("problems").replaceChildren(...listItems($("problems"), problems, "problem"));
    if (warnings !== undefined) {
      $("warning-count").textContent = warnings.length ? "(" + warnings.length + ")" : "(none)";
      $("warnings").replaceChildren(...listItems($("warnings"), warnings, "warning"));
    }
  }

  function drawGraph() { PuenteGraph.draw($("graph"), graph, { bad, selected, onSelect: selectNode }); }

  async function inspect() {
    const mine = ++seq;
    if (!yaml.value.trim()) { showProblems([{ node: null, message: "the document is empty" }], []); return; }
    try {
      const r = await P.api("POST", "/api/v1/ui/flows/inspect", { document: yaml.value });
      if (mine !== seq) return; // a newer edit is being checked
      nodes = r.nodes;
      if (r.languages.length) languages = r.languages;
      showProblems(r.problems, r.warnings || []);
      if (r.graph.nodes.length) graph = r.graph;
      drawGraph();
      fillNodeSelect();
    } catch (e) { P.notice(e.message, true); }
  }
  function schedule() { clearTimeout(timer); timer = setTimeout(inspect, 400); }

  function nodeChoices(current, blank) {
    const ids = Object.keys(nodes);
    const opts = [P.el("option", { value: "" }, blank)];
    if (current && !nodes[current]) opts.push(P.el("option", { value: current, selected: true }, current + " (missing)"));
    return opts.concat(ids.map((id) => P.el("option", { value: id, selected: id === current }, id)));
  }
  function fillNodeSelect() {
    const sel = $("node-select");
    const ids = Object.keys(nodes);
    if (!selected || !nodes[selected]) selected = ids[0] || null;
    sel.replaceChildren(...ids.map((id) => P.el("option", { value: id, selected: id === selected }, id)));
    showNode();
  }
  function selectNode(id) {
    selected = id; $("node-select").value = id; showNode(); drawGraph();
    $("form-h").scrollIntoView({ block: "nearest" });
  }
  function showNode() {
    const n = nodes[selected];
    $("node-kind").textContent = n ? n.kind : "";
    $("node-prompts").value = n ? n.prompts.join(", ") : "";
    $("node-next").replaceChildren(...nodeChoices(n && n.next, "(none)"));
    const opts = n ? Object.entries(n.options) : [];
    $("node-options").replaceChildren(...opts.map(([k, v], i) => {
      const sel = P.el("select", { id: "opt-" + i, "data-key": k }, ...nodeChoices(v, "(keep)"));
      return P.el("p", {}, P.el("label", { for: "opt-" + i }, "Key " + k + " → "), sel);
    }));
    if (n && n.kind === "menu") {
      $("node-options").append(P.el("p", {}, P.el("label", { for: "opt-new-key" }, "New key "), P.el("input", { id: "opt-new-key", size: 3 }),
        P.el("label", { for: "opt-new-next" }, " → "), P.el("select", { id: "opt-new-next" }, ...nodeChoices(null, "(choose a node)"))));
    }
    for (const input of document.querySelectorAll("#node-form input")) input.readOnly = !canEdit;
    for (const s of document.querySelectorAll("#node-form select:not(#node-select)")) s.disabled = !canEdit;
    showPlayback(n ? n.prompts : []);
  }

  // Each prompt of the node in each language: its text and, when rendered, an <audio> player.
  let playSeq = 0;
  async function showPlayback(prompts) {
    const mine = ++playSeq;
    const box = $("node-play");
    const keys = prompts.flatMap((p) => languages.map((l) => l + "/" + p)).slice(0, 100);
    if (!keys.length) { box.replaceChildren(); return; }
    let found = [];
    try { found = await P.api("POST", "/api/v1/ui/flows/prompts", { keys }); }
    catch (e) { box.replaceChildren(P.el("p", { class: "muted" }, "Prompts: " + e.message)); return; }
    if (mine !== playSeq) return; // another node was chosen meanwhile
    box.replaceChildren(...found.map((f) => {
      const row = P.el("div", { class: "prompt-play", "data-key": f.key }, P.el("span", { class: "prompt-key" }, f.key + " "));
      if (f.text === null) { row.append(P.el("span", { class: "bad-text" }, "not in the prompt catalogue")); return row; }
      row.append(P.el("span", { class: "prompt-text" }, f.text));
      if (f.audio) row.append(P.el("audio", { controls: true, preload: "none", src: f.audio, "aria-label": "Play " + f.key }));
      else row.append(P.el("span", { class: "muted" }, " (no recording yet: ivr prompts build)"));
      return row;
    }));
  }

  $("node-select").addEventListener("change", (ev) => selectNode(ev.target.value));
  $("graph-fit").addEventListener("click", () => PuenteGraph.fit($("graph")));
  $("graph-zoom-in").addEventListener("click", () => PuenteGraph.zoom($("graph"), 1.25));
  $("graph-zoom-out").addEventListener("click", () => PuenteGraph.zoom($("graph"), 0.8));
  $("node-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!canEdit || !selected) return;
    const n = nodes[selected];
    const body = { document: yaml.value, node: selected, next: $("node-next").value.trim() };
    if (n.prompts.length || $("node-prompts").value.trim()) body.prompts = $("node-prompts").value.split(",").map((s) => s.trim()).filter(Boolean);
    const options = {};
    document.querySelectorAll("#node-options select[data-key]").forEach((i) => { if (i.value.trim()) options[i.dataset.key] = i.value.trim(); });
    const nk = $("opt-new-key"), nn = $("opt-new-next");
    if (nk && nk.value.trim() && nn.value.trim()) options[nk.value.trim()] = nn.value.trim();
    if (Object.keys(options).length) body.options = options;
    try {
      yaml.value = (await P.api("POST", "/api/v1/ui/flows/edit-node", body)).document;
      await inspect();
      say("node-msg", "Node " + selected + " applied to the YAML");
    } catch (e) { say("node-msg", "Not applied: " + e.message, true); }
  });

  // ---------------------------------------------------------------- versions, diff, publish, rollback
  const label = (v) => (v === 0 ? "shipped" : "v" + v);
  let versions = [];

  function fillDiffSelects() {
    const choices = (blank) => [P.el("option", { value: "" }, blank)].concat(versions.map((v) =>
      P.el("option", { value: String(v.version) }, label(v.version) + " (" + v.status + ")")));
    const from = $("diff-from"), to = $("diff-to");
    const keepFrom = from.value, keepTo = to.value;
    from.replaceChildren(...choices("in service"));
    to.replaceChildren(...choices("newest version"));
    from.value = keepFrom; to.value = keepTo;
  }
  async function showDiff(from, to) {
    const q = new URLSearchParams();
    if (from !== "") q.set("from", from);
    if (to !== "") q.set("to", to);
    try {
      $("diff").textContent = (await P.api("GET", base + "/diff?" + q)) || "(no difference)";
      say("diff-msg", "");
    } catch (e) { say("diff-msg", "No diff: " + e.message, true); }
  }
  $("diff-form").addEventListener("submit", (ev) => { ev.preventDefault(); showDiff($("diff-from").value, $("diff-to").value); });

  async function loadVersions() {
    try { versions = await P.api("GET", base + "/versions"); } catch (e) { say("versions-msg", e.message, true); return; }
    fillDiffSelects();
    P.fill($("versions"), versions.map((v) => {
      const actions = P.el("span", { class: "buttons" });
      const diff = P.el("button", { type: "button" }, "Diff");
      diff.addEventListener("click", () => { // this version against the one in service
        $("diff-from").value = ""; $("diff-to").value = String(v.version); showDiff("", String(v.version));
      });
      const load = P.el("button", { type: "button" }, "Load");
      load.addEventListener("click", async () => {
        try { yaml.value = (await P.api("GET", base + "/versions/" + v.version)).document; inspect(); say("versions-msg", "Loaded " + label(v.version) + " into the editor"); }
        catch (e) { say("versions-msg", e.message, true); }
      });
      actions.append(diff, load);
      if (canEdit && v.version !== inService) {
        const earlier = v.status === "retired" || v.version === 0;
        const act = P.el("button", { type: "button" }, earlier ? "Roll back to " + label(v.version) : "Publish");
        act.addEventListener("click", () => earlier ? rollback(v.version, "versions-msg") : publish(v.version, "versions-msg"));
        actions.append(act);
      }
      const created = v.created_at ? P.when(v.created_at) : "–";
      const status = v.version === inService ? v.status + " (in service)" : v.status;
      const tr = P.row(label(v.version), status, v.created_by || "–", created, v.comment || "", actions);
      tr.dataset.version = v.version;
      return tr;
    }));
  }

  function setInService(doc) {
    inService = doc.version === null ? 0 : doc.version;
    $("in-service").textContent = doc.version === null ? "the shipped file" : "v" + doc.version;
  }
  async function loadInService() {
    const doc = await P.api("GET", base);
    setInService(doc);
    return doc.document;
  }

  // Ask before a change reaches callers, naming what changes; resolves true when confirmed.
  function confirmChange(text, details) {
    const dialog = $("confirm");
    $("confirm-text").textContent = text;
    $("confirm-details").replaceChildren(...details.map((d) => P.el("li", {}, d)));
    return new Promise((resolve) => {
      dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true });
      dialog.returnValue = "";
      dialog.showModal();
      $("confirm-cancel").focus();
    });
  }
  async function changesTo(version) {
    const c = await P.api("GET", base + "/changes?to=" + version);
    const details = [];
    if (c.keys_added.length) details.push("keys added: " + c.keys_added.join(", "));
    if (c.keys_removed.length) details.push("keys removed: " + c.keys_removed.join(", "));
    if (c.nodes_changed.length) details.push("nodes changed: " + c.nodes_changed.join(", "));
    if (c.nodes_added.length) details.push("nodes added: " + c.nodes_added.join(", "));
    if (c.nodes_removed.length) details.push("nodes removed: " + c.nodes_removed.join(", "));
    return { summary: c.summary, details };
  }

  // A refused document (too large, too deep, YAML aliases: 422) or version (409) lists its reasons
  // with the other problems, so the editor shows them the same way.
  function showRefusal(e) {
    const d = e.data && e.data.detail;
    if ((e.status === 422 || e.status === 409) && d && Array.isArray(d.problems)) {
      showProblems(d.problems.map((m) => ({ node: null, message: m })));
    }
  }
  async function saveDraft() {
    let r;
    try { r = await P.api("POST", base + "/versions", { document: yaml.value, comment: ($("comment") || {}).value || "" }); }
    catch (e) { showRefusal(e); throw e; }
    showProblems(r.problems, r.warnings || []);
    await loadVersions();
    return r;
  }
  async function publish(version, where) {
    try {
      const c = await changesTo(version);
      if (!await confirmChange("Publish v" + version + " of " + name + ": " + c.summary + "?", c.details)) {
        say(where, "Not published: cancelled"); return;
      }
      const v = await P.api("POST", base + "/versions/" + version + "/publish");
      setInService({ version: v.version });
      say(where, "Published v" + v.version + ": new calls follow it");
    } catch (e) { showRefusal(e); say(where, "Not published: " + e.message, true); }
    await loadVersions();
  }
  async function rollback(to, where) {
    try {
      let target = to;
      if (target === undefined) {
        // as the server's default: the version retired last, else the shipped file
        const retired = versions.filter((v) => v.status === "retired").sort((a, b) => (b.published_at || "").localeCompare(a.published_at || ""));
        const earlier = retired[0] || versions.find((v) => v.version === 0 && inService !== 0);
        if (!earlier) { say(where, "Not rolled back: flow " + name + " has no earlier version to roll back to", true); return; }
        target = earlier.version;
      }
      const c = await changesTo(target);
      if (!await confirmChange("Roll back " + name + " from " + label(inService) + " to " + label(target) + ": " + c.summary + "?", c.details)) {
        say(where, "Not rolled back: cancelled"); return;
      }
      const v = await P.api("POST", base + "/rollback?to=" + target);
      setInService({ version: v.version === 0 ? null : v.version });
      say(where, "Rolled back: " + (v.version === 0 ? "the shipped file" : "v" + v.version) + " is in service");
      yaml.value = (await P.api("GET", base)).document;
      inspect();
    } catch (e) { showRefusal(e); say(where, "Not rolled back: " + e.message, true); }
    await loadVersions();
  }

  if (canEdit) {
    $("save-draft").addEventListener("click", async () => {
      try { const r = await saveDraft(); say("action-msg", "Saved draft v" + r.version.version + (r.problems.length ? " with " + r.problems.length + " problem(s)" : "")); }
      catch (e) { say("action-msg", "Not saved: " + e.message, true); }
    });
    $("save-publish").addEventListener("click", async () => {
      try {
        const r = await saveDraft();
        if (r.problems.length) { say("action-msg", "Saved draft v" + r.version.version + "; fix the problems before publishing", true); return; }
        await publish(r.version.version, "action-msg");
      } catch (e) { say("action-msg", "Not saved: " + e.message, true); }
    });
    $("rollback").addEventListener("click", () => rollback(undefined, "action-msg"));
  }
  yaml.addEventListener("input", schedule);

  // ---------------------------------------------------------------- the call simulator (the draft in the editor)
  let simInputs = [];
  async function simulate() {
    const body = { document: yaml.value, inputs: simInputs };
    if ($("sim-at").value) body.at = new Date($("sim-at").value).toISOString();
    try {
      const r = await P.api("POST", "/api/v1/ui/flows/simulate", body);
      $("sim-steps").replaceChildren(...r.steps.map((st) => P.el("li", { class: st.kind, "data-kind": st.kind }, st.text)));
      $("sim-steps").scrollTop = $("sim-steps").scrollHeight;
      const w = r.waiting;
      $("sim-state").textContent = w ? "Waiting at " + w.node + " for " + [w.keys ? "keys" : "", w.speech ? "words" : ""].filter(Boolean).join(" or ")
        : "The call has ended: " + r.disposition;
      $("sim-state").dataset.waiting = w ? w.node : "";
      simEnded = !w;
      $("sim-vars").textContent = "Variables: " + Object.entries(r.variables).map(([k, v]) => k + "=" + v).join(", ");
      say("sim-msg", "");
      return w;
    } catch (e) {
      showRefusal(e);
      say("sim-msg", "Cannot simulate: " + e.message, true);
      return null;
    }
  }
  let simEnded = false;
  async function simStep(input) {
    if (simEnded) { say("sim-msg", "The call has ended: start a new call", true); return; }
    simInputs.push(input);
    await simulate();
  }
  $("sim-start").addEventListener("click", () => { simInputs = []; simEnded = false; simulate(); });
  $("sim-press").addEventListener("click", () => { const k = $("sim-keys").value.trim(); if (k) { $("sim-keys").value = ""; simStep({ press: k }); } });
  $("sim-say").addEventListener("click", () => { const w = $("sim-words").value.trim(); if (w) { $("sim-words").value = ""; simStep({ say: w }); } });
  $("sim-silence").addEventListener("click", () => simStep({}));
  $("sim-input").addEventListener("submit", (ev) => ev.preventDefault());
  $("sim-keys").addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); $("sim-press").click(); } });
  $("sim-words").addEventListener("keydown", (ev) => { if (ev.key === "Enter") { ev.preventDefault(); $("sim-say").click(); } });

  function newFlowDocument() {
    return "name: " + name + "\nlanguages: [es, en]\nstart: hello\nnodes:\n  hello: {kind: play, prompts: [greeting], next: bye}\n  bye: {kind: hangup}\n";
  }
  async function open(document) {
    $("editor-area").hidden = false;
    yaml.value = document;
    await inspect();
    await loadVersions();
    main.dataset.ready = "yes";
  }

  (async () => {
    let doc;
    try { doc = await loadInService(); }
    catch (e) {
      if (e.status !== 404) { P.notice(e.message, true); return; }
      // Not in service: maybe drafts exist (a new flow being written), else a mistyped name.
      let drafts = [];
      try { drafts = await P.api("GET", base + "/versions"); } catch (e2) { P.notice(e2.message, true); return; }
      $("in-service").textContent = "nothing (new flow)";
      if (drafts.length) { await open((await P.api("GET", base + "/versions/" + drafts[0].version)).document); return; }
      // asked for from "New flow" on the list: no question; a typed or followed address: ask first
      if (canEdit && new URLSearchParams(location.search).get("new") === "1") { await open(newFlowDocument()); return; }
      $("missing").hidden = false;
      main.dataset.ready = "missing";
      const create = $("create-flow");
      if (create) create.addEventListener("click", () => { $("missing").hidden = true; open(newFlowDocument()); });
      return;
    }
    await open(doc);
  })();
});
