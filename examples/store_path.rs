//! The store's cost per document on the ingest → deliver path, as the pipeline drives it: pages
//! of 50 mapped sales returns (the shipped mapping, 5 lines) ingested, then BatchSaves of 50
//! read from the due index, marked InFlight and finished as delivered.
//!
//! `cargo run --profile bench --example store_path [DOCS]` prints the wall time per document
//! (flushes included). For instruction counts of the store's own work, without the setup:
//! `valgrind --tool=callgrind --collect-atstart=no --toggle-collect='*measured*'
//!  target/bench/examples/store_path 2000` and divide the total by the documents.

use std::path::Path;

use ferry::mapping::MapOutcome;
use ferry::store::{Finish, Ingest, NewEntry, OnChange, Store};
use serde_json::Value;

const PAGE: usize = 50;

fn pages(docs: usize) -> Vec<Vec<Ingest>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let config = ferry::config::load(&root.join("config.toml")).expect("shipped config");
    let scheme = config.scheme("offline-returns").expect("scheme");
    let raw = std::fs::read(root.join("tests/fixtures/return.json")).expect("fixture");
    let v: Value = serde_json::from_slice(&raw).expect("json");
    let doc = v["data"]["datas"][0].clone();
    let items = doc["items"].as_array().cloned().unwrap_or_default();
    let mut out = Vec::new();
    let mut page = Vec::new();
    for n in 0..docs {
        let mut d = doc.clone();
        d["io_id"] = Value::from(100_000 + n as i64);
        let lines: Vec<Value> = (0..5)
            .map(|i| {
                let mut it = items[i % items.len()].clone();
                it["ioi_id"] = Value::from(1_000_000 + (n * 5 + i) as i64);
                it
            })
            .collect();
        d["items"] = Value::Array(lines);
        let MapOutcome::Mapped(m) = scheme.mapper.map(&d) else {
            panic!("document {n} did not map");
        };
        page.push(Ingest::New(NewEntry {
            source_key: m.source_key,
            identity: m.identity,
            line_keys: m.line_keys,
            model: m.json,
            fingerprint: m.fingerprint,
        }));
        if page.len() == PAGE {
            out.push(std::mem::take(&mut page));
        }
    }
    if !page.is_empty() {
        out.push(page);
    }
    out
}

/// Ingests every page, then delivers everything the way the Writer does.
#[inline(never)]
fn measured_path(store: &Store, pages: Vec<Vec<Ingest>>) -> usize {
    for page in pages {
        store
            .ingest("offline-returns", "SAL_RETURNSTOCK", page, OnChange::Record)
            .expect("ingest");
    }
    let mut delivered = 0;
    loop {
        let first = store.due(None, i64::MAX, 1).expect("due");
        let Some(first) = first.into_iter().next() else {
            break;
        };
        let batch = store
            .due(Some(&first.form_id), i64::MAX, PAGE)
            .expect("due");
        let bytes: usize = batch.iter().map(|e| e.model.len()).sum();
        assert!(bytes > 0);
        let batch_id = store.next_batch_id().expect("batch id");
        let ids: Vec<u64> = batch.iter().map(|e| e.id).collect();
        store.begin_send(&ids, batch_id).expect("begin_send");
        let fin = ids
            .iter()
            .map(|id| {
                let f = Finish::Delivered {
                    kingdee_id: (100_000 + id).to_string(),
                    number: format!("XSTH{id:06}"),
                };
                (*id, f)
            })
            .collect();
        store.finish(fin).expect("finish");
        delivered += ids.len();
    }
    delivered
}

/// Peak resident memory of this process so far (Linux), in MB.
fn peak_mb() -> f64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
        .map_or(0.0, |kb| kb / 1024.0)
}

/// `backlog N`: N documents waiting (their models made from one mapped model, numbers
/// changed), the store reopened, then 20 BatchSaves of 50 drained; prints the peak memory.
fn backlog(docs: usize) {
    let template = pages(1).remove(0).remove(0);
    let Ingest::New(t) = template else {
        panic!("not mapped")
    };
    let json = String::from_utf8(t.model.clone()).expect("utf8");
    let dir = tempfile::tempdir().expect("tempdir");
    {
        let store = Store::open(dir.path()).expect("store");
        for p in 0..docs.div_ceil(PAGE) {
            let page = (0..PAGE)
                .map(|j| {
                    let n = 200_000 + p * PAGE + j;
                    Ingest::New(NewEntry {
                        source_key: n.to_string(),
                        identity: t.identity.replace("100000", &n.to_string()),
                        line_keys: (0..5)
                            .map(|i| (5_000_000 + n * 5 + i).to_string())
                            .collect(),
                        model: json.replace("100000", &n.to_string()).into_bytes(),
                        fingerprint: n as u64,
                    })
                })
                .collect();
            store
                .ingest("offline-returns", "SAL_RETURNSTOCK", page, OnChange::Record)
                .expect("ingest");
        }
    }
    let after_ingest = peak_mb();
    let store = Store::open(dir.path()).expect("reopen");
    for _ in 0..20 {
        let batch = store
            .due(Some("SAL_RETURNSTOCK"), i64::MAX, PAGE)
            .expect("due");
        let ids: Vec<u64> = batch.iter().map(|e| e.id).collect();
        let batch_id = store.next_batch_id().expect("batch id");
        store.begin_send(&ids, batch_id).expect("begin_send");
        let fin = ids.iter().map(|id| (*id, Finish::Pending)).collect();
        store.finish(fin).expect("finish");
    }
    println!(
        "backlog of {docs}: model {} bytes; peak {after_ingest:.1} MB after ingest, {:.1} MB after reopen and 20 batches; {:.1} MB on disk",
        json.len(),
        peak_mb(),
        ferry::store::dir_size(dir.path()) as f64 / 1e6
    );
}

fn main() {
    let mut args = std::env::args().skip(1).peekable();
    if args.peek().map(String::as_str) == Some("backlog") {
        args.next();
        return backlog(args.next().and_then(|a| a.parse().ok()).unwrap_or(200_000));
    }
    let docs: usize = args.next().and_then(|a| a.parse().ok()).unwrap_or(2000);
    let pages = pages(docs);
    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    let t0 = std::time::Instant::now();
    let delivered = measured_path(&store, pages);
    let el = t0.elapsed();
    assert_eq!(delivered, docs);
    let c = store.counts("offline-returns").expect("counts");
    assert_eq!(c.delivered as usize, docs);
    println!(
        "{docs} documents ingested and delivered in {:.3} s: {:.1} µs per document (wall, flushes included)",
        el.as_secs_f64(),
        el.as_secs_f64() * 1e6 / docs as f64
    );
}
