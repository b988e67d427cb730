//! End-to-end throughput: `cargo bench --bench throughput`.
//!
//! Starts both simulators in-process on 127.0.0.1 (rate limits lifted, no latency unless asked),
//! backfills N sales-return documents through the whole pipeline (fetch, map, durable outbox,
//! BatchSave) and prints documents per second. Environment knobs:
//! `FERRY_BENCH_DOCS` (default 5000), `FERRY_BENCH_KD_LATENCY_MS` (default 0),
//! `FERRY_BENCH_REALISTIC=1` (5 req/s and 100 req/min on Jushuitan, 150 ms per BatchSave).

use std::time::{Duration, Instant};

use ferry::pipeline::{self, RunOptions};
use ferry::sim::{self, SimSpec};

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn main() {
    // The library sets the allocator (src/process.rs), so this measures what ships.
    // `cargo bench` passes --bench; `cargo test --benches` passes nothing we need.
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    if std::env::var("FERRY_LOG").is_ok() {
        ferry::cli::logging::init_console("info");
    }
    let realistic = std::env::var("FERRY_BENCH_REALISTIC").is_ok();
    let docs = env_u64("FERRY_BENCH_DOCS", if realistic { 1500 } else { 5000 }) as u32;
    let (per_second, per_minute) = if realistic {
        (5, 100)
    } else {
        (100_000, 6_000_000)
    };
    let kd_latency = env_u64("FERRY_BENCH_KD_LATENCY_MS", if realistic { 150 } else { 0 });
    let dir = tempfile::tempdir().expect("tempdir");
    let loopback = "127.0.0.1:0".parse().expect("addr");
    let t0 = Instant::now();
    let sims = sim::start(&SimSpec {
        jushuitan_addr: loopback,
        kingdee_addr: loopback,
        state_dir: None,
        docs,
        shops: 10,
        seed: 3,
        faults: "none".into(),
        per_second,
        per_minute,
        lines: Some(5),
        reject_duplicates: true,
        save_latency: Duration::from_millis(kd_latency),
        live: 0.0,
    })
    .expect("simulators");
    eprintln!("simulators up with {docs} documents in {:?}", t0.elapsed());

    let config_path = ferry_bench_config(dir.path(), &sims, per_second, per_minute);
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
    let delivered: u64 = summary.schemes.iter().map(|s| s.delivered).sum();
    let fetched: u64 = summary.schemes.iter().map(|s| s.fetched).sum();
    println!("{}", summary.table());
    println!(
        "throughput: fetched {fetched} and delivered {delivered} documents in {:.2}s = {:.0} delivered/s ({:.0} fetched/s)",
        elapsed.as_secs_f64(),
        delivered as f64 / elapsed.as_secs_f64(),
        fetched as f64 / elapsed.as_secs_f64()
    );
    println!(
        "Jushuitan requests: busiest second {}, busiest minute {} (limits {per_second}/s, {per_minute}/min)",
        sims.jushuitan.max_per_second(),
        sims.jushuitan.max_per_minute()
    );
    sims.stop();
}

fn ferry_bench_config(
    dir: &std::path::Path,
    sims: &sim::Sims,
    per_second: u32,
    per_minute: u32,
) -> std::path::PathBuf {
    let text = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/config.toml"))
        .expect("config.toml");
    let mut t: toml::Table = text.parse().expect("config parses");
    let d = sims.describe_json();
    let s = |v: &serde_json::Value| toml::Value::String(v.as_str().unwrap_or_default().to_string());
    t.insert("data_dir".into(), toml::Value::String("data".into()));
    let mut jt = toml::Table::new();
    jt.insert("base_url".into(), s(&d["jushuitan"]["base_url"]));
    jt.insert("app_key".into(), s(&d["jushuitan"]["app_key"]));
    jt.insert("app_secret".into(), s(&d["jushuitan"]["app_secret"]));
    jt.insert("per_second".into(), toml::Value::Integer(per_second as i64));
    jt.insert("per_minute".into(), toml::Value::Integer(per_minute as i64));
    t.insert("jushuitan".into(), toml::Value::Table(jt));
    let mut kt = toml::Table::new();
    for k in ["base_url", "acct_id", "user", "app_id", "app_secret"] {
        kt.insert(k.into(), s(&d["kingdee"][k]));
    }
    kt.insert("auth".into(), toml::Value::String("signed".into()));
    t.insert("kingdee".into(), toml::Value::Table(kt));
    let mut st = toml::Table::new();
    st.insert("enabled".into(), toml::Value::Boolean(false));
    t.insert("simulator".into(), toml::Value::Table(st));
    let mut pt = toml::Table::new();
    pt.insert("settle_lag".into(), toml::Value::String("1s".into()));
    t.insert("pipeline".into(), toml::Value::Table(pt));
    let start = ferry::time::format_beijing(ferry::time::now_unix() - 32 * 86400);
    if let Some(toml::Value::Array(schemes)) = t.get_mut("scheme") {
        for sc in schemes {
            if let Some(toml::Value::Table(src)) = sc.get_mut("source") {
                if src.contains_key("window") {
                    src.insert("start_from".into(), toml::Value::String(start.clone()));
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
