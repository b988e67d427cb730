//! The binary as a new user runs it: check, preview, sim, run --once on the shipped config.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use crate::helpers::*;

fn fixture(name: &str) -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

#[test]
fn check_on_the_shipped_config_says_ok_with_a_line_per_scheme() {
    let out = ferry(&shipped_config(), &["check"]);
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.starts_with("ok"), "{stdout}");
    assert!(
        stdout.contains("shops-to-stocks") && stdout.contains("offline-returns"),
        "{stdout}"
    );
}

#[test]
fn check_lists_every_mistake_and_exits_1() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(shipped_config()).expect("config");
    let broken = text
        .replacen("[simulator]", "bogus_key = 1\n[simulator]", 1)
        .replace("every = \"10s\"", "every = \"five minutes\"");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, broken).expect("write");
    let out = ferry(&path, &["check"]);
    let stdout = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("bogus_key"), "{stdout}");
    assert!(stdout.contains("every"), "{stdout}");
}

#[test]
fn preview_prints_a_complete_model_for_each_seed_scheme() {
    let out = ferry(
        &shipped_config(),
        &["preview", "--scheme", "offline-returns", "--input"],
    );
    assert!(
        !out.status.success(),
        "--input without a value is a usage error"
    );
    for (scheme, file, must) in [
        (
            "offline-returns",
            "return.json",
            vec![
                "FBillNo",
                "FEntity",
                "FMaterialId",
                "SubHeadEntity",
                "FSettleCurrId",
                "FRetcustId",
            ],
        ),
        (
            "shops-to-stocks",
            "shop.json",
            vec!["FNumber", "FName", "FStockStatusType", "FUseOrgId"],
        ),
    ] {
        let input = fixture(file);
        let out = ferry(
            &shipped_config(),
            &[
                "preview",
                "--scheme",
                scheme,
                "--input",
                input.to_str().unwrap_or_default(),
            ],
        );
        let stdout = String::from_utf8_lossy(&out.stdout);
        assert!(
            out.status.success(),
            "{scheme}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        for field in must {
            assert!(
                stdout.contains(field),
                "{scheme}: {field} missing in\n{stdout}"
            );
        }
    }
}

#[test]
fn sim_json_prints_exactly_one_line_then_serves() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut child = Command::new(ferry_bin())
        .args([
            "--config",
            "none.toml",
            "sim",
            "--json",
            "--docs",
            "20",
            "--state-dir",
        ])
        .arg(dir.path())
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sim");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read line");
    let v: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON line");
    for k in ["base_url", "app_key", "app_secret"] {
        assert!(v["jushuitan"][k].is_string(), "{v}");
    }
    for k in [
        "base_url",
        "acct_id",
        "user",
        "password",
        "app_id",
        "app_secret",
    ] {
        assert!(v["kingdee"][k].is_string(), "{v}");
    }
    assert!(v["kingdee"]["lcid"].is_number());
    // It really serves: the Kingdee simulator answers a login over HTTP.
    let base = v["kingdee"]["base_url"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let url =
        format!("{base}Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser.common.kdsvc");
    let body = serde_json::json!({"acctid": v["kingdee"]["acct_id"], "username": v["kingdee"]["user"], "password": v["kingdee"]["password"], "lcid": 2052});
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let resp: serde_json::Value = rt.block_on(async {
        reqwest::Client::new()
            .post(&url)
            .json(&body)
            .send()
            .await
            .expect("post")
            .json()
            .await
            .expect("json")
    });
    assert_eq!(resp["LoginResultType"], 1, "{resp}");
    let _ = child.kill();
    let _ = child.wait();
}

/// The README's first command, on a copy of the shipped config (built-in simulators).
#[test]
fn run_once_on_the_shipped_config_then_again_posts_nothing() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cfg = dir.path().join("config.toml");
    std::fs::copy(shipped_config(), &cfg).expect("copy config");
    let t0 = Instant::now();
    let (code, summary, stderr) = run_once(&cfg, &[]);
    assert_eq!(code, 0, "{summary}\n{stderr}");
    let delivered: u64 = summary["schemes"]
        .as_array()
        .map(|a| a.iter().map(|r| r["delivered"].as_u64().unwrap_or(0)).sum())
        .unwrap_or(0);
    assert!(delivered > 100, "{summary}");
    assert!(t0.elapsed() < Duration::from_secs(240));
    assert!(
        dir.path().join("data").is_dir(),
        "data_dir is relative to the config file"
    );
    let (code, summary2, stderr) = run_once(&cfg, &[]);
    assert_eq!(code, 0, "{summary2}\n{stderr}");
    for r in summary2["schemes"].as_array().expect("rows") {
        assert_eq!(r["delivered"], 0, "second run posted again: {summary2}");
        assert!(
            r["delivered_total"].as_u64().unwrap_or(0) > 0,
            "reported as already delivered: {summary2}"
        );
    }
    assert!(
        row(&summary2, "shops-to-stocks")["duplicates"]
            .as_u64()
            .unwrap_or(0)
            > 0,
        "{summary2}"
    );
    let out = ferry(&cfg, &["status"]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success() && text.contains("offline-returns"),
        "{text}"
    );

    // `ferry trace` says what happened to a document, in words. The simulator's io_ids start at
    // 10001; the first delivered one is traced.
    let delivered_key = (10001..10031).find(|k| {
        let out = ferry(
            &cfg,
            &["trace", "--scheme", "offline-returns", &k.to_string()],
        );
        String::from_utf8_lossy(&out.stdout).contains("delivered at")
    });
    let key = delivered_key
        .expect("one of the first 30 returns is delivered")
        .to_string();
    let out = ferry(&cfg, &["trace", "--scheme", "offline-returns", &key]);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    assert!(
        text.contains("(Kingdee id ") && text.contains("fetched and mapped to"),
        "{text}"
    );
    assert!(
        !text.contains("Delivered {"),
        "debug output in trace: {text}"
    );
    let out = ferry(
        &cfg,
        &["trace", "--scheme", "offline-returns", &key, "--json"],
    );
    let json: serde_json::Value = serde_json::from_slice(&out.stdout).expect("trace --json");
    assert_eq!(json["state"], "Delivered", "{json}");
    assert!(
        json["status"].as_str().unwrap_or("").contains("Kingdee id"),
        "{json}"
    );
    let out = ferry(
        &cfg,
        &["trace", "--scheme", "offline-returns", "no-such-key"],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stdout).contains("nothing known"));
}

#[test]
fn console_log_lines_are_plain_text_when_stderr_is_not_a_terminal() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(
        dir.path(),
        &SimOpts {
            docs: 10,
            ..SimOpts::default()
        },
    );
    let cfg = write_config(dir.path(), &sims, |_| {});
    let out = Command::new(ferry_bin())
        .arg("--config")
        .arg(&cfg)
        .args(["run", "--once", "--json", "--wait-retries", "0s"])
        .env("FERRY_LOG", "info")
        .env_remove("NO_COLOR")
        .output()
        .expect("run ferry");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("INFO"), "log lines expected: {stderr}");
    assert!(
        !stderr.contains('\u{1b}'),
        "ANSI codes in piped logs: {stderr}"
    );
    sims.stop();
}

/// `ferry sim --lines N` (benchmarks against an external simulator): every document has N lines.
#[test]
fn sim_lines_gives_every_document_that_many_lines() {
    let mut child = Command::new(ferry_bin())
        .args([
            "--config",
            "none.toml",
            "sim",
            "--json",
            "--docs",
            "30",
            "--lines",
            "3",
            "--per-second",
            "1000",
            "--per-minute",
            "60000",
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .expect("spawn sim");
    let stdout = child.stdout.take().expect("stdout");
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("read line");
    let v: serde_json::Value = serde_json::from_str(line.trim()).expect("one JSON line");
    let j = &v["jushuitan"];
    let (base, key, secret) = (
        j["base_url"].as_str().unwrap_or_default().to_string(),
        j["app_key"].as_str().unwrap_or_default().to_string(),
        j["app_secret"].as_str().unwrap_or_default().to_string(),
    );
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("rt");
    let http = reqwest::Client::new();
    let call = |path: &str, mut params: Vec<(&'static str, String)>| {
        params.push(("app_key", key.clone()));
        params.push(("charset", "utf-8".into()));
        params.push(("timestamp", ferry::time::now_unix().to_string()));
        let signed = ferry::source::jushuitan::sign(&secret, &params);
        params.push(("sign", signed));
        let req = http
            .post(format!("{base}{path}"))
            .header("content-type", "application/x-www-form-urlencoded")
            .body(ferry::source::jushuitan::form_encode(&params));
        rt.block_on(async {
            req.send()
                .await
                .expect("post")
                .json::<serde_json::Value>()
                .await
        })
        .expect("json")
    };
    let token = call(
        "/openWeb/auth/getInitToken",
        vec![
            ("grant_type", "authorization_code".into()),
            ("code", "abc123".into()),
        ],
    )["data"]["access_token"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let now = ferry::time::now_unix();
    let mut docs = Vec::new();
    for w in 0..6 {
        let end = now - w * 6 * 86400;
        for page in 1..=5 {
            let biz = serde_json::json!({
                "modified_begin": ferry::time::format_beijing(end - 6 * 86400),
                "modified_end": ferry::time::format_beijing(end),
                "page_index": page,
                "page_size": 50,
            });
            let params = vec![
                ("access_token", token.clone()),
                ("biz", biz.to_string()),
                ("version", "2".into()),
            ];
            let r = call("/open/other/inout/query", params);
            assert_eq!(r["code"], 0, "{r}");
            docs.extend(r["data"]["datas"].as_array().cloned().unwrap_or_default());
            if r["data"]["has_next"] != true {
                break;
            }
        }
    }
    let _ = child.kill();
    let _ = child.wait();
    assert!(docs.len() >= 20, "{} documents", docs.len());
    for d in &docs {
        let n = d["items"].as_array().map_or(0, Vec::len);
        assert_eq!(n, 3, "document {} has {n} lines", d["io_id"]);
    }
}
