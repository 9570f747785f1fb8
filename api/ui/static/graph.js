// Draws a flow graph as SVG with a layered layout: layer = breadth-first depth from the start node.
"use strict";
window.PuenteGraph = (function () {
  const NS = "http://www.w3.org/2000/svg";
  const W = 120, H = 34, GX = 40, GY = 46;
  function svg(tag, attrs) { const n = document.createElementNS(NS, tag); for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, v); return n; }

  function layers(graph) {
    const out = new Map(graph.nodes.map((n) => [n.id, []]));
    graph.edges.forEach((e) => { if (out.has(e.from) && out.has(e.to)) out.get(e.from).push(e.to); });
    const start = (graph.nodes.find((n) => n.start) || graph.nodes[0] || {}).id;
    const depth = new Map();
    if (start !== undefined) {
      depth.set(start, 0);
      const queue = [start];
      while (queue.length) { const id = queue.shift(); for (const t of out.get(id) || []) if (!depth.has(t)) { depth.set(t, depth.get(id) + 1); queue.push(t); } }
    }
    let max = Math.max(0, ...depth.values());
    graph.nodes.forEach((n) => { if (!depth.has(n.id)) depth.set(n.id, max + 1); });
    const rows = [];
    graph.nodes.forEach((n) => { const d = depth.get(n.id); (rows[d] = rows[d] || []).push(n); });
    return rows.filter(Boolean);
  }

  function draw(container, graph, opts) {
    opts = opts || {};
    const rows = layers(graph);
    const widest = Math.max(1, ...rows.map((r) => r.length));
    const width = widest * (W + GX) + GX, height = rows.length * (H + GY) + GY;
    const s = svg("svg", { width, height, viewBox: "0 0 " + width + " " + height });
    const defs = svg("defs");
    const marker = svg("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 10, refY: 5, markerWidth: 6, markerHeight: 6, orient: "auto-start-reverse" });
    marker.append(svg("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#7a8594" }));
    defs.append(marker); s.append(defs);
    const pos = new Map();
    rows.forEach((row, y) => row.forEach((n, x) => {
      const offset = (widest - row.length) * (W + GX) / 2;
      pos.set(n.id, { x: GX + offset + x * (W + GX), y: GY / 2 + y * (H + GY) });
    }));
    graph.edges.forEach((e) => {
      const a = pos.get(e.from), b = pos.get(e.to);
      if (!a || !b) return;
      const x1 = a.x + W / 2, y1 = a.y + H, x2 = b.x + W / 2, y2 = b.y;
      const back = y2 <= y1;
      const d = back ? `M ${x1} ${y1} C ${x1 + 60} ${y1 + 40}, ${x2 + 60} ${y2 - 40}, ${x2} ${y2}` : `M ${x1} ${y1} L ${x2} ${y2}`;
      const p = svg("path", { d, class: "edge", "marker-end": "url(#arrow)" });
      const t = svg("title"); t.textContent = e.from + " → " + e.to + " (" + e.label + ")"; p.append(t);
      s.append(p);
    });
    graph.nodes.forEach((n) => {
      const p = pos.get(n.id);
      const cls = ["node", n.start ? "start" : "", (opts.bad || new Set()).has(n.id) ? "bad" : "", opts.selected === n.id ? "selected" : ""].join(" ");
      const g = svg("g", { class: cls, transform: `translate(${p.x},${p.y})`, tabindex: 0, role: "button", "data-node": n.id, "aria-label": n.id + " (" + n.kind + ")" });
      g.append(svg("rect", { width: W, height: H, rx: 5 }));
      const t1 = svg("text", { x: 6, y: 14 }); t1.textContent = n.id.length > 18 ? n.id.slice(0, 17) + "…" : n.id;
      const t2 = svg("text", { x: 6, y: 27, class: "kind" }); t2.textContent = n.kind;
      g.append(t1, t2);
      if (opts.onSelect) {
        g.addEventListener("click", () => opts.onSelect(n.id));
        g.addEventListener("keydown", (ev) => { if (ev.key === "Enter" || ev.key === " ") { ev.preventDefault(); opts.onSelect(n.id); } });
      }
      s.append(g);
    });
    container.replaceChildren(s);
  }
  return { draw, layers };
})();
