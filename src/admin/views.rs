//! What the admin API answers, read from the store, the run board and this run's counters. The
//! same shapes serve the console, `ferry status` while ferry runs, and scripts.

use serde::Serialize;
use serde_json::{json, Value};

use crate::pipeline::Shared;
use crate::store::{Delivery, OutboxEntry, Store, StoreError, TraceEvent};
use crate::telemetry::metrics::SchemeFigures;
use crate::time::{format_beijing, now_unix};

#[derive(Debug, Serialize)]
pub struct Counts {
    pub fetched: u64,
    pub filtered: u64,
    pub delivered: u64,
    pub retrying: u64,
    pub in_flight: u64,
    pub pending: u64,
    pub dead: u64,
    pub changed_after_delivery: u64,
}

#[derive(Debug, Serialize)]
pub struct RunCounts {
    pub fetched: u64,
    pub filtered: u64,
    pub delivered: u64,
    pub dead: u64,
}

#[derive(Debug, Serialize)]
pub struct SchemeView {
    pub scheme: String,
    pub enabled: bool,
    /// Run by this process (enabled, or named with `--scheme`).
    pub active: bool,
    pub source_api: String,
    pub form_id: String,
    pub every_secs: u64,
    pub running: bool,
    pub last_run: Option<String>,
    pub next_run: Option<String>,
    pub checkpoint: Option<String>,
    pub checkpoint_unix: Option<i64>,
    pub lag_seconds: Option<i64>,
    /// Store totals (all runs).
    pub counts: Counts,
    /// This process.
    pub run: RunCounts,
    pub last_error: Option<String>,
    /// Its part of the Jushuitan call budget all schemes share: waiting now, since when.
    pub budget: crate::pipeline::budget::SchemeBudget,
}

/// Every scheme of the config, as the console's cards show them.
pub fn schemes(shared: &Shared, active: &[usize]) -> Result<Vec<SchemeView>, StoreError> {
    let now = now_unix();
    let shares = shared.jst.budget_shares();
    let now_ms = crate::time::now_millis();
    let mut out = Vec::new();
    for (i, s) in shared.config.schemes.iter().enumerate() {
        let c = shared.store.counts(&s.name)?;
        let checkpoint = shared.store.checkpoint(&s.name)?;
        let board = shared.board.get(&s.name);
        let st = shared.stats.scheme(&s.name);
        let get = crate::pipeline::stats::SchemeStats::get;
        out.push(SchemeView {
            scheme: s.name.clone(),
            enabled: s.enabled,
            active: active.contains(&i),
            source_api: s.source.api.clone(),
            form_id: s.target.form_id.clone(),
            every_secs: s.every.as_secs(),
            running: board.running,
            last_run: board.last_run.map(format_beijing),
            next_run: board.next_run.map(format_beijing),
            checkpoint: checkpoint.map(format_beijing),
            checkpoint_unix: checkpoint,
            lag_seconds: checkpoint.map(|c| (now - c).max(0)),
            counts: Counts {
                fetched: get(&st.fetched),
                filtered: c.filtered,
                delivered: c.delivered,
                retrying: c.retry,
                in_flight: c.in_flight,
                pending: c.pending,
                dead: c.dead,
                changed_after_delivery: c.changed_after_delivery,
            },
            run: RunCounts {
                fetched: get(&st.fetched),
                filtered: get(&st.filtered),
                delivered: get(&st.delivered),
                dead: get(&st.dead),
            },
            last_error: board.last_error,
            budget: crate::pipeline::budget::SchemeBudget::of(&shares, &s.name, now_ms),
        });
    }
    Ok(out)
}

/// The metrics' per-scheme figures from the same sources.
pub fn figures(views: &[SchemeView], shared: &Shared) -> Vec<SchemeFigures> {
    let get = crate::pipeline::stats::SchemeStats::get;
    views
        .iter()
        .map(|v| {
            let st = shared.stats.scheme(&v.scheme);
            SchemeFigures {
                scheme: v.scheme.clone(),
                fetched: get(&st.fetched),
                filtered: get(&st.filtered),
                delivered: get(&st.delivered),
                dead: get(&st.dead),
                changed_after_delivery: get(&st.changed_after_delivery),
                outbox: vec![
                    ("pending", v.counts.pending),
                    ("in_flight", v.counts.in_flight),
                    ("retrying", v.counts.retrying),
                    ("delivered", v.counts.delivered),
                    ("dead", v.counts.dead),
                ],
                lag_seconds: v.lag_seconds,
            }
        })
        .collect()
}

/// One dead letter in the list.
pub fn dead_item(e: &OutboxEntry) -> Value {
    let (error, at) = match &e.state {
        Delivery::Dead { error, at } => (error.clone(), Some(format_beijing(*at))),
        other => (other.to_string(), None),
    };
    json!({
        "id": e.id,
        "scheme": e.scheme,
        "form_id": e.form_id,
        "source_key": e.source_key,
        "identity": e.identity,
        "attempts": e.attempts,
        "error": error,
        "dead_at": at,
        "has_model": !e.model.is_empty(),
    })
}

pub fn trace_events(events: &[TraceEvent]) -> Vec<Value> {
    events
        .iter()
        .map(|ev| {
            let text = ev.to_string();
            // Display starts with the time; the detail is the rest.
            let detail = text
                .split_once("  ")
                .map(|(_, d)| d.to_string())
                .unwrap_or(text.clone());
            json!({
                "at": format_beijing(ev.at),
                "what": trace_kind_name(&ev.kind),
                "entry": ev.entry,
                "detail": detail,
            })
        })
        .collect()
}

fn trace_kind_name(k: &crate::store::TraceKind) -> &'static str {
    use crate::store::TraceKind as K;
    match k {
        K::Ingested { .. } => "ingested",
        K::Updated { .. } => "updated",
        K::Revived { .. } => "revived",
        K::Filtered { .. } => "filtered",
        K::Failed { .. } => "failed",
        K::ChangedAfterDelivery { .. } => "changed_after_delivery",
        K::Sent { .. } => "sent",
        K::Delivered { .. } => "delivered",
        K::Retry { .. } => "retry",
        K::Dead { .. } => "dead",
        K::Requeued => "requeued",
        K::Replayed => "replayed",
        K::Dropped { .. } => "dropped",
    }
}

/// The trace of `key` in `scheme`, or in every scheme of the config that knows it.
pub fn trace(store: &Store, schemes: &[String], key: &str) -> Result<Vec<Value>, StoreError> {
    let mut items = Vec::new();
    for s in schemes {
        let events = store.trace(s, key)?;
        let entry = store.find(s, key)?;
        if events.is_empty() && entry.is_none() {
            continue;
        }
        items.push(json!({
            "scheme": s,
            "source_key": key,
            "state": entry.as_ref().map(|e| e.state.name()),
            "status": entry.as_ref().map(|e| e.state.to_string()),
            "identity": entry.as_ref().map(|e| e.identity.clone()),
            "entry": entry.as_ref().map(|e| e.id),
            "events": trace_events(&events),
        }));
    }
    Ok(items)
}

/// One entry with its state, model and trace (`GET /api/dlq/ID`, `ferry dlq show`).
pub fn entry_detail(store: &Store, e: &OutboxEntry) -> Result<Value, StoreError> {
    let events = store.trace(&e.scheme, &e.source_key)?;
    let mut v = dead_item(e);
    v["state"] = json!(e.state.name());
    v["status"] = json!(e.state.to_string());
    v["model"] = e.model_json().unwrap_or(Value::Null);
    v["trace"] = json!(trace_events(&events));
    Ok(v)
}
