// Agent console: queue with reasons and waiting time, claim, live transcript with photo thumbnails,
// order lines, refunds with risk reasons, approve/reject, reply, release. Controls are shown only to whoever may use
// them (bot/gateway/agents.py): the holder replies and releases; the holder or a supervisor decides a refund. Everyone
// else sees who holds the conversation and what to do (claim it, ask a supervisor).
import { T } from "/static/strings.js";
import { follow, el, yuan, toast } from "/static/api.js";
import { staffLogin } from "/static/staff.js";

const $ = (id) => document.getElementById(id);
const state = { me: null, role: "agent", cid: null, lastSeq: 0,
  seen: new Set(), stream: null, queueStream: null };
async function whoami(api) {
  const me = await api.get("/api/agent/me");
  state.role = me.role;
  return me.agent_id;
}
const login = staffLogin({
  storageKey: "agentToken", role: "agent", subject: "a1", demoButton: "demo-agent", demoLabel: T.demoAgent,
  tokenHint: T.agentToken, whoami, onEnter: enter,
});
const api = login.api;

function waited(seconds) {
  return seconds < 60 ? `${seconds}${T.seconds}` : `${Math.floor(seconds / 60)}${T.minutes}${seconds % 60}${T.seconds}`;
}

async function init() {
  $("title").textContent = T.consoleTitle;
  $("login-title").textContent = T.consoleTitle;
  $("queue-title").textContent = T.queue;
  $("mine-title").textContent = T.mine;
  $("claim-btn").textContent = T.claim;
  $("release-btn").textContent = T.release;
  $("reply-input").placeholder = T.replyPlaceholder;
  $("reply-btn").textContent = T.reply;
  $("logout").textContent = T.logout;
  $("placeholder").textContent = T.pickConversation;
  await login.start();
}

async function enter(me) {
  state.me = me;
  await refreshQueue();
  if (state.queueStream) state.queueStream.abort();
  state.queueStream = new AbortController();
  // a claim, release or assignment of the open conversation changes who may do what in it
  follow("/api/agent/stream", login.token, { signal: state.queueStream.signal,
    onEvent: (_event, data) => { refreshQueue(); if (data && data.conversation_id === state.cid) loadDetail(); } });
  setInterval(refreshQueue, 10000);
}

function queueItem(item) {
  return el("button", { class: `q-item${item.conversation_id === state.cid ? " active" : ""}`,
    "data-cid": item.conversation_id, onclick: () => select(item.conversation_id) },
  el("div", { class: "q-top" }, el("strong", {}, `${T.shopper} ${item.shopper_id}`),
    el("span", { class: `reason ${item.reason}` }, T.reasons[item.reason] || item.reason)),
  el("div", { class: "q-meta" }, `${item.order_id ? `${T.order} ${item.order_id} · ` : ""}` +
    (item.status === "waiting" ? `${T.waited} ${waited(item.waiting_seconds)}` : "")));
}

async function refreshQueue() {
  try {
    const [queue, mine] = await Promise.all([api.get("/api/agent/queue"), api.get("/api/agent/mine")]);
    $("queue").replaceChildren(...(queue.length ? queue.map(queueItem) : [el("div", { class: "empty" }, T.emptyQueue)]));
    $("mine").replaceChildren(...mine.map(queueItem));
  } catch (err) { if (err.status === 401) login.logout(); }
}

async function select(cid) {
  state.cid = cid;
  state.lastSeq = 0;
  state.seen = new Set();
  $("messages").replaceChildren();
  if (state.stream) state.stream.abort();
  state.stream = new AbortController();
  follow(`/api/agent/conversations/${cid}/stream`, login.token, { signal: state.stream.signal,
    lastSeq: () => state.lastSeq, onEvent: (event, msg) => { if (event === "message") addMessages([msg]); } });
  await loadDetail();
  refreshQueue();
}

async function loadDetail() {
  const d = await api.get(`/api/agent/conversations/${state.cid}`);
  addMessages(d.messages);
  const mine = d.holder === `agent:${state.me}`;
  const holder = d.holder.startsWith("agent:") ? d.holder.slice(6) : null;
  $("conv-head").hidden = false;
  $("conv-title").textContent = `${T.shopper} ${d.shopper_id}${d.order_id ? ` · ${T.order} ${d.order_id}` : ""}`;
  $("conv-holder").textContent = holder ? T.heldBy.replace("{agent}", holder) : (T.holder[d.holder] || d.holder);
  $("claim-btn").hidden = d.holder !== "queue";
  $("release-btn").hidden = !mine;
  $("composer").hidden = !mine;
  let hint = "";
  if (!mine && state.role === "supervisor") hint = T.hintSupervisor;
  else if (!mine) hint = d.holder === "queue" ? T.hintQueued : holder ? T.hintHeld.replace("{agent}", holder) : T.hintBot;
  $("conv-hint").textContent = hint;
  $("conv-hint").hidden = !hint;
  renderPanel(d, mine, holder);
}

// Who may approve or reject refund `r` from here, as the gateway decides it: a supervisor any; an agent only one
// whose conversation (the refund's own, else the handoff naming it) this agent holds. Otherwise, what to do instead.
function decision(r, d, mine, holder) {
  if (state.role === "supervisor") return { may: true };
  const linked = d.handoffs.some((h) => h.refund_id === r.refund_id);
  const conversation = r.conversation_id || (linked ? d.conversation_id : null);
  if (mine && conversation === d.conversation_id) return { may: true };
  if (conversation !== d.conversation_id) return { hint: T.decideSupervisor };
  if (d.holder === "queue") return { hint: T.decideQueued };
  return { hint: holder ? T.decideHeld.replace("{agent}", holder) : T.decideSupervisor };
}

function renderPanel(d, mine, holder) {
  const panel = $("panel");
  panel.replaceChildren();
  // systemic issues with this conversation's goods (the refund service's alerts), e.g. 这款商品近24小时破损报告异常：17单
  for (const a of d.alerts || []) {
    panel.append(el("div", { class: "conv-hint systemic-alert", "data-key": a.key }, `⚠ ${a.message_zh}`));
  }
  if (d.order) {
    panel.append(el("h3", {}, `${T.orderLines} · ${d.order.order_id}`),
      el("div", { class: "box" }, el("ul", { class: "lines" }, d.order.lines.map((l) =>
        el("li", {}, el("span", { class: "line-name" }, l.name),
          el("span", { class: "line-meta" }, `${yuan(l.unit_price_cents)} × ${l.quantity}`))))));
  }
  panel.append(el("h3", {}, T.refunds));
  if (!d.refunds.length) panel.append(el("div", { class: "empty" }, T.noRefunds));
  for (const r of d.refunds) {
    const reason = el("input", { placeholder: T.reasonPlaceholder });
    const open = r.state === "needs_review" || r.state === "requested";
    const who = decision(r, d, mine, holder);
    panel.append(el("div", { class: "box refund-box", "data-refund": r.refund_id },
      el("div", { class: "row" }, el("strong", {}, yuan(r.amount_cents)),
        el("span", { class: `refund-pill ${r.state}`, "data-state": r.state }, T.refundState[r.state] || r.state)),
      el("div", { class: "row" }, el("span", {}, `${T.riskScore} ${r.risk_score}`), el("small", {}, r.refund_id)),
      r.risk_reasons.length ? el("ul", { class: "risk-list" }, r.risk_reasons.map((x) => el("li", {}, x.detail || x.code))) : null,
      open && who.may ? el("div", { class: "decide" }, reason, el("div", { class: "btns" },
        el("button", { class: "ok-btn", onclick: () => decide(r.refund_id, "approve", reason.value) }, T.approve),
        el("button", { class: "no-btn", onclick: () => decide(r.refund_id, "reject", reason.value) }, T.reject))) : null,
      open && !who.may ? el("div", { class: "hint decide-hint" }, who.hint) : null));
  }
  // Who did what here (append-only audit log): time, who, action, state before → after.
  const change = (x) => (x ? Object.values(x).join(" ") : "");
  if (d.audit && d.audit.length) {
    panel.append(el("h3", {}, T.audit), el("ul", { class: "audit-list" }, d.audit.map((a) => el("li",
      { "data-action": a.action }, `${new Date(a.at).toLocaleTimeString("zh-CN", { hour12: false })} ${a.actor} ` +
      `${T.auditActions[a.action] || a.action} ${change(a.before)} → ${change(a.after)}`))));
  }
}

function addMessages(messages) {
  const box = $("messages");
  for (const m of messages) {
    if (state.seen.has(m.seq)) continue;
    state.seen.add(m.seq);
    state.lastSeq = Math.max(state.lastSeq, m.seq);
    const bubble = el("div", { class: "bubble" }, m.text ? el("div", { class: "text" }, m.text) : null);
    if (m.image) {
      const img = el("img", { class: "thumb", alt: m.text });
      api.imageUrl(m.image).then((url) => { img.src = url; }).catch(() => {});
      bubble.append(img);
    }
    if (m.buttons && m.buttons.length) {
      bubble.append(el("div", { class: "buttons" }, m.buttons.map((b) => el("span", { class: "chip" }, b.title))));
    }
    const who = m.sender === "agent" ? `${T.sender.agent} ${m.agent_id || ""}` : (T.sender[m.sender] || m.sender);
    const typed = m.sender === "shopper" && m.text && !m.image && !(m.buttons && m.buttons.length) && !m.payload;
    const mark = typed ? el("button", { class: "mark-btn", "data-mark": m.seq, onclick: () => markMisunderstood(m.seq, mark) },
      T.markMisunderstood) : null;
    const row = el("div", { class: `msg ${m.sender}${m.notice ? " notice" : ""}`, "data-seq": m.seq },
      el("div", { class: "col" }, el("div", { class: "who" }, m.sender === "shopper" ? T.shopper : who), bubble, mark));
    const after = [...box.children].find((c) => Number(c.dataset.seq) > m.seq);
    box.insertBefore(row, after || null);
  }
  box.scrollTop = box.scrollHeight;
}

// The bot got this shopper message wrong: send it to the trainers' NLU inbox.
async function markMisunderstood(seq, button) {
  try {
    await api.post(`/api/agent/conversations/${state.cid}/messages/${seq}/misunderstood`);
    button.textContent = T.markedMisunderstood;
    button.classList.add("marked");
    button.disabled = true;
  } catch (err) { toast(err.message); }
}

async function decide(rid, action, reason) {
  try {
    await api.post(`/api/agent/refunds/${rid}/${action}`, { reason });
    await loadDetail();
  } catch (err) { toast(err.message); }
}

$("claim-btn").addEventListener("click", async () => {
  try { await api.post(`/api/agent/conversations/${state.cid}/claim`); } catch (err) { toast(err.message); }
  await loadDetail();
  refreshQueue();
});
$("release-btn").addEventListener("click", async () => {
  try { await api.post(`/api/agent/conversations/${state.cid}/release`); } catch (err) { toast(err.message); }
  await loadDetail();
  refreshQueue();
});
$("reply-form").addEventListener("submit", async (e) => {
  e.preventDefault();
  const text = $("reply-input").value.trim();
  if (!text) return;
  $("reply-input").value = "";
  try { addMessages((await api.post(`/api/agent/conversations/${state.cid}/messages`, { text })).messages); }
  catch (err) { toast(err.message); }
});
init();
