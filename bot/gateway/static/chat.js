// Shopper web chat: pick a demo shopper and an order, chat, click buttons, upload photos, and see
// bot and agent messages live (SSE, resumed from the last seq; duplicates dropped by seq).
import { T } from "/static/strings.js";
import { makeApi, follow, el, yuan, toast } from "/static/api.js";

const $ = (id) => document.getElementById(id);
const state = { token: localStorage.getItem("shopperToken") || "", cid: null, orderId: null,
  lastSeq: 0, seen: new Set(), stream: null, pendingFile: null };
const api = makeApi(() => state.token);

function show(screen) {
  for (const id of ["login-screen", "orders-screen", "chat-screen"]) $(id).hidden = id !== screen;
  $("logout").hidden = screen === "login-screen";
  $("back").hidden = screen !== "chat-screen";
}

async function init() {
  $("title").textContent = T.appTitle;
  $("pick-title").textContent = T.pickShopper;
  $("text-input").placeholder = T.inputPlaceholder;
  $("human-btn").textContent = T.human;
  const config = await fetch("/api/config").then((r) => r.json()).catch(() => ({ demo: false }));
  const list = $("shopper-list");
  if (config.demo) {
    for (const [sid, name] of Object.entries(T.shoppers)) {
      list.append(el("button", { class: "shopper-pick", "data-shopper": sid, onclick: () => demoLogin(sid) },
        el("span", { class: "avatar" }, name.slice(0, 1)), el("span", {}, `${name}`),
        el("small", {}, sid)));
    }
  } else {
    $("pick-title").textContent = T.tokenPlaceholder;
  }
  if (state.token) await afterLogin();
  else show("login-screen");
}

async function demoLogin(sid) {
  const resp = await fetch("/api/demo/token", { method: "POST", headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ role: "shopper", subject: sid }) });
  if (!resp.ok) return toast(T.tokenPlaceholder);
  state.token = (await resp.json()).token;
  localStorage.setItem("shopperToken", state.token);
  await afterLogin();
}

async function afterLogin() {
  try {
    const orders = await api.get("/api/orders");
    renderOrders(orders);
    show("orders-screen");
  } catch (err) {
    if (err.status === 401) { logout(); return; }
    toast(err.message);
    show("orders-screen");
  }
}

function logout() {
  stopStream();
  state.token = "";
  localStorage.removeItem("shopperToken");
  show("login-screen");
}

function renderOrders(orders) {
  const box = $("orders");
  box.replaceChildren();
  for (const o of orders) {
    const lines = o.lines.map((l) => el("li", {}, el("span", { class: "line-name" }, l.name),
      el("span", { class: "line-meta" }, `${yuan(l.unit_price_cents)} × ${l.quantity}`)));
    box.append(el("div", { class: "card order-card", "data-order": o.order_id },
      el("div", { class: "order-head" }, el("strong", {}, `${T.order} ${o.order_id}`),
        el("span", { class: "badge" }, T.orderStatus[o.status] || o.status)),
      el("ul", { class: "lines" }, lines),
      el("button", { class: "primary wide", onclick: () => openChat(o.order_id) }, T.askAboutOrder)));
  }
}

async function openChat(orderId) {
  try {
    const body = await api.post("/api/conversations", { order_id: orderId });
    state.cid = body.conversation_id;
    state.orderId = orderId;
    state.lastSeq = 0;
    state.seen = new Set();
    $("messages").replaceChildren();
    show("chat-screen");
    addMessages(body.messages);
    startStream();
    refreshRefunds();
    $("text-input").focus();
  } catch (err) { toast(err.message); }
}

function stopStream() {
  if (state.stream) state.stream.abort();
  state.stream = null;
}

function startStream() {
  stopStream();
  const ctrl = new AbortController();
  state.stream = ctrl;
  follow(`/api/conversations/${state.cid}/stream`, () => state.token, {
    signal: ctrl.signal,
    lastSeq: () => state.lastSeq,
    onEvent: (event, msg) => { if (event === "message") addMessages([msg]); },
    onState: (up) => { const b = $("banner"); b.textContent = T.reconnecting; b.hidden = up; },
  });
}

function addMessages(messages) {
  let fresh = false;
  for (const m of messages) {
    if (state.seen.has(m.seq)) continue;
    state.seen.add(m.seq);
    state.lastSeq = Math.max(state.lastSeq, m.seq);
    renderMessage(m);
    if (m.sender !== "shopper") fresh = true;
  }
  if (fresh) refreshRefunds();
}

function renderMessage(m) {
  const box = $("messages");
  const bubble = el("div", { class: "bubble" });
  if (m.text) bubble.append(el("div", { class: "text" }, m.text));
  if (m.image) {
    const img = el("img", { class: "thumb", alt: m.text || "photo" });
    api.imageUrl(m.image).then((url) => { img.src = url; }).catch(() => {});
    bubble.append(img);
  }
  if (m.buttons && m.buttons.length) {
    bubble.append(el("div", { class: "buttons" }, m.buttons.map((b) =>
      el("button", { class: "chip", "data-payload": b.payload, onclick: () => sendButton(b.payload) }, b.title))));
  }
  // A notice (refund paid, coupon issued) is the refund service's word, told by the bot: marked as such.
  const row = el("div", { class: `msg ${m.sender}${m.notice ? " notice" : ""}`, "data-seq": m.seq },
    m.sender !== "shopper" ? el("div", { class: "avatar small" }, m.sender === "agent" ? "客" : "助") : null,
    el("div", { class: "col" }, el("div", { class: "who" }, T.sender[m.sender] || m.sender), bubble));
  // Keep seq order even if a stream frame arrives before the POST answer.
  const after = [...box.children].find((c) => Number(c.dataset.seq) > m.seq);
  box.insertBefore(row, after || null);
  box.scrollTop = box.scrollHeight;
}

async function sendText(text) {
  try {
    addMessages((await api.post(`/api/conversations/${state.cid}/messages`, { text })).messages);
  } catch (err) { toast(err.message); }
}

async function sendButton(payload) {
  try {
    addMessages((await api.post(`/api/conversations/${state.cid}/messages`, { button: payload })).messages);
  } catch (err) { toast(err.message); }
}

async function refreshRefunds() {
  if (!state.orderId) return;
  try {
    const refunds = (await api.get("/api/refunds")).filter((r) => r.order_id === state.orderId);
    const bar = $("refund-bar");
    bar.hidden = refunds.length === 0;
    bar.replaceChildren(el("strong", {}, T.refunds), ...refunds.map((r) =>
      el("span", { class: `refund-pill ${r.state}`, "data-refund": r.refund_id, "data-state": r.state },
        `${yuan(r.amount_cents)} · ${T.refundState[r.state] || r.state}`)));
  } catch (_) { /* the refund bar is a nicety */ }
}

function askKind(file) {
  state.pendingFile = file;
  const opts = $("kind-options");
  $("kind-title").textContent = T.choosePhotoKind;
  $("kind-cancel").textContent = T.cancel;
  opts.replaceChildren(...Object.entries(T.photoKinds).map(([kind, label]) =>
    el("button", { class: "chip", "data-kind": kind, onclick: () => upload(kind) }, label)));
  $("kind-sheet").hidden = false;
}

async function upload(kind) {
  $("kind-sheet").hidden = true;
  const file = state.pendingFile;
  state.pendingFile = null;
  $("file-input").value = "";
  if (!file) return;
  const form = new FormData();
  form.append("kind", kind);
  form.append("file", file);
  toast(T.uploading);
  try {
    addMessages((await api.upload(`/api/conversations/${state.cid}/photos`, form)).messages);
    $("toast").hidden = true;
  } catch (err) { toast(err.message); }
}

$("send-form").addEventListener("submit", (e) => {
  e.preventDefault();
  const input = $("text-input");
  const text = input.value.trim();
  if (!text) return;
  input.value = "";
  sendText(text);
});
$("human-btn").addEventListener("click", async () => {
  try { addMessages((await api.post(`/api/conversations/${state.cid}/handoff`)).messages); }
  catch (err) { toast(err.message); }
});
$("photo-btn").addEventListener("click", () => $("file-input").click());
$("file-input").addEventListener("change", (e) => { if (e.target.files[0]) askKind(e.target.files[0]); });
$("kind-cancel").addEventListener("click", () => { $("kind-sheet").hidden = true; state.pendingFile = null; });
$("logout").addEventListener("click", logout);
$("logout").textContent = T.logout;
$("back").addEventListener("click", () => { stopStream(); afterLogin(); });
$("no-order").textContent = T.askWithoutOrder;
$("no-order").addEventListener("click", () => openChat(null));
$("token-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  state.token = $("token-input").value.trim().replace(/^Bearer\s+/i, "");
  localStorage.setItem("shopperToken", state.token);
  await afterLogin();
});

init();
