//! The store on its hot path: `cargo bench --bench store`.
//!
//! - ingest: one fetched page (50 mapped 5-line sales returns, the shipped mapping's model bytes)
//!   in one durable transaction;
//! - send and deliver: a batch of 50 Pending → InFlight (`begin_send`) → Delivered (`finish`),
//!   two durable transactions, as the Writer does around one BatchSave; and reading the batch
//!   (`due`, with models) before it;
//! - open: reopening a store with a backlog of 200,000 entries waiting for Kingdee (set
//!   `FERRY_BENCH_BACKLOG`; 2,000 in test mode) up to the first batch read, as a restart does.
//!   Building the backlog takes a while and is not measured;
//! - raw limits of this machine for the same payloads, to set the figures against: sled alone
//!   (a batch of 50 models inserted, then flushed) and serde_json alone (parsing a fetched page of
//!   50 returns).

mod common;

use std::path::Path;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BatchSize, Criterion, SamplingMode, Throughput};
use ferry::store::{Finish, Ingest, NewEntry, OnChange, Store};

const SCHEME: &str = "offline-returns";
const FORM: &str = "SAL_RETURNSTOCK";
const PAGE: usize = 50;

/// Makes mapped documents with fresh keys from the shipped mapping of the fixture return.
struct Docs {
    template: NewEntry,
    next: u64,
}

impl Docs {
    fn new() -> Docs {
        let config = common::shipped_config();
        let scheme = config.scheme(SCHEME).expect("shipped scheme");
        let doc = common::five_line_return();
        match ferry::pipeline::mapper::to_ingest(scheme, &doc) {
            Ingest::New(template) => Docs { template, next: 1 },
            other => panic!("the fixture return does not map: {other:?}"),
        }
    }

    fn page(&mut self, n: usize) -> Vec<Ingest> {
        (0..n)
            .map(|_| {
                let k = self.next;
                self.next += 1;
                let mut e = self.template.clone();
                e.source_key = k.to_string();
                e.identity = format!("JST-{k}");
                e.line_keys = (0..5).map(|i| (k * 10 + i).to_string()).collect();
                Ingest::New(e)
            })
            .collect()
    }
}

fn ingest(store: &Store, page: Vec<Ingest>) {
    let r = store
        .ingest(SCHEME, FORM, page, OnChange::Record)
        .expect("ingest");
    assert!(r.new > 0, "ingest created no entry");
}

/// Ingests a page and returns its entries' ids (read from the due index, as the Writer does).
fn pending_batch(store: &Store, docs: &mut Docs) -> Vec<u64> {
    ingest(store, docs.page(PAGE));
    let due = store
        .due(Some(FORM), ferry::time::now_unix(), PAGE)
        .expect("due");
    assert_eq!(due.len(), PAGE, "the page is due");
    due.iter().map(|e| e.id).collect()
}

fn delivered(ids: &[u64]) -> Vec<(u64, Finish)> {
    ids.iter()
        .map(|&id| {
            (
                id,
                Finish::Delivered {
                    kingdee_id: (100_000 + id).to_string(),
                    number: format!("JST-{id}"),
                },
            )
        })
        .collect()
}

fn hot_path(c: &mut Criterion) {
    let mut docs = Docs::new();
    let mut g = c.benchmark_group("store");
    g.throughput(Throughput::Elements(PAGE as u64));

    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    g.bench_function("ingest a page of 50 returns", |b| {
        b.iter_batched(
            || docs.page(PAGE),
            |page| ingest(&store, page),
            BatchSize::PerIteration,
        )
    });
    drop(store);

    let dir = tempfile::tempdir().expect("tempdir");
    let store = Store::open(dir.path()).expect("store");
    ingest(&store, docs.page(PAGE));
    let now = ferry::time::now_unix();
    g.bench_function("read a batch of 50 due, with models", |b| {
        b.iter(|| store.due(Some(FORM), now, PAGE).expect("due"))
    });
    let mut batch = 0;
    g.bench_function("send and deliver a batch of 50", |b| {
        b.iter_batched(
            || pending_batch(&store, &mut docs),
            |ids| {
                batch += 1;
                let sent = store.begin_send(&ids, batch).expect("begin_send");
                assert_eq!(sent.len(), ids.len());
                store.finish(delivered(&ids)).expect("finish");
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

/// A store with `n` documents ingested and waiting (built in pages of 1,000).
fn backlog(dir: &Path, n: u64) {
    let t0 = Instant::now();
    let mut docs = Docs::new();
    let store = Store::open(dir).expect("store");
    let mut left = n;
    while left > 0 {
        let k = left.min(1000);
        ingest(&store, docs.page(k as usize));
        left -= k;
    }
    eprintln!("backlog of {n} entries built in {:.1?}", t0.elapsed());
}

fn reopen(c: &mut Criterion) {
    let n = common::env_u64(
        "FERRY_BENCH_BACKLOG",
        if common::test_mode() { 2_000 } else { 200_000 },
    );
    let dir = tempfile::tempdir().expect("tempdir");
    backlog(dir.path(), n);
    let mut g = c.benchmark_group("store");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(Duration::from_secs(5));
    g.bench_function(
        format!("open with {n} entries waiting, to the first batch"),
        |b| {
            b.iter_custom(|iters| {
                let mut total = Duration::ZERO;
                for _ in 0..iters {
                    let t = Instant::now();
                    let store = Store::open(dir.path()).expect("reopen");
                    let due = store
                        .due(Some(FORM), ferry::time::now_unix(), PAGE)
                        .expect("due");
                    total += t.elapsed();
                    assert_eq!(due.len(), PAGE);
                    drop(store);
                    // sled lets go of its file lock from a thread of its own: not part of the figure.
                    std::thread::sleep(Duration::from_millis(50));
                }
                total
            })
        },
    );
    g.finish();
}

/// sled alone: 50 models (the shipped mapping's bytes) in one batch, then a flush (an fsync).
/// serde_json alone: one page of 50 fetched returns (the answer's JSON text) parsed.
fn raw_limits(c: &mut Criterion) {
    let docs = Docs::new();
    let model = docs.template.model.clone();
    let mut g = c.benchmark_group("raw limits");
    g.throughput(Throughput::Elements(PAGE as u64));
    let dir = tempfile::tempdir().expect("tempdir");
    let db = sled::Config::new()
        .path(dir.path())
        .flush_every_ms(None)
        .open()
        .expect("sled");
    let mut next = 0u64;
    g.bench_function("sled: a batch of 50 models, then flush", |b| {
        b.iter(|| {
            let mut batch = sled::Batch::default();
            for _ in 0..PAGE {
                next += 1;
                batch.insert(&next.to_be_bytes(), model.as_slice());
            }
            db.apply_batch(batch).expect("apply");
            db.flush().expect("flush")
        })
    });
    let page = serde_json::json!({
        "code": 0,
        "msg": "执行成功",
        "data": {
            "page_index": 1, "page_size": 50, "has_next": true,
            "datas": vec![common::five_line_return(); PAGE],
        }
    })
    .to_string();
    g.bench_function("serde_json: parse a page of 50 returns", |b| {
        b.iter(|| serde_json::from_str::<serde_json::Value>(&page).expect("json"))
    });
    g.finish();
}

criterion_group!(benches, hot_path, reopen, raw_limits);
criterion_main!(benches);
