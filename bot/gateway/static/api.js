// Small fetch helpers shared by both pages: JSON calls with the bearer token, authorised images,
// and an SSE reader over fetch (EventSource cannot send an Authorization header) that resumes
// from the last seq it saw.

export class ApiError extends Error {
  constructor(status, body) {
    super((body && (body.message_zh || body.detail)) || `HTTP ${status}`);
    this.status = status;
    this.body = body;
  }
}

export function makeApi(getToken) {
  async function call(method, path, body) {
    const headers = { Authorization: `Bearer ${getToken()}` };
    let payload;
    if (body instanceof FormData) payload = body;
    else if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      payload = JSON.stringify(body);
    }
    const resp = await fetch(path, { method, headers, body: payload });
    let data = null;
    try { data = await resp.json(); } catch (_) { data = null; }
    if (!resp.ok) throw new ApiError(resp.status, data);
    return data;
  }
  const imageCache = new Map();
  async function imageUrl(path) {
    if (!imageCache.has(path)) {
      imageCache.set(path, fetch(path, { headers: { Authorization: `Bearer ${getToken()}` } })
        .then((r) => (r.ok ? r.blob() : Promise.reject(new Error(r.status))))
        .then((b) => URL.createObjectURL(b)));
    }
    return imageCache.get(path);
  }
  return {
    get: (p) => call("GET", p),
    post: (p, b) => call("POST", p, b === undefined ? {} : b),
    upload: (p, form) => call("POST", p, form),
    imageUrl,
  };
}

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Follow an SSE endpoint until `signal` aborts; reconnects with ?after=<last seq>.
export async function follow(url, getToken, { onEvent, lastSeq, onState, signal }) {
  while (!signal.aborted) {
    try {
      const sep = url.includes("?") ? "&" : "?";
      const full = lastSeq ? `${url}${sep}after=${lastSeq()}` : url;
      const resp = await fetch(full, { headers: { Authorization: `Bearer ${getToken()}` }, signal });
      if (!resp.ok) throw new Error(`HTTP ${resp.status}`);
      onState && onState(true);
      const reader = resp.body.getReader();
      const decoder = new TextDecoder();
      let buf = "";
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        buf += decoder.decode(value, { stream: true });
        let cut;
        while ((cut = buf.indexOf("\n\n")) >= 0) {
          const frame = buf.slice(0, cut);
          buf = buf.slice(cut + 2);
          let event = "message";
          let data = "";
          for (const line of frame.split("\n")) {
            if (line.startsWith("event:")) event = line.slice(6).trim();
            else if (line.startsWith("data:")) data += line.slice(5).trim();
          }
          if (data) onEvent(event, JSON.parse(data));
        }
      }
    } catch (err) {
      if (signal.aborted) return;
    }
    onState && onState(false);
    await sleep(1000);
  }
}

export function el(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v;
    else if (k.startsWith("on")) node.addEventListener(k.slice(2), v);
    else if (v !== undefined && v !== null && v !== false) node.setAttribute(k, v);
  }
  for (const c of children.flat()) {
    if (c === null || c === undefined || c === false) continue;
    node.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return node;
}

export const yuan = (cents) => `¥${(cents / 100).toFixed(2)}`;

// A short notice in the page's #toast element (both pages have one).
export function toast(text) {
  const t = document.getElementById("toast");
  t.textContent = text;
  t.hidden = false;
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => { t.hidden = true; }, 3500);
}
