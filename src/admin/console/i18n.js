// The console's words, Chinese first, English on the toggle (remembered in localStorage).
"use strict";

const WORDS = {
  zh: {
    product: "ferry 数据同步",
    route: "聚水潭 → 金蝶云星空",
    connecting: "正在连接…",
    connected: "已连接 · {time} 更新",
    unreachable: "未连接",
    lang_button: "English",
    schemes: "同步方案",
    dead_letters: "死信",
    trace: "单据追踪",
    search: "查询",
    trace_placeholder: "输入聚水潭单号（如 io_id、shop_id）",
    beijing_note: "所有时间均为北京时间（UTC+8）",
    dlq_hint:
      "死信是未能交付的单据。请先按原因修正（如在 config.toml 中补全映射、在金蝶中建好基础资料），再点“重放”；确定不需要交付的单据可以丢弃，并写明原因。",
    col_id: "编号",
    col_scheme: "方案",
    col_key: "源单号",
    col_identity: "金蝶单号",
    col_attempts: "尝试",
    col_error: "原因（原文）",
    col_dead_at: "进入死信",
    col_actions: "操作",
    all_schemes: "全部方案",
    replay_all: "全部重放",
    // summary strip
    sum_schemes: "同步方案",
    sum_schemes_val: "{on} 个启用 / 共 {all} 个",
    sum_delivered: "已交付单据",
    sum_dead: "待处理死信",
    sum_store: "本地存储占用",
    sum_uptime: "服务已运行",
    since: "自 {time} 起",
    // cards
    st_running: "运行中",
    st_ok: "正常",
    st_failing: "出错",
    st_disabled: "已停用",
    st_waiting: "等待首次运行",
    last_run: "上次运行",
    next_run: "下次运行",
    checkpoint: "同步进度",
    every: "每 {d} 运行一次",
    never: "尚未运行",
    none: "—",
    lag: "落后 {d}",
    up_to_date: "已追上",
    not_windowed: "全量列表（无时间窗口）",
    c_fetched: "已拉取",
    c_filtered: "已过滤",
    c_delivered: "已交付",
    c_retrying: "重试中",
    c_dead: "死信",
    c_changed: "交付后变更",
    queue_line: "待发送 {pending} · 发送中 {in_flight}",
    this_run: "本轮：拉取 {fetched} · 交付 {delivered} · 死信 {dead}",
    last_error: "最近错误",
    run_now: "立即运行",
    run_started: "已开始运行方案 {name}",
    disabled_note: "此方案在 config.toml 中未启用（enabled = false）",
    // times
    ago: "{d}前",
    later: "{d}后",
    just_now: "刚刚",
    due_now: "即将",
    d_sec: "{n} 秒",
    d_min: "{n} 分钟",
    d_hour: "{n} 小时",
    d_hour_min: "{h} 小时 {m} 分钟",
    d_day: "{n} 天",
    d_day_hour: "{d} 天 {h} 小时",
    today: "今天",
    // dead letters
    replay: "重放",
    drop: "丢弃",
    details: "详情",
    expand: "展开",
    collapse: "收起",
    no_dead: "没有死信，所有单据都已正常交付。",
    no_dead_filtered: "此方案没有死信。",
    showing: "显示前 {n} 条，共 {total} 条",
    replayed: "已重放 #{id}，正在重新交付",
    cause_lookup_title: "{n} 条死信：映射表 {lookup} 中没有“{value}”。",
    cause_lookup_fix: "在 config.toml 的 [lookups.{lookup}] 下添加一行",
    cause_lookup_then: "（填金蝶中的编码），保存后重放这些死信。",
    replay_all_title: "重放全部死信",
    replay_all_body: "将把列表中的 {n} 条死信重新放回队列并立即交付。请确认已经修正了它们的原因。",
    replay_all_done: "已重放 {ok} 条{fail}",
    replay_all_fail: "，{n} 条失败",
    dropped: "已丢弃 #{id}",
    drop_title: "丢弃死信 #{id}",
    drop_body: "丢弃后此单据不会再交付到金蝶，但记录会保留，可在单据追踪中查看。请写明原因（例如“已在金蝶手工录入”）。",
    drop_reason: "丢弃原因",
    drop_reason_needed: "请填写丢弃原因。",
    drop_confirm: "确认丢弃",
    cancel: "取消",
    confirm: "确认",
    close: "关闭",
    detail_title: "死信 #{id}",
    d_scheme: "方案",
    d_key: "源单号",
    d_identity: "金蝶单号",
    d_attempts: "尝试次数",
    d_dead_at: "进入死信",
    d_error: "原因（原文）",
    d_model: "金蝶单据 JSON（Model）",
    d_no_model: "没有生成金蝶单据（映射时即已失败）。",
    d_trace: "处理记录",
    loading: "正在加载…",
    // trace
    trace_none: "没有找到单号 {key} 的任何记录。",
    trace_enter: "请输入单号。",
    trace_head: "{scheme} · 源单号 {key}",
    trace_empty_events: "没有处理记录。",
    state_pending: "待发送",
    state_inflight: "发送中",
    state_retry: "等待重试",
    state_delivered: "已交付",
    state_dead: "死信",
    state_dropped: "已丢弃",
    // events
    ev_ingested: "已拉取并转换",
    ev_updated: "发送前单据有变化，已更新",
    ev_revived: "死信单据有变化，已重新排队",
    ev_filtered: "已过滤（不满足前置条件）",
    ev_failed: "转换失败",
    ev_changed_after_delivery: "交付后单据有变化（未重复提交）",
    ev_sent: "已发送到金蝶",
    ev_delivered: "已交付",
    ev_retry: "稍后重试",
    ev_dead: "进入死信",
    ev_requeued: "金蝶中未找到，已重新排队",
    ev_replayed: "人工重放",
    ev_dropped: "人工丢弃",
    // banners and errors
    offline_title: "无法连接 ferry 服务",
    offline_body: "页面会自动重试。请确认 ferry 正在运行（Windows 服务“ferry”或 ferry run），且本机可以访问此地址。{detail}",
    auth_title: "需要登录",
    auth_body: "ferry 设置了管理口令。请刷新页面，在浏览器弹出的登录框中输入口令（用户名任意）。",
    token_title: "聚水潭授权失效，需要处理",
    token_body: "聚水潭自 {since} 起拒绝 ferry 的 {token}：{answer}。ferry 无法自行获取新令牌。请在聚水潭开放平台重新授权此应用，把新的 access_token 和 refresh_token 填入 config.toml 的 [jushuitan] 部分，然后重启 ferry。",
    token_since: "自 {since} 起：",
    request_failed: "操作失败：{msg}",
    http_status: "服务返回 {status}",
  },
  en: {
    product: "ferry data sync",
    route: "Jushuitan → Kingdee K/3 Cloud",
    connecting: "Connecting…",
    connected: "Connected · updated {time}",
    unreachable: "Not connected",
    lang_button: "中文",
    schemes: "Sync schemes",
    dead_letters: "Dead letters",
    trace: "Document trace",
    search: "Search",
    trace_placeholder: "Jushuitan document number (io_id, shop_id…)",
    beijing_note: "All times are Beijing time (UTC+8)",
    dlq_hint:
      "Dead letters are documents that could not be delivered. Fix the cause first (complete a lookup in config.toml, create the base data in Kingdee…), then press Replay. Drop a document that must not be delivered, with a reason.",
    col_id: "ID",
    col_scheme: "Scheme",
    col_key: "Source no.",
    col_identity: "Kingdee no.",
    col_attempts: "Tries",
    col_error: "Reason (as recorded)",
    col_dead_at: "Dead since",
    col_actions: "Actions",
    all_schemes: "All schemes",
    replay_all: "Replay all",
    sum_schemes: "Schemes",
    sum_schemes_val: "{on} enabled of {all}",
    sum_delivered: "Delivered",
    sum_dead: "Dead letters to handle",
    sum_store: "Local store size",
    sum_uptime: "Service up for",
    since: "since {time}",
    st_running: "Running",
    st_ok: "Healthy",
    st_failing: "Failing",
    st_disabled: "Disabled",
    st_waiting: "Waiting for first run",
    last_run: "Last run",
    next_run: "Next run",
    checkpoint: "Checkpoint",
    every: "runs every {d}",
    never: "not yet",
    none: "—",
    lag: "{d} behind",
    up_to_date: "up to date",
    not_windowed: "whole list (no time window)",
    c_fetched: "Fetched",
    c_filtered: "Filtered",
    c_delivered: "Delivered",
    c_retrying: "Retrying",
    c_dead: "Dead",
    c_changed: "Changed later",
    queue_line: "queued {pending} · sending {in_flight}",
    this_run: "this run: fetched {fetched} · delivered {delivered} · dead {dead}",
    last_error: "Last error",
    run_now: "Run now",
    run_started: "Scheme {name} started",
    disabled_note: "This scheme is disabled in config.toml (enabled = false)",
    ago: "{d} ago",
    later: "in {d}",
    just_now: "just now",
    due_now: "any moment",
    d_sec: "{n} s",
    d_min: "{n} min",
    d_hour: "{n} h",
    d_hour_min: "{h} h {m} min",
    d_day: "{n} d",
    d_day_hour: "{d} d {h} h",
    today: "today",
    replay: "Replay",
    drop: "Drop",
    details: "Details",
    expand: "more",
    collapse: "less",
    no_dead: "No dead letters: every document was delivered.",
    no_dead_filtered: "This scheme has no dead letters.",
    showing: "showing the first {n} of {total}",
    replayed: "Replayed #{id}; delivering it again",
    cause_lookup_title: "{n} dead letters: lookup {lookup} has no entry for “{value}”.",
    cause_lookup_fix: "Add a line under [lookups.{lookup}] in config.toml:",
    cause_lookup_then: "(the number in Kingdee), save, then replay them.",
    replay_all_title: "Replay all dead letters",
    replay_all_body: "The {n} dead letters listed go back into the queue and are delivered at once. Make sure their cause is fixed.",
    replay_all_done: "Replayed {ok}{fail}",
    replay_all_fail: "; {n} failed",
    dropped: "Dropped #{id}",
    drop_title: "Drop dead letter #{id}",
    drop_body: "A dropped document is never delivered to Kingdee; its record stays and shows in the trace. Say why (e.g. \"entered by hand in Kingdee\").",
    drop_reason: "Reason",
    drop_reason_needed: "Please give a reason.",
    drop_confirm: "Drop",
    cancel: "Cancel",
    confirm: "Confirm",
    close: "Close",
    detail_title: "Dead letter #{id}",
    d_scheme: "Scheme",
    d_key: "Source no.",
    d_identity: "Kingdee no.",
    d_attempts: "Tries",
    d_dead_at: "Dead since",
    d_error: "Reason (as recorded)",
    d_model: "Kingdee model JSON",
    d_no_model: "No Kingdee model (mapping failed).",
    d_trace: "History",
    loading: "Loading…",
    trace_none: "Nothing is known about document {key}.",
    trace_enter: "Enter a document number.",
    trace_head: "{scheme} · source no. {key}",
    trace_empty_events: "No history.",
    state_pending: "Queued",
    state_inflight: "Sending",
    state_retry: "Waiting to retry",
    state_delivered: "Delivered",
    state_dead: "Dead letter",
    state_dropped: "Dropped",
    ev_ingested: "fetched and mapped",
    ev_updated: "changed before sending; model replaced",
    ev_revived: "changed while dead; queued again",
    ev_filtered: "filtered (precondition false)",
    ev_failed: "mapping failed",
    ev_changed_after_delivery: "changed after delivery (not re-posted)",
    ev_sent: "sent to Kingdee",
    ev_delivered: "delivered",
    ev_retry: "will retry",
    ev_dead: "dead letter",
    ev_requeued: "not found in Kingdee; queued again",
    ev_replayed: "replayed by a person",
    ev_dropped: "dropped by a person",
    offline_title: "Cannot reach the ferry service",
    offline_body: "The page keeps retrying. Check that ferry is running (the Windows service \"ferry\" or ferry run) and that this address can be reached. {detail}",
    auth_title: "Sign-in needed",
    auth_body: "ferry has an admin token. Reload the page and enter the token as the password in the browser's sign-in box (any user name).",
    token_title: "Jushuitan authorization lost: action needed",
    token_body: "Jushuitan has refused ferry's {token} since {since}: {answer}. ferry cannot get a new token by itself. Authorize the app again in the Jushuitan open platform, put the new access_token and refresh_token into config.toml under [jushuitan], and restart ferry.",
    token_since: "Since {since}:",
    request_failed: "Failed: {msg}",
    http_status: "the service answered {status}",
  },
};

const LANG_KEY = "ferry.console.lang";

function storedLang() {
  try {
    const v = window.localStorage.getItem(LANG_KEY);
    return v === "en" || v === "zh" ? v : "zh";
  } catch (_) {
    return "zh";
  }
}

let lang = storedLang();

function currentLang() {
  return lang;
}

function setLang(next) {
  lang = next === "en" ? "en" : "zh";
  try {
    window.localStorage.setItem(LANG_KEY, lang);
  } catch (_) {
    // Private mode: the choice lasts for this page only.
  }
}

/** The word for `key` in the current language, with {name} replaced from `vars`. */
function t(key, vars) {
  const table = WORDS[lang] || WORDS.zh;
  let s = Object.prototype.hasOwnProperty.call(table, key) ? table[key] : WORDS.zh[key];
  if (s === undefined) s = key;
  if (vars) {
    s = s.replace(/\{(\w+)\}/g, (m, name) =>
      Object.prototype.hasOwnProperty.call(vars, name) ? String(vars[name]) : m
    );
  }
  return s;
}

/** Static words in the page: elements with data-i18n (text) and data-i18n-placeholder. */
function translateStatic() {
  document.documentElement.lang = lang === "en" ? "en" : "zh-CN";
  document.title = t("product");
  for (const el of document.querySelectorAll("[data-i18n]")) {
    el.textContent = t(el.getAttribute("data-i18n"));
  }
  for (const el of document.querySelectorAll("[data-i18n-placeholder]")) {
    el.setAttribute("placeholder", t(el.getAttribute("data-i18n-placeholder")));
  }
}
