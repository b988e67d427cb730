//! The web console in a real browser (headless Debian chromium through chromedriver), against a
//! real `ferry run` with the built-in simulators: the "Done means" story. A lookup lacks a
//! value, so some returns go to the dead letters; the page shows both schemes, their counts in
//! Chinese and the dead letters with their reasons; the test fixes config.toml, presses 重放 on
//! the page and sees the document delivered, on the page and through the API.
//!
//! Runs only with `FERRY_BROWSER_TESTS=1` (`.ci/run` sets it and installs `chromium` and
//! `chromium-driver`). Screenshots go to `target/artifacts/`.

mod webdriver;

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

use crate::helpers::*;
use webdriver::{Browser, El};

/// The warehouse the test leaves out of `[lookups.warehouse]` and adds back before replaying.
const MISSING_WAREHOUSE: &str = "销退仓";
const MISSING_STOCK: &str = "CK002";

fn enabled() -> bool {
    if std::env::var("FERRY_BROWSER_TESTS").ok().as_deref() == Some("1") {
        return true;
    }
    eprintln!(
        "SKIPPED console browser test: set FERRY_BROWSER_TESTS=1 to run it (needs Debian's \
         chromium and chromium-driver: apt-get install chromium chromium-driver; .ci/run does)"
    );
    false
}

fn artifacts() -> PathBuf {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("target")
        .join("artifacts");
    std::fs::create_dir_all(&dir).expect("mkdir target/artifacts");
    dir
}

/// The shipped config (built-in simulators) with a small history, the admin server on a free
/// loopback port (with `token`, if given), and `[lookups.warehouse]` without the returns
/// warehouse.
fn write_console_config(dir: &Path, token: Option<&str>) -> PathBuf {
    let text = std::fs::read_to_string(shipped_config()).expect("shipped config");
    let mut t: toml::Table = text.parse().expect("shipped config parses");
    t.insert("data_dir".into(), "data".into());
    let mut log = toml::Table::new();
    log.insert("dir".into(), "data/logs".into());
    t.insert("log".into(), toml::Value::Table(log));
    if let Some(sim) = t.get_mut("simulator").and_then(|v| v.as_table_mut()) {
        sim.insert("enabled".into(), true.into());
        sim.insert("docs".into(), 60.into());
        sim.insert("shops".into(), 6.into());
    }
    let mut admin = toml::Table::new();
    admin.insert("listen".into(), "127.0.0.1:0".into());
    if let Some(tok) = token {
        admin.insert("token".into(), tok.into());
    }
    t.insert("admin".into(), toml::Value::Table(admin));
    let start = ferry::time::format_beijing(ferry::time::now_unix() - 70 * DAY);
    set_scheme(&mut t, "source", "start_from", start.into());
    let lookups = t
        .get_mut("lookups")
        .and_then(|v| v.get_mut("warehouse"))
        .and_then(|v| v.as_table_mut())
        .expect("[lookups.warehouse]");
    assert!(lookups.remove(MISSING_WAREHOUSE).is_some());
    let path = dir.join("config.toml");
    std::fs::write(&path, toml::to_string(&t).expect("toml")).expect("write config");
    path
}

/// What a person does after reading the dead letter: adds the missing value to config.toml.
fn add_missing_lookup(config: &Path) {
    let mut t: toml::Table = std::fs::read_to_string(config)
        .expect("read config")
        .parse()
        .expect("config parses");
    let lookups = t
        .get_mut("lookups")
        .and_then(|v| v.get_mut("warehouse"))
        .and_then(|v| v.as_table_mut())
        .expect("[lookups.warehouse]");
    lookups.insert(MISSING_WAREHOUSE.into(), MISSING_STOCK.into());
    std::fs::write(config, toml::to_string(&t).expect("toml")).expect("write config");
}

/// `ferry run` (the long-running service), ended when dropped.
struct Running {
    child: Child,
    stderr: PathBuf,
}

impl Running {
    fn start(config: &Path, dir: &Path, env: &[(&str, &str)]) -> Running {
        let stderr = dir.join("ferry.stderr");
        let child = Command::new(ferry_bin())
            .arg("--config")
            .arg(config)
            .arg("run")
            .env("FERRY_LOG", "warn")
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(std::fs::File::create(dir.join("ferry.stdout")).expect("stdout file"))
            .stderr(std::fs::File::create(&stderr).expect("stderr file"))
            .spawn()
            .expect("start ferry run");
        Running { child, stderr }
    }

    /// Fails the test if ferry has stopped, with what it said.
    fn assert_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!(
                "ferry run stopped ({status}):\n{}",
                std::fs::read_to_string(&self.stderr).unwrap_or_default()
            );
        }
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A plain JSON client for the admin API (what the test checks behind the page's back).
struct Api {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    base: String,
}

impl Api {
    fn new(base: &str) -> Api {
        Api {
            rt: tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("runtime"),
            // No idle connections kept: between calls nothing drives this runtime, so a pooled
            // connection the server has closed meanwhile would fail the next request.
            http: reqwest::Client::builder()
                .pool_max_idle_per_host(0)
                .timeout(Duration::from_secs(10))
                .build()
                .expect("client"),
            base: base.trim_end_matches('/').to_string(),
        }
    }

    /// (HTTP status, body as JSON or Null); status 0 (and the error as a string) when nothing
    /// answered.
    fn get(&self, path: &str) -> (u16, Value) {
        let url = format!("{}{path}", self.base);
        self.rt.block_on(async {
            match self.http.get(&url).send().await {
                Ok(r) => {
                    let status = r.status().as_u16();
                    (status, r.json().await.unwrap_or(Value::Null))
                }
                Err(e) => (0, Value::String(e.to_string())),
            }
        })
    }

    fn ok(&self, path: &str) -> Value {
        let (status, v) = self.get(path);
        assert_eq!(status, 200, "GET {path}: {v}");
        v
    }
}

fn scheme<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["schemes"]
        .as_array()
        .and_then(|a| a.iter().find(|s| s["scheme"] == name))
        .unwrap_or(&Value::Null)
}

fn count(status: &Value, name: &str, what: &str) -> u64 {
    scheme(status, name)["counts"][what].as_u64().unwrap_or(0)
}

/// The admin URL ferry wrote into `data_dir/status.json`.
fn wait_admin_url(ferry: &mut Running, data: &Path) -> String {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        ferry.assert_alive();
        let snap: Option<Value> = std::fs::read(data.join("status.json"))
            .ok()
            .and_then(|b| serde_json::from_slice(&b).ok());
        if let Some(url) = snap.as_ref().and_then(|s| s["admin_url"].as_str()) {
            return url.to_string();
        }
        assert!(
            Instant::now() < deadline,
            "no admin_url in {} after 60 s: {snap:?}",
            data.join("status.json").display()
        );
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Waits until both schemes have run once and the returns left dead letters.
fn wait_first_runs(ferry: &mut Running, api: &Api) -> Value {
    let deadline = Instant::now() + Duration::from_secs(90);
    loop {
        ferry.assert_alive();
        let (code, st) = api.get("/api/status");
        let settled = code == 200
            && ["shops-to-stocks", "offline-returns"].iter().all(|n| {
                let s = scheme(&st, n);
                s["running"] == false && !s["last_run"].is_null() && count(&st, n, "pending") == 0
            })
            && count(&st, "shops-to-stocks", "delivered") > 0
            && count(&st, "offline-returns", "delivered") > 0
            && count(&st, "offline-returns", "dead") > 0;
        if settled {
            return st;
        }
        assert!(
            Instant::now() < deadline,
            "the first runs did not settle within 90 s: {code} {st}"
        );
        std::thread::sleep(Duration::from_millis(300));
    }
}

/// The number a scheme card shows for a count ("1,234" → 1234).
fn card_count(b: &Browser, scheme: &str, what: &str) -> Option<u64> {
    let css = format!("article[data-scheme=\"{scheme}\"] [data-count=\"{what}\"] .count-n");
    let text = b.text_of(&css)?;
    text.chars()
        .filter(char::is_ascii_digit)
        .collect::<String>()
        .parse()
        .ok()
}

fn row_css(id: u64) -> String {
    format!("#dlq-body tr[data-id=\"{id}\"]")
}

fn button(b: &Browser, css: &str) -> El {
    b.wait(css, 10, |b| b.find(css).filter(|e| b.displayed(e)))
}

fn no_horizontal_scroll(b: &Browser, when: &str) {
    let v = b.js(
        "return [document.documentElement.scrollWidth, window.innerWidth];",
        json!([]),
    );
    let (scroll, inner) = (v[0].as_u64().unwrap_or(0), v[1].as_u64().unwrap_or(0));
    assert!(inner >= 1300, "window is {inner} px wide");
    assert!(
        scroll <= inner,
        "{when}: the page scrolls sideways at {inner} px ({scroll} px wide)"
    );
}

/// A screenshot of the whole page (the window made as tall as the page, then set back).
fn full_screenshot(b: &Browser, path: &Path) {
    let h = b.js("return document.documentElement.scrollHeight;", json!([]));
    let h = h.as_u64().unwrap_or(768).clamp(768, 2400) as u32;
    b.set_window(1366, h + 140);
    std::thread::sleep(Duration::from_millis(300));
    b.screenshot(path);
    b.set_window(1366, 768);
}

#[test]
fn console_shows_schemes_and_dead_letters_and_replays_one_from_the_page() {
    if !enabled() {
        return;
    }
    let t0 = Instant::now();
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_console_config(dir.path(), None);
    let mut ferry = Running::start(&config, dir.path(), &[]);
    let admin = wait_admin_url(&mut ferry, &dir.path().join("data"));
    let api = Api::new(&admin);
    let before = wait_first_runs(&mut ferry, &api);
    let dlq = api.ok("/api/dlq?scheme=offline-returns&limit=200");
    let dead: Vec<&Value> = dlq["items"].as_array().expect("items").iter().collect();
    assert!(dead.len() >= 2, "{dlq}");
    for d in &dead {
        let e = d["error"].as_str().unwrap_or_default();
        assert!(e.contains(MISSING_WAREHOUSE), "{d}");
    }
    let (replayed_id, replayed_key) = (
        dead[0]["id"].as_u64().expect("id"),
        dead[0]["source_key"].as_str().expect("key").to_string(),
    );
    let dropped_id = dead[1]["id"].as_u64().expect("id");

    let b = Browser::start(&dir.path().join("chromedriver.log"));
    b.goto(&format!("{admin}/"));

    // Both schemes, with the counts the API gives, under Chinese labels.
    for name in ["shops-to-stocks", "offline-returns"] {
        for what in ["delivered", "dead", "fetched", "filtered"] {
            let want = count(&before, name, what);
            b.wait(&format!("{name} {what} = {want} on its card"), 15, |b| {
                (card_count(b, name, what) == Some(want)).then_some(())
            });
        }
    }
    let text = b.page_text();
    for label in [
        "ferry 数据同步",
        "同步方案",
        "已拉取",
        "已过滤",
        "已交付",
        "重试中",
        "死信",
        "交付后变更",
        "上次运行",
        "下次运行",
        "同步进度",
        "立即运行",
        "重放",
        "丢弃",
        "单据追踪",
    ] {
        assert!(text.contains(label), "no {label:?} on the page:\n{text}");
    }
    assert!(!text.contains("无法连接"), "{text}");

    // The dead letters, with the reason ferry recorded, one row per dead letter.
    let row = row_css(replayed_id);
    b.wait("the dead letter's row", 15, |b| b.find(&row));
    let rows = b.find_all("#dlq-body tr[data-id]").len() as u64;
    assert_eq!(rows, before["dead_total"].as_u64().unwrap_or(0).min(200));
    let reason = b
        .text_of(&format!("{row} td.err"))
        .expect("reason cell")
        .to_string();
    assert!(
        reason.contains("lookup") && reason.contains(MISSING_WAREHOUSE),
        "{reason}"
    );
    assert!(b.text_of(&row).unwrap_or_default().contains(&replayed_key));
    no_horizontal_scroll(&b, "Chinese page with dead letters");
    full_screenshot(&b, &artifacts().join("console.png"));

    // Details: the recorded reason in full and the document's history, in the page's dialog.
    b.click(&button(&b, &format!("{row} [data-action=details]")))
        .expect("click 详情");
    let reason_box = b.wait("the details dialog", 15, |b| b.text_of("#modal .error-box"));
    assert_eq!(
        reason_box.trim(),
        dead[0]["error"].as_str().unwrap_or_default(),
        "the reason verbatim"
    );
    let history = b.text_of("#modal .timeline").unwrap_or_default();
    assert!(history.contains("转换失败"), "{history}");
    b.screenshot(&artifacts().join("console-details.png"));
    b.click(&button(&b, "#modal-close")).expect("close");
    b.wait("the dialog to close", 5, |b| {
        b.find("#modal").filter(|m| !b.displayed(m)).map(|_| ())
    });

    // The admin adds the missing lookup value and replays the document from the page.
    add_missing_lookup(&config);
    b.click(&button(&b, &format!("{row} [data-action=replay]")))
        .expect("click 重放");
    b.wait("the replayed dead letter to leave the page", 30, |b| {
        b.find(&row).is_none().then_some(())
    });
    let after = api.ok("/api/status");
    let delivered = count(&after, "offline-returns", "delivered");
    assert_eq!(
        delivered,
        count(&before, "offline-returns", "delivered") + 1,
        "{after}"
    );
    assert_eq!(
        count(&after, "offline-returns", "dead"),
        count(&before, "offline-returns", "dead") - 1,
        "{after}"
    );
    let trace = api.ok(&format!(
        "/api/trace?key={replayed_key}&scheme=offline-returns"
    ));
    let events = trace["items"][0]["events"].to_string().to_lowercase();
    assert!(events.contains("deliver"), "{trace}");
    b.wait("the card's delivered count to follow", 15, |b| {
        (card_count(b, "offline-returns", "delivered") == Some(delivered)).then_some(())
    });

    // Dropping asks for a reason in the page's own dialog, and refuses an empty one.
    let drop_row = row_css(dropped_id);
    b.click(&button(&b, &format!("{drop_row} [data-action=drop]")))
        .expect("click 丢弃");
    let confirm = button(&b, "#modal [data-action=confirm-drop]");
    b.click(&confirm).expect("confirm without a reason");
    let error = button(&b, "#drop-error");
    assert!(b.text(&error).contains("请填写丢弃原因"));
    assert!(b.find(&drop_row).is_some(), "dropped without a reason");
    b.type_into(&button(&b, "#drop-reason"), "已在金蝶手工录入");
    b.click(&confirm).expect("confirm");
    b.wait("the dropped dead letter to leave the page", 15, |b| {
        b.find(&drop_row).is_none().then_some(())
    });
    let left = api.ok("/api/dlq?scheme=offline-returns&limit=200");
    let ids: Vec<u64> = left["items"]
        .as_array()
        .map(|a| a.iter().filter_map(|d| d["id"].as_u64()).collect())
        .unwrap_or_default();
    assert!(!ids.contains(&dropped_id), "still a dead letter: {left}");
    assert_eq!(ids.len(), dead.len() - 2, "{left}");

    // The search box shows the replayed document's trace, ending delivered.
    let key_box = button(&b, "#trace-key");
    b.type_into(&key_box, &replayed_key);
    b.click(&button(&b, "#trace-form button[type=submit]"))
        .expect("search");
    let trace_text = b.wait("the trace", 15, |b| b.text_of(".trace-item"));
    assert!(trace_text.contains(&replayed_key), "{trace_text}");
    assert!(trace_text.contains("已交付"), "{trace_text}");

    // English on the toggle, remembered across a reload.
    b.click(&button(&b, "#lang-toggle")).expect("toggle");
    b.goto(&format!("{admin}/"));
    b.wait("English labels after a reload", 15, |b| {
        let t = b.page_text();
        (t.contains("Delivered") && t.contains("offline-returns")).then_some(t)
    });
    b.wait("the English dead letters", 15, |b| {
        b.find("#dlq-body tr[data-id]")
    });
    let text = b.page_text();
    for label in [
        "ferry data sync",
        "Sync schemes",
        "Fetched",
        "Filtered",
        "Retrying",
        "Dead letters",
        "Run now",
        "Replay",
        "Drop",
    ] {
        assert!(
            text.contains(label),
            "no {label:?} on the English page:\n{text}"
        );
    }
    for zh in ["已交付", "重试中", "立即运行"] {
        assert!(!text.contains(zh), "{zh:?} left on the English page");
    }
    no_horizontal_scroll(&b, "English page");
    full_screenshot(&b, &artifacts().join("console-en.png"));
    drop(b);
    ferry.assert_alive();
    assert!(
        t0.elapsed() < Duration::from_secs(120),
        "{:?}",
        t0.elapsed()
    );
}

/// With `[admin] token`, the browser's own sign-in (any user name, the token as password) is all
/// the page needs: its API calls go to the same origin and carry the credentials. Opened as
/// `http://user:token@host/`, as an admin may type it, the calls must not carry the URL's
/// credentials themselves (fetch refuses such URLs).
#[test]
fn console_works_behind_the_admin_token() {
    if !enabled() {
        return;
    }
    const TOKEN: &str = "tok-console-7d1e5a9c";
    let dir = tempfile::tempdir().expect("tempdir");
    let config = write_console_config(dir.path(), Some("${FERRY_CONSOLE_TEST_TOKEN}"));
    let mut ferry = Running::start(&config, dir.path(), &[("FERRY_CONSOLE_TEST_TOKEN", TOKEN)]);
    let admin = wait_admin_url(&mut ferry, &dir.path().join("data"));
    let api = Api::new(&admin);
    let (code, _) = api.get("/");
    assert_eq!(code, 401, "the console without the token");
    let b = Browser::start(&dir.path().join("chromedriver.log"));
    let host = admin.trim_start_matches("http://");
    b.goto(&format!("http://admin:{TOKEN}@{host}/"));
    let text = b.wait("the schemes behind the token", 30, |b| {
        let t = b.page_text();
        let cards = b.find_all("article[data-scheme]").len();
        (cards == 2 && t.contains("已连接")).then_some(t)
    });
    for bad in ["无法连接", "需要登录", TOKEN] {
        assert!(!text.contains(bad), "{bad:?} on the page:\n{text}");
    }
    b.wait("a dead letter behind the token", 30, |b| {
        b.find("#dlq-body tr[data-id]")
    });
    ferry.assert_alive();
}
