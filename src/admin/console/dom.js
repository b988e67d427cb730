// Small helpers: building elements (text only, never HTML), the API, and formatting.
"use strict";

/**
 * h("div", {class: "x", title: s}, child, ...): an element. Strings and numbers become text
 * nodes, so nothing from the API is ever parsed as HTML. Attributes go through setAttribute;
 * `on` is {event: handler}; `dataset` is {name: value}.
 */
function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  if (attrs) {
    for (const [k, v] of Object.entries(attrs)) {
      if (v === null || v === undefined || v === false) continue;
      if (k === "on") {
        for (const [ev, fn] of Object.entries(v)) el.addEventListener(ev, fn);
      } else if (k === "dataset") {
        for (const [dk, dv] of Object.entries(v)) el.dataset[dk] = String(dv);
      } else if (k === "text") {
        el.textContent = String(v);
      } else {
        el.setAttribute(k, v === true ? "" : String(v));
      }
    }
  }
  append(el, children);
  return el;
}

function append(el, children) {
  for (const c of children) {
    if (c === null || c === undefined || c === false) continue;
    if (Array.isArray(c)) append(el, c);
    else if (c instanceof Node) el.appendChild(c);
    else el.appendChild(document.createTextNode(String(c)));
  }
}

/** Replaces the children of `el`. */
function fill(el, ...children) {
  while (el.firstChild) el.removeChild(el.firstChild);
  append(el, children);
  return el;
}

/** An error from the API, with the server's own words when it gave them. */
class ApiError extends Error {
  constructor(status, message) {
    super(message);
    this.status = status;
  }
}

/**
 * Calls the admin API on this same origin (the browser adds the Basic credentials it holds).
 * Resolves to the parsed JSON; rejects with ApiError (status 0: the service cannot be reached).
 */
async function api(method, path, body) {
  const init = { method, credentials: "same-origin", cache: "no-store", headers: {} };
  if (body !== undefined) {
    init.headers["Content-Type"] = "application/json";
    init.body = JSON.stringify(body);
  }
  let res;
  try {
    // From the origin, not relative to the page: a page opened as user:token@host would
    // otherwise give fetch() a URL with credentials in it, which it refuses.
    res = await fetch(window.location.origin + path, init);
  } catch (e) {
    throw new ApiError(0, String((e && e.message) || e));
  }
  let data = null;
  try {
    data = await res.json();
  } catch (_) {
    data = null;
  }
  if (!res.ok) {
    const msg =
      data && typeof data.error === "string" ? data.error : t("http_status", { status: res.status });
    throw new ApiError(res.status, msg);
  }
  return data;
}

// ---- numbers, sizes, times -------------------------------------------------------------------

function num(v) {
  return typeof v === "number" && isFinite(v) ? v : 0;
}

function fmtCount(v) {
  return num(v).toLocaleString(currentLang() === "en" ? "en-US" : "zh-CN");
}

function fmtBytes(v) {
  let n = num(v);
  const units = ["B", "KB", "MB", "GB", "TB"];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i += 1;
  }
  return (i === 0 ? String(n) : n.toFixed(n < 10 ? 1 : 0)) + " " + units[i];
}

/**
 * Seconds since an arbitrary epoch for a Beijing-time string "YYYY-MM-DD HH:MM:SS" (every time
 * the API gives is Beijing time, so differences between them are right); null if malformed.
 */
function bjSeconds(s) {
  if (typeof s !== "string") return null;
  const m = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2})(?::(\d{2}))?/.exec(s);
  if (!m) return null;
  const ms = Date.UTC(+m[1], +m[2] - 1, +m[3], +m[4], +m[5], +(m[6] || 0));
  return isNaN(ms) ? null : ms / 1000;
}

/** "3 分钟", "2 小时 5 分钟", "4 天"... for a number of seconds. */
function fmtDuration(secs) {
  const s = Math.max(0, Math.round(num(secs)));
  if (s < 60) return t("d_sec", { n: s });
  const min = Math.floor(s / 60);
  if (min < 60) return t("d_min", { n: min });
  const hours = Math.floor(min / 60);
  if (hours < 24) {
    const m = min % 60;
    return m === 0 || hours >= 10 ? t("d_hour", { n: hours }) : t("d_hour_min", { h: hours, m });
  }
  const days = Math.floor(hours / 24);
  const hh = hours % 24;
  return hh === 0 || days >= 10 ? t("d_day", { n: days }) : t("d_day_hour", { d: days, h: hh });
}

/** "5 分钟前" / "3 分钟后" for `time` relative to `now` (both Beijing-time strings). */
function fmtRelative(time, now) {
  const a = bjSeconds(time);
  const b = bjSeconds(now);
  if (a === null || b === null) return "";
  const d = a - b;
  if (Math.abs(d) < 5) return d > 0 ? t("due_now") : t("just_now");
  return d < 0 ? t("ago", { d: fmtDuration(-d) }) : t("later", { d: fmtDuration(d) });
}

/** A Beijing time shortened against `now`: "今天 18:30:27", "11-27 09:00", "2025-12-01 09:00". */
function fmtTime(time, now) {
  if (typeof time !== "string" || time === "") return t("none");
  const m = /^(\d{4})-(\d{2}-\d{2})[ T](\d{2}:\d{2})(:\d{2})?/.exec(time);
  if (!m) return time;
  const today = typeof now === "string" ? now.slice(0, 10) : "";
  if (time.slice(0, 10) === today) return t("today") + " " + m[3] + (m[4] || "");
  if (typeof now === "string" && now.slice(0, 4) === m[1]) return m[2] + " " + m[3];
  return m[1] + "-" + m[2] + " " + m[3];
}

/** The JSON of a model, indented, for a <pre>. */
function prettyJson(v) {
  try {
    return JSON.stringify(v, null, 2);
  } catch (_) {
    return String(v);
  }
}
