//! End-to-end throughput: `cargo bench --bench throughput`.
//!
//! Both simulators run in-process on 127.0.0.1 (rate limits lifted, no latency unless asked);
//! each measured run backfills the whole history through the whole pipeline (fetch, map, durable
//! outbox, BatchSave) into a fresh store and a fresh Kingdee simulator, with the shipped
//! config.toml's schemes. Criterion reports it twice from the same kind of run: as sales-return
//! documents delivered per second (`Throughput::Elements`) and as bytes of source JSON per second
//! (`Throughput::Bytes`: the fetched documents as the simulator serializes them).
//!
//! Environment knobs: `FERRY_BENCH_DOCS` (documents per API, default 20000; 300 in test mode),
//! `FERRY_BENCH_KD_LATENCY_MS` (added to every BatchSave, default 0), `FERRY_BENCH_REALISTIC=1`
//! (one run under the real limits instead of criterion: 5 req/s and 100 req/min on Jushuitan,
//! 150 ms per BatchSave, 1500 documents), `FERRY_LOG` (e.g. `info,ferry::pipeline=debug`).

mod common;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use criterion::{criterion_group, Criterion, SamplingMode, Throughput};
use ferry::pipeline::{self, RunOptions};
use ferry::sim::jushuitan::{self as jst, JstSimHandle, JstSimOptions};
use ferry::sim::kingdee::{self as kd, KdSimOptions};

/// The API and type the shipped sales-return scheme reads.
const RETURNS_API: &str = "other.inout.query";
const RETURNS_TYPE: &str = "其它进仓";

struct Setup {
    per_second: u32,
    per_minute: u32,
    kd_latency: Duration,
}

/// What one backfill did.
struct Run {
    elapsed: Duration,
    delivered: u64,
    fetched: u64,
}

fn start_jushuitan(docs: u32, s: &Setup) -> JstSimHandle {
    let t0 = Instant::now();
    let sim = jst::start(JstSimOptions {
        docs,
        shops: 10,
        seed: 3,
        per_second: s.per_second,
        per_minute: s.per_minute,
        lines: Some(5),
        ..JstSimOptions::default()
    })
    .expect("Jushuitan simulator");
    eprintln!(
        "Jushuitan simulator up with {docs} documents per API in {:?}",
        t0.elapsed()
    );
    sim
}

/// Bytes of the documents the sales-return scheme fetches, as the simulator serializes them.
fn source_bytes(sim: &JstSimHandle) -> u64 {
    sim.api_documents_at(RETURNS_API, ferry::time::now_unix())
        .iter()
        .filter(|d| d["type"] == RETURNS_TYPE)
        .map(|d| serde_json::to_vec(d).map(|b| b.len() as u64).unwrap_or(0))
        .sum()
}

/// One backfill into a fresh store and a fresh Kingdee simulator; the clock runs from the start
/// of the pipeline to the end of `run --once`.
fn backfill(sim: &JstSimHandle, s: &Setup) -> Run {
    let kd = kd::start(KdSimOptions {
        seed: 3,
        reject_duplicates: true,
        save_latency: s.kd_latency,
        ..KdSimOptions::default()
    })
    .expect("Kingdee simulator");
    let dir = tempfile::tempdir().expect("tempdir");
    let config_path = bench_config(dir.path(), sim, &kd, s);
    let config = ferry::config::load(&config_path).expect("bench config");
    let store = pipeline::open_store(&config).expect("store");
    let system = actix_rt::System::new();
    let started = Instant::now();
    let summary = system
        .block_on(pipeline::run(
            config,
            store,
            RunOptions {
                once: true,
                wait_retries: Duration::ZERO,
                ..RunOptions::default()
            },
            std::future::pending::<()>(),
        ))
        .expect("pipeline run");
    let elapsed = started.elapsed();
    drop(system);
    kd.stop();
    let returns = summary
        .schemes
        .iter()
        .filter(|r| r.scheme == "offline-returns");
    let (delivered, fetched) = returns.fold((0, 0), |(d, f), r| (d + r.delivered, f + r.fetched));
    if std::env::var("FERRY_BENCH_VERBOSE").is_ok() {
        println!("{}", summary.table());
    }
    Run {
        elapsed,
        delivered,
        fetched,
    }
}

fn throughput(c: &mut Criterion) {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if std::env::var("FERRY_LOG").is_ok() {
        ferry::cli::logging::init_console("info");
    }
    let test = common::test_mode();
    let s = Setup {
        per_second: 100_000,
        per_minute: 6_000_000,
        kd_latency: Duration::from_millis(common::env_u64("FERRY_BENCH_KD_LATENCY_MS", 0)),
    };
    let docs = common::env_u64("FERRY_BENCH_DOCS", if test { 300 } else { 20_000 }) as u32;
    let sim = start_jushuitan(docs, &s);
    let bytes = source_bytes(&sim);

    // A first run, not measured: proves the pipeline delivers, and gives the count and the time
    // criterion plans with.
    let first = backfill(&sim, &s);
    assert!(
        first.delivered > 0 && first.delivered <= first.fetched,
        "the backfill delivered {} of {} fetched sales returns",
        first.delivered,
        first.fetched
    );
    eprintln!(
        "first run: fetched {} and delivered {} sales returns ({bytes} bytes of source JSON) in {:.2?}",
        first.fetched, first.delivered, first.elapsed
    );

    let mut g = c.benchmark_group("backfill");
    g.sample_size(10)
        .sampling_mode(SamplingMode::Flat)
        .warm_up_time(Duration::from_millis(1))
        .measurement_time(first.elapsed * 10);
    let name = format!("{docs} returns of 5 lines");
    for (what, t) in [
        ("documents", Throughput::Elements(first.delivered)),
        ("source JSON", Throughput::Bytes(bytes)),
    ] {
        g.throughput(t);
        g.bench_function(format!("{name}, {what}"), |b| {
            b.iter_custom(|iters| {
                (0..iters)
                    .map(|_| {
                        let run = backfill(&sim, &s);
                        assert_eq!(run.delivered, first.delivered, "every run delivers alike");
                        run.elapsed
                    })
                    .sum()
            })
        });
    }
    g.finish();
    sim.stop();
}

/// `FERRY_BENCH_REALISTIC=1`: one run under the real limits, reported as it goes.
fn realistic() {
    let s = Setup {
        per_second: 5,
        per_minute: 100,
        kd_latency: Duration::from_millis(common::env_u64("FERRY_BENCH_KD_LATENCY_MS", 150)),
    };
    let docs = common::env_u64("FERRY_BENCH_DOCS", 1500) as u32;
    let sim = start_jushuitan(docs, &s);
    let run = backfill(&sim, &s);
    println!(
        "realistic: fetched {} and delivered {} sales returns in {:.2}s = {:.0} delivered/s",
        run.fetched,
        run.delivered,
        run.elapsed.as_secs_f64(),
        run.delivered as f64 / run.elapsed.as_secs_f64()
    );
    println!(
        "Jushuitan requests: busiest second {}, busiest minute {} (limits {}/s, {}/min)",
        sim.max_per_second(),
        sim.max_per_minute(),
        s.per_second,
        s.per_minute
    );
    sim.stop();
}

/// The shipped config.toml pointed at the simulators, history from 32 days ago, batches of 100.
fn bench_config(dir: &Path, jst: &JstSimHandle, kd: &kd::KdSimHandle, s: &Setup) -> PathBuf {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml"))
        .expect("config.toml");
    let mut t: toml::Table = text.parse().expect("config parses");
    let str = |v: &str| toml::Value::String(v.to_string());
    t.insert("data_dir".into(), str("data"));
    let mut jt = toml::Table::new();
    jt.insert("base_url".into(), str(&jst.base_url()));
    jt.insert("app_key".into(), str(jst.app_key()));
    jt.insert("app_secret".into(), str(jst.app_secret()));
    jt.insert(
        "per_second".into(),
        toml::Value::Integer(s.per_second.into()),
    );
    jt.insert(
        "per_minute".into(),
        toml::Value::Integer(s.per_minute.into()),
    );
    t.insert("jushuitan".into(), toml::Value::Table(jt));
    let mut kt = toml::Table::new();
    kt.insert("base_url".into(), str(&kd.base_url()));
    kt.insert("acct_id".into(), str(kd.acct_id()));
    kt.insert("user".into(), str(kd.user()));
    kt.insert("app_id".into(), str(kd.app_id()));
    kt.insert("app_secret".into(), str(kd.app_secret()));
    kt.insert("auth".into(), str("signed"));
    t.insert("kingdee".into(), toml::Value::Table(kt));
    let mut st = toml::Table::new();
    st.insert("enabled".into(), toml::Value::Boolean(false));
    t.insert("simulator".into(), toml::Value::Table(st));
    let mut pt = toml::Table::new();
    pt.insert("settle_lag".into(), str("1s"));
    t.insert("pipeline".into(), toml::Value::Table(pt));
    let start = ferry::time::format_beijing(ferry::time::now_unix() - 32 * 86400);
    if let Some(toml::Value::Array(schemes)) = t.get_mut("scheme") {
        for sc in schemes {
            if let Some(toml::Value::Table(src)) = sc.get_mut("source") {
                if src.contains_key("window") {
                    src.insert("start_from".into(), str(&start));
                }
            }
            if let Some(toml::Value::Table(tg)) = sc.get_mut("target") {
                tg.insert("batch_size".into(), toml::Value::Integer(100));
            }
        }
    }
    let path = dir.join("config.toml");
    std::fs::write(&path, toml::to_string(&t).expect("toml")).expect("write");
    path
}

criterion_group!(benches, throughput);

fn main() {
    if std::env::var("FERRY_BENCH_REALISTIC").is_ok() && !common::test_mode() {
        realistic();
        return;
    }
    benches();
    Criterion::default().configure_from_args().final_summary();
}
