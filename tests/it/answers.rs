//! The real binary against hostile and plausible answers (a tampering proxy in front of the
//! simulators): malformed pages never move a checkpoint, slow pages do not keep `run --once`
//! busy forever, redirects are never followed, and huge answers are refused within a bounded
//! amount of memory.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use crate::helpers::*;
use crate::pipeline::{assert_exactly_once, RETURNS};
use crate::proxy::{Action, Proxy, Trap};

const INOUT_PATH: &str = "/open/other/inout/query";

fn set(t: &mut toml::Table, section: &str, key: &str, value: toml::Value) {
    if let Some(toml::Value::Table(s)) = t.get_mut(section) {
        s.insert(key.into(), value);
    }
}

fn string(s: &str) -> toml::Value {
    toml::Value::String(s.to_string())
}

/// The Jushuitan side of a config goes through `proxy`.
fn via_proxy(t: &mut toml::Table, proxy: &Proxy) {
    set(t, "jushuitan", "base_url", string(&proxy.url));
}

/// The Kingdee side of a config goes through `proxy`.
fn kingdee_via(t: &mut toml::Table, proxy: &Proxy) {
    set(
        t,
        "kingdee",
        "base_url",
        string(&format!("{}/k3cloud/", proxy.url)),
    );
}

fn json_answer(body: &str) -> Action {
    Action::Respond {
        status: "200 OK",
        headers: vec![("content-type".into(), "application/json".into())],
        body: body.as_bytes().to_vec(),
    }
}

#[test]
fn a_malformed_page_never_moves_the_checkpoint_past_its_window() {
    for (answer, says) in [
        (
            r#"{"code":0,"msg":"执行成功","data":null}"#,
            "`data` is null",
        ),
        (
            r#"{"code":0,"msg":"执行成功","data":{"page_index":1,"page_size":50}}"#,
            "no `data.datas` list",
        ),
    ] {
        let dir = tempfile::tempdir().expect("tempdir");
        let sims = start_sims(
            dir.path(),
            &SimOpts {
                reject_duplicates: true,
                ..SimOpts::default()
            },
        );
        let tamper = Arc::new(AtomicBool::new(true));
        let tampered = Arc::new(AtomicUsize::new(0));
        // When the returns were last modified: the tampered window must hold some.
        let modified: Vec<String> = eligible_returns(&sims)
            .iter()
            .filter_map(|d| d["modified"].as_str().map(str::to_string))
            .collect();
        let proxy = {
            let (tamper, tampered) = (tamper.clone(), tampered.clone());
            Proxy::start(&sims.jushuitan.base_url(), move |r| {
                if r.path != INOUT_PATH || !tamper.load(Ordering::SeqCst) {
                    return Action::Forward;
                }
                let biz: serde_json::Value =
                    serde_json::from_str(&r.form("biz").unwrap_or_default()).unwrap_or_default();
                let (begin, end) = (
                    biz["modified_begin"].as_str().unwrap_or_default(),
                    biz["modified_end"].as_str().unwrap_or_default(),
                );
                let holds = modified
                    .iter()
                    .any(|m| m.as_str() >= begin && m.as_str() <= end);
                // The first page of the first window that holds returns is malformed.
                if holds && tampered.load(Ordering::SeqCst) == 0 && biz["page_index"] == 1 {
                    tampered.store(r.n, Ordering::SeqCst);
                    return json_answer(answer);
                }
                Action::Forward
            })
        };
        let config = write_config(dir.path(), &sims, |t| via_proxy(t, &proxy));
        let (code, summary, stderr) =
            run_once(&config, &["--scheme", RETURNS, "--wait-retries", "0s"]);
        assert_eq!(
            code, 1,
            "a malformed page must fail the run: {summary}\n{stderr}"
        );
        let r = row(&summary, RETURNS);
        let error = r["error"].as_str().unwrap_or_default();
        assert!(
            error.contains("other.inout.query page 1") && error.contains(says),
            "the error names API, page and what was wrong: {error}"
        );
        // The tampered window, and the documents in it.
        let n = tampered.load(Ordering::SeqCst);
        let bad = proxy
            .requests()
            .into_iter()
            .find(|r| r.n == n)
            .expect("a tampered request");
        let biz: serde_json::Value =
            serde_json::from_str(&bad.form("biz").expect("biz")).expect("biz JSON");
        let begin = biz["modified_begin"].as_str().expect("begin").to_string();
        let end = biz["modified_end"].as_str().expect("end").to_string();
        let inside = eligible_returns(&sims)
            .into_iter()
            .filter(|d| {
                let m = d["modified"].as_str().unwrap_or_default();
                m >= begin.as_str() && m <= end.as_str()
            })
            .count();
        assert!(
            inside > 0,
            "the tampered window {begin}..{end} holds returns"
        );
        let checkpoint = r["checkpoint"].as_str().unwrap_or("");
        assert!(
            checkpoint <= begin.as_str(),
            "checkpoint {checkpoint} passed the malformed window starting {begin}"
        );
        // The next run reads that window again: everything arrives, once.
        tamper.store(false, Ordering::SeqCst);
        let (code, summary, stderr) =
            run_once(&config, &["--scheme", RETURNS, "--wait-retries", "0s"]);
        assert_eq!(code, 0, "second run: {summary}\n{stderr}");
        let expected = eligible_returns(&sims).len();
        let saved = saved_identities(&sims, "SAL_RETURNSTOCK", "FBillNo");
        assert_eq!(saved.len(), expected, "every return arrives");
        assert!(saved.values().all(|n| *n == 1), "none twice");
    }
}

/// `ferry status --json` of a config while something else may hold the store.
fn status_json(config: &std::path::Path) -> serde_json::Value {
    let out = ferry(config, &["status", "--json"]);
    let text = String::from_utf8_lossy(&out.stdout);
    text.lines()
        .rev()
        .find_map(|l| serde_json::from_str(l).ok())
        .unwrap_or(serde_json::Value::Null)
}

#[test]
fn run_once_ends_when_pages_are_slow_and_checkpoints_show_as_it_goes() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(dir.path(), &SimOpts::default());
    // Every page takes 1.5 s: the horizon would move by as much after every window.
    let proxy = Proxy::start(&sims.jushuitan.base_url(), |r| {
        if r.path == INOUT_PATH {
            Action::ForwardAfter(Duration::from_millis(1500))
        } else {
            Action::Forward
        }
    });
    let start = ferry::time::format_beijing(ferry::time::now_unix() - 45 * DAY);
    let config = write_config(dir.path(), &sims, |t| {
        via_proxy(t, &proxy);
        set_scheme(t, "source", "start_from", string(&start));
    });
    let mut child = Command::new(ferry_bin())
        .arg("--config")
        .arg(&config)
        .args(["run", "--once", "--json", "--scheme", RETURNS])
        .env("FERRY_LOG", "warn")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn ferry");
    let started = Instant::now();
    let mut seen_while_running: Option<String> = None;
    let status = loop {
        if let Some(s) = child.try_wait().expect("wait") {
            break Some(s);
        }
        if started.elapsed() > Duration::from_secs(45) {
            let _ = child.kill();
            let _ = child.wait();
            break None;
        }
        if seen_while_running.is_none() {
            let s = status_json(&config);
            let checkpoint = s["schemes"]
                .as_array()
                .and_then(|a| a.iter().find(|r| r["scheme"] == RETURNS))
                .and_then(|r| r["checkpoint"].as_str().map(str::to_string));
            if child.try_wait().ok().flatten().is_none() {
                seen_while_running = checkpoint;
            }
        }
        std::thread::sleep(Duration::from_millis(200));
    };
    let windows = proxy
        .requests()
        .iter()
        .filter(|r| r.path == INOUT_PATH)
        .count();
    assert!(
        status.is_some(),
        "run --once did not end within 45 s ({windows} pages read)"
    );
    assert!(
        windows <= 9,
        "{windows} pages for a 45-day catch-up in 7-day windows"
    );
    assert!(
        seen_while_running.is_some(),
        "ferry status showed no checkpoint while the run went on"
    );
}

#[test]
fn redirects_are_never_followed_and_carry_nothing_away() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(dir.path(), &SimOpts::default());
    let trap = Trap::start();
    let redirect_all = Arc::new(AtomicBool::new(true));
    let redirect = |upstream: String, on: Arc<AtomicBool>, trap: String| {
        Proxy::start(&upstream, move |r| {
            if on.load(Ordering::SeqCst) {
                Action::Respond {
                    status: "307 Temporary Redirect",
                    headers: vec![("location".into(), format!("{trap}{}", r.path))],
                    body: Vec::new(),
                }
            } else {
                Action::Forward
            }
        })
    };
    let jst = redirect(
        sims.jushuitan.base_url(),
        redirect_all.clone(),
        trap.url.clone(),
    );
    let kd_on = Arc::new(AtomicBool::new(false));
    let kd = redirect(sims.kingdee.base_url(), kd_on.clone(), trap.url.clone());
    let config = write_config(dir.path(), &sims, |t| {
        via_proxy(t, &jst);
        kingdee_via(t, &kd);
        // A session login: its body carries the password.
        set(t, "kingdee", "auth", string("password"));
        set(t, "kingdee", "password", string(sims.kingdee.password()));
    });
    // Jushuitan redirects: its token request (app_key, sign) never leaves for the trap.
    let (code, summary, stderr) = run_once(&config, &["--wait-retries", "0s"]);
    assert_ne!(code, 0, "{summary}");
    let text = format!("{summary}\n{stderr}");
    assert!(text.contains("307") && text.contains(&trap.url), "{text}");
    assert_eq!(trap.hits(), 0, "something followed the redirect");
    // Kingdee redirects: ValidateUser (the password) never leaves for the trap.
    redirect_all.store(false, Ordering::SeqCst);
    kd_on.store(true, Ordering::SeqCst);
    let (code, summary, stderr) = run_once(&config, &["--wait-retries", "0s"]);
    assert_ne!(code, 0, "{summary}");
    let text = format!("{summary}\n{stderr}");
    assert!(
        text.contains("307") && text.contains(&trap.url) && text.contains("ValidateUser"),
        "{text}"
    );
    assert_eq!(trap.hits(), 0, "something followed the redirect");
    assert!(
        sims.kingdee.saved("SAL_RETURNSTOCK").is_empty(),
        "nothing can have been saved"
    );
    // Fixed: everything arrives, once.
    kd_on.store(false, Ordering::SeqCst);
    // (Entries whose save answer was refused are looked up once their request can no longer
    // be running in Kingdee: the run waits for that.)
    let (code, summary, stderr) = run_once(&config, &[]);
    assert_eq!(code, 0, "{summary}\n{stderr}");
    assert_exactly_once(&sims);
}

/// Runs the binary to completion, sampling its peak resident memory (Linux: VmHWM).
#[cfg(target_os = "linux")]
fn run_measured(config: &std::path::Path, args: &[&str]) -> (i32, String, f64) {
    let mut child = Command::new(ferry_bin())
        .arg("--config")
        .arg(config)
        .args(args)
        .env("FERRY_LOG", "warn")
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferry");
    let status_file = format!("/proc/{}/status", child.id());
    let mut peak_kb = 0u64;
    let started = Instant::now();
    let mut out = String::new();
    let mut err = String::new();
    let stdout = child.stdout.take();
    let stderr = child.stderr.take();
    let readers = (
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut o) = stdout {
                let _ = std::io::Read::read_to_string(&mut o, &mut s);
            }
            s
        }),
        std::thread::spawn(move || {
            let mut s = String::new();
            if let Some(mut e) = stderr {
                let _ = std::io::Read::read_to_string(&mut e, &mut s);
            }
            s
        }),
    );
    let code = loop {
        if let Ok(text) = std::fs::read_to_string(&status_file) {
            if let Some(kb) = text
                .lines()
                .find(|l| l.starts_with("VmHWM:"))
                .and_then(|l| l.split_whitespace().nth(1))
                .and_then(|v| v.parse::<u64>().ok())
            {
                peak_kb = peak_kb.max(kb);
            }
        }
        if let Some(s) = child.try_wait().expect("wait") {
            break s.code().unwrap_or(-1);
        }
        assert!(
            started.elapsed() < Duration::from_secs(120),
            "ferry did not finish"
        );
        std::thread::sleep(Duration::from_millis(5));
    };
    out.push_str(&readers.0.join().unwrap_or_default());
    err.push_str(&readers.1.join().unwrap_or_default());
    (code, format!("{out}\n{err}"), peak_kb as f64 / 1024.0)
}

#[cfg(target_os = "linux")]
#[test]
fn huge_answers_are_refused_and_memory_stays_bounded() {
    const MB: u64 = 1 << 20;
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(dir.path(), &SimOpts::default());
    // Which hostile answer the proxies give this time.
    let case = Arc::new(AtomicUsize::new(0));
    let jst = {
        let case = case.clone();
        Proxy::start(&sims.jushuitan.base_url(), move |r| {
            let stream = |prefix: &str, filler: &str, total: u64, announce: bool| Action::Stream {
                prefix: prefix.as_bytes().to_vec(),
                filler: filler.as_bytes().to_vec(),
                total,
                announce,
            };
            let page =
                r#"{"code":0,"msg":"执行成功","data":{"page_index":1,"has_next":false,"datas":["#;
            match (case.load(Ordering::SeqCst), r.path.as_str()) {
                // 300 MB, chunked (no length announced).
                (1, INOUT_PATH) => stream(page, r#"{"io_id":1,"remark":"备注"},"#, 300 * MB, false),
                // 300 MB announced.
                (2, INOUT_PATH) => stream(page, r#"{"io_id":1},"#, 300 * MB, true),
                // Just under the limit: one 31 MB string, never closed.
                (3, INOUT_PATH) => stream(
                    &format!("{page}{{\"io_id\":1,\"remark\":\""),
                    "备注备注",
                    31 * MB,
                    false,
                ),
                // Just under the limit: millions of tiny values.
                (4, INOUT_PATH) => stream(page, "{},", 31 * MB, true),
                // A page of 100,000 shops (about 25 MB).
                (5, "/open/shops/query") => stream(
                    page,
                    r#"{"shop_id":10178845,"shop_name":"HIDZMY","co_id":12252,"shop_site":"商家自有商城","shop_url":"","nick":"5084","session_expired":"","session_uid":"","short_name":"","group_id":707,"group_name":"自有商城","organization":null,"created":"2023-01-03 09:43:26"},"#,
                    100_000 * 260,
                    false,
                ),
                _ => Action::Forward,
            }
        })
    };
    let kd = {
        let case = case.clone();
        Proxy::start(&sims.kingdee.base_url(), move |r| {
            if case.load(Ordering::SeqCst) == 6 && r.path.contains("BatchSave") {
                Action::Stream {
                    prefix: br#"{"Result":{"ResponseStatus":{"IsSuccess":true,"Errors":[],"SuccessEntitys":["#.to_vec(),
                    filler: br#"{"Id":1,"Number":"X","DIndex":0},"#.to_vec(),
                    total: 300 * MB,
                    announce: false,
                }
            } else {
                Action::Forward
            }
        })
    };
    let config = write_config(dir.path(), &sims, |t| {
        via_proxy(t, &jst);
        kingdee_via(t, &kd);
    });
    let cases: [(usize, &[&str], &str); 6] = [
        (1, &["--scheme", RETURNS], "larger than the 32 MB limit"),
        (2, &["--scheme", RETURNS], "larger than the 32 MB limit"),
        (3, &["--scheme", RETURNS], "not JSON"),
        (4, &["--scheme", RETURNS], "once parsed"),
        (5, &["--scheme", "shops-to-stocks"], "shops.query page 1"),
        (6, &["--scheme", RETURNS], "larger than the 32 MB limit"),
    ];
    for (n, schemes, says) in cases {
        case.store(n, Ordering::SeqCst);
        let mut args = vec!["run", "--once", "--json", "--wait-retries", "0s"];
        args.extend_from_slice(schemes);
        let (code, output, peak_mb) = run_measured(&config, &args);
        assert_ne!(code, 0, "case {n}: {output}");
        assert!(
            output.contains(says),
            "case {n}: expected {says:?} in {output}"
        );
        eprintln!("case {n}: peak {peak_mb:.1} MB");
        // The promise is the release binary's (a debug build starts 25 MB bigger).
        if !cfg!(debug_assertions) {
            assert!(peak_mb < 100.0, "case {n}: peak {peak_mb:.1} MB");
        }
    }
    // The hostile answers lost nothing: with honest servers everything arrives, once.
    case.store(0, Ordering::SeqCst);
    // (Entries whose save answer was refused are looked up once their request can no longer
    // be running in Kingdee: the run waits for that.)
    let (code, summary, stderr) = run_once(&config, &[]);
    assert_eq!(code, 0, "{summary}\n{stderr}");
    assert_exactly_once(&sims);
}
