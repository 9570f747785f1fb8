"use strict";
document.addEventListener("DOMContentLoaded", async () => {
  const P = window.Puente;
  try {
    const flows = await P.api("GET", "/api/v1/flows");
    P.fill(document.getElementById("flows"), flows.map((f) => {
      const link = P.el("a", { href: "/ui/flows/" + encodeURIComponent(f.name) }, f.name);
      return P.row(link, f.numbers.join(", ") || "–", f.default ? "yes" : "no", f.published_version === null ? "files" : "v" + f.published_version);
    }));
  } catch (e) { P.notice(e.message, true); }
  const form = document.getElementById("new-flow");
  if (form) form.addEventListener("submit", (ev) => { ev.preventDefault(); location.href = "/ui/flows/" + encodeURIComponent(document.getElementById("new-name").value) + "?new=1"; });
});
