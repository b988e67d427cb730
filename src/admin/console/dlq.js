// The dead-letter table: rows kept per id and updated in place (so a row being clicked is never
// swapped under the pointer), the reason shortened where it repeats the row, and a plain hint
// above the table for causes a person fixes in config.toml (a lookup without a value).
"use strict";

function renderDlq() {
  const d = state.dlq;
  if (!d) return;
  const items = d.items.filter((x) => x && (typeof x.id === "number" || typeof x.id === "string"));
  const total = typeof d.total === "number" ? d.total : items.length;
  $("dlq-count").textContent = fmtCount(total);
  $("dlq-count").className = "badge" + (total > 0 ? " badge-bad" : "");
  $("replay-all").disabled = items.length === 0;
  const body = $("dlq-body");
  const now = state.status ? state.status.now : "";
  const seen = new Set();
  let cursor = body.firstChild;
  for (const it of items) {
    const id = String(it.id);
    seen.add(id);
    const sig = JSON.stringify(it) + "|" + String(now).slice(0, 10) + "|" + state.busy.has(id);
    let entry = state.rows.get(id);
    if (!entry || entry.sig !== sig) {
      const row = buildRow(it, now);
      if (entry) {
        row.classList.toggle("expanded", entry.row.classList.contains("expanded"));
        entry.row.replaceWith(row);
        if (cursor === entry.row) cursor = row;
      }
      entry = { row, sig };
      state.rows.set(id, entry);
    }
    if (entry.row !== cursor) body.insertBefore(entry.row, cursor);
    else cursor = cursor.nextSibling;
  }
  for (const [id, entry] of state.rows) {
    if (!seen.has(id)) {
      entry.row.remove();
      state.rows.delete(id);
    }
  }
  renderCauses(items);
  const empty = $("dlq-empty");
  empty.hidden = items.length > 0;
  $("dlq-table").classList.toggle("is-empty", items.length === 0);
  if (items.length === 0) {
    fill(empty, h("div", { class: "empty-mark" }, "✓"), h("div", null, $("dlq-scheme").value ? t("no_dead_filtered") : t("no_dead")));
  }
  const more = $("dlq-more");
  more.hidden = total <= items.length;
  more.textContent = t("showing", { n: items.length, total });
}

function text(v) {
  return v === null || v === undefined ? "" : String(v);
}

function buildRow(it, now) {
  const id = String(it.id);
  const busy = state.busy.has(id);
  const error = text(it.error);
  const short = shortReason(error, it);
  const errText = h("div", { class: "err-text", dataset: { short, full: error } }, short);
  const errCell = h(
    "td",
    { class: "err", title: error },
    h(
      "div",
      { class: "err-line" },
      errText,
      error.length > 40 ? h("button", { type: "button", class: "link", dataset: { action: "expand" }, on: { click: () => toggleExpand(row) } }, t("expand")) : null
    )
  );
  const row = h(
    "tr",
    { dataset: { id, scheme: text(it.scheme), key: text(it.source_key) }, class: busy ? "busy" : null },
    h("td", { class: "mono" }, "#" + id),
    h("td", { class: "ellipsis", title: text(it.scheme) }, text(it.scheme)),
    h("td", { class: "mono ellipsis", title: text(it.source_key) }, text(it.source_key)),
    h("td", { class: "mono ellipsis", title: text(it.identity) }, text(it.identity) || t("none")),
    h("td", { class: "num" }, fmtCount(it.attempts)),
    errCell,
    h("td", { class: "when", title: text(it.dead_at) }, it.dead_at ? fmtTime(text(it.dead_at), now) : t("none")),
    h(
      "td",
      { class: "act" },
      h("button", { type: "button", class: "btn btn-small btn-ghost", dataset: { action: "details" }, on: { click: () => showDetails(it.id) } }, t("details")),
      h("button", { type: "button", class: "btn btn-small btn-primary", dataset: { action: "replay" }, disabled: busy, on: { click: () => replay(it.id) } }, t("replay")),
      h("button", { type: "button", class: "btn btn-small btn-danger-ghost", dataset: { action: "drop" }, disabled: busy, on: { click: () => askDrop(it) } }, t("drop"))
    )
  );
  return row;
}

/** Expanded, a row shows the reason in full, exactly as recorded. */
function toggleExpand(row) {
  const on = !row.classList.contains("expanded");
  row.classList.toggle("expanded", on);
  const b = row.querySelector("[data-action=expand]");
  if (b) b.textContent = on ? t("collapse") : t("expand");
  const e = row.querySelector(".err-text");
  if (e) e.textContent = on ? e.dataset.full : e.dataset.short;
}

/**
 * The reason without what the row already says: ferry's mapping errors begin with
 * `scheme "NAME", ` and name `document KEY: `. Kingdee's own messages are left as they are.
 */
function shortReason(error, it) {
  let s = error;
  const scheme = 'scheme "' + text(it.scheme) + '", ';
  if (s.startsWith(scheme)) s = s.slice(scheme.length);
  const doc = "document " + text(it.source_key) + ": ";
  const at = s.indexOf(doc);
  if (at >= 0 && at < 160) s = s.slice(0, at).replace(/,\s*$/, ": ") + s.slice(at + doc.length);
  return s;
}

const LOOKUP_MISSING = /lookup "([^"\\]+)" has no entry for "((?:[^"\\]|\\.)*)"/;

/** Causes a person fixes in config.toml, with how many dead letters each holds back. */
function lookupCauses(items) {
  const found = new Map();
  for (const it of items) {
    const m = LOOKUP_MISSING.exec(text(it.error));
    if (!m) continue;
    const key = m[1] + "\u0000" + m[2];
    const c = found.get(key) || { lookup: m[1], value: m[2], n: 0 };
    c.n += 1;
    found.set(key, c);
  }
  return Array.from(found.values());
}

function renderCauses(items) {
  const causes = lookupCauses(items).slice(0, 5);
  fill(
    $("dlq-causes"),
    causes.map((c) =>
      h(
        "div",
        { class: "cause", dataset: { lookup: c.lookup } },
        h("strong", null, t("cause_lookup_title", { n: c.n, lookup: c.lookup, value: c.value })),
        h("span", null, t("cause_lookup_fix", { lookup: c.lookup })),
        h("code", null, JSON.stringify(c.value) + ' = "…"'),
        h("span", null, t("cause_lookup_then"))
      )
    )
  );
}

