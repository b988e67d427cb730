// Live view: polls /api/status and /api/dlq every few seconds (paused while the tab is hidden)
// and updates the page in place. Every string from the API goes in as text (see dom.js).
"use strict";

const POLL_MS = 2500;
const DLQ_LIMIT = 200;

const state = {
  status: null, // last /api/status answer
  dlq: null, // last /api/dlq answer
  problem: null, // null | {kind: "offline" | "auth", detail}
  cards: new Map(), // scheme name -> {el, refs}
  rows: new Map(), // dead-letter id -> {row, sig}
  busy: new Set(), // dead-letter ids with a request in flight
};

let pollTimer = null;
let refreshing = null;

function $(id) {
  return document.getElementById(id);
}

// ---- polling -----------------------------------------------------------------------------------

/** Fetches status and dead letters once and redraws; concurrent calls share one fetch. */
function refresh() {
  if (!refreshing) {
    refreshing = doRefresh().finally(() => {
      refreshing = null;
    });
  }
  return refreshing;
}

async function doRefresh() {
  const scheme = $("dlq-scheme").value;
  const q = "/api/dlq?limit=" + DLQ_LIMIT + (scheme ? "&scheme=" + encodeURIComponent(scheme) : "");
  const [st, dl] = await Promise.allSettled([api("GET", "/api/status"), api("GET", q)]);
  if (st.status === "fulfilled" && st.value && Array.isArray(st.value.schemes)) {
    state.status = st.value;
    state.problem = null;
  } else {
    const e = st.status === "rejected" ? st.reason : new ApiError(0, "bad answer");
    state.problem = { kind: e.status === 401 ? "auth" : "offline", detail: e.message };
  }
  if (dl.status === "fulfilled" && dl.value && Array.isArray(dl.value.items)) {
    state.dlq = dl.value;
  }
  render();
}

function schedule() {
  window.clearTimeout(pollTimer);
  pollTimer = null;
  if (document.hidden) return;
  pollTimer = window.setTimeout(tick, POLL_MS);
}

async function tick() {
  try {
    await refresh();
  } finally {
    schedule();
  }
}

function startPolling() {
  document.addEventListener("visibilitychange", () => {
    if (document.hidden) {
      window.clearTimeout(pollTimer);
      pollTimer = null;
    } else {
      tick();
    }
  });
  tick();
}

// ---- rendering ---------------------------------------------------------------------------------

function render() {
  document.body.classList.toggle("stale", state.problem !== null && state.status !== null);
  renderConnection();
  renderBanners();
  if (state.status) {
    renderSummary(state.status);
    renderCards(state.status);
    renderSchemeSelects(state.status);
    renderFooter(state.status);
  }
  renderDlq();
}

function renderConnection() {
  const conn = $("conn");
  if (state.problem) {
    conn.dataset.state = "down";
    $("conn-text").textContent = t("unreachable");
  } else if (state.status) {
    conn.dataset.state = "up";
    const now = typeof state.status.now === "string" ? state.status.now.slice(11, 19) : "";
    $("conn-text").textContent = t("connected", { time: now });
  }
}

function banner(kind, title, body) {
  return h("div", { class: "banner banner-" + kind, role: "alert" }, h("strong", null, title), h("span", null, body));
}

function renderBanners() {
  const out = [];
  if (state.problem && state.problem.kind === "auth") {
    out.push(banner("warn", t("auth_title"), t("auth_body")));
  } else if (state.problem) {
    out.push(banner("bad", t("offline_title"), t("offline_body", { detail: "" })));
  }
  // While the service cannot be reached, what it said before is stale: only the banner above.
  const p = !state.problem && state.status && state.status.jushuitan_token_problem;
  if (p && typeof p === "object") out.push(tokenBanner(p));
  const el = $("banners");
  fill(el, out);
  el.dataset.offline = state.problem ? state.problem.kind : "";
}

/**
 * Jushuitan refuses ferry's tokens. With the refused token and Jushuitan's answer the words are
 * ours (in the page's language); otherwise ferry's own description (`detail`) is shown as it is.
 */
function tokenBanner(p) {
  const since = unixToBeijing(p.since);
  if (typeof p.token === "string" && typeof p.answer === "string") {
    return banner("bad", t("token_title"), t("token_body", { token: p.token, since, answer: p.answer }));
  }
  const detail = typeof p.detail === "string" ? p.detail : "";
  return banner("bad", t("token_title"), t("token_since", { since }) + " " + detail);
}

/** A Beijing-time string for unix seconds (or the string itself if it already is one). */
function unixToBeijing(v) {
  if (typeof v === "string") return v;
  if (typeof v !== "number" || !isFinite(v)) return "?";
  const d = new Date((v + 8 * 3600) * 1000);
  return d.toISOString().slice(0, 19).replace("T", " ");
}

function tile(label, value, sub, tone) {
  return h(
    "div",
    { class: "tile" + (tone ? " tone-" + tone : "") },
    h("div", { class: "tile-label" }, label),
    h("div", { class: "tile-value" }, value),
    sub ? h("div", { class: "tile-sub" }, sub) : null
  );
}

function renderSummary(st) {
  const schemes = st.schemes;
  const on = schemes.filter((s) => s.enabled).length;
  const delivered = schemes.reduce((a, s) => a + num(s.counts && s.counts.delivered), 0);
  const dead = num(st.dead_total);
  const up = bjSeconds(st.now) - bjSeconds(st.started_at);
  fill(
    $("summary"),
    tile(t("sum_schemes"), t("sum_schemes_val", { on, all: schemes.length })),
    tile(t("sum_delivered"), fmtCount(delivered), null, "ok"),
    h("div", { id: "sum-dead", class: "tile-slot" }, tile(t("sum_dead"), fmtCount(dead), null, dead > 0 ? "bad" : "ok")),
    tile(t("sum_store"), fmtBytes(st.store_bytes)),
    tile(t("sum_uptime"), isFinite(up) ? fmtDuration(up) : t("none"), t("since", { time: fmtTime(st.started_at, st.now) }))
  );
}

function schemeState(s) {
  if (!s.enabled) return ["disabled", t("st_disabled")];
  if (s.running) return ["running", t("st_running")];
  if (s.last_error) return ["failing", t("st_failing")];
  if (!s.last_run) return ["waiting", t("st_waiting")];
  return ["ok", t("st_ok")];
}

const COUNTS = [
  ["fetched", "c_fetched", ""],
  ["filtered", "c_filtered", ""],
  ["delivered", "c_delivered", "ok"],
  ["retrying", "c_retrying", "warn"],
  ["dead", "c_dead", "bad"],
  ["changed_after_delivery", "c_changed", "warn"],
];

/** The skeleton of one scheme card; `refs` are the parts updated on every poll. */
function buildCard(name) {
  const refs = {};
  const r = (key, el) => {
    refs[key] = el;
    return el;
  };
  const metaRow = (key, label) =>
    h("div", { class: "meta-row" }, h("dt", null, t(label)), r(key, h("dd", null)));
  const counts = COUNTS.map(([key, label]) =>
    r("c_" + key, h("div", { class: "count", dataset: { count: key } }, h("div", { class: "count-n" }, "0"), h("div", { class: "count-l", title: t(label) }, t(label))))
  );
  const run = r(
    "run",
    h("button", { type: "button", class: "btn btn-small", dataset: { action: "run" }, on: { click: () => runNow(name) } }, t("run_now"))
  );
  const el = h(
    "article",
    { class: "card", dataset: { scheme: name } },
    h(
      "div",
      { class: "card-head" },
      h("div", { class: "card-title" }, h("h3", { title: name }, name), r("sub", h("div", { class: "card-sub" }))),
      r("pill", h("span", { class: "pill" }))
    ),
    h("dl", { class: "meta" }, metaRow("last", "last_run"), metaRow("next", "next_run"), metaRow("checkpoint", "checkpoint")),
    h("div", { class: "counts" }, counts),
    r("budget", h("div", { class: "card-budget", hidden: true })),
    r("error", h("div", { class: "card-error", hidden: true })),
    h("div", { class: "card-foot" }, r("foot", h("div", { class: "card-foot-text" })), run)
  );
  return { el, refs };
}

function withRelative(dd, time, now, extraClass) {
  if (!time) {
    fill(dd, h("span", { class: "muted" }, t("never")));
    return;
  }
  fill(dd, h("span", { title: time }, fmtTime(time, now)), " ", h("span", { class: "rel " + (extraClass || "") }, fmtRelative(time, now)));
}

function updateCard(card, s, now) {
  const { el, refs } = card;
  const [key, label] = schemeState(s);
  el.dataset.state = key;
  refs.pill.className = "pill pill-" + key;
  refs.pill.textContent = label;
  const every = num(s.every_secs) > 0 ? t("every", { d: fmtDuration(s.every_secs) }) : null;
  refs.sub.textContent = [s.form_id, s.source_api, every].filter((x) => typeof x === "string" && x).join(" · ");
  withRelative(refs.last, s.last_run, now);
  if (!s.enabled) fill(refs.next, h("span", { class: "muted" }, t("disabled_note")));
  else withRelative(refs.next, s.next_run, now);
  renderCheckpoint(refs.checkpoint, s, now);
  const c = s.counts || {};
  for (const [k, , tone] of COUNTS) {
    const tileEl = refs["c_" + k];
    const n = num(c[k]);
    tileEl.firstChild.textContent = fmtCount(n);
    tileEl.className = "count" + (n > 0 && tone ? " tone-" + tone : "");
  }
  const queued = [t("queue_line", { pending: fmtCount(c.pending), in_flight: fmtCount(c.in_flight) })];
  if (s.run && typeof s.run === "object") {
    queued.push(t("this_run", { fetched: fmtCount(s.run.fetched), delivered: fmtCount(s.run.delivered), dead: fmtCount(s.run.dead) }));
  }
  refs.foot.textContent = queued.join("  ·  ");
  renderBudget(refs.budget, s.budget, now);
  if (typeof s.last_error === "string" && s.last_error) {
    fill(refs.error, h("span", { class: "card-error-label" }, t("last_error")), h("span", { class: "card-error-text" }, s.last_error));
    refs.error.hidden = false;
  } else {
    refs.error.hidden = true;
  }
  // `active`: run by this ferry (enabled, or named with --scheme); "run now" needs that.
  refs.run.disabled = s.active === false || (s.active === undefined && !s.enabled) || !!s.running || state.busy.has("run:" + s.scheme);
}

/** Whether the scheme waits for the Jushuitan call budget all schemes share, and how long. */
function renderBudget(box, b, now) {
  const w = b && typeof b === "object" ? b.waiting : null;
  if (!w || typeof w !== "object") {
    box.hidden = true;
    return;
  }
  box.textContent = t("budget_wait", { d: num(w.seconds).toFixed(1), time: fmtTime(w.since, now) });
  box.title = t("budget_share", { calls: fmtCount(b.calls), d: num(b.waited_secs).toFixed(1) });
  box.hidden = false;
}

function renderCheckpoint(dd, s, now) {
  if (!s.checkpoint) {
    fill(dd, h("span", { class: "muted" }, s.last_run ? t("not_windowed") : t("never")));
    return;
  }
  let lag = typeof s.lag_seconds === "number" ? s.lag_seconds : bjSeconds(now) - bjSeconds(s.checkpoint);
  if (!isFinite(lag)) lag = null;
  const late = lag !== null && lag > Math.max(2 * num(s.every_secs), 3600);
  const lagText = lag === null ? "" : lag < 60 ? t("up_to_date") : t("lag", { d: fmtDuration(lag) });
  fill(dd, h("span", { title: s.checkpoint }, fmtTime(s.checkpoint, now)), " ", h("span", { class: "lag" + (late ? " lag-late" : ""), dataset: { lag: "" } }, lagText));
}

function renderCards(st) {
  const box = $("cards");
  const seen = new Set();
  for (const s of st.schemes) {
    if (!s || typeof s.scheme !== "string") continue;
    seen.add(s.scheme);
    let card = state.cards.get(s.scheme);
    if (!card) {
      card = buildCard(s.scheme);
      state.cards.set(s.scheme, card);
    }
    updateCard(card, s, st.now);
    box.appendChild(card.el); // keeps the API's order; moving a node keeps it alive
  }
  for (const [name, card] of state.cards) {
    if (!seen.has(name)) {
      card.el.remove();
      state.cards.delete(name);
    }
  }
}

function renderSchemeSelects(st) {
  const names = st.schemes.map((s) => s.scheme).filter((n) => typeof n === "string");
  for (const id of ["dlq-scheme", "trace-scheme"]) {
    const sel = $(id);
    const want = [""].concat(names);
    const have = Array.from(sel.options).map((o) => o.value);
    if (have.join("\n") === want.join("\n") && sel.options[0].textContent === t("all_schemes")) continue;
    const keep = sel.value;
    fill(sel, want.map((n) => h("option", { value: n }, n === "" ? t("all_schemes") : n)));
    sel.value = want.includes(keep) ? keep : "";
  }
}

function renderFooter(st) {
  const parts = ["ferry " + (typeof st.version === "string" ? st.version : "")];
  if (typeof st.pid === "number") parts.push("pid " + st.pid);
  $("footer-info").textContent = parts.join(" · ");
}

/** After a language switch: everything drawn again in the new words. */
function redrawAll() {
  translateStatic();
  $("lang-toggle").textContent = t("lang_button");
  for (const card of state.cards.values()) card.el.remove();
  state.cards.clear();
  for (const entry of state.rows.values()) entry.row.remove();
  state.rows.clear();
  for (const id of ["dlq-scheme", "trace-scheme"]) {
    const sel = $(id);
    if (sel.options.length) sel.options[0].textContent = t("all_schemes");
  }
  render();
}
