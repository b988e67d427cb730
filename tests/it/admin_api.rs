//! The admin server of a real `ferry run` on 127.0.0.1:0: status and metrics move as the
//! simulators deliver, a dead letter is fixed in config.toml and replayed through the API, the
//! token guards every route but /healthz, and `check` refuses an open listen without a token.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::helpers::*;

const TOKEN: &str = "adm-T0ken-4f9a2c";

/// `ferry run` in the background, killed when dropped.
struct Running(Child);

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn start_run(config: &Path) -> Running {
    let child = Command::new(ferry_bin())
        .arg("--config")
        .arg(config)
        .arg("run")
        .env("FERRY_LOG", "warn")
        .env("FERRY_ADMIN_TOKEN", TOKEN)
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("start ferry run");
    Running(child)
}

/// The admin URL the running ferry wrote into its status snapshot.
fn admin_url(data: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(30);
    while Instant::now() < deadline {
        if let Ok(bytes) = std::fs::read(data.join("status.json")) {
            if let Ok(v) = serde_json::from_slice::<Value>(&bytes) {
                if let Some(u) = v["admin_url"].as_str() {
                    return u.to_string();
                }
            }
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("ferry run never wrote admin_url into status.json");
}

/// One HTTP request on a throwaway runtime: status and body.
fn send(r: impl FnOnce(&reqwest::Client) -> reqwest::RequestBuilder) -> (u16, String) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .build()
            .expect("client");
        let resp = r(&client).send().await.expect("request");
        let status = resp.status().as_u16();
        (status, resp.text().await.unwrap_or_default())
    })
}

fn get(url: &str, token: Option<&str>) -> (u16, String) {
    send(|c| {
        let r = c.get(url);
        match token {
            Some(t) => r.bearer_auth(t),
            None => r,
        }
    })
}

fn get_json(url: &str) -> Value {
    let (status, body) = get(url, Some(TOKEN));
    assert_eq!(status, 200, "GET {url}: {body}");
    serde_json::from_str(&body).expect("JSON")
}

fn post(url: &str, body: &str, content_type: &str) -> (u16, Value) {
    let (status, text) = send(|c| {
        c.post(url)
            .bearer_auth(TOKEN)
            .header("content-type", content_type)
            .body(body.to_string())
    });
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

/// Waits (bounded) until `f` returns Some.
fn wait_for<T>(what: &str, secs: u64, mut f: impl FnMut() -> Option<T>) -> T {
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f() {
            return v;
        }
        assert!(Instant::now() < deadline, "timed out waiting for {what}");
        std::thread::sleep(Duration::from_millis(200));
    }
}

fn scheme<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["schemes"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["scheme"] == name))
        .expect("scheme in status")
}

/// A config pointing at `sims`, admin on an ephemeral loopback port with a token, and the
/// customer lookup missing 线下门店-上海 (those returns go to the dead letters).
fn config_missing_a_customer(dir: &Path, sims: &ferry::sim::Sims) -> PathBuf {
    write_config(dir, sims, |t| {
        let mut admin = toml::Table::new();
        admin.insert("listen".into(), "127.0.0.1:0".into());
        admin.insert("token".into(), "${FERRY_ADMIN_TOKEN}".into());
        t.insert("admin".into(), toml::Value::Table(admin));
        if let Some(toml::Value::Table(l)) = t.get_mut("lookups") {
            if let Some(toml::Value::Table(c)) = l.get_mut("customer") {
                c.remove("线下门店-上海");
            }
        }
    })
}

fn metric(text: &str, name: &str, scheme: &str) -> f64 {
    let prefix = format!("{name}{{scheme=\"{scheme}\"}} ");
    text.lines()
        .find_map(|l| l.strip_prefix(&prefix))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0.0)
}

#[test]
fn the_api_shows_the_run_and_a_fixed_dead_letter_is_replayed_and_delivered() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(dir.path(), &SimOpts::default());
    let cfg = config_missing_a_customer(dir.path(), &sims);
    let _run = start_run(&cfg);
    let url = admin_url(&dir.path().join("data"));

    // Health needs no token; everything else does.
    let (h, body) = get(&format!("{url}/healthz"), None);
    assert_eq!(h, 200, "{body}");
    assert_eq!(get(&format!("{url}/api/status"), None).0, 401);
    assert_eq!(get(&format!("{url}/api/status"), Some("wrong")).0, 401);
    assert_eq!(get(&format!("{url}/metrics"), Some("wrong")).0, 401);
    assert_eq!(get(&format!("{url}/"), None).0, 401);
    let (nf, body) = get(&format!("{url}/no/such/route"), Some(TOKEN));
    assert_eq!(nf, 404, "{body}");

    // Counters move as the simulators deliver; the dead letters appear.
    let status = wait_for("returns delivered and dead letters", 60, || {
        let s = get_json(&format!("{url}/api/status"));
        let r = scheme(&s, "offline-returns");
        let done = r["counts"]["delivered"].as_u64().unwrap_or(0) > 0
            && r["counts"]["dead"].as_u64().unwrap_or(0) > 0
            && !r["running"].as_bool().unwrap_or(true);
        done.then_some(s)
    });
    let returns = scheme(&status, "offline-returns");
    assert!(returns["checkpoint"].is_string());
    assert!(status["store_bytes"].as_u64().unwrap_or(0) > 0);
    let (_, metrics) = get(&format!("{url}/metrics"), Some(TOKEN));
    let delivered = metric(
        &metrics,
        "ferry_documents_delivered_total",
        "offline-returns",
    );
    assert_eq!(
        delivered,
        returns["counts"]["delivered"].as_f64().unwrap_or(-1.0),
        "{metrics}"
    );
    assert!(metric(&metrics, "ferry_documents_dead_total", "offline-returns") > 0.0);
    assert!(metrics.contains("ferry_request_duration_seconds_bucket"));
    assert!(metrics.contains("ferry_outbox_entries{"));

    let dlq = get_json(&format!("{url}/api/dlq?scheme=offline-returns"));
    let items = dlq["items"].as_array().expect("items");
    assert!(!items.is_empty());
    let first = &items[0];
    assert!(
        first["error"]
            .as_str()
            .unwrap_or("")
            .contains("线下门店-上海"),
        "the reason names the missing lookup key: {first}"
    );
    let id = first["id"].as_u64().expect("id");
    let key = first["source_key"].as_str().expect("key").to_string();

    // Replaying before the fix: still fails, says why, nothing changes.
    let (code, body) = post(
        &format!("{url}/api/dlq/{id}/replay"),
        "{}",
        "application/json",
    );
    assert_eq!(code, 409, "{body}");
    assert!(body["error"].as_str().unwrap_or("").contains("still fails"));

    // Malformed requests.
    let (code, _) = post(&format!("{url}/api/dlq/{id}/replay"), "{}", "text/plain");
    assert_eq!(code, 400, "a POST that is not JSON is refused");
    let (code, _) = post(
        &format!("{url}/api/dlq/{id}/drop"),
        "{not json",
        "application/json",
    );
    assert_eq!(code, 400);
    let (code, _) = post(
        &format!("{url}/api/dlq/{id}/drop"),
        r#"{"reason":" "}"#,
        "application/json",
    );
    assert_eq!(code, 400, "dropping needs a reason");
    let (code, _) = post(
        &format!("{url}/api/dlq/notanumber/replay"),
        "{}",
        "application/json",
    );
    assert_eq!(code, 400);

    // The admin fixes the lookup in config.toml and replays from the API.
    let text = std::fs::read_to_string(&cfg).expect("config");
    let fixed = text.replace(
        "[lookups.customer]",
        "[lookups.customer]\n\"线下门店-上海\" = \"CUST002\"",
    );
    std::fs::write(&cfg, fixed).expect("fix config");
    let (code, body) = post(
        &format!("{url}/api/dlq/{id}/replay"),
        "{}",
        "application/json",
    );
    assert_eq!(code, 200, "{body}");
    let trace = wait_for("the replayed document delivered", 30, || {
        let t = get_json(&format!("{url}/api/trace?key={key}&scheme=offline-returns"));
        (t["items"][0]["state"] == "Delivered").then_some(t)
    });
    let identity = trace["items"][0]["identity"]
        .as_str()
        .expect("identity")
        .to_string();
    let saved = saved_identities(&sims, "SAL_RETURNSTOCK", "FBillNo");
    assert_eq!(saved.get(&identity), Some(&1), "saved once in Kingdee");
    let events = trace["items"][0]["events"].as_array().expect("events");
    assert!(events.iter().any(|e| e["what"] == "replayed"));

    // Another dead letter is dropped with a reason; it leaves the list and is never posted.
    let dlq = get_json(&format!("{url}/api/dlq?scheme=offline-returns"));
    if let Some(other) = dlq["items"].as_array().and_then(|a| a.first()) {
        let oid = other["id"].as_u64().expect("id");
        let (code, body) = post(
            &format!("{url}/api/dlq/{oid}/drop"),
            r#"{"reason":"已在金蝶手工录入"}"#,
            "application/json",
        );
        assert_eq!(code, 200, "{body}");
        let shown = get_json(&format!("{url}/api/dlq/{oid}"));
        assert_eq!(shown["state"], "Dropped");
        assert!(shown["status"]
            .as_str()
            .unwrap_or("")
            .contains("已在金蝶手工录入"));
        let after = get_json(&format!("{url}/api/dlq?scheme=offline-returns"));
        assert!(after["items"]
            .as_array()
            .expect("items")
            .iter()
            .all(|i| i["id"].as_u64() != Some(oid)));
    }

    // The CLI on the same machine goes through the API while ferry runs.
    let cli = |args: &[&str]| {
        let out = Command::new(ferry_bin())
            .arg("--config")
            .arg(&cfg)
            .args(args)
            .env("FERRY_ADMIN_TOKEN", TOKEN)
            .output()
            .expect("ferry");
        let text = String::from_utf8_lossy(&out.stdout).to_string()
            + String::from_utf8_lossy(&out.stderr).as_ref();
        (out.status.code(), text)
    };
    let (code, text) = cli(&["trace", "--scheme", "offline-returns", &key]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains(&identity) && text.contains("replayed"),
        "{text}"
    );
    let (code, text) = cli(&["dlq", "list", "--json"]);
    assert_eq!(code, Some(0), "{text}");
    let listed: Value = serde_json::from_str(text.trim()).expect("dlq list --json");
    let api_total = get_json(&format!("{url}/api/dlq"))["total"].as_u64();
    assert_eq!(listed.as_array().map(|a| a.len() as u64), api_total);

    // status asks the running ferry too: what it says is the API's, with no lag.
    let (code, text) = cli(&["status", "--json"]);
    assert_eq!(code, Some(0), "{text}");
    let st: Value = serde_json::from_str(text.trim()).expect("status --json");
    assert_eq!(st["admin_url"].as_str(), Some(url.as_str()), "{st}");
    assert_eq!(st["dead_total"].as_u64(), api_total, "{st}");
    let (code, text) = cli(&["check"]);
    assert_eq!(code, Some(0), "{text}");
    assert!(
        text.contains("console and API: http://127.0.0.1:0/ (token required)"),
        "{text}"
    );

    // A backup while ferry runs is taken by the running ferry; the copy opens as a store with
    // the same counts.
    let copy = dir.path().join("backup-1");
    let (code, text) = cli(&["backup", copy.to_str().expect("utf-8 path")]);
    assert_eq!(code, Some(0), "{text}");
    let (code, body) = post(
        &format!("{url}/api/backup"),
        r#"{"path":"relative/dir"}"#,
        "application/json",
    );
    assert_eq!(code, 400, "{body}");
    let (code, body) = post(
        &format!("{url}/api/backup"),
        &serde_json::json!({ "path": copy }).to_string(),
        "application/json",
    );
    assert_eq!(code, 409, "an existing backup is not overwritten: {body}");
    let live = get_json(&format!("{url}/api/status"));
    let restored = ferry::store::Store::open(&copy).expect("the copy opens");
    let counts = restored.counts("offline-returns").expect("counts");
    assert_eq!(
        Some(counts.delivered),
        scheme(&live, "offline-returns")["counts"]["delivered"].as_u64()
    );

    // "Run this scheme now".
    let (code, body) = post(
        &format!("{url}/api/schemes/shops-to-stocks/run"),
        "",
        "application/json",
    );
    assert_eq!(code, 202, "{body}");
    let (code, _) = post(
        &format!("{url}/api/schemes/nope/run"),
        "",
        "application/json",
    );
    assert_eq!(code, 404);
}

#[test]
fn check_refuses_an_admin_listen_beyond_this_machine_without_a_token() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(shipped_config()).expect("shipped");
    let open = text.replacen(
        "listen = \"127.0.0.1:8765\"",
        "listen = \"0.0.0.0:8765\"",
        1,
    );
    assert_ne!(open, text, "the shipped config names [admin] listen");
    let cfg = dir.path().join("config.toml");
    std::fs::write(&cfg, &open).expect("write");
    let out = ferry(&cfg, &["check"]);
    let msg = String::from_utf8_lossy(&out.stdout).to_string()
        + String::from_utf8_lossy(&out.stderr).as_ref();
    assert_eq!(out.status.code(), Some(1), "{msg}");
    assert!(
        msg.contains("admin.listen") && msg.contains("token"),
        "{msg}"
    );
    assert_eq!(
        msg.matches("admin.listen").count(),
        1,
        "reported once: {msg}"
    );

    let guarded = open.replace(
        "listen = \"0.0.0.0:8765\"",
        "listen = \"0.0.0.0:8765\"\ntoken = \"${FERRY_ADMIN_TOKEN}\"",
    );
    std::fs::write(&cfg, guarded).expect("write");
    let out = Command::new(ferry_bin())
        .args(["--config"])
        .arg(&cfg)
        .arg("check")
        .env("FERRY_ADMIN_TOKEN", TOKEN)
        .output()
        .expect("check");
    let msg = String::from_utf8_lossy(&out.stdout).to_string();
    assert_eq!(out.status.code(), Some(0), "{msg}");
    assert!(!msg.contains(TOKEN), "check never prints the token");
}

/// Every file under `dir`, as text (lossy).
fn files_text(dir: &Path) -> Vec<(PathBuf, String)> {
    let mut out = Vec::new();
    let Ok(rd) = std::fs::read_dir(dir) else {
        return out;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            out.extend(files_text(&p));
        } else if let Ok(bytes) = std::fs::read(&p) {
            out.push((p, String::from_utf8_lossy(&bytes).to_string()));
        }
    }
    out
}

#[test]
fn secrets_never_reach_the_api_the_console_metrics_status_or_the_logs() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(dir.path(), &SimOpts::default());
    let cfg = config_missing_a_customer(dir.path(), &sims);
    let _run = start_run(&cfg);
    let data = dir.path().join("data");
    let url = admin_url(&data);
    wait_for("dead letters", 60, || {
        let s = get_json(&format!("{url}/api/status"));
        (scheme(&s, "offline-returns")["counts"]["dead"]
            .as_u64()
            .unwrap_or(0)
            > 0)
        .then_some(())
    });
    let d = sims.describe_json();
    let secrets = [
        TOKEN.to_string(),
        d["jushuitan"]["app_secret"]
            .as_str()
            .expect("secret")
            .to_string(),
        d["kingdee"]["app_secret"]
            .as_str()
            .expect("secret")
            .to_string(),
    ];
    let dlq = get_json(&format!("{url}/api/dlq"));
    let id = dlq["items"][0]["id"].as_u64().expect("a dead letter");
    let key = dlq["items"][0]["source_key"]
        .as_str()
        .expect("key")
        .to_string();
    let mut seen = Vec::new();
    for path in [
        "/".to_string(),
        "/healthz".into(),
        "/metrics".into(),
        "/api/status".into(),
        "/api/schemes".into(),
        "/api/queue".into(),
        "/api/dlq".into(),
        format!("/api/dlq/{id}"),
        format!("/api/trace?key={key}"),
        "/no/such/page".into(),
    ] {
        let (_, body) = get(&format!("{url}{path}"), Some(TOKEN));
        seen.push((PathBuf::from(path), body));
    }
    // Let the log writer flush.
    std::thread::sleep(Duration::from_millis(1500));
    seen.extend(files_text(&data.join("logs")));
    seen.push((
        data.join("status.json"),
        std::fs::read_to_string(data.join("status.json")).unwrap_or_default(),
    ));
    assert!(
        seen.iter().any(|(p, _)| p.starts_with(data.join("logs"))),
        "log files exist"
    );
    for (where_, text) in &seen {
        for s in &secrets {
            assert!(
                !text.contains(s.as_str()),
                "a secret reached {}",
                where_.display()
            );
        }
    }
}
