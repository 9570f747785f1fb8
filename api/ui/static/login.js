"use strict";
document.addEventListener("DOMContentLoaded", () => {
  const form = document.getElementById("login-form");
  const error = document.getElementById("login-error");
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    error.textContent = "";
    const body = { username: form.username.value, password: form.password.value };
    const r = await fetch("/api/v1/auth/login", {
      method: "POST", credentials: "same-origin",
      headers: { "Content-Type": "application/json", "X-Requested-With": "puente-ui" }, body: JSON.stringify(body),
    });
    if (!r.ok) { error.textContent = "Wrong username or password."; form.password.focus(); return; }
    const user = await r.json();
    const next = new URLSearchParams(location.search).get("next");
    // only our own pages: never an open redirect
    const safe = next && /^\/ui\/[A-Za-z0-9_\/-]*$/.test(next) ? next : null;
    location.href = safe || (user.role === "agent" ? "/ui/desk" : "/ui/wallboard");
  });
});
