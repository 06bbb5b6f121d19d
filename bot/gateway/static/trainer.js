// Trainer page: the NLU inbox (most frequent first), labelling with intent and entity spans,
// dismiss, and the model panel (retrain with progress, before/after numbers, rollback, report).
import { T } from "/static/strings.js";
import { el, toast } from "/static/api.js";
import { staffLogin } from "/static/staff.js";

const $ = (id) => document.getElementById(id);
const state = { me: null, days: 7, status: "open",
  items: [], current: null, intents: [], entityTypes: [], spans: [], pick: null, run: null, poll: null };
const login = staffLogin({
  storageKey: "trainerToken", role: "trainer", subject: "t1", demoButton: "demo-trainer", demoLabel: T.demoTrainer,
  tokenHint: T.trainerToken, whoami: async (api) => (await api.get("/api/trainer/me")).trainer_id, onEnter: enter,
});
const api = login.api;
const pct = (x) => (x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)}%`);

async function init() {
  document.title = T.trainerTitle;
  $("title").textContent = T.trainerTitle;
  $("login-title").textContent = T.trainerTitle;
  $("token-btn").textContent = T.login;
  $("logout").textContent = T.logout;
  $("placeholder").textContent = T.pickItem;
  $("model-title").textContent = T.modelTitle;
  $("live-label").textContent = T.liveModel;
  $("retrain-btn").textContent = T.retrain;
  $("rollback-btn").textContent = T.rollback;
  $("report-btn").textContent = T.report;
  $("report-hint").textContent = T.reportHint;
  $("period").replaceChildren(...[7, 30, 0].map((d) => el("option", { value: d }, T.periods[d])));
  await login.start();
}

async function enter(me) {
  state.me = me;
  const meta = await api.get("/api/trainer/intents");
  state.intents = meta.intents;
  state.entityTypes = meta.entities;
  await Promise.all([refreshInbox(), refreshModel()]);
}

// ---- inbox list ------------------------------------------------------------------------------

async function refreshInbox() {
  const data = await api.get(`/api/trainer/inbox?status=${state.status}&days=${state.days}`);
  state.items = data.items;
  $("tabs").replaceChildren(...Object.keys(T.statuses).map((s) => el("button", {
    class: `tab${s === state.status ? " active" : ""}`, "data-status": s,
    onclick: () => { state.status = s; refreshInbox(); },
  }, `${T.statuses[s]} ${data.counts[s] || 0}`)));
  $("inbox").replaceChildren(...(data.items.length ? data.items.map(inboxRow)
    : [el("div", { class: "empty" }, T.emptyInbox)]));
}

function reasonChips(reasons) {
  return Object.entries(reasons).map(([r, n]) =>
    el("span", { class: `reason ${r}` }, `${T.hitReasons[r] || r}${n > 1 ? ` ×${n}` : ""}`));
}

function inboxRow(item) {
  const guess = item.model.ranking[0];
  return el("button", { class: `q-item${state.current && state.current.id === item.id ? " active" : ""}`,
    "data-item": item.id, onclick: () => select(item.id) },
  el("div", { class: "q-top" }, el("strong", { class: "inbox-text" }, item.text),
    el("span", { class: "count" }, `${item.hits_in_period}${T.times}`)),
  el("div", { class: "q-meta" }, ...reasonChips(item.reasons),
    guess ? el("span", { class: "guess" }, `${guess.name} ${pct(guess.confidence)}`) : null));
}

// ---- labelling -------------------------------------------------------------------------------

async function select(id) {
  state.current = await api.get(`/api/trainer/inbox/${id}`);
  state.spans = (state.current.label.entities || []).slice();
  state.pick = null;
  for (const row of document.querySelectorAll("#inbox .q-item")) {
    row.classList.toggle("active", Number(row.dataset.item) === id);
  }
  renderItem();
}

function renderItem() {
  const item = state.current;
  const pane = $("label-pane");
  const done = item.status !== "open";
  const intentSelect = el("select", { id: "intent-select" },
    el("option", { value: "" }, T.pickIntent),
    ...state.intents.map((name) => el("option", { value: name }, name)));
  const newIntent = el("input", { id: "new-intent", placeholder: T.newIntent, hidden: true, autocomplete: "off" });
  const guesses = item.model.ranking.map((r) => el("button", { class: "chip guess-chip", "data-intent": r.name,
    onclick: () => { intentSelect.value = r.name; newIntent.hidden = true; } }, `${r.name} ${pct(r.confidence)}`));
  if (item.label.intent) intentSelect.value = item.label.intent;
  pane.replaceChildren(
    el("div", { class: "card label-card" },
      el("div", { class: "row" }, el("span", { class: "q-meta" }, ...reasonChips(item.reasons)),
        el("span", { class: "count" }, `${item.hits}${T.times}`)),
      el("div", { class: "sentence", id: "sentence" }, ...[...item.text].map((ch, i) =>
        el("span", { class: "ch", "data-i": i, onclick: () => pickChar(i) }, ch))),
      el("h4", {}, T.modelGuess), el("div", { class: "buttons" }, guesses),
      el("h4", {}, T.rightIntent),
      el("div", { class: "intent-row" }, intentSelect,
        el("button", { class: "ghost", onclick: () => { newIntent.hidden = false; newIntent.focus(); intentSelect.value = ""; } },
          T.useNewIntent)),
      newIntent,
      el("h4", {}, T.entities), el("p", { class: "hint" }, T.entityHint),
      el("div", { class: "entity-row" },
        el("select", { id: "entity-type" }, ...state.entityTypes.map((e) => el("option", { value: e }, e))),
        el("button", { class: "ghost", id: "add-entity", onclick: addEntity }, T.addEntity)),
      el("div", { class: "spans", id: "spans" }),
      done ? el("p", { class: "done-note" }, item.status === "labelled"
        ? T.labelledAs.replace("{intent}", item.label.intent).replace("{file}", item.label.file || "data/nlu")
        : T.dismissedNote) : null,
      el("div", { class: "btns label-btns" },
        item.status !== "labelled" ? el("button", { class: "primary", id: "save-label", onclick: save }, T.saveLabel) : null,
        item.status === "open" ? el("button", { class: "ghost", id: "dismiss", onclick: dismiss }, T.dismiss) : null,
        item.status === "dismissed" ? el("button", { class: "ghost", id: "reopen", onclick: reopen }, T.reopen) : null)),
    el("div", { class: "card" }, el("h4", {}, T.context), ...item.contexts.map(contextBlock)));
  renderSpans();
}

function contextBlock(ctx) {
  return el("div", { class: "context" },
    el("div", { class: "q-meta" }, `${ctx.conversation_id} · #${ctx.seq} · ${(ctx.at || "").slice(0, 16).replace("T", " ")}`),
    ...ctx.messages.map((m) => el("div", { class: `ctx-line ${m.sender}${m.this ? " this" : ""}` },
      el("span", { class: "who" }, T.senders[m.sender] || m.sender), el("span", {}, m.text))));
}

function pickChar(i) {
  if (state.pick === null || state.pick.end !== null) state.pick = { start: i, end: null };
  else state.pick = { start: Math.min(state.pick.start, i), end: Math.max(state.pick.start, i) + 1 };
  renderSpans();
}

function addEntity() {
  const p = state.pick;
  if (!p) return toast(T.entityHint);
  const span = { start: p.start, end: p.end === null ? p.start + 1 : p.end, entity: $("entity-type").value };
  if (state.spans.some((s) => s.start < span.end && span.start < s.end)) return toast(T.entityHint);
  state.spans.push(span);
  state.spans.sort((a, b) => a.start - b.start);
  state.pick = null;
  renderSpans();
}

function renderSpans() {
  const text = [...state.current.text];
  for (const node of document.querySelectorAll("#sentence .ch")) {
    const i = Number(node.dataset.i);
    const p = state.pick;
    node.classList.toggle("picked", !!p && (p.end === null ? i === p.start : i >= p.start && i < p.end));
    node.classList.toggle("entity", state.spans.some((s) => i >= s.start && i < s.end));
  }
  $("spans").replaceChildren(...(state.spans.length ? state.spans.map((s, k) => el("span", { class: "chip span-chip" },
    `${text.slice(s.start, s.end).join("")} → ${s.entity} `,
    el("button", { class: "link-btn", onclick: () => { state.spans.splice(k, 1); renderSpans(); } }, "×")))
    : [el("span", { class: "hint" }, T.noEntities)]));
}

// Offsets sent to the server count Unicode code points, as Python does.
async function save() {
  const custom = $("new-intent");
  const intent = (!custom.hidden && custom.value.trim()) || $("intent-select").value;
  if (!intent) return toast(T.pickIntent);
  try {
    state.current = await api.post(`/api/trainer/inbox/${state.current.id}/label`, { intent, entities: state.spans });
    toast(T.saved);
    if (!state.intents.includes(intent)) state.intents = [...state.intents, intent].sort();
  } catch (err) { return toast(err.message); }
  renderItem();
  refreshInbox();
}

async function dismiss() {
  try { state.current = await api.post(`/api/trainer/inbox/${state.current.id}/dismiss`); }
  catch (err) { return toast(err.message); }
  renderItem();
  refreshInbox();
}

async function reopen() {
  try { state.current = await api.post(`/api/trainer/inbox/${state.current.id}/reopen`); }
  catch (err) { return toast(err.message); }
  renderItem();
  refreshInbox();
}

// ---- model panel -----------------------------------------------------------------------------

async function refreshModel() {
  try {
    const data = await api.get("/api/trainer/retrain");
    $("live-model").textContent = data.live_model || "–";
    showRun(data.run);
  } catch (err) { toast(err.message); }
}

function showRun(run) {
  state.run = run;
  $("run-box").hidden = !run;
  if (!run) return;
  const active = ["queued", "training", "evaluating", "loading"].includes(run.state);
  $("run-state").textContent = T.runStates[run.state] || run.state;
  $("run-state").dataset.state = run.state;
  $("run-id").textContent = run.run_id;
  $("run-bar").style.width = `${Math.round(active ? run.percent || 0 : 100)}%`;
  $("run-bar").className = `bar ${run.state}`;
  $("run-phase").textContent = run.phase || "";
  const before = run.before || {};
  const after = run.after || {};
  $("run-compare").hidden = !run.after;
  const unseenBefore = run.before_unseen || {};
  const unseenAfter = run.after_unseen || {};
  $("run-compare").replaceChildren(
    el("tr", {}, el("th", {}, ""), el("th", {}, T.before), el("th", {}, T.after)),
    el("tr", {}, el("td", {}, T.accuracy), el("td", {}, pct(before.accuracy)), el("td", { class: "after" }, pct(after.accuracy))),
    el("tr", {}, el("td", {}, T.macroF1), el("td", {}, pct(before.macro_f1)), el("td", { class: "after" }, pct(after.macro_f1))),
    ...(run.after_unseen ? [
      el("tr", {}, el("td", {}, T.unseenAccuracy), el("td", {}, pct(unseenBefore.accuracy)), el("td", { class: "after" }, pct(unseenAfter.accuracy))),
      el("tr", {}, el("td", {}, T.unseenMacroF1), el("td", {}, pct(unseenBefore.macro_f1)), el("td", { class: "after" }, pct(unseenAfter.macro_f1)))] : []),
    ...(run.after_fold ? [
      el("tr", {}, el("td", {}, T.foldMacroF1), el("td", {}, pct((run.before_fold || {}).macro_f1)), el("td", { class: "after" }, pct(run.after_fold.macro_f1)))] : []));
  $("run-reason").textContent = run.error || run.reason || run.decision || "";
  $("retrain-btn").disabled = active;
  clearTimeout(state.poll);
  if (active) state.poll = setTimeout(pollRun, 2000);
  else if (run.state === "accepted") $("live-model").textContent = run.candidate_model || $("live-model").textContent;
}

async function pollRun() {
  try { showRun(await api.get(`/api/trainer/retrain/${state.run.run_id}`)); }
  catch (err) { state.poll = setTimeout(pollRun, 5000); }
}

$("retrain-btn").addEventListener("click", async () => {
  try { showRun(await api.post("/api/trainer/retrain", {})); } catch (err) { toast(err.message); }
});
$("rollback-btn").addEventListener("click", async () => {
  if (!confirm(T.confirmRollback)) return;
  try { await api.post("/api/trainer/rollback"); } catch (err) { toast(err.message); }
  refreshModel();
});
$("report-btn").addEventListener("click", async () => {
  const win = window.open("", "_blank");
  const resp = await fetch("/api/trainer/report", { headers: { Authorization: `Bearer ${login.token()}` } });
  if (!resp.ok) {
    if (win) win.close();
    const body = await resp.json().catch(() => ({}));
    return toast(body.message_zh || `HTTP ${resp.status}`);
  }
  const url = URL.createObjectURL(await resp.blob());
  if (win) win.location = url; else location.href = url;
});
$("period").addEventListener("change", (e) => { state.days = Number(e.target.value); refreshInbox(); });

init();
