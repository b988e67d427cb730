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
}

pub(super) fn st(d: &Delivery) -> St {
    match d {
        Delivery::Pending => St::Pending,
        Delivery::InFlight { .. } => St::InFlight,
        Delivery::Retry { .. } => St::Retry,
        Delivery::Delivered { .. } => St::Delivered,
        Delivery::Dead { .. } => St::Dead,
    }
}
