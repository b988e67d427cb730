//! store tests: a model-based property test over random operation sequences (with restarts),
//! and a crash test that SIGKILLs a child process writing to the store.

mod crash;
mod model;
mod perf;

pub(super) use std::collections::{BTreeMap, HashMap, HashSet};

pub(super) use ferry::store::*;
pub(super) use proptest::prelude::*;

pub(super) const S: &str = "returns";
pub(super) const F: &str = "SAL_RETURNSTOCK";

pub(super) fn new_doc(key: &str, fp: u64, lines: &[String]) -> Ingest {
    Ingest::New(NewEntry {
        source_key: key.to_string(),
        identity: format!("JST-{key}"),
        line_keys: lines.to_vec(),
        model: format!("{{\"FBillNo\":\"JST-{key}\",\"fp\":{fp}}}").into_bytes(),
        fingerprint: fp,
    })
}

// ---------------------------------------------------------------- model-based property test

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum St {
    Pending,
    InFlight,
    Retry,
    Delivered,
    Dead,
    Dropped,
}

pub(super) fn st(d: &Delivery) -> St {
    match d {
        Delivery::Pending => St::Pending,
        Delivery::InFlight { .. } => St::InFlight,
        Delivery::Retry { .. } => St::Retry,
        Delivery::Delivered { .. } => St::Delivered,
        Delivery::Dead { .. } => St::Dead,
        Delivery::Dropped { .. } => St::Dropped,
    }
}

/// Takes up to `limit` due entries (of `form`, or all) and makes them InFlight in a new batch;
/// returns their ids.
pub(super) fn send_due(store: &Store, form: Option<&str>, limit: usize) -> Vec<u64> {
    let ids: Vec<u64> = store
        .due(form, i64::MAX, limit)
        .unwrap()
        .iter()
        .map(|e| e.id)
        .collect();
    store
        .begin_send(&ids, store.next_batch_id().unwrap())
        .unwrap();
    ids
}
