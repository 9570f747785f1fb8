// The flow editor: YAML with validation as you type, a node form, the graph, drafts, publish, rollback, diff.
"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const P = window.Puente;
  const $ = (id) => document.getElementById(id);
  const main = $("main");
  const name = main.dataset.flow;
  const canEdit = main.dataset.canEdit === "yes";
  const base = "/api/v1/flows/" + encodeURIComponent(name);
  const yaml = $("yaml");
  let nodes = {}, graph = { nodes: [], edges: [] }, bad = new Set(), selected = null, timer = null, seq = 0;

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

  function showProblems(problems) {
    bad = new Set(problems.map((p) => p.node).filter(Boolean));
    yaml.setAttribute("aria-invalid", problems.length ? "true" : "false");
    $("problem-count").textContent = problems.length ? "(" + problems.length + ")" : "(none)";
    $("problems").replaceChildren(...problems.map((p) => {
      const line = lineOf(p.node);
      const text = (line ? "line " + line + " · " : "") + (p.node ? p.node + ": " : "") + p.message;
      const li = P.el("li", { class: "problem" }, text);
      if (line) { li.tabIndex = 0; li.addEventListener("click", () => goToLine(line)); }
      return li;
    }));
  }

  function drawGraph() { PuenteGraph.draw($("graph"), graph, { bad, selected, onSelect: selectNode }); }

  async function inspect() {
    const mine = ++seq;
    if (!yaml.value.trim()) { showProblems([{ node: null, message: "the document is empty" }]); return; }
    try {
      const r = await P.api("POST", "/api/v1/ui/flows/inspect", { document: yaml.value });
      if (mine !== seq) return; // a newer edit is being checked
      nodes = r.nodes;
      showProblems(r.problems);
      if (r.graph.nodes.length) graph = r.graph;
      drawGraph();
      fillNodeSelect();
    } catch (e) { P.notice(e.message, true); }
  }
  function schedule() { clearTimeout(timer); timer = setTimeout(inspect, 400); }

  function fillNodeSelect() {
    const sel = $("node-select");
    const ids = Object.keys(nodes);
    sel.replaceChildren(...ids.map((id) => P.el("option", { value: id, selected: id === selected }, id)));
    if (!selected || !nodes[selected]) selected = ids[0] || null;
    showNode();
  }
  function selectNode(id) { selected = id; $("node-select").value = id; showNode(); drawGraph(); }
  function showNode() {
    const n = nodes[selected];
    $("node-kind").textContent = n ? n.kind : "";
    $("node-prompts").value = n ? n.prompts.join(", ") : "";
    $("node-next").value = n && n.next ? n.next : "";
    const opts = n ? Object.entries(n.options) : [];
    $("node-options").replaceChildren(...opts.map(([k, v], i) => P.el("p", {},
      P.el("label", { for: "opt-" + i }, "Key " + k + " → "), P.el("input", { id: "opt-" + i, "data-key": k, value: v, size: 24 }))));
    if (n && n.kind === "menu") {
      $("node-options").append(P.el("p", {}, P.el("label", { for: "opt-new-key" }, "New key "), P.el("input", { id: "opt-new-key", size: 3 }),
        P.el("label", { for: "opt-new-next" }, " → "), P.el("input", { id: "opt-new-next", size: 24 })));
    }
    for (const input of document.querySelectorAll("#node-form input")) input.readOnly = !canEdit;
  }

  $("node-select").addEventListener("change", (ev) => selectNode(ev.target.value));
  $("node-form").addEventListener("submit", async (ev) => {
    ev.preventDefault();
    if (!canEdit || !selected) return;
    const n = nodes[selected];
    const body = { document: yaml.value, node: selected, next: $("node-next").value.trim() };
    if (n.prompts.length || $("node-prompts").value.trim()) body.prompts = $("node-prompts").value.split(",").map((s) => s.trim()).filter(Boolean);
    const options = {};
    document.querySelectorAll("#node-options input[data-key]").forEach((i) => { if (i.value.trim()) options[i.dataset.key] = i.value.trim(); });
    const nk = $("opt-new-key"), nn = $("opt-new-next");
    if (nk && nk.value.trim() && nn.value.trim()) options[nk.value.trim()] = nn.value.trim();
    if (Object.keys(options).length) body.options = options;
    try { yaml.value = (await P.api("POST", "/api/v1/ui/flows/edit-node", body)).document; await inspect(); P.notice("Node " + selected + " applied to the YAML"); }
    catch (e) { P.notice(e.message, true); }
  });

  async function loadVersions() {
    let versions = [];
    try { versions = await P.api("GET", base + "/versions"); } catch (e) { P.notice(e.message, true); return; }
    P.fill($("versions"), versions.map((v) => {
      const actions = P.el("span", { class: "buttons" });
      const diff = P.el("button", { type: "button" }, "Diff");
      // each version against the one before it (the first against what is in service)
      const from = v.version > 1 ? "&from=" + (v.version - 1) : "";
      diff.addEventListener("click", async () => { $("diff").textContent = await P.api("GET", base + "/diff?to=" + v.version + from) || "(no difference)"; });
      const load = P.el("button", { type: "button" }, "Load");
      load.addEventListener("click", async () => { yaml.value = (await P.api("GET", base + "/versions/" + v.version)).document; inspect(); });
      actions.append(diff, load);
      if (canEdit && v.status !== "published") {
        const pub = P.el("button", { type: "button" }, "Publish");
        pub.addEventListener("click", () => publish(v.version));
        actions.append(pub);
      }
      const tr = P.row("v" + v.version, v.status, v.created_by, P.when(v.created_at), v.comment || "", actions);
      tr.dataset.version = v.version;
      return tr;
    }));
  }

  async function loadInService() {
    try {
      const doc = await P.api("GET", base);
      $("in-service").textContent = doc.version === null ? "the shipped file" : "v" + doc.version;
      return doc.document;
    } catch (e) {
      if (e.status !== 404) throw e;
      $("in-service").textContent = "nothing (new flow)";
      return "name: " + name + "\nlanguages: [es, en]\nstart: hello\nnodes:\n  hello: {kind: play, prompts: [greeting], next: bye}\n  bye: {kind: hangup}\n";
    }
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
    showProblems(r.problems);
    await loadVersions();
    return r;
  }
  async function publish(version) {
    try {
      const v = await P.api("POST", base + "/versions/" + version + "/publish");
      P.notice("Published v" + v.version + ": new calls follow it");
      $("in-service").textContent = "v" + v.version;
    } catch (e) { showRefusal(e); P.notice("Not published: " + e.message, true); }
    await loadVersions();
  }

  if (canEdit) {
    $("save-draft").addEventListener("click", async () => {
      try { const r = await saveDraft(); P.notice("Saved draft v" + r.version.version + (r.problems.length ? " with " + r.problems.length + " problem(s)" : "")); }
      catch (e) { P.notice(e.message, true); }
    });
    $("save-publish").addEventListener("click", async () => {
      try { const r = await saveDraft(); if (r.problems.length) { P.notice("Saved draft v" + r.version.version + "; fix the problems before publishing", true); return; } await publish(r.version.version); }
      catch (e) { P.notice(e.message, true); }
    });
    $("rollback").addEventListener("click", async () => {
      try { const v = await P.api("POST", base + "/rollback"); P.notice("Rolled back: v" + v.version + " is in service"); $("in-service").textContent = "v" + v.version; yaml.value = (await P.api("GET", base)).document; inspect(); loadVersions(); }
      catch (e) { P.notice(e.message, true); }
    });
  }
  yaml.addEventListener("input", schedule);

  (async () => {
    try { yaml.value = await loadInService(); } catch (e) { P.notice(e.message, true); }
    await inspect();
    await loadVersions();
    main.dataset.ready = "yes";
  })();
});
