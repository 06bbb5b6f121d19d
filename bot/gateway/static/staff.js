// Sign-in shared by the staff pages (agent console, trainer page): a token kept in localStorage,
// the demo button (only when the gateway runs with BOT_DEMO=1) or a pasted token. The token is kept
// only if `whoami` accepts it; the page's own work starts in `onEnter(me)`.
import { makeApi, toast } from "/static/api.js";

export function staffLogin({ storageKey, role, subject, demoButton, demoLabel, tokenHint, whoami, onEnter }) {
  const $ = (id) => document.getElementById(id);
  let token = localStorage.getItem(storageKey) || "";
  const api = makeApi(() => token);

  async function enter() {
    let me;
    try {
      me = await whoami(api);
    } catch (err) {
      localStorage.removeItem(storageKey);
      token = "";
      toast(err.message);
      return;
    }
    $("me").textContent = me;
    $("login-screen").hidden = true;
    $("console").hidden = false;
    $("logout").hidden = false;
    await onEnter(me);
  }

  function use(value) {
    token = value;
    localStorage.setItem(storageKey, token);
    return enter();
  }

  function logout() {
    localStorage.removeItem(storageKey);
    location.reload();
  }

  $("logout").addEventListener("click", logout);
  $(demoButton).addEventListener("click", async () => {
    const resp = await fetch("/api/demo/token", { method: "POST", headers: { "Content-Type": "application/json" },
      body: JSON.stringify({ role, subject }) });
    if (!resp.ok) return toast(tokenHint);
    use((await resp.json()).token);
  });
  $("token-form").addEventListener("submit", (e) => {
    e.preventDefault();
    use($("token-input").value.trim().replace(/^Bearer\s+/i, ""));
  });

  async function start() {
    $("token-input").placeholder = tokenHint;
    const config = await fetch("/api/config").then((r) => r.json()).catch(() => ({ demo: false }));
    if (config.demo) {
      $(demoButton).hidden = false;
      $(demoButton).textContent = demoLabel;
    }
    if (token) await enter();
  }

  return { api, token: () => token, logout, start };
}
