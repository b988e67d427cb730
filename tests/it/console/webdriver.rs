//! A minimal WebDriver client (W3C protocol over HTTP) driving Debian's headless chromium
//! through chromedriver: enough to load a page, find elements by CSS, click, type, read text,
//! run a line of JavaScript and take screenshots.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use base64::Engine;
use serde_json::{json, Value};

/// The W3C key under which an element reference travels.
const ELEMENT: &str = "element-6066-11e4-a52e-4f735466cecf";

pub fn chromedriver_path() -> PathBuf {
    std::env::var_os("FERRY_CHROMEDRIVER")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/usr/bin/chromedriver"))
}

fn chromium_path() -> Option<PathBuf> {
    if let Some(p) = std::env::var_os("FERRY_CHROMIUM") {
        return Some(PathBuf::from(p));
    }
    let p = PathBuf::from("/usr/bin/chromium");
    p.exists().then_some(p)
}

/// One browser session; the browser and chromedriver end when it is dropped.
pub struct Browser {
    rt: tokio::runtime::Runtime,
    http: reqwest::Client,
    session: String,
    base: String,
    driver: Child,
    _profile: tempfile::TempDir,
}

/// An element on the page (its WebDriver reference).
#[derive(Clone, Debug)]
pub struct El(String);

impl Browser {
    /// Starts chromedriver on a free loopback port and opens a headless chromium session with
    /// a fresh profile and a 1366×768 window (a common office laptop).
    pub fn start(log: &Path) -> Browser {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("free port")
            .port();
        let log_file = std::fs::File::create(log).expect("chromedriver log");
        let driver = Command::new(chromedriver_path())
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(log_file.try_clone().expect("log"))
            .stderr(log_file)
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {}: {e}", chromedriver_path().display()));
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let http = reqwest::Client::builder()
            .pool_max_idle_per_host(0)
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        let profile = tempfile::tempdir().expect("profile dir");
        let mut b = Browser {
            rt,
            http,
            session: String::new(),
            base: format!("http://127.0.0.1:{port}"),
            driver,
            _profile: profile,
        };
        let deadline = Instant::now() + Duration::from_secs(20);
        while b.call("GET", "/status", None).is_err() {
            assert!(
                Instant::now() < deadline,
                "chromedriver did not answer on port {port} within 20 s (log: {})",
                log.display()
            );
            std::thread::sleep(Duration::from_millis(100));
        }
        let mut options = json!({
            "args": [
                "--headless", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage",
                "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--no-first-run", "--window-size=1366,768",
                format!("--user-data-dir={}", b._profile.path().display()),
            ]
        });
        if let Some(bin) = chromium_path() {
            options["binary"] = json!(bin.display().to_string());
        }
        let caps = json!({"capabilities": {"alwaysMatch": {"goog:chromeOptions": options}}});
        let v = b
            .call("POST", "/session", Some(caps))
            .unwrap_or_else(|e| panic!("chromium did not start: {e} (log: {})", log.display()));
        b.session = v["sessionId"].as_str().expect("session id").to_string();
        b
    }

    /// One WebDriver command; its `value`, or the driver's error in words.
    fn call(&self, method: &str, path: &str, body: Option<Value>) -> Result<Value, String> {
        let url = format!("{}{path}", self.base);
        self.rt.block_on(async {
            let req = match method {
                "GET" => self.http.get(&url),
                "DELETE" => self.http.delete(&url),
                _ => self
                    .http
                    .post(&url)
                    .json(&body.unwrap_or_else(|| json!({}))),
            };
            let resp = req
                .send()
                .await
                .map_err(|e| format!("{method} {path}: {e}"))?;
            let status = resp.status();
            let v: Value = resp
                .json()
                .await
                .map_err(|e| format!("{method} {path}: {e}"))?;
            if !status.is_success() {
                return Err(format!(
                    "{method} {path}: {status}: {} {}",
                    v["value"]["error"], v["value"]["message"]
                ));
            }
            Ok(v["value"].clone())
        })
    }

    fn s(&self, path: &str) -> String {
        format!("/session/{}{path}", self.session)
    }

    pub fn goto(&self, url: &str) {
        self.call("POST", &self.s("/url"), Some(json!({ "url": url })))
            .expect("navigate");
    }

    pub fn set_window(&self, width: u32, height: u32) {
        self.call(
            "POST",
            &self.s("/window/rect"),
            Some(json!({"width": width, "height": height})),
        )
        .expect("window size");
    }

    /// Every element matching `css` (none is not an error).
    pub fn find_all(&self, css: &str) -> Vec<El> {
        let v = self
            .call(
                "POST",
                &self.s("/elements"),
                Some(json!({"using": "css selector", "value": css})),
            )
            .unwrap_or(Value::Null);
        v.as_array()
            .map(|a| {
                a.iter()
                    .filter_map(|e| e[ELEMENT].as_str().map(|s| El(s.to_string())))
                    .collect()
            })
            .unwrap_or_default()
    }

    pub fn find(&self, css: &str) -> Option<El> {
        self.find_all(css).into_iter().next()
    }

    /// The element's rendered text ("" if it went away meanwhile).
    pub fn text(&self, el: &El) -> String {
        self.call("GET", &self.s(&format!("/element/{}/text", el.0)), None)
            .ok()
            .and_then(|v| v.as_str().map(str::to_string))
            .unwrap_or_default()
    }

    /// The rendered text of the first element matching `css`, if there is one.
    pub fn text_of(&self, css: &str) -> Option<String> {
        self.find(css).map(|e| self.text(&e))
    }

    pub fn displayed(&self, el: &El) -> bool {
        self.call(
            "GET",
            &self.s(&format!("/element/{}/displayed", el.0)),
            None,
        )
        .map(|v| v == Value::Bool(true))
        .unwrap_or(false)
    }

    pub fn click(&self, el: &El) -> Result<(), String> {
        self.call("POST", &self.s(&format!("/element/{}/click", el.0)), None)
            .map(|_| ())
    }

    pub fn type_into(&self, el: &El, text: &str) {
        self.call(
            "POST",
            &self.s(&format!("/element/{}/value", el.0)),
            Some(json!({ "text": text })),
        )
        .expect("type");
    }

    /// Runs `script` (a function body; `arguments` holds `args`) and returns its value.
    pub fn js(&self, script: &str, args: Value) -> Value {
        self.call(
            "POST",
            &self.s("/execute/sync"),
            Some(json!({"script": script, "args": args})),
        )
        .unwrap_or(Value::Null)
    }

    /// Everything the page shows as text.
    pub fn page_text(&self) -> String {
        self.text_of("body").unwrap_or_default()
    }

    pub fn screenshot(&self, path: &Path) {
        let v = self
            .call("GET", &self.s("/screenshot"), None)
            .expect("screenshot");
        let png = base64::engine::general_purpose::STANDARD
            .decode(v.as_str().unwrap_or_default())
            .expect("screenshot is base64");
        std::fs::write(path, png).expect("write screenshot");
    }

    /// Polls `f` every 200 ms until it gives a value; after `secs` seconds the test fails
    /// naming `what` and showing what the page said.
    pub fn wait<T>(&self, what: &str, secs: u64, mut f: impl FnMut(&Browser) -> Option<T>) -> T {
        let deadline = Instant::now() + Duration::from_secs(secs);
        loop {
            if let Some(v) = f(self) {
                return v;
            }
            if Instant::now() > deadline {
                panic!(
                    "waited {secs} s for {what}; the page shows:\n{}",
                    self.page_text()
                );
            }
            std::thread::sleep(Duration::from_millis(200));
        }
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        if !self.session.is_empty() {
            let _ = self.call("DELETE", &format!("/session/{}", self.session), None);
        }
        let _ = self.driver.kill();
        let _ = self.driver.wait();
    }
}
