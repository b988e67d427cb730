//! Commands an admin runs at a console: `status`, `dlq`, `trace` on stores that are missing,
//! broken or held by a running ferry, and without the service's environment.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// A copy of the shipped config (built-in simulators, no secrets) in `dir`.
fn shipped_copy(dir: &Path) -> PathBuf {
    let cfg = dir.join("config.toml");
    let text = std::fs::read_to_string(shipped_config()).expect("shipped config");
    // Tests run side by side: the admin server on a port of its own.
    let text = text.replacen("listen = \"127.0.0.1:8765\"", "listen = \"127.0.0.1:0\"", 1);
    std::fs::write(&cfg, text).expect("write config");
    cfg
}

/// A status snapshot as a ferry that is no longer running left it.
fn write_stale_snapshot(data: &Path, pid: u32) {
    std::fs::create_dir_all(data).expect("mkdir data");
    let snap = serde_json::json!({
        "updated_at": "2026-09-01 10:00:00", "updated_unix": 1_788_228_000, "pid": pid,
        "schemes": [], "dead_letters": [], "dead_total": 0
    });
    std::fs::write(data.join("status.json"), snap.to_string()).expect("write snapshot");
}

#[test]
fn status_on_a_store_it_cannot_open_says_so_and_exits_non_zero() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = shipped_copy(dir.path());
    let data = dir.path().join("data");
    // An old snapshot of a ferry that is long gone, and a store that is not a store.
    write_stale_snapshot(&data, 4_000_000);
    std::fs::write(data.join("store"), "not a sled folder").expect("write");
    let out = ferry(&cfg, &["status"]);
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(!all.contains("running"), "no ferry runs: {all}");
    assert!(
        all.contains("cannot open the store in") && all.contains("store"),
        "{all}"
    );

    // A store written by a newer ferry (a store format this one does not know).
    std::fs::remove_file(data.join("store")).expect("rm");
    {
        let db = sled::open(data.join("store")).expect("sled");
        let meta = db.open_tree("meta").expect("meta");
        meta.insert(b"\0store_format", &[99u8]).expect("insert");
        db.flush().expect("flush");
    }
    let out = ferry(&cfg, &["status"]);
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(!all.contains("is running"), "{all}");
    assert!(
        all.contains("cannot open the store in") && all.contains("newer ferry"),
        "{all}"
    );
    for args in [
        &["dlq", "list"][..],
        &["trace", "--scheme", "offline-returns", "1"],
    ] {
        let out = ferry(&cfg, args);
        let all = text(&out);
        assert!(!out.status.success(), "{args:?}: {all}");
        assert!(all.contains("cannot open the store in"), "{args:?}: {all}");
    }
}

#[test]
fn status_dlq_and_trace_on_a_data_folder_where_nothing_ran_say_so_and_create_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = shipped_copy(dir.path());
    let store = dir.path().join("data").join("store");
    let out = ferry(&cfg, &["status"]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains("ferry has not run with this config yet"),
        "{all}"
    );
    assert!(
        all.contains("offline-returns"),
        "the schemes are listed: {all}"
    );
    let out = ferry(&cfg, &["status", "--json"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json");
    assert_eq!(v["state"], "never_ran", "{v}");
    assert_eq!(v["live"], false, "{v}");
    let out = ferry(&cfg, &["dlq", "list"]);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("no dead letters"), "{}", text(&out));
    let out = ferry(&cfg, &["trace", "--scheme", "offline-returns", "10001"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(text(&out).contains("has not run"), "{}", text(&out));
    let out = ferry(&cfg, &["dlq", "replay", "1"]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(!store.exists(), "a read-only command created a store");
}

/// A `ferry run` (until killed) on a config; killed when dropped, also when a test fails.
struct Running(Child);

impl Running {
    fn spawn(config: &Path) -> Running {
        let child = Command::new(ferry_bin())
            .arg("--config")
            .arg(config)
            .arg("run")
            .env("FERRY_LOG", "warn")
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("spawn ferry run");
        Running(child)
    }

    fn kill(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        self.kill();
    }
}

/// Waits (bounded) until `cond` holds.
fn wait_for(what: &str, mut cond: impl FnMut() -> bool) {
    let t0 = Instant::now();
    while !cond() {
        assert!(t0.elapsed() < Duration::from_secs(30), "timed out: {what}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

#[test]
fn running_ferry_is_named_by_its_pid_and_a_second_run_is_refused_in_a_sentence() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(
        dir.path(),
        &SimOpts {
            docs: 30,
            ..SimOpts::default()
        },
    );
    let cfg = write_config(dir.path(), &sims, |_| {});
    let data = dir.path().join("data");
    let mut ferry_run = Running::spawn(&cfg);
    let pid = ferry_run.0.id();
    wait_for("the running ferry writes its status", || {
        std::fs::read_to_string(data.join("status.json"))
            .map(|t| t.contains(&format!("\"pid\": {pid}")))
            .unwrap_or(false)
    });

    let out = ferry(&cfg, &["status"]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(
        all.contains(&format!("ferry is running (pid {pid})")),
        "{all}"
    );

    let out = ferry(&cfg, &["run", "--once"]);
    let all = text(&out);
    assert!(!out.status.success(), "{all}");
    assert!(
        all.contains(&format!(
            "another ferry (pid {pid}) is already running on data folder {}",
            data.display()
        )),
        "{all}"
    );
    assert!(
        !all.contains("WouldBlock") && !all.contains("Os {"),
        "{all}"
    );
    assert_eq!(all.trim().lines().count(), 1, "one sentence: {all}");

    // dlq asks the running ferry through its admin API instead of failing on the lock.
    let out = ferry(&cfg, &["dlq", "list"]);
    let all = text(&out);
    assert!(out.status.success(), "{all}");
    assert!(all.contains("no dead letters"), "{all}");

    // Killed: its pid file and snapshot stay behind, but nothing holds the store any more.
    ferry_run.kill();
    let statuses: Vec<Child> = (0..3)
        .map(|_| {
            Command::new(ferry_bin())
                .arg("--config")
                .arg(&cfg)
                .arg("status")
                .stdout(Stdio::piped())
                .stderr(Stdio::piped())
                .spawn()
                .expect("spawn status")
        })
        .collect();
    for s in statuses {
        let out = s.wait_with_output().expect("status");
        let all = text(&out);
        assert!(out.status.success(), "{all}");
        assert!(!all.contains("is running"), "{all}");
        assert!(all.contains("ferry is not running"), "{all}");
    }
    sims.stop();
}

const UNSET_JST: &str = "FERRY_IT_ADMIN_UNSET_JST_SECRET";
const UNSET_KD: &str = "FERRY_IT_ADMIN_UNSET_KD_SECRET";

/// `ferry ARGS` with the two secret variables set or not.
fn ferry_env(config: &Path, args: &[&str], secrets: Option<(&str, &str)>) -> Output {
    let mut c = Command::new(ferry_bin());
    c.arg("--config").arg(config).args(args);
    c.env("FERRY_LOG", "warn");
    match secrets {
        Some((j, k)) => c.env(UNSET_JST, j).env(UNSET_KD, k),
        None => c.env_remove(UNSET_JST).env_remove(UNSET_KD),
    };
    c.output().expect("run ferry")
}

#[test]
fn status_dlq_and_trace_work_without_the_secrets_environment() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(
        dir.path(),
        &SimOpts {
            docs: 40,
            ..SimOpts::default()
        },
    );
    let described = sims.describe_json();
    let jst_secret = described["jushuitan"]["app_secret"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let kd_secret = described["kingdee"]["app_secret"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let cfg = write_config(dir.path(), &sims, |t| {
        for (section, var) in [("jushuitan", UNSET_JST), ("kingdee", UNSET_KD)] {
            if let Some(toml::Value::Table(s)) = t.get_mut(section) {
                s.insert(
                    "app_secret".into(),
                    toml::Value::String(format!("${{{var}}}")),
                );
            }
        }
        // Kingdee has no stock CK999: it refuses those returns, dead letters to look at.
        if let Some(toml::Value::Table(l)) = t.get_mut("lookups") {
            if let Some(toml::Value::Table(w)) = l.get_mut("warehouse") {
                for (_, v) in w.iter_mut() {
                    *v = toml::Value::String("CK999".into());
                }
            }
        }
    });
    let out = ferry_env(
        &cfg,
        &["run", "--once", "--json", "--wait-retries", "0s"],
        Some((&jst_secret, &kd_secret)),
    );
    assert!(
        dir.path().join("data").join("store").is_dir(),
        "{}",
        text(&out)
    );

    // The service's own commands still need them.
    let out = ferry_env(&cfg, &["check"], None);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    for var in [UNSET_JST, UNSET_KD] {
        assert!(
            text(&out).contains(&format!("environment variable `{var}` is not set")),
            "{}",
            text(&out)
        );
    }
    let out = ferry_env(&cfg, &["run", "--once"], None);
    assert!(!out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(UNSET_JST), "{}", text(&out));

    // An admin's console does not have them.
    let out = ferry_env(&cfg, &["status"], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains("offline-returns"), "{}", text(&out));
    let out = ferry_env(&cfg, &["dlq", "list", "--json"], None);
    assert!(out.status.success(), "{}", text(&out));
    let dead: serde_json::Value = serde_json::from_slice(&out.stdout).expect("dlq json");
    let first = dead[0].clone();
    let id = first["id"].as_u64().expect("a dead letter").to_string();
    let key = first["source_key"].as_str().unwrap_or_default().to_string();
    let scheme = first["scheme"].as_str().unwrap_or_default().to_string();
    let out = ferry_env(&cfg, &["dlq", "show", &id], None);
    assert!(out.status.success(), "{}", text(&out));
    let out = ferry_env(&cfg, &["trace", "--scheme", &scheme, &key], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(text(&out).contains(&key), "{}", text(&out));
    let input = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/return.json");
    let input = input.to_str().unwrap_or_default();
    let out = ferry_env(
        &cfg,
        &["preview", "--scheme", "offline-returns", "--input", input],
        None,
    );
    assert!(out.status.success(), "{}", text(&out));
    // Replay only changes the store (the next run sends it).
    let out = ferry_env(&cfg, &["dlq", "replay", &id], None);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains(&format!("#{id}: queued again")),
        "{}",
        text(&out)
    );
    for args in [&["status"][..], &["dlq", "list"], &["dlq", "show", &id]] {
        let out = ferry_env(&cfg, args, None);
        assert!(
            !text(&out).contains("environment variable"),
            "{}",
            text(&out)
        );
        for secret in [&jst_secret, &kd_secret] {
            assert!(!text(&out).contains(secret.as_str()));
        }
    }
    sims.stop();
}
