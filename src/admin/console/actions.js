// What a person does on the page: replay, drop (with a reason), details, run now, trace search,
// the language toggle. Started once the page is loaded.
"use strict";

// ---- toasts ------------------------------------------------------------------------------------

function toast(message, kind) {
  const el = h("div", { class: "toast toast-" + (kind || "ok"), role: "status" }, message);
  $("toasts").appendChild(el);
  window.setTimeout(() => el.remove(), kind === "bad" ? 8000 : 4000);
}

function failed(e) {
  toast(t("request_failed", { msg: e && e.message ? e.message : String(e) }), "bad");
}

// ---- modal -------------------------------------------------------------------------------------

let modalOnClose = null;

/** Opens the dialog with `title`, `body` (a node) and footer `buttons` (nodes). */
function openModal(title, body, buttons, wide) {
  $("modal-title").textContent = title;
  fill($("modal-body"), body);
  fill($("modal-foot"), buttons);
  $("modal").querySelector(".modal-box").classList.toggle("wide", !!wide);
  $("modal").hidden = false;
  const first = $("modal").querySelector("textarea, input");
  (first || $("modal-close")).focus();
}

function closeModal() {
  $("modal").hidden = true;
  fill($("modal-body"));
  fill($("modal-foot"));
  if (modalOnClose) {
    const f = modalOnClose;
    modalOnClose = null;
    f();
  }
}

function button(label, cls, onClick, action) {
  return h("button", { type: "button", class: "btn " + (cls || ""), dataset: action ? { action } : null, on: { click: onClick } }, label);
}

// ---- dead letters ------------------------------------------------------------------------------

async function replay(id) {
  const key = String(id);
  if (state.busy.has(key)) return;
  state.busy.add(key);
  renderDlq();
  try {
    await api("POST", "/api/dlq/" + encodeURIComponent(key) + "/replay", {});
    toast(t("replayed", { id: key }));
  } catch (e) {
    failed(e);
  } finally {
    state.busy.delete(key);
    await refresh();
  }
}

function askReplayAll() {
  const items = (state.dlq && state.dlq.items) || [];
  if (!items.length) return;
  const ids = items.map((it) => String(it.id));
  openModal(t("replay_all_title"), h("p", null, t("replay_all_body", { n: ids.length })), [
    button(t("cancel"), "btn-ghost", closeModal),
    button(t("replay_all"), "btn-primary", async () => {
      closeModal();
      let ok = 0;
      let bad = 0;
      for (const id of ids) {
        try {
          await api("POST", "/api/dlq/" + encodeURIComponent(id) + "/replay", {});
          ok += 1;
        } catch (_) {
          bad += 1;
        }
      }
      toast(t("replay_all_done", { ok, fail: bad ? t("replay_all_fail", { n: bad }) : "" }), bad ? "bad" : "ok");
      await refresh();
    }, "confirm"),
  ]);
}

function askDrop(it) {
  const id = String(it.id);
  const reason = h("textarea", { id: "drop-reason", rows: "3", maxlength: "500", "aria-label": t("drop_reason") });
  const msg = h("div", { class: "field-error", id: "drop-error", hidden: true });
  const body = h(
    "div",
    null,
    h("p", null, t("drop_body")),
    h("div", { class: "drop-doc" }, "#" + id + " · " + text(it.scheme) + " · " + text(it.source_key)),
    h("label", { class: "field-label", for: "drop-reason" }, t("drop_reason")),
    reason,
    msg
  );
  const showError = (s) => {
    msg.textContent = s;
    msg.hidden = false;
    reason.focus();
  };
  const confirm = button(t("drop_confirm"), "btn-danger", async () => {
    const text = reason.value.trim();
    if (!text) {
      showError(t("drop_reason_needed"));
      return;
    }
    confirm.disabled = true;
    try {
      await api("POST", "/api/dlq/" + encodeURIComponent(id) + "/drop", { reason: text });
      closeModal();
      toast(t("dropped", { id }));
      await refresh();
    } catch (e) {
      confirm.disabled = false;
      showError(t("request_failed", { msg: e.message }));
    }
  }, "confirm-drop");
  openModal(t("drop_title", { id }), body, [button(t("cancel"), "btn-ghost", closeModal, "cancel"), confirm]);
}

function field(label, value, cls) {
  return h("div", { class: "kv" }, h("dt", null, label), h("dd", { class: cls || null }, value));
}

async function showDetails(id) {
  const key = String(id);
  openModal(t("detail_title", { id: key }), h("p", { class: "muted" }, t("loading")), [button(t("close"), "btn-ghost", closeModal)], true);
  let d;
  try {
    d = await api("GET", "/api/dlq/" + encodeURIComponent(key));
  } catch (e) {
    fill($("modal-body"), h("p", { class: "field-error" }, t("request_failed", { msg: e.message })));
    return;
  }
  if ($("modal").hidden || $("modal-title").textContent !== t("detail_title", { id: key })) return;
  const now = state.status ? state.status.now : "";
  const hasModel = d && d.model !== null && d.model !== undefined;
  const body = h(
    "div",
    { class: "details" },
    h(
      "dl",
      { class: "kvs" },
      field(t("d_scheme"), text(d.scheme)),
      field(t("d_key"), text(d.source_key), "mono"),
      field(t("d_identity"), text(d.identity) || t("none"), "mono"),
      field(t("d_attempts"), fmtCount(d.attempts)),
      field(t("d_dead_at"), d.dead_at ? text(d.dead_at) : t("none"))
    ),
    h("h4", null, t("d_error")),
    h("div", { class: "error-box" }, text(d.error)),
    h("h4", null, t("d_trace")),
    timeline(d.trace, now),
    h("h4", null, t("d_model")),
    hasModel ? h("pre", { class: "json" }, prettyJson(d.model)) : h("p", { class: "muted" }, t("d_no_model"))
  );
  fill($("modal-body"), body);
  fill($("modal-foot"), [
    button(t("close"), "btn-ghost", closeModal),
    button(t("drop"), "btn-danger-ghost", () => {
      closeModal();
      askDrop(d);
    }),
    button(t("replay"), "btn-primary", () => {
      closeModal();
      replay(key);
    }),
  ]);
}

// ---- trace -------------------------------------------------------------------------------------

/** Our key for an event's `what`: "Delivered", "changed after delivery" -> "delivered", ... */
function eventKind(what) {
  return String(what)
    .replace(/([a-z])([A-Z])/g, "$1_$2")
    .trim()
    .toLowerCase()
    .replace(/[\s-]+/g, "_");
}

const EVENT_TONE = { delivered: "ok", dead: "bad", failed: "bad", retry: "warn", changed_after_delivery: "warn", dropped: "bad" };

/** A list of events ({at, what, detail} objects or plain lines) as a timeline. */
function timeline(events, now) {
  if (!Array.isArray(events) || events.length === 0) return h("p", { class: "muted" }, t("trace_empty_events"));
  return h(
    "ol",
    { class: "timeline" },
    events.map((ev) => {
      if (typeof ev === "string") return h("li", { class: "ev" }, h("span", { class: "ev-detail" }, ev));
      const e = ev && typeof ev === "object" ? ev : {};
      const kind = eventKind(text(e.what));
      const known = WORDS.zh["ev_" + kind] !== undefined;
      return h(
        "li",
        { class: "ev tone-" + (EVENT_TONE[kind] || "info"), dataset: { what: kind } },
        h("span", { class: "ev-time", title: text(e.at) }, e.at ? fmtTime(text(e.at), now) : ""),
        h("span", { class: "ev-what" }, known ? t("ev_" + kind) : text(e.what)),
        e.detail ? h("span", { class: "ev-detail" }, text(e.detail)) : null
      );
    })
  );
}

const STATE_TONE = { delivered: "ok", dead: "failing", dropped: "disabled", retry: "waiting", pending: "running", inflight: "running" };

/** The document's state now (Pending, Delivered, Dead...) as a coloured tag. */
function stateTag(name) {
  if (typeof name !== "string" || !name) return null;
  const k = name.toLowerCase();
  const known = WORDS.zh["state_" + k] !== undefined;
  return h("span", { class: "pill pill-" + (STATE_TONE[k] || "disabled"), dataset: { state: k } }, known ? t("state_" + k) : name);
}

async function searchTrace(ev) {
  ev.preventDefault();
  const key = $("trace-key").value.trim();
  const out = $("trace-result");
  if (!key) {
    fill(out, h("p", { class: "muted" }, t("trace_enter")));
    return;
  }
  const scheme = $("trace-scheme").value;
  fill(out, h("p", { class: "muted" }, t("loading")));
  let d;
  try {
    d = await api("GET", "/api/trace?key=" + encodeURIComponent(key) + (scheme ? "&scheme=" + encodeURIComponent(scheme) : ""));
  } catch (e) {
    if (e.status === 404) fill(out, h("div", { class: "trace-none" }, t("trace_none", { key })));
    else fill(out, h("p", { class: "field-error" }, t("request_failed", { msg: e.message })));
    return;
  }
  const items = d && Array.isArray(d.items) ? d.items : [];
  if (!items.length) {
    fill(out, h("div", { class: "trace-none" }, t("trace_none", { key })));
    return;
  }
  const now = state.status ? state.status.now : "";
  fill(
    out,
    items.map((it) =>
      h(
        "div",
        { class: "trace-item", dataset: { scheme: text(it.scheme) } },
        h(
          "div",
          { class: "trace-head" },
          h("span", null, t("trace_head", { scheme: text(it.scheme), key: text(it.source_key) })),
          it.identity ? h("span", { class: "muted mono" }, t("col_identity") + " " + text(it.identity)) : null,
          stateTag(it.state)
        ),
        timeline(it.events, now)
      )
    )
  );
}

// ---- schemes -----------------------------------------------------------------------------------

async function runNow(name) {
  const key = "run:" + name;
  if (state.busy.has(key)) return;
  state.busy.add(key);
  render();
  try {
    await api("POST", "/api/schemes/" + encodeURIComponent(name) + "/run", {});
    toast(t("run_started", { name }));
  } catch (e) {
    failed(e);
  } finally {
    state.busy.delete(key);
    await refresh();
  }
}

// ---- start -------------------------------------------------------------------------------------

function init() {
  translateStatic();
  $("lang-toggle").textContent = t("lang_button");
  $("lang-toggle").addEventListener("click", () => {
    setLang(currentLang() === "zh" ? "en" : "zh");
    redrawAll();
    $("trace-result").textContent = "";
  });
  $("modal-close").addEventListener("click", closeModal);
  $("modal").addEventListener("click", (e) => {
    if (e.target === $("modal")) closeModal();
  });
  document.addEventListener("keydown", (e) => {
    if (e.key === "Escape" && !$("modal").hidden) closeModal();
  });
  $("replay-all").addEventListener("click", askReplayAll);
  $("dlq-scheme").addEventListener("change", () => {
    for (const entry of state.rows.values()) entry.row.remove();
    state.rows.clear();
    refresh();
  });
  $("trace-form").addEventListener("submit", searchTrace);
  startPolling();
}

if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", init);
else init();
