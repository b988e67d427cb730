//! The Jushuitan call budget every scheme shares (one app: 5/s, 100/min): two schemes backfilling
//! at once never make the simulator refuse a call, a third scheme's incremental runs still
//! complete while they backfill, and `ferry status` names the scheme waiting for the budget,
//! since when and for how long.

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::*;

const RETURNS: &str = "offline-returns";
const ISSUES: &str = "other-issues";
const SHOPS: &str = "shops-to-stocks";

/// A `ferry run` (until killed); killed when dropped, also when a test fails.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// The scheme rows of `ferry status --json` (through the running ferry's API), by name.
fn status_rows(config: &Path) -> Option<Vec<Value>> {
    let out = ferry(config, &["status", "--json"]);
    let v: Value = serde_json::from_slice(&out.stdout).ok()?;
    if v["live"] != true {
        return None;
    }
    v["schemes"].as_array().cloned()
}

/// The admin URL the running ferry wrote into its status snapshot, once it did.
fn admin_url(config: &Path) -> Option<String> {
    let data = config.parent()?.join("data");
    let bytes = std::fs::read(data.join("status.json")).ok()?;
    let v: Value = serde_json::from_slice(&bytes).ok()?;
    v["admin_url"].as_str().map(String::from)
}

/// The scheme rows of the admin API's `GET /api/status` (cheaper to poll than `ferry status`).
fn api_rows(url: &str) -> Option<Vec<Value>> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .ok()?;
    let v: Value = rt.block_on(async {
        let c = reqwest::Client::builder()
            .timeout(Duration::from_secs(5))
            .build()
            .ok()?;
        let r = c.get(format!("{url}/api/status")).send().await.ok()?;
        r.json().await.ok()
    })?;
    v["schemes"].as_array().cloned()
}

fn row_of<'a>(rows: &'a [Value], scheme: &str) -> &'a Value {
    rows.iter()
        .find(|r| r["scheme"] == scheme)
        .unwrap_or(&Value::Null)
}

/// Whether a windowed scheme's checkpoint has reached the present (its backfill is done).
fn caught_up(row: &Value, started_unix: i64) -> bool {
    row["checkpoint"]
        .as_str()
        .and_then(|c| ferry::time::parse_beijing(c).ok())
        .is_some_and(|c| c >= started_unix - 30)
}

/// Spawns `ferry run` with `extra` arguments.
fn spawn_run(config: &Path, extra: &[&str]) -> Running {
    Running(
        Command::new(ferry_bin())
            .arg("--config")
            .arg(config)
            .arg("run")
            .args(extra)
            .env("FERRY_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ferry run"),
    )
}

/// The shipped config with two backfills of `other.inout.query` in windows of `window`
/// (returns, and a copy for 其它出库 whose precondition filters everything) and the shops
/// scheme, last, running every 2 seconds.
fn budget_config(dir: &Path, sims: &ferry::sim::Sims, window: &str) -> std::path::PathBuf {
    write_config(dir, sims, |t| {
        set_scheme(t, "source", "window", toml::Value::String(window.into()));
        set_scheme(t, "", "every", toml::Value::String("1h".into()));
        let Some(toml::Value::Array(schemes)) = t.get_mut("scheme") else {
            panic!("the shipped config has schemes");
        };
        let mut issues = schemes
            .iter()
            .find(|s| s["name"].as_str() == Some(RETURNS))
            .cloned()
            .expect("the returns scheme");
        issues["name"] = toml::Value::String(ISSUES.into());
        // Same API, other documents (its precondition filters them all: nothing to post).
        let types = toml::Value::Array(vec![toml::Value::String("其它出库".into())]);
        issues["source"]["params"]["types"] = types;
        schemes.push(issues);
        // The incremental scheme: one call per run, every 2 seconds; last in the config, so
        // a run that took the schemes one after the other would come to it last.
        let i = schemes
            .iter()
            .position(|s| s["name"].as_str() == Some(SHOPS))
            .expect("the shops scheme");
        let mut shops = schemes.remove(i);
        shops["every"] = toml::Value::String("2s".into());
        schemes.push(shops);
    })
}

#[test]
fn two_backfills_share_the_budget_and_a_third_scheme_still_runs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = SimOpts::default(); // 5/s and 100/min, as Jushuitan allows one app
    let sims = start_sims(dir.path(), &o);
    // Both backfills page ~70 days in 2-day windows: ~35 calls each, ~15 s at 5/s for the
    // two together, and fewer than 100 calls in all, so the test stays within a minute.
    let config = budget_config(dir.path(), &sims, "2d");
    let started = Instant::now();
    let started_unix = ferry::time::now_unix();
    let _run = spawn_run(&config, &[]);

    // Poll `ferry status` until both backfills reached the present.
    let mut shops_runs: Vec<(Duration, String)> = Vec::new();
    let mut waits_seen: Vec<(String, Value)> = Vec::new();
    let mut text_waiting = None;
    let mut json_waiting: Option<Value> = None;
    let mut url = None;
    let backfills_done = loop {
        assert!(
            started.elapsed() < Duration::from_secs(75),
            "the backfills did not finish; runs of {SHOPS}: {shops_runs:?}"
        );
        std::thread::sleep(Duration::from_millis(200));
        if url.is_none() {
            url = admin_url(&config);
        }
        let Some(rows) = url.as_deref().and_then(api_rows) else {
            continue;
        };
        let shops = row_of(&rows, SHOPS)["checkpoint"]
            .as_str()
            .map(String::from);
        if let Some(c) = shops {
            if shops_runs.last().map(|(_, l)| l) != Some(&c) {
                shops_runs.push((started.elapsed(), c));
            }
        }
        for name in [RETURNS, ISSUES, SHOPS] {
            let w = &row_of(&rows, name)["budget"]["waiting"];
            if w.is_object() {
                waits_seen.push((name.to_string(), w.clone()));
            }
        }
        let done = [RETURNS, ISSUES]
            .iter()
            .all(|n| caught_up(row_of(&rows, n), started_unix));
        if done {
            break started.elapsed();
        }
        if text_waiting.is_none() {
            // The plain `ferry status` names a scheme waiting for the budget.
            let out = ferry(&config, &["status"]);
            let all = String::from_utf8_lossy(&out.stdout).to_string();
            let waiting = all
                .lines()
                .find(|l| l.contains("WAITING") && (l.contains(RETURNS) || l.contains(ISSUES)));
            text_waiting = waiting.map(String::from);
        } else if json_waiting.is_none() {
            // And so does `ferry status --json`, in the scheme's row.
            json_waiting = status_rows(&config).and_then(|rows| {
                [RETURNS, ISSUES]
                    .iter()
                    .map(|n| row_of(&rows, n)["budget"]["waiting"].clone())
                    .find(|w| w.is_object())
            });
        }
    };

    // The incremental scheme ran, and completed, again and again while the backfills ran.
    let during: Vec<_> = shops_runs
        .iter()
        .filter(|(at, _)| *at < backfills_done)
        .collect();
    assert!(
        backfills_done > Duration::from_secs(8),
        "the backfills took {backfills_done:?}: too few calls to share"
    );
    assert!(
        during.len() >= 3,
        "{SHOPS} completed {} runs during the {backfills_done:?} backfill: {shops_runs:?}",
        during.len()
    );
    let first = during.first().map(|(at, _)| *at).unwrap_or_default();
    assert!(
        first < Duration::from_secs(8) && first < backfills_done / 2,
        "{SHOPS}'s first run finished after {first:?} (backfills: {backfills_done:?})"
    );

    // Status showed a backfill waiting for the budget, since when and for how long.
    let (who, w) = waits_seen
        .iter()
        .find(|(n, _)| n == RETURNS || n == ISSUES)
        .cloned()
        .unwrap_or_else(|| panic!("no backfill was ever seen waiting: {waits_seen:?}"));
    assert!(w["calls"].as_u64().is_some_and(|c| c >= 1), "{who}: {w}");
    assert!(
        w["seconds"].as_f64().is_some_and(|s| s >= 0.0),
        "{who}: {w}"
    );
    let since = w["since"].as_str().unwrap_or_default();
    let since = ferry::time::parse_beijing(since).expect("since is a Beijing time");
    assert!(since >= started_unix - 1, "{who}: {w}");
    let line = text_waiting.expect("`ferry status` showed no backfill WAITING");
    assert!(line.contains("since "), "{line}");
    let w = json_waiting.expect("`ferry status --json` showed no backfill waiting");
    assert!(w["since"].is_string() && w["seconds"].is_number(), "{w}");

    // Nothing was refused: the simulator never saw more than the limits, so it refused nothing
    // (it counts every arrival, refused or not).
    assert!(
        sims.jushuitan.max_per_second() <= o.per_second as usize,
        "{} calls within one second",
        sims.jushuitan.max_per_second()
    );
    assert!(
        sims.jushuitan.max_per_minute() <= o.per_minute as usize,
        "{} calls within one minute",
        sims.jushuitan.max_per_minute()
    );

    // Every scheme had its part; the backfilled returns are all delivered, once.
    let rows = status_rows(&config).expect("ferry status --json");
    for name in [RETURNS, ISSUES, SHOPS] {
        let calls = row_of(&rows, name)["budget"]["calls"].as_u64();
        assert!(calls.is_some_and(|c| c > 0), "{name}: {rows:?}");
    }
    // The incremental scheme's calls waited for at most a turn of each backfill (0.2 s a call
    // at 5/s), not behind their queues: well under a second on average.
    let b = &row_of(&rows, SHOPS)["budget"];
    let (calls, waited) = (b["calls"].as_f64(), b["waited_secs"].as_f64());
    let average = waited.unwrap_or(f64::MAX) / calls.unwrap_or(1.0);
    assert!(average < 1.0, "{SHOPS} waited {average:.2} s a call: {b}");
    let eligible = eligible_returns(&sims).len();
    let t0 = Instant::now();
    loop {
        let saved = saved_identities(&sims, "SAL_RETURNSTOCK", "FBillNo");
        if saved.len() == eligible {
            assert!(saved.values().all(|&n| n == 1), "{saved:?}");
            break;
        }
        assert!(
            t0.elapsed() < Duration::from_secs(20),
            "{} of {eligible} returns saved",
            saved.len()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// `run --once` catches every scheme up at once: the shops scheme, last in the config, is done
/// long before the two backfills are.
#[test]
fn run_once_does_not_hold_a_scheme_behind_two_backfills() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = SimOpts::default();
    let sims = start_sims(dir.path(), &o);
    // ~10 windows of 7 days each: ~20 calls for the two backfills, ~4 s at 5/s.
    let config = budget_config(dir.path(), &sims, "7d");
    let started = Instant::now();
    let started_unix = ferry::time::now_unix();
    let mut run = spawn_run(&config, &["--once"]);
    let mut shops_done_while_backfilling = None;
    loop {
        assert!(
            started.elapsed() < Duration::from_secs(60),
            "run --once did not finish"
        );
        if run.0.try_wait().ok().flatten().is_some() {
            break;
        }
        std::thread::sleep(Duration::from_millis(100));
        let Some(rows) = admin_url(&config).as_deref().and_then(api_rows) else {
            continue;
        };
        let backfilling = [RETURNS, ISSUES]
            .iter()
            .any(|n| !caught_up(row_of(&rows, n), started_unix));
        if shops_done_while_backfilling.is_none() && row_of(&rows, SHOPS)["checkpoint"].is_string()
        {
            shops_done_while_backfilling = Some(backfilling);
        }
    }
    let status = run.0.wait().expect("ferry run --once");
    assert!(status.success(), "{status:?}");
    assert_eq!(
        shops_done_while_backfilling,
        Some(true),
        "{SHOPS} (last in the config) was caught up only after the backfills"
    );
    assert!(sims.jushuitan.max_per_second() <= o.per_second as usize);
    assert!(sims.jushuitan.max_per_minute() <= o.per_minute as usize);
    let (code, summary, stderr) = run_once(&config, &[]);
    assert_eq!(code, 0, "{stderr}");
    let saved = saved_identities(&sims, "SAL_RETURNSTOCK", "FBillNo");
    assert_eq!(saved.len(), eligible_returns(&sims).len(), "{summary}");
    assert!(saved.values().all(|&n| n == 1), "{saved:?}");
}
