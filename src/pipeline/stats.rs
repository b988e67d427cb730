//! Per-scheme counters of one run, shared by the actors, and the summary printed at the end.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use serde::Serialize;

/// Counters for one scheme during one run. Updated by the actors, read by progress and summary.
#[derive(Debug, Default)]
pub struct SchemeStats {
    pub fetched: AtomicU64,
    pub pages: AtomicU64,
    pub windows: AtomicU64,
    pub windows_planned: AtomicU64,
    pub filtered: AtomicU64,
    pub duplicates: AtomicU64,
    pub new: AtomicU64,
    pub updated: AtomicU64,
    pub changed_after_delivery: AtomicU64,
    pub mapping_failed: AtomicU64,
    pub line_key_conflicts: AtomicU64,
    pub delivered: AtomicU64,
    pub retried: AtomicU64,
    pub dead: AtomicU64,
    pub batches: AtomicU64,
}

impl SchemeStats {
    pub fn add(counter: &AtomicU64, n: u64) {
        counter.fetch_add(n, Ordering::Relaxed);
    }

    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// All schemes' counters, by scheme name.
#[derive(Debug, Default, Clone)]
pub struct Stats {
    by_scheme: Arc<BTreeMap<String, Arc<SchemeStats>>>,
}

impl Stats {
    pub fn new<'a>(schemes: impl IntoIterator<Item = &'a str>) -> Self {
        let map = schemes
            .into_iter()
            .map(|s| (s.to_string(), Arc::new(SchemeStats::default())))
            .collect();
        Stats {
            by_scheme: Arc::new(map),
        }
    }

    /// Counters of `scheme`; a scheme the run does not know gets a throwaway set.
    pub fn scheme(&self, scheme: &str) -> Arc<SchemeStats> {
        self.by_scheme
            .get(scheme)
            .cloned()
            .unwrap_or_else(|| Arc::new(SchemeStats::default()))
    }
}

/// One line of the end-of-run summary.
#[derive(Debug, Clone, Serialize)]
pub struct SchemeSummary {
    pub scheme: String,
    pub fetched: u64,
    pub filtered: u64,
    /// Re-fetched documents that were already in the store unchanged (already delivered or queued).
    pub duplicates: u64,
    pub new: u64,
    pub changed_after_delivery: u64,
    pub delivered: u64,
    /// Entries waiting for a retry now (store state at the end of the run).
    pub retrying: u64,
    /// Dead letters now (store state at the end of the run).
    pub dead: u64,
    /// Entries delivered over all runs (store state).
    pub delivered_total: u64,
    pub pending: u64,
    pub checkpoint: Option<String>,
    pub error: Option<String>,
}

/// The summary of a whole run.
#[derive(Debug, Clone, Serialize)]
pub struct RunSummary {
    pub schemes: Vec<SchemeSummary>,
    pub elapsed_ms: u64,
    pub errors: Vec<String>,
}

impl RunSummary {
    pub fn dead_total(&self) -> u64 {
        self.schemes.iter().map(|s| s.dead).sum()
    }

    /// A fixed-width table for the console.
    pub fn table(&self) -> String {
        let mut out = String::new();
        out.push_str(&format!(
            "{:<24} {:>8} {:>9} {:>10} {:>10} {:>9} {:>6} {:>8} {:>12}\n",
            "scheme",
            "fetched",
            "filtered",
            "duplicate",
            "delivered",
            "retrying",
            "dead",
            "changed",
            "in Kingdee"
        ));
        for s in &self.schemes {
            out.push_str(&format!(
                "{:<24} {:>8} {:>9} {:>10} {:>10} {:>9} {:>6} {:>8} {:>12}\n",
                s.scheme,
                s.fetched,
                s.filtered,
                s.duplicates,
                s.delivered,
                s.retrying,
                s.dead,
                s.changed_after_delivery,
                s.delivered_total
            ));
        }
        for s in &self.schemes {
            if let Some(e) = &s.error {
                out.push_str(&format!("{}: {}\n", s.scheme, e));
            }
        }
        for e in &self.errors {
            out.push_str(&format!("error: {e}\n"));
        }
        out.push_str(&format!(
            "finished in {:.1}s\n",
            self.elapsed_ms as f64 / 1000.0
        ));
        out
    }
}
