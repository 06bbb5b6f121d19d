// Operations board (/ops): the figures of a period from /api/ops/summary, drawn as inline SVG (no library,
// nothing fetched but our own API), with the systemic-issue alerts on top. Roles ops and supervisor.
import { el, toast, yuan } from "/static/api.js";
import { staffLogin } from "/static/staff.js";

const T = {
  title: "运营看板", login: "进入", logout: "退出", demo: "演示：以运营身份进入",
  tokenHint: "粘贴运营或主管令牌（python -m bot.cli token ops ops1）",
  periods: { "24h": "近24小时", "7d": "近7天", "30d": "近30天", custom: "自定义" }, query: "查询",
  unavailable: "退款服务暂时不可用：退款、到账时间和预警暂缺，其余数据照常。",
  noAlerts: "暂无系统性问题预警", alertRule: (r) => `近${r.window_hours}小时 ≥${r.min_reports}单且达平时${r.ratio}倍`,
  usual: (a) => `平时约${a.usual}单/${a.window_hours}小时 · ${a.ratio}倍`,
  kpi: {
    started: "会话数", contained: "机器人独立解决率", handoff: "转人工率", fallback: "未听懂率",
    money: "首条消息到钱到账（中位数）", refunds: "退款单数", auto: "极速退款占比", settle: "退款创建到到账（中位数）",
  },
  sub: {
    contained: (c) => `${c.contained} / ${c.started} 个会话没有转人工`, handoff: (c) => `${c.handed_off} 个会话`,
    fallback: (u) => `${u.fallbacks} / ${u.parsed} 条顾客消息`, money: (m) => `P90 ${dur(m.all.p90_seconds)} · ${m.all.count} 个会话`,
    refunds: (r) => `共 ${yuan(r.refunds.amount_cents)}`, auto: (r) => `${r.refunds.auto_settled} 单当场到账`,
    settle: (r) => `P90 ${dur(r.settle_seconds.p90_seconds)} · ${r.settle_seconds.count} 单`,
  },
  charts: {
    trend: "会话趋势", trendHint: "每根柱：机器人独立解决 + 转人工", contained: "机器人独立解决", handed: "转人工",
    handoffs: "转人工原因", handoffsHint: "占全部会话", money: "首条消息到钱到账", moneyHint: "中位数与P90",
    remedy: "退款还是优惠券", cases: "退款按问题类型", skus: "退款最多的商品（SKU）", merchants: "退款最多的商家",
    texts: "最常没听懂的话", empty: "这段时间没有数据",
  },
  moneyGroups: { all: "全部", bot_only: "机器人独立", with_agent: "有人工参与" }, median: "中位数", p90: "P90",
  reasons: { asked: "顾客要求", risk: "风险审核", appeal: "申诉", complaint: "投诉", fallback: "没听懂" },
  cases: { damaged: "商品破损", missing_item: "少件漏发", wrong_item: "发错货", not_as_described: "与描述不符",
    not_delivered: "未收到货" },
  remedies: { refund: "退款", coupon: "优惠券" }, unknownMerchant: "未标注商家", times: (n) => `${n}次`,
  orders: (n) => `${n}单`,
};
const CASES = Object.keys(T.cases);
const $ = (id) => document.getElementById(id);
const state = { period: "24h", since: null, until: null };
const login = staffLogin({
  storageKey: "opsToken", role: "ops", subject: "ops1", demoButton: "demo-ops", demoLabel: T.demo,
  tokenHint: T.tokenHint, whoami: async (api) => (await api.get("/api/ops/me")).ops_id, onEnter: refresh,
});

// ---- formatting ------------------------------------------------------------------------------------

function pct(x) { return x === null || x === undefined ? "–" : `${(x * 100).toFixed(1)}%`; }
function dur(s) {
  if (s === null || s === undefined) return "–";
  if (s < 60) return `${Math.round(s)}秒`;
  if (s < 3600) return `${(s / 60).toFixed(1)}分钟`;
  if (s < 86400 * 2) return `${(s / 3600).toFixed(1)}小时`;
  return `${(s / 86400).toFixed(1)}天`;
}
const pad = (n) => String(n).padStart(2, "0");
// A bucket's start as the server wrote it in shop time ("2026-12-05T14:00:00+08:00"): 12/5 or 12/5 14:00.
function shopTime(iso, withHour) {
  const day = `${Number(iso.slice(5, 7))}/${Number(iso.slice(8, 10))}`;
  return withHour ? `${day} ${iso.slice(11, 16)}` : day;
}
function stamp(date, withDay) {
  const day = `${date.getMonth() + 1}/${date.getDate()}`;
  return withDay ? `${day} ${pad(date.getHours())}:${pad(date.getMinutes())}` : day;
}

// ---- SVG -------------------------------------------------------------------------------------------

const NS = "http://www.w3.org/2000/svg";
function svg(tag, attrs = {}, ...children) {
  const node = document.createElementNS(NS, tag);
  for (const [k, v] of Object.entries(attrs)) if (v !== undefined && v !== null) node.setAttribute(k, v);
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}
const tip = (text) => svg("title", {}, text);

function legend(items) {
  return el("div", { class: "legend" }, items.map(([cls, label]) =>
    el("span", {}, el("span", { class: `swatch ${cls}` }), label)));
}

function figure(id, title, hint, ...body) {
  $(id).replaceChildren(el("figcaption", {}, title, hint ? el("span", { class: "hint" }, hint) : null), ...body);
}
const empty = () => el("div", { class: "empty" }, T.charts.empty);

// Horizontal bars: rows of {label, parts: [{value, cls, title}], text}; one scale for all rows.
function hbars(rows, { labelWidth = 130, width = 560 } = {}) {
  if (!rows.length) return empty();
  const rowH = 26;
  const max = Math.max(1e-9, ...rows.map((r) => r.parts.reduce((s, p) => s + p.value, 0)));
  const barW = width - labelWidth - 160;  // room for the figure written after the bar
  const out = svg("svg", { viewBox: `0 0 ${width} ${rows.length * rowH + 6}`, role: "img" });
  rows.forEach((r, i) => {
    const y = i * rowH + 4;
    out.append(svg("text", { x: labelWidth - 8, y: y + 14, "text-anchor": "end" }, r.label));
    let x = labelWidth;
    for (const p of r.parts) {
      const w = (p.value / max) * barW;
      if (w > 0) out.append(svg("rect", { x, y, width: Math.max(w, 1.5), height: 18, rx: 3, class: p.cls }, tip(p.title)));
      x += w;
    }
    out.append(svg("text", { x: x + 6, y: y + 14, class: "value" }, r.text));
  });
  return out;
}

// Stacked columns over time: bottom series cls s0, top s1.
function columns(series, bottom, top) {
  const n = bottom.length;
  if (!n || !bottom.some((v, i) => v + top[i] > 0)) return empty();
  const width = 1180, height = 220, left = 40, base = height - 24, plotW = width - left - 10;
  const max = Math.max(1, ...bottom.map((v, i) => v + top[i]));
  const step = plotW / n, barW = Math.max(step * 0.7, 1);
  const out = svg("svg", { viewBox: `0 0 ${width} ${height}`, role: "img" });
  const ticks = [...new Set([0, Math.round(max / 2), max])];
  for (const t of ticks) {
    const y = base - (t / max) * (base - 10);
    out.append(svg("line", { x1: left, x2: width - 10, y1: y, y2: y, class: "grid" }),
      svg("text", { x: left - 6, y: y + 4, "text-anchor": "end", class: "muted" }, t));
  }
  const hourly = series.bucket === "hour";
  const every = Math.max(1, Math.ceil(n / 12));
  for (let i = 0; i < n; i++) {
    const x = left + i * step + (step - barW) / 2;
    const h0 = (bottom[i] / max) * (base - 10), h1 = (top[i] / max) * (base - 10);
    const label = shopTime(series.starts[i], hourly);
    if (h0 > 0) out.append(svg("rect", { x, y: base - h0, width: barW, height: h0, class: "s0" },
      tip(`${label} ${T.charts.contained} ${bottom[i]}`)));
    if (h1 > 0) out.append(svg("rect", { x, y: base - h0 - h1, width: barW, height: h1, class: "s1" },
      tip(`${label} ${T.charts.handed} ${top[i]}`)));
    if (i % every === 0) {
      out.append(svg("text", { x: x + barW / 2, y: height - 6, "text-anchor": "middle", class: "muted" }, label));
    }
  }
  return out;
}

// A ring of shares with the total in the middle.
function donut(parts, centre) {
  const total = parts.reduce((s, p) => s + p.value, 0);
  if (!total) return empty();
  const out = svg("svg", { viewBox: "0 0 320 170", role: "img", class: "donut" });
  const cx = 85, cy = 85, r = 70, inner = 44;
  let angle = -Math.PI / 2;
  parts.forEach((p, i) => {
    if (!p.value) return;
    const sweep = (p.value / total) * Math.PI * 2;
    if (sweep >= Math.PI * 2 - 1e-6) {
      out.append(svg("circle", { cx, cy, r, class: p.cls }, tip(p.title)), svg("circle", { cx, cy, r: inner, fill: "#fff" }));
    } else {
      const a2 = angle + sweep, large = sweep > Math.PI ? 1 : 0;
      const pt = (rad, a) => `${cx + rad * Math.cos(a)} ${cy + rad * Math.sin(a)}`;
      out.append(svg("path", { d: `M ${pt(r, angle)} A ${r} ${r} 0 ${large} 1 ${pt(r, a2)} L ${pt(inner, a2)} `
        + `A ${inner} ${inner} 0 ${large} 0 ${pt(inner, angle)} Z`, class: p.cls }, tip(p.title)));
    }
    angle += sweep;
    out.append(svg("text", { x: 180, y: 60 + i * 26 }, `${p.label}  ${p.value}（${pct(p.value / total)}）`));
  });
  out.append(svg("text", { x: cx, y: cy + 5, "text-anchor": "middle", class: "centre" }, centre));
  return out;
}

// ---- the board -------------------------------------------------------------------------------------

function kpi(label, value, sub, tone) {
  return el("div", { class: `kpi${tone ? ` ${tone}` : ""}` }, el("div", { class: "label" }, label),
    el("div", { class: "value" }, value), el("div", { class: "sub" }, sub));
}

function renderKpis(d) {
  const c = d.conversations, u = d.understanding, m = d.time_to_money, r = d.refunds;
  const cards = [
    kpi(T.kpi.started, c.started, T.periods[d.period.name] || ""),
    kpi(T.kpi.contained, pct(c.containment_rate), T.sub.contained(c), "good"),
    kpi(T.kpi.handoff, pct(c.handoff_rate), T.sub.handoff(c)),
    kpi(T.kpi.fallback, pct(u.fallback_rate), T.sub.fallback(u), u.fallback_rate > 0.1 ? "bad" : ""),
  ];
  if (m) cards.push(kpi(T.kpi.money, dur(m.all.median_seconds), T.sub.money(m)));
  if (r) {
    cards.push(kpi(T.kpi.refunds, r.refunds.count, T.sub.refunds(r)),
      kpi(T.kpi.auto, pct(r.refunds.auto_settled_rate), T.sub.auto(r)),
      kpi(T.kpi.settle, dur(r.settle_seconds.median_seconds), T.sub.settle(r)));
  }
  $("kpis").replaceChildren(...cards);
}

function renderAlerts(d) {
  if (!d.alerts) return $("alerts").replaceChildren();
  const rule = el("small", {}, T.alertRule(d.alert_rule));
  if (!d.alerts.length) return $("alerts").replaceChildren(el("div", { class: "ops-alert none" }, T.noAlerts, rule));
  $("alerts").replaceChildren(...d.alerts.map((a) => el("div", { class: "ops-alert", "data-key": a.key },
    el("strong", {}, "⚠"), el("span", {}, `${a.message_zh}`),
    el("span", {}, a.scope === "sku" ? `${a.key}${a.name ? ` ${a.name}` : ""}` : a.key),
    el("small", {}, T.usual(a)))));
}

function renderCharts(d) {
  const c = d.conversations;
  const contained = c.series.started.map((v, i) => v - c.series.handed_off[i]);
  figure("chart-trend", T.charts.trend, T.charts.trendHint, columns(c.series, contained, c.series.handed_off),
    legend([["s0", T.charts.contained], ["s1", T.charts.handed]]));

  const reasons = Object.entries(c.handoffs_by_reason).sort((a, b) => b[1].count - a[1].count);
  figure("chart-handoffs", T.charts.handoffs, T.charts.handoffsHint, hbars(reasons.map(([k, v], i) => ({
    label: T.reasons[k] || k, parts: [{ value: v.rate, cls: `s${(i + 1) % 6}`, title: `${v.count}` }],
    text: `${pct(v.rate)}（${v.count}）` })), { labelWidth: 90, width: 520 }));

  const m = d.time_to_money;
  if (m) {
    const rows = Object.keys(T.moneyGroups).map((k) => ({ label: T.moneyGroups[k], parts: [
      { value: m[k].median_seconds || 0, cls: "s0", title: `${T.median} ${dur(m[k].median_seconds)}` },
      { value: Math.max((m[k].p90_seconds || 0) - (m[k].median_seconds || 0), 0), cls: "s-soft",
        title: `${T.p90} ${dur(m[k].p90_seconds)}` }],
      text: `${dur(m[k].median_seconds)} / ${dur(m[k].p90_seconds)}` }));
    figure("chart-money", T.charts.money, T.charts.moneyHint, m.all.count ? hbars(rows, { labelWidth: 90, width: 520 })
      : empty(), legend([["s0", T.median], ["s-soft", T.p90]]));
  } else figure("chart-money", T.charts.money, "", empty());

  const r = d.refunds;
  if (r) {
    figure("chart-remedy", T.charts.remedy, "", donut([
      { label: T.remedies.refund, value: r.remedies.refund, cls: "s0", title: T.remedies.refund },
      { label: T.remedies.coupon, value: r.remedies.coupon, cls: "s3", title: T.remedies.coupon }],
    `${r.remedies.refund + r.remedies.coupon}`));
    figure("chart-cases", T.charts.cases, "", hbars(r.refunds.by_case_type.map((x) => ({
      label: T.cases[x.case_type] || x.case_type, parts: [{ value: x.count, cls: `s${CASES.indexOf(x.case_type) % 6}`,
        title: yuan(x.amount_cents) }], text: `${T.orders(x.count)} · ${yuan(x.amount_cents)}` })),
    { labelWidth: 100, width: 520 }));
    const stacked = (g) => CASES.filter((k) => g.by_case_type[k]).map((k) => ({
      value: g.by_case_type[k], cls: `s${CASES.indexOf(k) % 6}`, title: `${T.cases[k]} ${g.by_case_type[k]}` }));
    figure("chart-skus", T.charts.skus, "", hbars(r.by_sku.map((g) => ({
      label: g.name ? `${g.name.slice(0, 14)}` : g.key, parts: stacked(g),
      text: `${T.orders(g.count)} · ${yuan(g.amount_cents)}` })), { labelWidth: 190, width: 1180 }),
    legend(CASES.map((k, i) => [`s${i % 6}`, T.cases[k]])));
    figure("chart-merchants", T.charts.merchants, "", hbars(r.by_merchant.map((g) => ({
      label: g.key || T.unknownMerchant, parts: stacked(g), text: `${T.orders(g.count)} · ${yuan(g.amount_cents)}` })),
    { labelWidth: 110, width: 520 }));
  } else for (const id of ["chart-remedy", "chart-cases", "chart-skus", "chart-merchants"]) figure(id, "", "", empty());

  const texts = d.understanding.misunderstood;
  figure("misunderstood", T.charts.texts, "", texts.length ? el("ol", { class: "texts" }, texts.map((t) =>
    el("li", {}, el("span", {}, t.text), el("small", {}, T.times(t.hits))))) : empty());
}

async function refresh() {
  const params = new URLSearchParams({ period: state.period });
  if (state.period === "custom") {
    params.set("since", state.since);
    params.set("until", state.until);
  }
  let data;
  try {
    data = await login.api.get(`/api/ops/summary?${params}`);
  } catch (err) {
    return toast(err.message);
  }
  const since = new Date(data.period.since), until = new Date(data.period.until);
  $("period-note").textContent = `${stamp(since, true)} — ${stamp(until, true)}`;
  $("unavailable").hidden = !data.unavailable.length;
  renderAlerts(data);
  renderKpis(data);
  renderCharts(data);
  document.body.dataset.loaded = data.period.name;
}

function renderPeriods() {
  $("periods").replaceChildren(...Object.keys(T.periods).map((p) => el("button", {
    class: `tab${p === state.period ? " active" : ""}`, "data-period": p, type: "button",
    onclick: () => {
      state.period = p;
      renderPeriods();
      $("custom-form").hidden = p !== "custom";
      if (p !== "custom") refresh();
    },
  }, T.periods[p])));
}

function init() {
  document.title = T.title;
  $("title").textContent = T.title;
  $("login-title").textContent = T.title;
  $("token-btn").textContent = T.login;
  $("logout").textContent = T.logout;
  $("custom-btn").textContent = T.query;
  $("unavailable").textContent = T.unavailable;
  $("custom-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.since = new Date($("since-input").value).toISOString();
    state.until = new Date($("until-input").value).toISOString();
    refresh();
  });
  renderPeriods();
  login.start();
}

init();
