// Draws a flow graph as SVG, laid out by dagre (vendored: static/vendor/README.md): ranks from the
// start node down, labelled edges (menu key and word, branch), full node names, pan (drag), zoom
// (wheel, buttons) and fit to view. The view is kept across redraws while the nodes stay the same.
"use strict";
window.PuenteGraph = (function () {
  const NS = "http://www.w3.org/2000/svg";
  const FONT = "12px system-ui, sans-serif", LABEL_FONT = "10px system-ui, sans-serif";
  const PAD_X = 10, NODE_H = 38, MIN_SCALE = 0.2, MAX_SCALE = 3, START_SCALE = 0.85;
  const views = new WeakMap(); // container -> { scale, x, y, key, svg, layer, width, height }
  let ruler = null;

  function svg(tag, attrs) { const n = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v); return n; }
  function textWidth(text, font) {
    ruler = ruler || document.createElement("canvas").getContext("2d");
    ruler.font = font;
    return Math.ceil(ruler.measureText(text).width);
  }

  function layout(graph) {
    const g = new dagre.graphlib.Graph({ multigraph: true });
    g.setGraph({ rankdir: "TB", align: "UL", nodesep: 24, ranksep: 46, edgesep: 12, marginx: 12, marginy: 12 });
    g.setDefaultEdgeLabel(() => ({}));
    // the start node first, so dagre puts it in the first rank, leftmost
    const ordered = graph.nodes.slice().sort((a, b) => (b.start ? 1 : 0) - (a.start ? 1 : 0));
    ordered.forEach((n) => {
      const w = Math.max(textWidth(n.id, FONT), textWidth(n.kind, LABEL_FONT)) + 2 * PAD_X;
      g.setNode(n.id, { width: w, height: NODE_H, data: n });
    });
    graph.edges.forEach((e, i) => {
      if (!g.hasNode(e.from) || !g.hasNode(e.to)) return;
      g.setEdge(e.from, e.to, { label: e.label, width: textWidth(e.label, LABEL_FONT) + 8, height: 14, labelpos: "c", data: e }, "e" + i);
    });
    dagre.layout(g);
    return g;
  }

  function pathOf(points) {
    return points.map((p, i) => (i ? "L " : "M ") + p.x.toFixed(1) + " " + p.y.toFixed(1)).join(" ");
  }

  function apply(view) { view.layer.setAttribute("transform", `translate(${view.x},${view.y}) scale(${view.scale})`); }

  function fit(container) {
    const view = views.get(container);
    if (!view) return;
    const box = container.getBoundingClientRect();
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, Math.min(box.width / view.width, box.height / view.height)));
    view.scale = scale;
    view.x = (box.width - view.width * scale) / 2;
    view.y = (box.height - view.height * scale) / 2;
    apply(view);
  }
  // Opening: the whole flow when it fits legibly, else the start at the top-left.
  function open(container) {
    const view = views.get(container);
    fit(container);
    if (view.scale >= START_SCALE) return;
    view.scale = START_SCALE;
    const start = view.start || { x: 0, y: 0, width: 0, height: 0 };
    view.y = 12 - (start.y - start.height / 2) * view.scale;
    // the graph's own top-left corner, when the start node is still in view from there
    const box = container.getBoundingClientRect();
    view.x = (start.x + start.width / 2) * view.scale <= box.width - 12 ? 0 : 12 - (start.x - start.width / 2) * view.scale;
    apply(view);
  }
  function zoom(container, factor, cx, cy) {
    const view = views.get(container);
    if (!view) return;
    const box = container.getBoundingClientRect();
    if (cx === undefined) { cx = box.width / 2; cy = box.height / 2; }
    const scale = Math.min(MAX_SCALE, Math.max(MIN_SCALE, view.scale * factor));
    view.x = cx - (cx - view.x) * (scale / view.scale);
    view.y = cy - (cy - view.y) * (scale / view.scale);
    view.scale = scale;
    apply(view);
  }

  function panning(container) {
    if (container.dataset.panning) return;
    container.dataset.panning = "yes";
    let drag = null;
    container.addEventListener("pointerdown", (ev) => {
      if (ev.target.closest && ev.target.closest("g.node")) return; // a click on a node selects it
      const view = views.get(container);
      drag = { x: ev.clientX, y: ev.clientY, vx: view.x, vy: view.y };
      container.setPointerCapture(ev.pointerId);
    });
    container.addEventListener("pointermove", (ev) => {
      if (!drag) return;
      const view = views.get(container);
      view.x = drag.vx + ev.clientX - drag.x; view.y = drag.vy + ev.clientY - drag.y;
      apply(view);
    });
    const stop = () => { drag = null; };
    container.addEventListener("pointerup", stop);
    container.addEventListener("pointercancel", stop);
    container.addEventListener("wheel", (ev) => {
      ev.preventDefault();
      const box = container.getBoundingClientRect();
      zoom(container, ev.deltaY < 0 ? 1.15 : 1 / 1.15, ev.clientX - box.left, ev.clientY - box.top);
    }, { passive: false });
  }

  function draw(container, graph, opts) {
    opts = opts || {};
    const g = layout(graph);
    const size = g.graph();
    const s = svg("svg", { width: "100%", height: "100%", "data-layout": "dagre" });
    const defs = svg("defs");
    const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
    marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#7a8594" }));
    defs.append(marker); s.append(defs);
    const layer = svg("g", { class: "viewport" });
    s.append(layer);
    g.edges().forEach((ref) => {
      const e = g.edge(ref);
      const p = svg("path", { d: pathOf(e.points), class: "edge", "marker-end": "url(#arrow)" });
      const t = svg("title"); t.textContent = ref.v + " → " + ref.w + " (" + e.label + ")"; p.append(t);
      layer.append(p);
      const w = e.width, h = e.height;
      layer.append(svg("rect", { class: "edge-label-bg", x: e.x - w / 2, y: e.y - h / 2, width: w, height: h, rx: 3 }));
      const label = svg("text", { class: "edge-label", x: e.x, y: e.y + 3.5, "text-anchor": "middle", "data-from": ref.v, "data-to": ref.w });
      label.textContent = e.label;
      layer.append(label);
    });
    let start = null;
    g.nodes().forEach((id) => {
      const n = g.node(id), data = n.data;
      if (data.start) start = n;
      const cls = ["node", data.start ? "start" : "", (opts.bad || new Set()).has(id) ? "bad" : "", opts.selected === id ? "selected" : ""].join(" ");
      const node = svg("g", { class: cls, transform: `translate(${n.x - n.width / 2},${n.y - n.height / 2})`, tabindex: 0, role: "button", "data-node": id, "aria-label": id + " (" + data.kind + ")" });
      node.append(svg("rect", { width: n.width, height: n.height, rx: 5 }));
      const t1 = svg("text", { x: PAD_X, y: 16, class: "name" }); t1.textContent = id;
      const t2 = svg("text", { x: PAD_X, y: 30, class: "kind" }); t2.textContent = data.kind;
      node.append(t1, t2);
      if (opts.onSelect) {
        node.addEventListener("click", () => opts.onSelect(id));
        node.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); opts.onSelect(id); } });
      }
      layer.append(node);
    });
    const key = graph.nodes.map((n) => n.id).join("\n");
    const old = views.get(container);
    const view = { scale: 1, x: 0, y: 0, key, layer, width: size.width, height: size.height, start };
    if (old && old.key === key) { view.scale = old.scale; view.x = old.x; view.y = old.y; }
    views.set(container, view);
    container.replaceChildren(s);
    panning(container);
    if (!old || old.key !== key) open(container); else apply(view);
  }
  return { draw, fit, zoom };
})();
