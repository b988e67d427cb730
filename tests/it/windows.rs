//! The Windows build under Wine: `ferry.exe check` and `ferry.exe run --once` on a copy of the
//! shipped config (built-in simulators), and the Windows service through Wine's service
//! manager (install, start, status, stop, uninstall; a config error at service start).
//!
//! Runs only when `FERRY_WINE_EXE` names a built ferry.exe (with the test-only
//! bcryptprimitives.dll beside it; `.ci/windows.sh` builds both, sets up a Wine prefix in
//! `WINEPREFIX` and keeps one Wine session up with `wineserver -p`, and `bash .ci/windows.sh`
//! alone also runs these tests); otherwise each test prints that it was skipped.

use std::io::{Read, Seek, SeekFrom};
use std::path::{Path, PathBuf};
use std::process::{Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;

/// ferry.exe to test, or `None` (with a note) when the Windows test is not set up.
fn wine_exe(test: &str) -> Option<PathBuf> {
    match std::env::var_os("FERRY_WINE_EXE") {
        Some(p) if !p.is_empty() => Some(PathBuf::from(p)),
        _ => {
            eprintln!(
                "skipped windows::{test}: set FERRY_WINE_EXE to a ferry.exe built for \
                 x86_64-pc-windows-gnu to run it under Wine (.ci/run does)"
            );
            None
        }
    }
}

/// A Unix path as the Windows program sees it (Wine maps `/` to drive Z:).
fn windows_path(p: &Path) -> String {
    format!("Z:{}", p.display()).replace('/', "\\")
}

struct Ran {
    code: i32,
    stdout: String,
    stderr: String,
}

impl std::fmt::Display for Ran {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}\n--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

/// Waits for `child` at most `limit`; kills it after that. `None` when it was killed.
fn wait_bounded(child: &mut std::process::Child, limit: Duration) -> Option<ExitStatus> {
    let started = Instant::now();
    loop {
        if let Ok(Some(s)) = child.try_wait() {
            return Some(s);
        }
        if started.elapsed() > limit {
            let _ = child.kill();
            let _ = child.wait();
            return None;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// `wine ferry.exe ARGS` in `/` (not the config's folder: nothing may depend on it), killed
/// after `limit`. Output goes to files, not pipes: the first Wine program of a session starts
/// Wine's own daemons (wineserver, services.exe), which inherit its output handles and outlive
/// it, so reading a pipe to its end would wait for them.
fn wine(exe: &Path, args: &[&str], limit: Duration) -> Ran {
    let out = tempfile::tempfile().expect("temp file");
    let err = tempfile::tempfile().expect("temp file");
    let mut child = Command::new("wine")
        .arg(exe)
        .args(args)
        .current_dir("/")
        .env(
            "WINEDEBUG",
            std::env::var("WINEDEBUG").unwrap_or_else(|_| "-all".into()),
        )
        .env("FERRY_LOG", "warn")
        .stdin(Stdio::null())
        .stdout(out.try_clone().expect("clone"))
        .stderr(err.try_clone().expect("clone"))
        .spawn()
        .expect("start wine (apt-get install wine64)");
    let status = wait_bounded(&mut child, limit);
    let read = |mut f: std::fs::File| {
        let mut text = String::new();
        let _ = f.seek(SeekFrom::Start(0));
        let _ = f.read_to_string(&mut text);
        text
    };
    let ran = Ran {
        code: status.and_then(|s| s.code()).unwrap_or(-1),
        stdout: read(out),
        stderr: read(err),
    };
    assert!(
        status.is_some(),
        "wine {args:?} still running after {limit:?}:\n{ran}"
    );
    ran
}

/// A copy of the shipped config in a new temp folder, and its path as Windows sees it.
fn shipped_copy() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("config.toml");
    std::fs::copy(shipped_config(), &cfg).expect("copy config");
    let win = windows_path(&cfg);
    (dir, win)
}

fn summary(ran: &Ran) -> serde_json::Value {
    ran.stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or_else(|| panic!("no JSON summary:\n{ran}"))
}

const SCHEMES: [&str; 2] = ["shops-to-stocks", "offline-returns"];

#[test]
fn exe_checks_and_delivers_the_shipped_config_once() {
    let Some(exe) = wine_exe("exe_checks_and_delivers_the_shipped_config_once") else {
        return;
    };
    let (dir, cfg) = shipped_copy();
    let limit = Duration::from_secs(300);
    let ran = wine(&exe, &["--config", &cfg, "check"], limit);
    assert!(ran.code == 0 && ran.stdout.starts_with("ok"), "{ran}");

    let ran = wine(&exe, &["--config", &cfg, "run", "--once", "--json"], limit);
    assert_eq!(ran.code, 0, "{ran}");
    let first = summary(&ran);
    for s in SCHEMES {
        let r = row(&first, s);
        assert!(r["delivered"].as_u64().unwrap_or(0) > 0, "{s}: {first}");
        assert_eq!(r["dead"], 0, "{s}: {first}");
    }
    // Data and logs went beside the config, not into the working folder.
    assert!(
        dir.path().join("data/store").is_dir(),
        "no store beside the config"
    );
    let logs = std::fs::read_dir(dir.path().join("data/logs"))
        .map(|d| d.count())
        .unwrap_or(0);
    assert!(logs > 0, "no log file in data/logs");

    let ran = wine(&exe, &["--config", &cfg, "run", "--once", "--json"], limit);
    assert_eq!(ran.code, 0, "{ran}");
    let second = summary(&ran);
    for s in SCHEMES {
        let (a, b) = (row(&first, s), row(&second, s));
        assert_eq!(b["delivered"], 0, "{s} posted again: {second}");
        assert_eq!(b["new"], 0, "{s}: {second}");
        assert_eq!(b["delivered_total"], a["delivered_total"], "{s}: {second}");
    }
}

/// Keeps a Windows program running while a test talks to a service: Wine ends its services
/// (without a Stop) once no other Windows program runs in the prefix. `cmd /k` waits on its
/// stdin; closing it ends cmd.
struct KeepWineUp(std::process::Child);

impl KeepWineUp {
    fn start() -> KeepWineUp {
        let child = Command::new("wine")
            .args(["cmd", "/k"])
            .env("WINEDEBUG", "-all")
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start wine cmd");
        KeepWineUp(child)
    }
}

impl Drop for KeepWineUp {
    fn drop(&mut self) {
        drop(self.0.stdin.take());
        wait_bounded(&mut self.0, Duration::from_secs(10));
    }
}

/// Removes a test service however the test ends (an automatic-start service left behind would
/// start with every later Wine program in the prefix).
struct Installed<'a> {
    exe: &'a Path,
    name: String,
}

impl Drop for Installed<'_> {
    fn drop(&mut self) {
        let child = Command::new("wine")
            .arg(self.exe)
            .args(["service", "uninstall", "--name", &self.name])
            .env("WINEDEBUG", "-all")
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn();
        if let Ok(mut child) = child {
            wait_bounded(&mut child, Duration::from_secs(60));
        }
    }
}

/// The counts in `data_dir/status.json`, which a running ferry rewrites every 2 s.
fn delivered_in_snapshot(data: &Path) -> Vec<(String, u64)> {
    let text = std::fs::read_to_string(data.join("status.json")).unwrap_or_default();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap_or_default();
    json["schemes"]
        .as_array()
        .map(|a| {
            a.iter()
                .map(|s| {
                    let name = s["scheme"].as_str().unwrap_or("").to_string();
                    (name, s["delivered"].as_u64().unwrap_or(0))
                })
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn service_installs_runs_stops_and_uninstalls_under_wine() {
    let Some(exe) = wine_exe("service_installs_runs_stops_and_uninstalls_under_wine") else {
        return;
    };
    let _wine = KeepWineUp::start();
    let limit = Duration::from_secs(120);
    let (dir, cfg) = shipped_copy();
    let name = format!("ferry-it-{}", std::process::id());
    let svc = |action: &str| wine(&exe, &["service", action, "--name", &name], limit);

    let ran = wine(
        &exe,
        &["--config", &cfg, "service", "install", "--name", &name],
        limit,
    );
    let _installed = Installed {
        exe: &exe,
        name: name.clone(),
    };
    assert_eq!(ran.code, 0, "{ran}");
    let runs = format!("--config {cfg} service run --name {name}");
    assert!(ran.stdout.contains(&runs), "{ran}");
    let ran = svc("status");
    assert_eq!(ran.code, 3, "{ran}");
    assert!(ran.stdout.contains("is stopped"), "{ran}");
    assert!(
        ran.stdout.contains("not run since it was installed"),
        "{ran}"
    );
    assert!(ran.stdout.contains("automatically with Windows"), "{ran}");

    let ran = svc("start");
    assert_eq!(ran.code, 0, "{ran}");
    assert!(ran.stdout.contains("is running (pid "), "{ran}");
    // The service delivers both schemes (its working folder is Wine's System32: the data folder
    // is found beside the config).
    let data = dir.path().join("data");
    let started = Instant::now();
    loop {
        let counts = delivered_in_snapshot(&data);
        let all = SCHEMES
            .iter()
            .all(|s| counts.iter().any(|(n, d)| n == s && *d > 0));
        if all {
            break;
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "the service delivered {counts:?}\n{}",
            svc("status")
        );
        std::thread::sleep(Duration::from_millis(500));
    }
    let ran = svc("status");
    assert_eq!(ran.code, 0, "{ran}");
    assert!(ran.stdout.contains("is running (pid "), "{ran}");

    let ran = svc("stop");
    assert_eq!(ran.code, 0, "{ran}");
    assert!(ran.stdout.contains("has stopped"), "{ran}");
    let ran = svc("status");
    assert_eq!(ran.code, 3, "{ran}");
    assert!(
        !ran.stdout.contains("by itself"),
        "a requested stop is no failure: {ran}"
    );
    // It stopped through `run`'s own path: the summary logged, the store and pid file let go.
    let logs: String = std::fs::read_dir(data.join("logs"))
        .expect("log dir")
        .filter_map(|e| e.ok())
        .filter_map(|e| std::fs::read_to_string(e.path()).ok())
        .collect();
    assert!(logs.contains("ferry service running"), "{logs}");
    assert!(logs.contains("ferry service stopped"), "{logs}");
    assert!(!data.join("ferry.pid").exists(), "pid file left behind");

    let ran = svc("uninstall");
    assert_eq!(ran.code, 0, "{ran}");
    let ran = svc("status");
    assert_eq!(ran.code, 1, "{ran}");
    assert!(ran.stdout.contains("no service of that name"), "{ran}");
}

#[test]
fn service_with_a_config_error_stops_and_says_why_under_wine() {
    let Some(exe) = wine_exe("service_with_a_config_error_stops_and_says_why_under_wine") else {
        return;
    };
    let _wine = KeepWineUp::start();
    let limit = Duration::from_secs(120);
    // The real systems with a secret the service cannot see: `install` accepts the config
    // (an admin's window may lack the service's variables), the service cannot start.
    let (dir, cfg) = shipped_copy();
    let path = dir.path().join("config.toml");
    let text = std::fs::read_to_string(&path).expect("config");
    let text = text
        .replacen(
            "[simulator]\nenabled = true",
            "[simulator]\nenabled = false",
            1,
        )
        .replace(
            "# app_secret = \"${JST_APP_SECRET}\"",
            "app_secret = \"${FERRY_IT_UNSET_SECRET}\"",
        )
        .replace(
            "# app_secret = \"${KD_APP_SECRET}\"",
            "app_secret = \"${FERRY_IT_UNSET_SECRET}\"",
        );
    assert_eq!(
        text.matches("FERRY_IT_UNSET_SECRET").count(),
        2,
        "shipped config changed"
    );
    std::fs::write(&path, text).expect("write config");
    let name = format!("ferry-it-bad-{}", std::process::id());
    let svc = |action: &str| wine(&exe, &["service", action, "--name", &name], limit);

    let ran = wine(
        &exe,
        &["--config", &cfg, "service", "install", "--name", &name],
        limit,
    );
    let _installed = Installed {
        exe: &exe,
        name: name.clone(),
    };
    assert_eq!(ran.code, 0, "{ran}");
    assert!(ran.stdout.contains("FERRY_IT_UNSET_SECRET"), "{ran}");

    let ran = svc("start");
    assert_eq!(ran.code, 3, "{ran}");
    assert!(
        ran.stdout
            .contains("ferry error 1: the config could not be loaded"),
        "{ran}"
    );
    let errors = dir
        .path()
        .join("data")
        .join("logs")
        .join("ferry-service-errors.log");
    assert!(ran.stdout.contains(&windows_path(&errors)), "{ran}");
    let text = std::fs::read_to_string(&errors).expect("ferry-service-errors.log");
    assert!(
        text.contains(&format!("the Windows service {name} cannot start")),
        "{text}"
    );
    assert!(
        text.contains("`FERRY_IT_UNSET_SECRET` is not set"),
        "{text}"
    );
}

#[test]
fn service_whose_config_is_gone_says_why_beside_the_exe_under_wine() {
    let Some(exe) = wine_exe("service_whose_config_is_gone_says_why_beside_the_exe_under_wine")
    else {
        return;
    };
    let _wine = KeepWineUp::start();
    let limit = Duration::from_secs(120);
    // Its own copy of ferry.exe (and the test-only DLL): the errors file is written beside it.
    let bin = tempfile::tempdir().expect("tempdir");
    let own_exe = bin.path().join("ferry.exe");
    std::fs::copy(&exe, &own_exe).expect("copy ferry.exe");
    if let Some(dll) = exe.parent().map(|d| d.join("bcryptprimitives.dll")) {
        if dll.exists() {
            std::fs::copy(&dll, bin.path().join("bcryptprimitives.dll")).expect("copy dll");
        }
    }
    let (dir, cfg) = shipped_copy();
    let name = format!("ferry-it-gone-{}", std::process::id());
    let ran = wine(
        &own_exe,
        &["--config", &cfg, "service", "install", "--name", &name],
        limit,
    );
    let _installed = Installed {
        exe: &own_exe,
        name: name.clone(),
    };
    assert_eq!(ran.code, 0, "{ran}");
    std::fs::remove_file(dir.path().join("config.toml")).expect("remove config");

    let ran = wine(&own_exe, &["service", "start", "--name", &name], limit);
    assert_eq!(ran.code, 3, "{ran}");
    assert!(ran.stdout.contains("ferry error 1"), "{ran}");
    let errors = bin.path().join("ferry-service-errors.log");
    assert!(ran.stdout.contains(&windows_path(&errors)), "{ran}");
    let text = std::fs::read_to_string(&errors).expect("ferry-service-errors.log beside the exe");
    assert!(text.contains("cannot read the config file"), "{text}");
}

#[test]
fn service_stop_finishes_the_batch_in_hand_under_wine() {
    let Some(exe) = wine_exe("service_stop_finishes_the_batch_in_hand_under_wine") else {
        return;
    };
    let _wine = KeepWineUp::start();
    let limit = Duration::from_secs(120);
    let dir = tempfile::tempdir().expect("tempdir");
    // The simulators in this process (Wine programs share the loopback), each BatchSave taking
    // 2 s and batches of 10: while the service delivers, a batch is always in hand.
    let sims = start_sims(
        dir.path(),
        &SimOpts {
            docs: 300,
            save_latency: Duration::from_secs(2),
            ..SimOpts::default()
        },
    );
    let config = write_config(dir.path(), &sims, |t| {
        set_scheme(t, "target", "batch_size", toml::Value::Integer(10));
        // Well above the 2 s a save takes, also on a loaded machine (a timed-out save would
        // be uncertain, not delivered).
        if let Some(toml::Value::Table(k)) = t.get_mut("kingdee") {
            k.insert("timeout".into(), toml::Value::String("60s".into()));
        }
    });
    let cfg = windows_path(&config);
    let name = format!("ferry-it-stop-{}", std::process::id());
    let ran = wine(
        &exe,
        &["--config", &cfg, "service", "install", "--name", &name],
        limit,
    );
    let _installed = Installed {
        exe: &exe,
        name: name.clone(),
    };
    assert_eq!(ran.code, 0, "{ran}");
    let ran = wine(&exe, &["service", "start", "--name", &name], limit);
    assert_eq!(ran.code, 0, "{ran}");

    // Delivering, with more batches to come.
    let eligible = eligible_returns(&sims).len();
    let started = Instant::now();
    while sims.kingdee.count("SAL_RETURNSTOCK") == 0 {
        assert!(started.elapsed() < limit, "nothing delivered");
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        eligible - sims.kingdee.count("SAL_RETURNSTOCK") > 30,
        "too few returns left to catch a batch in hand ({eligible} eligible)"
    );

    // While `stop` waits, the service says it is stopping.
    let watcher = {
        let (exe, name) = (exe.clone(), name.clone());
        std::thread::spawn(move || {
            let mut seen = Vec::new();
            for _ in 0..20 {
                let ran = wine(&exe, &["service", "status", "--name", &name], limit);
                let first = ran.stdout.lines().next().unwrap_or("").to_string();
                let stopped = first.ends_with("is stopped");
                seen.push(first);
                if stopped {
                    break;
                }
            }
            seen
        })
    };
    let ran = wine(&exe, &["service", "stop", "--name", &name], limit);
    assert_eq!(ran.code, 0, "{ran}");
    assert!(ran.stdout.contains("has stopped"), "{ran}");
    let seen = watcher.join().expect("watcher");
    assert!(
        seen.iter()
            .any(|l| l.ends_with("is stopping (finishing the batch in hand)")),
        "{seen:#?}"
    );

    // The batch in hand was finished and recorded: nothing in flight, and the store's
    // delivered count is exactly what Kingdee saved.
    let out = ferry(&config, &["status", "--json"]);
    let status: serde_json::Value = serde_json::from_slice(&out.stdout).expect("status --json");
    let rows = status["schemes"].as_array().cloned().unwrap_or_default();
    let field = |f: &str| -> u64 { rows.iter().map(|r| r[f].as_u64().unwrap_or(0)).sum() };
    assert_eq!(field("in_flight"), 0, "{status}");
    let saved = sims.kingdee.count("SAL_RETURNSTOCK") + sims.kingdee.count("BD_STOCK");
    assert_eq!(field("delivered"), saved as u64, "{status}");
    assert!(
        field("pending") > 0,
        "stopped before the end of the backlog: {status}"
    );
}
