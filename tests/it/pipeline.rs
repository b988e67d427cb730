//! The pipeline end to end: the real `ferry` binary against both simulators on 127.0.0.1.

use std::collections::BTreeSet;
#[cfg(unix)]
use std::process::{Command, Stdio};
use std::time::Duration;
#[cfg(unix)]
use std::time::Instant;

use crate::helpers::*;

pub const RETURNS: &str = "offline-returns";

fn io_ids(docs: &[serde_json::Value]) -> BTreeSet<String> {
    docs.iter().map(|d| format!("JST-{}", d["io_id"])).collect()
}

/// Asserts Kingdee holds exactly the eligible returns and shops, each once.
pub fn assert_exactly_once(sims: &ferry::sim::Sims) {
    let expected = io_ids(&eligible_returns(sims));
    let saved = saved_identities(sims, "SAL_RETURNSTOCK", "FBillNo");
    let dupes: Vec<_> = saved.iter().filter(|(_, n)| **n > 1).collect();
    assert!(dupes.is_empty(), "posted twice: {dupes:?}");
    let got: BTreeSet<String> = saved.keys().cloned().collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(missing.is_empty(), "missing in Kingdee: {missing:?}");
    assert!(extra.is_empty(), "not eligible but posted: {extra:?}");
    let shops = saved_identities(sims, "BD_STOCK", "FNumber");
    let expected_shops: BTreeSet<String> = sims
        .jushuitan
        .shops()
        .iter()
        .map(|s| format!("JSTSHOP{}", s["shop_id"]))
        .collect();
    assert!(
        shops.values().all(|n| *n == 1),
        "shop posted twice: {shops:?}"
    );
    let got_shops: BTreeSet<String> = shops.keys().cloned().collect();
    assert!(
        expected_shops.is_subset(&got_shops),
        "shops missing: {:?}",
        expected_shops.difference(&got_shops).collect::<Vec<_>>()
    );
}

#[test]
fn both_seed_schemes_end_to_end_and_second_run_posts_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(dir.path(), &SimOpts::default());
    let config = write_config(dir.path(), &sims, |_| {});
    let (code, summary, stderr) = run_once(&config, &[]);
    assert_eq!(code, 0, "first run failed: {summary}\n{stderr}");
    assert_exactly_once(&sims);
    let expected = eligible_returns(&sims);
    assert!(
        expected.len() > 20,
        "the simulator should produce enough returns"
    );
    let r = row(&summary, RETURNS);
    assert_eq!(
        r["delivered"].as_u64(),
        Some(expected.len() as u64),
        "{summary}"
    );
    assert!(
        r["filtered"].as_u64().unwrap_or(0) > 0,
        "some documents must be filtered: {summary}"
    );
    assert_eq!(r["dead"].as_u64(), Some(0));

    // The right fields: one document checked field by field.
    let doc = &expected[0];
    let bill = format!("JST-{}", doc["io_id"]);
    let saved = sims.kingdee.saved("SAL_RETURNSTOCK");
    let model = saved
        .iter()
        .find(|m| m["FBillNo"] == bill.as_str())
        .expect("saved bill");
    let items = doc["items"].as_array().expect("items");
    let entries = model["FEntity"].as_array().expect("FEntity");
    assert_eq!(entries.len(), items.len());
    for (e, i) in entries.iter().zip(items) {
        assert_eq!(e["FMaterialId"]["FNumber"], i["sku_id"]);
        // Jushuitan may send the quantity as a string ("2"); Kingdee gets the number.
        let qty = match &i["qty"] {
            serde_json::Value::String(s) => s.trim().parse::<f64>().ok(),
            v => v.as_f64(),
        };
        assert_eq!(e["FRealQty"].as_f64(), qty, "{i}");
    }

    // Second run: nothing new in Kingdee, everything reported as already there.
    let before = sims.kingdee.count("SAL_RETURNSTOCK");
    let (code, summary2, stderr) = run_once(&config, &[]);
    assert_eq!(code, 0, "second run failed: {summary2}\n{stderr}");
    assert_eq!(sims.kingdee.count("SAL_RETURNSTOCK"), before);
    let r2 = row(&summary2, RETURNS);
    assert_eq!(r2["delivered"].as_u64(), Some(0), "{summary2}");
    assert_eq!(r2["delivered_total"].as_u64(), Some(expected.len() as u64));
    sims.stop();
}

/// Runs `ferry run --once` until it succeeds or `tries` runs were made.
fn run_until_done(config: &std::path::Path, tries: usize) -> serde_json::Value {
    let mut last = serde_json::Value::Null;
    for _ in 0..tries {
        let (code, summary, _stderr) = run_once(config, &["--wait-retries", "20s"]);
        last = summary;
        let settled = last["schemes"]
            .as_array()
            .map(|a| a.iter().all(|r| r["retrying"] == 0 && r["pending"] == 0))
            .unwrap_or(false);
        if code == 0 && settled {
            break;
        }
    }
    last
}

fn fault_run(profile: &'static str) {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = SimOpts {
        docs: 80,
        faults: profile,
        ..SimOpts::default()
    };
    let sims = start_sims(dir.path(), &o);
    let config = write_config(dir.path(), &sims, |t| {
        set_scheme(t, "target", "batch_size", toml::Value::Integer(10));
    });
    let summary = run_until_done(&config, 6);
    assert_exactly_once(&sims);
    assert_eq!(
        row(&summary, RETURNS)["dead"].as_u64(),
        Some(0),
        "{profile}: {summary}"
    );
    assert!(
        sims.jushuitan.max_per_second() <= o.per_second as usize,
        "{profile}: ferry exceeded {} req/s: {}",
        o.per_second,
        sims.jushuitan.max_per_second()
    );
    assert!(sims.jushuitan.max_per_minute() <= o.per_minute as usize);
    sims.stop();
}

#[test]
fn fault_latency() {
    fault_run("latency");
}

#[test]
fn fault_timeouts() {
    fault_run("timeouts");
}

#[test]
fn fault_http5xx() {
    fault_run("http5xx");
}

#[test]
fn fault_response_error() {
    fault_run("response-error");
}

#[test]
fn fault_session_loss() {
    fault_run("session-loss");
}

#[test]
fn fault_lost_reply() {
    fault_run("lost-reply");
}

#[test]
fn fault_rate_storm() {
    fault_run("rate-storm");
}

#[test]
fn fault_chaos() {
    fault_run("chaos");
}

/// SIGKILLs `ferry run` at random moments during a backfill, at least 20 times, then lets it
/// finish: Kingdee must hold every eligible document exactly once.
#[cfg(unix)]
#[test]
// clippy cannot see that `try_wait` returning `Some` has reaped the child.
#[allow(clippy::zombie_processes)]
fn crash_safety_sigkill_during_backfill() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = SimOpts {
        docs: 3000,
        per_second: 50,
        per_minute: 3000,
        save_latency: Duration::from_millis(100),
        ..SimOpts::default()
    };
    let sims = start_sims(dir.path(), &o);
    let config = write_config(dir.path(), &sims, |t| {
        set_scheme(t, "target", "batch_size", toml::Value::Integer(7));
        set_scheme(t, "source", "window", toml::Value::String("2d".into()));
        if let Some(toml::Value::Table(j)) = t.get_mut("jushuitan") {
            j.insert("per_second".into(), toml::Value::Integer(50));
            j.insert("per_minute".into(), toml::Value::Integer(3000));
        }
    });
    let mut rng = fastrand::Rng::with_seed(42);
    let started = Instant::now();
    let mut kills = 0;
    let mut finished_early = 0;
    while kills < 24 && started.elapsed() < Duration::from_secs(240) {
        let mut child = Command::new(ferry_bin())
            .arg("--config")
            .arg(&config)
            .args(["run", "--once", "--json", "--wait-retries", "0s"])
            .env("FERRY_LOG", "error")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ferry");
        let delay = Duration::from_millis(rng.u64(30..700));
        let t0 = Instant::now();
        let mut exited = false;
        while t0.elapsed() < delay {
            if let Ok(Some(_)) = child.try_wait() {
                exited = true;
                break;
            }
            std::thread::sleep(Duration::from_millis(5));
        }
        if exited {
            finished_early += 1;
            if finished_early > 3 {
                break;
            }
        } else {
            let killed = child.kill();
            let _ = child.wait();
            killed.expect("SIGKILL");
            kills += 1;
        }
    }
    assert!(kills >= 20, "only {kills} kills happened");
    let summary = run_until_done(&config, 3);
    assert_exactly_once(&sims);
    assert_eq!(
        row(&summary, RETURNS)["dead"].as_u64(),
        Some(0),
        "{summary}"
    );
    sims.stop();
}

/// Ctrl-C while a backlog drains into a slow Kingdee: `ferry run` finishes the BatchSaves in
/// flight and exits within seconds (it does not drain the backlog first), and a later run
/// delivers the rest exactly once.
#[cfg(unix)]
#[test]
fn interrupt_during_delivery_stops_promptly_and_loses_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = SimOpts {
        docs: 1000,
        per_second: 50,
        per_minute: 3000,
        save_latency: Duration::from_millis(300),
        ..SimOpts::default()
    };
    let sims = start_sims(dir.path(), &o);
    let config = write_config(dir.path(), &sims, |t| {
        set_scheme(t, "target", "batch_size", toml::Value::Integer(5));
        if let Some(toml::Value::Table(j)) = t.get_mut("jushuitan") {
            j.insert("per_second".into(), toml::Value::Integer(50));
            j.insert("per_minute".into(), toml::Value::Integer(3000));
        }
    });
    let mut child = Command::new(ferry_bin())
        .arg("--config")
        .arg(&config)
        .arg("run")
        .env("FERRY_LOG", "error")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ferry");
    let t0 = Instant::now();
    while saved_identities(&sims, "SAL_RETURNSTOCK", "FBillNo").len() < 20
        && t0.elapsed() < Duration::from_secs(60)
    {
        std::thread::sleep(Duration::from_millis(50));
    }
    let before = saved_identities(&sims, "SAL_RETURNSTOCK", "FBillNo").len();
    assert!(before >= 20, "deliveries did not start ({before})");
    let sent = Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .expect("kill -INT");
    assert!(sent.success());
    let t1 = Instant::now();
    let status = loop {
        if let Ok(Some(status)) = child.try_wait() {
            break status;
        }
        if t1.elapsed() > Duration::from_secs(30) {
            let _ = child.kill();
            panic!("ferry run did not stop within 30 s of SIGINT");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let took = t1.elapsed();
    let eligible = eligible_returns(&sims).len();
    let at_stop = saved_identities(&sims, "SAL_RETURNSTOCK", "FBillNo").len();
    assert!(
        took < Duration::from_secs(5),
        "stopping took {took:?} ({at_stop} of {eligible} delivered by then)"
    );
    assert!(at_stop < eligible, "the backlog drained before the stop");
    eprintln!("stopped in {took:?} with {at_stop} of {eligible} delivered ({status})");
    run_until_done(&config, 3);
    assert_exactly_once(&sims);
    sims.stop();
}

#[test]
fn changed_after_delivery_is_recorded_not_reposted_and_line_keys_never_post_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(dir.path(), &SimOpts::default());
    let config = write_config(dir.path(), &sims, |_| {});
    let (code, summary, stderr) = run_once(&config, &[]);
    assert_eq!(code, 0, "{summary}\n{stderr}");
    let before = sims.kingdee.count("SAL_RETURNSTOCK");
    let eligible = eligible_returns(&sims);

    // A delivered document changes at the source.
    let mut changed = eligible[0].clone();
    changed["remark"] = serde_json::Value::String("线下退货 已改".into());
    sims.jushuitan.upsert(changed.clone());
    // A new document reuses a line key (ioi_id) that was already delivered in another one.
    let mut thief = eligible[1].clone();
    thief["io_id"] = serde_json::json!(990001);
    thief["so_id"] = serde_json::json!("SO-THIEF");
    if let Some(items) = thief["items"].as_array_mut() {
        for it in items.iter_mut().skip(1) {
            it["ioi_id"] = serde_json::json!(it["ioi_id"].as_i64().unwrap_or(0) + 5_000_000);
        }
    }
    let stolen_line = thief["items"][0]["ioi_id"].to_string();
    sims.jushuitan.upsert(thief);
    std::thread::sleep(Duration::from_secs(2)); // past the 1 s settle lag

    let (code, summary, stderr) = run_once(&config, &[]);
    assert_eq!(
        code, 1,
        "a dead letter must make the run exit 1: {summary}\n{stderr}"
    );
    let r = row(&summary, RETURNS);
    assert_eq!(r["changed_after_delivery"].as_u64(), Some(1), "{summary}");
    assert_eq!(r["dead"].as_u64(), Some(1), "{summary}");
    assert_eq!(
        sims.kingdee.count("SAL_RETURNSTOCK"),
        before,
        "nothing may be re-posted"
    );
    let saved = saved_identities(&sims, "SAL_RETURNSTOCK", "FBillNo");
    assert!(!saved.contains_key("JST-990001"));

    let out = ferry(&config, &["dlq", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("dlq json");
    let dead = list.as_array().expect("array");
    assert_eq!(dead.len(), 1, "{list}");
    assert_eq!(dead[0]["source_key"], "990001");
    let reason = dead[0]["error"].as_str().unwrap_or("");
    assert!(
        reason.contains(&stolen_line),
        "reason must name the line key: {reason}"
    );
    let id = dead[0]["id"].as_u64().expect("dead letter id").to_string();
    let out = ferry(&config, &["dlq", "show", &id]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("state: dead letter since") && text.contains(&stolen_line),
        "{text}"
    );
    assert!(text.contains("\"FBillNo\""), "the model is shown: {text}");

    let out = ferry(&config, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status json");
    let s = status["schemes"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["scheme"] == RETURNS))
        .cloned()
        .unwrap_or_default();
    assert_eq!(s["changed_after_delivery"].as_u64(), Some(1), "{status}");
    sims.stop();
}

#[test]
fn changed_after_delivery_with_dead_letter_policy() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(dir.path(), &SimOpts::default());
    let config = write_config(dir.path(), &sims, |t| {
        set_scheme(
            t,
            "",
            "on_change",
            toml::Value::String("dead_letter".into()),
        );
    });
    let (code, summary, stderr) = run_once(&config, &[]);
    assert_eq!(code, 0, "{summary}\n{stderr}");
    let before = sims.kingdee.count("SAL_RETURNSTOCK");
    let mut changed = eligible_returns(&sims)[0].clone();
    changed["remark"] = serde_json::Value::String("改过了".into());
    sims.jushuitan.upsert(changed.clone());
    std::thread::sleep(Duration::from_secs(2));
    let (code, summary, _) = run_once(&config, &[]);
    assert_eq!(code, 1, "{summary}");
    assert_eq!(sims.kingdee.count("SAL_RETURNSTOCK"), before);
    let out = ferry(&config, &["dlq", "list", "--json"]);
    let list: serde_json::Value = serde_json::from_slice(&out.stdout).expect("dlq json");
    let reason = list[0]["error"].as_str().unwrap_or("");
    assert!(reason.contains("changed after delivery"), "{list}");
    sims.stop();
}

fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read_dir") {
        let e = e.expect("dir entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("file type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), &target).expect("copy");
        }
    }
}

/// A store restored from a copy taken before its entries were delivered, with Kingdee's bill
/// number check on (its default): every save is then answered "already exists", every entry
/// becomes uncertain and is found by identity, never posted twice.
#[test]
fn store_restored_from_an_old_copy_reconciles_instead_of_posting_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    let o = SimOpts {
        reject_duplicates: true,
        ..SimOpts::default()
    };
    let sims = start_sims(dir.path(), &o);
    let closed = write_config(dir.path(), &sims, |t| {
        if let Some(toml::Value::Table(k)) = t.get_mut("kingdee") {
            k.insert(
                "base_url".into(),
                toml::Value::String("http://127.0.0.1:9/k3cloud/".into()),
            );
        }
    });
    let down = dir.path().join("down.toml");
    std::fs::rename(&closed, &down).expect("rename");
    let config = write_config(dir.path(), &sims, |_| {});

    let (_, queued, stderr) = run_once(&down, &["--wait-retries", "0s"]);
    let expected = eligible_returns(&sims).len() as u64;
    assert_eq!(
        row(&queued, RETURNS)["pending"].as_u64(),
        Some(expected),
        "{queued}\n{stderr}"
    );
    let store = dir.path().join("data").join("store");
    let copy = dir.path().join("store-copy");
    copy_dir(&store, &copy);

    let (code, summary, stderr) = run_once(&config, &[]);
    assert_eq!(code, 0, "{summary}\n{stderr}");
    assert_exactly_once(&sims);
    let saved = sims.kingdee.count("SAL_RETURNSTOCK");

    std::fs::remove_dir_all(&store).expect("remove store");
    copy_dir(&copy, &store);
    let summary = run_until_done(&config, 3);
    assert_exactly_once(&sims);
    assert_eq!(sims.kingdee.count("SAL_RETURNSTOCK"), saved);
    let r = row(&summary, RETURNS);
    assert_eq!(r["delivered_total"].as_u64(), Some(expected), "{summary}");
    assert_eq!(r["dead"].as_u64(), Some(0), "{summary}");
    sims.stop();
}
