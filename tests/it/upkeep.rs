//! Store upkeep and backups through the real binary: delivered documents past `keep_delivered`
//! lose their model and trace and are still never posted twice; `ferry backup` writes a copy
//! that works as the store; `ferry status` shows the store's size.

use std::path::Path;
use std::process::{Command, Output};
use std::time::Duration;

use crate::helpers::*;

const RETURNS: &str = "offline-returns";
const SHOPS: &str = "shops-to-stocks";

/// `ferry run --once --json` with upkeep's clock `ahead` (FERRY_TEST_UPKEEP_AHEAD).
fn run_once_ahead(config: &Path, ahead: &str) -> (i32, serde_json::Value, String) {
    let out = Command::new(ferry_bin())
        .arg("--config")
        .arg(config)
        .args(["run", "--once", "--json"])
        .env("FERRY_LOG", "warn")
        .env("FERRY_TEST_UPKEEP_AHEAD", ahead)
        .output()
        .expect("run ferry");
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let summary = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .unwrap_or(serde_json::Value::Null);
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    (out.status.code().unwrap_or(-1), summary, stderr)
}

fn json(out: &Output) -> serde_json::Value {
    serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "not JSON ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    })
}

fn store_bytes(config: &Path) -> u64 {
    let status = json(&ferry(config, &["status", "--json"]));
    status["store_bytes"]
        .as_u64()
        .unwrap_or_else(|| panic!("no store_bytes: {status}"))
}

fn trace(config: &Path, scheme: &str, key: &str) -> serde_json::Value {
    json(&ferry(
        config,
        &["trace", "--scheme", scheme, "--json", key],
    ))
}

/// Everything saved in the Kingdee simulator, per form.
fn saved_counts(sims: &ferry::sim::Sims) -> (usize, usize) {
    (
        sims.kingdee.count("SAL_RETURNSTOCK"),
        sims.kingdee.count("BD_STOCK"),
    )
}

fn log_text(dir: &Path) -> String {
    let mut text = String::new();
    for e in std::fs::read_dir(dir.join("data/logs")).expect("log dir") {
        text.push_str(&std::fs::read_to_string(e.expect("entry").path()).unwrap_or_default());
    }
    text
}

#[test]
fn pruned_documents_sent_again_are_not_posted_twice_and_the_store_does_not_grow() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(dir.path(), &SimOpts::default());
    let config = write_config(dir.path(), &sims, |_| {});
    let (code, summary, stderr) = run_once(&config, &[]);
    assert_eq!(code, 0, "{summary}\n{stderr}");
    let saved = saved_counts(&sims);
    let eligible = eligible_returns(&sims);
    assert!(eligible.len() > 10 && saved.1 > 0, "{saved:?}");
    let key = |d: &serde_json::Value| d["io_id"].to_string();
    let t = trace(&config, RETURNS, &key(&eligible[0]));
    assert!(!t["events"].as_array().expect("events").is_empty(), "{t}");
    let delivered = row(&summary, RETURNS)["delivered_total"]
        .as_u64()
        .unwrap_or(0);
    let whole = store_bytes(&config);

    // 100 days later (for upkeep only): everything delivered is past the 90 days kept.
    let (code, summary, stderr) = run_once_ahead(&config, "100d");
    assert_eq!(code, 0, "{summary}\n{stderr}");
    let t = trace(&config, RETURNS, &key(&eligible[0]));
    assert_eq!(t["state"], "Delivered", "{t}");
    assert_eq!(t["events"], serde_json::json!([]), "trace kept: {t}");
    let logs = log_text(dir.path());
    let line = logs
        .lines()
        .find(|l| l.contains("store upkeep:"))
        .unwrap_or_else(|| panic!("no upkeep line in the log:\n{logs}"))
        .to_string();
    assert!(
        line.contains(" INFO ") && line.contains("keep_delivered = 90d"),
        "{line}"
    );
    let pruned_size = store_bytes(&config);

    // One document changes at the source; then the whole history is read again.
    let mut changed = eligible[1].clone();
    changed["remark"] = serde_json::Value::String("线下退货 已改".into());
    sims.jushuitan.upsert(changed);
    {
        let store = ferry::store::Store::open(&dir.path().join("data/store")).expect("store");
        let start = ferry::time::now_unix() - 70 * DAY;
        store.set_checkpoint(RETURNS, start).expect("rewind");
    }
    std::thread::sleep(Duration::from_secs(2)); // past the 1 s settle lag
    let (code, summary, stderr) = run_once_ahead(&config, "100d");
    assert_eq!(code, 0, "{summary}\n{stderr}");
    let r = row(&summary, RETURNS);
    assert_eq!(saved_counts(&sims), saved, "posted again: {summary}");
    assert_eq!(r["new"].as_u64(), Some(0), "{summary}");
    assert_eq!(r["changed_after_delivery"].as_u64(), Some(1), "{summary}");
    assert!(
        r["duplicates"].as_u64().unwrap_or(0) >= delivered - 1,
        "the history was not read again: {summary}"
    );
    assert_eq!(r["delivered_total"].as_u64(), Some(delivered), "{summary}");
    let t = trace(&config, RETURNS, &key(&eligible[1]));
    assert!(
        t["events"].to_string().contains("changed after delivery"),
        "{t}"
    );
    // Nothing of what was read again went back into the store: no model, no trace event,
    // but for the changed document's note.
    {
        let store = ferry::store::Store::open(&dir.path().join("data/store")).expect("store");
        let shops = sims.jushuitan.shops();
        let docs = eligible.iter().map(|d| (RETURNS, key(d)));
        let docs = docs.chain(shops.iter().map(|s| (SHOPS, s["shop_id"].to_string())));
        for (i, (scheme, k)) in docs.enumerate() {
            let e = store.find(scheme, &k).expect("find").expect("entry");
            assert!(e.model.is_empty(), "{scheme} {k}: model stored again");
            let events = store.trace(scheme, &k).expect("trace");
            assert_eq!(
                events.len(),
                usize::from(i == 1),
                "{scheme} {k}: {events:?}"
            );
        }
    }
    let size = store_bytes(&config);
    eprintln!("store: {whole} bytes delivered, {pruned_size} pruned, {size} after reading it all again\n{line}");
    // sled's files grow by 512 KiB segments and its snapshot file by a few bytes as it likes:
    // what proves nothing was stored again is the content above; the size must not move by
    // more than sled's own bookkeeping.
    assert!(
        size <= pruned_size + 16 * 1024,
        "the store grew from {pruned_size} to {size} bytes reading known documents again"
    );
    sims.stop();
}

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for e in std::fs::read_dir(from).expect("read dir") {
        let e = e.expect("entry");
        let target = to.join(e.file_name());
        if e.file_type().expect("type").is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).expect("copy");
        }
    }
}

#[test]
fn a_backup_written_by_the_binary_works_as_the_store() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(dir.path(), &SimOpts::default());
    let config = write_config(dir.path(), &sims, |_| {});
    let copy = dir.path().join("backup-1");
    let out = ferry(&config, &["backup", copy.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("has not run with this config yet"),
        "{}",
        text(&out)
    );

    let (code, summary, stderr) = run_once(&config, &[]);
    assert_eq!(code, 0, "{summary}\n{stderr}");
    let saved = saved_counts(&sims);
    let before = json(&ferry(&config, &["status", "--json"]));
    let out = ferry(&config, &["status"]);
    let words = text(&out);
    let usage = words
        .lines()
        .find(|l| l.starts_with("the store takes "))
        .unwrap_or_else(|| panic!("no disk usage: {words}"));
    let mb: f64 = usage["the store takes ".len()..]
        .split(' ')
        .next()
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("{usage}"));
    assert!(usage.contains(" MB on disk"), "{usage}");
    assert_eq!(
        (mb * 1e6 / 1e5).round(),
        (store_bytes(&config) as f64 / 1e5).round(),
        "{usage}"
    );

    let out = ferry(
        &config,
        &["backup", copy.to_str().expect("utf-8"), "--json"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let report = json(&out);
    assert_eq!(report["path"], copy.to_str().expect("utf-8"), "{report}");
    assert!(report["bytes"].as_u64().unwrap_or(0) > 0, "{report}");
    assert!(report["records"].as_u64().unwrap_or(0) > 20, "{report}");
    // The same folder again: refused, the first copy untouched.
    let out = ferry(&config, &["backup", copy.to_str().expect("utf-8")]);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(text(&out).contains("is not empty"), "{}", text(&out));
    let out = ferry(
        &config,
        &[
            "backup",
            dir.path().join("backup-2").to_str().expect("utf-8"),
        ],
    );
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("MB") && text(&out).contains("to restore it: stop ferry"),
        "{}",
        text(&out)
    );

    // The store is lost; the copy takes its place (README, "Backup and restore").
    let store = dir.path().join("data/store");
    std::fs::rename(&store, dir.path().join("data/store-lost")).expect("move the store aside");
    copy_dir(&copy, &store);
    let after = json(&ferry(&config, &["status", "--json"]));
    assert_eq!(after["schemes"], before["schemes"], "{after}");
    let (code, summary, stderr) = run_once(&config, &[]);
    assert_eq!(code, 0, "{summary}\n{stderr}");
    assert_eq!(saved_counts(&sims), saved, "posted again: {summary}");
    assert_eq!(row(&summary, RETURNS)["new"].as_u64(), Some(0), "{summary}");
    sims.stop();
}

#[test]
fn check_names_the_line_and_field_of_a_bad_keep_delivered_or_keep_days() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shipped = std::fs::read_to_string(shipped_config()).expect("shipped config");
    assert!(shipped.contains("keep_delivered = \"90d\"") && shipped.contains("keep_days = 30"));
    let edited = shipped
        .replacen("keep_delivered = \"90d\"", "keep_delivered = \"12h\"", 1)
        .replacen("keep_days = 30", "keep_days = 0", 1)
        .replacen("[store]\n", "[store]\nkeep_forever = true\n", 1);
    let config = dir.path().join("config.toml");
    std::fs::write(&config, &edited).expect("write config");
    let line = |needle: &str| {
        1 + edited
            .lines()
            .position(|l| l.starts_with(needle))
            .unwrap_or_else(|| panic!("{needle}"))
    };
    let out = ferry(&config, &["check"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let said = text(&out);
    let file = config.display().to_string();
    for (needle, field, words) in [
        (
            "keep_days",
            "log.keep_days",
            "0 is out of range (allowed 1..=3650)",
        ),
        (
            "keep_forever",
            "store.keep_forever",
            "unknown key `keep_forever`",
        ),
        (
            "keep_delivered",
            "store.keep_delivered",
            "`12h` is too short",
        ),
    ] {
        let prefix = format!("{file}:{}:", line(needle));
        assert!(
            said.lines()
                .any(|l| l.starts_with(&prefix) && l.contains(field) && l.contains(words)),
            "no `{prefix} ... {field}: {words}` in:\n{said}"
        );
    }
    assert!(said.contains("3 mistakes in"), "{said}");
}
