//! Latency from Jushuitan to Kingdee: `cargo bench --bench latency` (or, without the release
//! build, `cargo bench --profile dev --bench latency`; the delay is the schedule's, not the CPU's).
//!
//! Starts both simulators in-process under the real limits (5 req/s and 100 req/min on
//! Jushuitan, 150 ms per BatchSave on Kingdee), Jushuitan in live mode (new documents and new
//! versions of recent ones, `modified` = when they changed), and runs the real `ferry run` on
//! the shipped config.toml (its schedule, settle lag, overlap, budget sharing as shipped) with
//! the returns scheme starting now and a second scheme backfilling 30 days of sales-out
//! documents at the same time (they are fetched and filtered, not posted). Every 50 ms it looks
//! at what Kingdee saved; a return's delay is (first seen saved − `modified` of the version that
//! made it eligible: 其它进仓, Confirmed, with lines). Prints p50/p90/p99/max, the documents
//! still undelivered, and the most calls Jushuitan saw in any second and minute.
//!
//! Knobs: `FERRY_LATENCY_SECS` (default 120: how long documents change; 10 in test mode), `FERRY_LATENCY_RATE`
//! (live changes per second per API, default 1), `FERRY_LATENCY_BACKFILL_DOCS` (default 20000),
//! `FERRY_LATENCY_DETAIL=1` (each return's delay), `FERRY_LOG` (the ferry run's log level).

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use ferry::sim::{self, SimSpec};
use ferry::time::{format_beijing, now_unix};
use serde_json::Value;

const RETURNS_API: &str = "other.inout.query";
const RETURNS_FORM: &str = "SAL_RETURNSTOCK";

fn env_num(name: &str, default: f64) -> f64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_millis() as i64)
}

/// A `yyyy-MM-dd HH:mm:ss[.fff]` Beijing time in unix milliseconds.
fn stamp_ms(s: &str) -> Option<i64> {
    let secs = ferry::time::parse_beijing(s).ok()?;
    let ms = s
        .split_once('.')
        .and_then(|(_, f)| format!("{:0<3}", &f[..f.len().min(3)]).parse::<i64>().ok())
        .unwrap_or(0);
    Some(secs * 1000 + ms)
}

/// The shipped config pointed at the simulators: the returns scheme as shipped but starting
/// now, and a sales-out scheme backfilling 30 days.
fn write_config(dir: &Path, sims: &sim::Sims, started: i64) -> PathBuf {
    let shipped = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
    let text = std::fs::read_to_string(shipped).expect("shipped config");
    let mut t: toml::Table = text.parse().expect("shipped config parses");
    let d = sims.describe_json();
    let s = |v: &Value| toml::Value::String(v.as_str().unwrap_or_default().to_string());
    let (j, k) = (&d["jushuitan"], &d["kingdee"]);
    t.insert("data_dir".into(), toml::Value::String("data".into()));
    let jt = t
        .get_mut("jushuitan")
        .and_then(|v| v.as_table_mut())
        .expect("[jushuitan]");
    jt.insert("base_url".into(), s(&j["base_url"]));
    jt.insert("app_key".into(), s(&j["app_key"]));
    jt.insert("app_secret".into(), s(&j["app_secret"]));
    let kt = t
        .get_mut("kingdee")
        .and_then(|v| v.as_table_mut())
        .expect("[kingdee]");
    for key in ["base_url", "acct_id", "user", "app_id", "app_secret"] {
        kt.insert(key.into(), s(&k[key]));
    }
    let table =
        |k: &str, v: toml::Value| toml::Value::Table(toml::Table::from_iter([(k.into(), v)]));
    t.insert(
        "simulator".into(),
        table("enabled", toml::Value::Boolean(false)),
    );
    t.insert(
        "admin".into(),
        table("listen", toml::Value::String("off".into())),
    );
    let schemes = t
        .get_mut("scheme")
        .and_then(|v| v.as_array_mut())
        .expect("schemes");
    for sc in schemes.iter_mut() {
        if sc["name"].as_str() == Some("offline-returns") {
            sc["source"]["start_from"] = toml::Value::String(format_beijing(started));
        }
    }
    let backfill_from = format_beijing(started - 31 * 86400);
    let backfill: toml::Table = format!(
        r#"
name = "sales-backfill"
enabled = true
every = "5m"
precondition = 'doc.status == "never"'
[source]
api = "orders.out.simple.query"
start_from = "{backfill_from}"
window = "7d"
overlap = "10m"
page_size = 50
key = "io_id"
lines = "items"
line_key = "ioi_id"
[target]
form_id = "SAL_OUTSTOCK"
operation = "BatchSave"
batch_size = 50
identity_field = "FBillNo"
id_field = "FID"
[mapping]
FBillNo = '="JSO-" + doc.io_id'
"#
    )
    .parse()
    .expect("backfill scheme");
    schemes.push(toml::Value::Table(backfill));
    let path = dir.join("config.toml");
    std::fs::write(&path, toml::to_string(&t).expect("config")).expect("write config");
    path
}

/// `ferry run`, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The version of a return that made it eligible (the first one that is), and its `modified`.
fn eligible_since(versions: &[Value]) -> Option<i64> {
    versions
        .iter()
        .find(|v| {
            v["type"] == "其它进仓"
                && v["status"] == "Confirmed"
                && v["items"].as_array().is_some_and(|i| !i.is_empty())
        })
        .and_then(|v| v["modified"].as_str().and_then(stamp_ms))
}

fn percentile(sorted: &[i64], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let i = ((sorted.len() as f64 - 1.0) * p).round() as usize;
    sorted[i.min(sorted.len() - 1)] as f64 / 1000.0
}

fn main() {
    if std::env::args().any(|a| a == "--list") {
        return;
    }
    // `cargo test --bench latency` (CI, without `--bench`): a short run, so the bench keeps
    // working without costing CI minutes.
    let test_mode = !std::env::args().any(|a| a == "--bench");
    let (secs, grace, backfill) = if test_mode {
        (10.0, 30, 500.0)
    } else {
        (120.0, 40, 20_000.0)
    };
    let secs = env_num("FERRY_LATENCY_SECS", secs) as u64;
    let rate = env_num("FERRY_LATENCY_RATE", 1.0);
    let docs = env_num("FERRY_LATENCY_BACKFILL_DOCS", backfill) as u32;
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = sim::start(&SimSpec {
        docs,
        shops: 20,
        seed: 1,
        per_second: 5,
        per_minute: 100,
        save_latency: Duration::from_millis(150),
        live: rate,
        ..SimSpec::default()
    })
    .expect("simulators");
    let started = now_unix();
    let config = write_config(dir.path(), &sims, started);
    eprintln!(
        "ferry run for {secs} s: live {rate}/s per API, sales-out backfill of {docs} documents"
    );
    let mut run = Running(
        Command::new(env!("CARGO_BIN_EXE_ferry"))
            .arg("--config")
            .arg(&config)
            .arg("run")
            .env(
                "FERRY_LOG",
                std::env::var("FERRY_LOG").unwrap_or_else(|_| "warn".into()),
            )
            .stdout(Stdio::null())
            .stderr(Stdio::inherit())
            .spawn()
            .expect("spawn ferry run"),
    );
    // First time each return was seen saved in Kingdee.
    let mut seen: std::collections::HashMap<String, i64> = Default::default();
    let mut count = 0;
    let t0 = Instant::now();
    // Documents change for `secs`; then a grace for the last ones to arrive.
    let deadline = Duration::from_secs(secs + grace);
    while t0.elapsed() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        if let Ok(Some(status)) = run.0.try_wait() {
            panic!("ferry run ended early: {status}");
        }
        let n = sims.kingdee.count(RETURNS_FORM);
        if n == count {
            continue;
        }
        count = n;
        let at = now_ms();
        for m in sims.kingdee.saved(RETURNS_FORM) {
            if let Some(no) = m["FBillNo"].as_str() {
                seen.entry(no.to_string()).or_insert(at);
            }
        }
    }
    drop(run);
    let live_end_ms = (started + secs as i64) * 1000;
    // Every return that became eligible while documents changed, from the simulator.
    let mut delays = Vec::new();
    let mut missing = 0;
    for d in sims.jushuitan.documents_at(now_unix()) {
        let Some(io_id) = d["io_id"].as_i64() else {
            continue;
        };
        let versions = sims.jushuitan.versions_of(RETURNS_API, io_id);
        let Some(since) = eligible_since(&versions) else {
            continue;
        };
        if since < started * 1000 || since > live_end_ms {
            continue;
        }
        match seen.get(&format!("JST-{io_id}")) {
            Some(at) => {
                delays.push(at - since);
                if std::env::var("FERRY_LATENCY_DETAIL").is_ok() {
                    let offset = (since - started * 1000) as f64 / 1000.0;
                    let delay = (at - since) as f64 / 1000.0;
                    eprintln!("JST-{io_id}: eligible at +{offset:.1} s, saved {delay:.1} s later");
                }
            }
            None => missing += 1,
        }
    }
    delays.sort_unstable();
    let j = &sims.jushuitan;
    let (created, changed) = j.live_changes();
    println!(
        "latency modified→saved over {} returns: p50 {:.1} s, p90 {:.1} s, p99 {:.1} s, max {:.1} s; \
         {missing} not delivered; Jushuitan at most {}/s and {}/min (limits 5 and 100); \
         live mode made {created} and changed {changed} documents",
        delays.len(),
        percentile(&delays, 0.5),
        percentile(&delays, 0.9),
        percentile(&delays, 0.99),
        percentile(&delays, 1.0),
        j.max_per_second(),
        j.max_per_minute(),
    );
    sims.stop();
}
