//! The Jushuitan client against the simulator (and a few hostile servers), over real HTTP on
//! 127.0.0.1. Every test is bounded by a timeout.

use std::future::Future;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use ferry::secret::Secret;
use ferry::sim::jushuitan::{self as sim, JstSimHandle, JstSimOptions};
use ferry::source::jushuitan::{
    Client, ClientSettings, MemoryTokens, SourceError, TokenStore, Tokens,
};
use ferry::time::{format_beijing, now_unix};
use serde_json::{json, Map, Value};

const DAY: i64 = 86400;
const INOUT: &str = "other.inout.query";

fn bounded<F: Future>(secs: u64, f: F) -> F::Output {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        tokio::time::timeout(Duration::from_secs(secs), f)
            .await
            .expect("test took too long")
    })
}

fn start(opts: JstSimOptions) -> JstSimHandle {
    sim::start(opts).expect("simulator starts")
}

/// A simulator without rate limits.
fn fast_sim(docs: u32, faults: &str) -> JstSimHandle {
    start(JstSimOptions {
        docs,
        shops: 9,
        seed: 11,
        faults: faults.into(),
        per_second: 0,
        per_minute: 0,
        hang: Duration::from_secs(3),
        ..Default::default()
    })
}

fn settings(sim: &JstSimHandle) -> ClientSettings {
    ClientSettings {
        base_url: sim.base_url(),
        app_key: sim.app_key().to_string(),
        app_secret: Secret::new(sim.app_secret()),
        per_second: 0,
        per_minute: 0,
        timeout: Duration::from_secs(5),
        retry_backoff: Duration::from_millis(20),
        rate_backoff: Duration::from_millis(50),
        ..Default::default()
    }
}

fn client(s: ClientSettings, store: &Arc<MemoryTokens>) -> Client {
    let store: Arc<dyn TokenStore> = store.clone();
    Client::new(s, store).expect("client")
}

fn window(begin: i64, end: i64) -> Map<String, Value> {
    let mut m = Map::new();
    m.insert("modified_begin".into(), json!(format_beijing(begin)));
    m.insert("modified_end".into(), json!(format_beijing(end)));
    m
}

/// Every page of one query.
async fn all_pages(
    c: &Client,
    api: &str,
    biz: &Map<String, Value>,
    size: u32,
) -> Result<Vec<Value>, SourceError> {
    let mut out = Vec::new();
    for index in 1..=1000 {
        let page = c.query_page(api, biz, "datas", index, size).await?;
        assert_eq!(page.index, index);
        out.extend(page.items);
        if !page.has_next {
            return Ok(out);
        }
    }
    panic!("more than 1000 pages");
}

/// Every document modified in the last `days` days, through 7-day windows.
async fn all_documents(
    c: &Client,
    now: i64,
    days: i64,
    size: u32,
) -> Result<Vec<Value>, SourceError> {
    let mut out = Vec::new();
    let mut begin = now - days * DAY;
    while begin <= now {
        let end = (begin + 7 * DAY).min(now);
        out.extend(all_pages(c, INOUT, &window(begin, end), size).await?);
        begin = end + 1;
    }
    Ok(out)
}

fn ids(docs: &[Value]) -> Vec<i64> {
    docs.iter().filter_map(|d| d["io_id"].as_i64()).collect()
}

#[test]
fn paging_through_windows_collects_every_document_exactly_once() {
    let sim = fast_sim(260, "none");
    let store = Arc::new(MemoryTokens::new());
    let c = client(settings(&sim), &store);
    let now = now_unix();
    let got = bounded(60, all_documents(&c, now, 32, 50)).expect("all documents");
    let want = sim.documents_at(now);
    assert_eq!(want.len(), 260);
    assert_eq!(
        ids(&got),
        ids(&want),
        "every document once, in (modified, io_id) order"
    );
    assert_eq!(got, want, "documents as the simulator holds them");
    // A filtered query (the returns scheme's params) and the shops.
    let mut biz = window(now - 7 * DAY, now);
    biz.insert("types".into(), json!(["其它进仓"]));
    let returns = bounded(30, all_pages(&c, INOUT, &biz, 50)).expect("returns");
    assert!(returns.iter().all(|d| d["type"] == "其它进仓"));
    let shops = bounded(30, all_pages(&c, "shops.query", &Map::new(), 4)).expect("shops");
    assert_eq!(shops, sim.shops());
    assert_eq!(shops[0]["shop_id"], 10178845);
    let page = bounded(
        10,
        c.query_page("shops.query", &Map::new(), "datas", 1, 100),
    )
    .expect("page");
    assert_eq!(
        (page.items.len(), page.has_next, page.data_count),
        (9, false, None)
    );
    sim.stop();
}

#[test]
fn upserted_document_shows_up_in_the_next_window_and_restart_keeps_the_world() {
    let dir = tempfile::tempdir().expect("tempdir");
    let opts = JstSimOptions {
        docs: 40,
        per_second: 0,
        per_minute: 0,
        state_dir: Some(dir.path().join("jst")),
        ..Default::default()
    };
    let sim = start(opts.clone());
    let store = Arc::new(MemoryTokens::new());
    let c = client(settings(&sim), &store);
    let t0 = now_unix();
    let mut doc = sim.documents_at(t0)[3].clone();
    doc["remark"] = json!("改过了");
    sim.upsert(doc.clone());
    let got = bounded(20, all_pages(&c, INOUT, &window(t0 - 60, t0 + 60), 50)).expect("window");
    assert_eq!(ids(&got), vec![doc["io_id"].as_i64().unwrap_or(0)]);
    assert_eq!(got[0]["remark"], "改过了");
    let before = sim.documents_at(now_unix());
    let tokens = sim.valid_tokens();
    sim.stop();

    let sim = start(opts);
    assert_eq!(
        sim.documents_at(now_unix()),
        before,
        "same world after a restart"
    );
    let c = client(settings(&sim), &store);
    bounded(
        20,
        c.query_page(INOUT, &window(t0 - 60, t0 + 60), "datas", 1, 50),
    )
    .expect("old token still valid");
    assert_eq!(sim.valid_tokens(), tokens, "no new token was needed");
    sim.stop();
}

#[test]
fn tokens_init_persist_refresh_and_code_100() {
    let sim = start(JstSimOptions {
        docs: 20,
        per_second: 0,
        per_minute: 0,
        token_ttl: Duration::from_secs(4),
        ..Default::default()
    });
    let store = Arc::new(MemoryTokens::new());
    let now = now_unix();
    let biz = window(now - 7 * DAY, now);
    let first = client(settings(&sim), &store);
    bounded(20, first.query_page(INOUT, &biz, "datas", 1, 50)).expect("query with a new token");
    let t1: Tokens = store.get().expect("tokens saved");
    assert!(!t1.access_token.is_empty() && !t1.refresh_token.is_empty());
    assert!(t1.expires_at > now && t1.expires_at <= now_unix() + 4);
    assert!(
        !format!("{t1:?}").contains(&t1.access_token),
        "Debug hides tokens"
    );

    // A second client (a restart) takes the stored token: no getInitToken.
    let second = client(settings(&sim), &store);
    bounded(20, second.query_page(INOUT, &biz, "datas", 1, 50)).expect("stored token");
    assert_eq!(sim.valid_tokens(), 1);
    assert_eq!(
        second.tokens().map(|t| t.access_token),
        Some(t1.access_token.clone())
    );

    // Jushuitan forgets the token: code 100 → refresh → retry.
    sim.revoke_access_tokens();
    bounded(20, second.query_page(INOUT, &biz, "datas", 1, 50)).expect("refreshed after code 100");
    let t2 = store.get().expect("tokens");
    assert_ne!(t2.access_token, t1.access_token);
    assert_ne!(
        t2.refresh_token, t1.refresh_token,
        "refreshToken issued a new pair"
    );

    // Ahead of expiry (half of a 4 s lifetime) the client refreshes before calling.
    std::thread::sleep(Duration::from_millis(2200));
    bounded(20, second.query_page(INOUT, &biz, "datas", 1, 50)).expect("refreshed ahead of expiry");
    let t3 = store.get().expect("tokens");
    assert_ne!(t3.access_token, t2.access_token);
    assert!(t3.expires_at > t2.expires_at);

    // A configured token that Jushuitan does not know, no refresh token: getInitToken.
    let fresh = Arc::new(MemoryTokens::new());
    let mut s = settings(&sim);
    s.access_token = Some(Secret::new("0123456789abcdef0123456789abcdef"));
    let third = client(s, &fresh);
    bounded(20, third.query_page(INOUT, &biz, "datas", 1, 50)).expect("re-initialised");
    assert!(fresh
        .get()
        .is_some_and(|t| t.access_token != "0123456789abcdef0123456789abcdef"));

    // Wrong secret: a permanent error naming the call.
    let mut s = settings(&sim);
    s.app_secret = Secret::new("wrong");
    let bad = client(s, &Arc::new(MemoryTokens::new()));
    let e = bounded(20, bad.query_page(INOUT, &biz, "datas", 2, 50)).expect_err("bad secret");
    assert!(e.is_permanent(), "{e}");
    let m = e.to_string();
    assert!(
        m.contains("other.inout.query page 2") && m.contains("code 10"),
        "{m}"
    );
    assert!(!m.contains("wrong"), "no secret in messages: {m}");
    sim.stop();
}

#[test]
fn simulator_refuses_long_windows_and_big_pages() {
    let sim = fast_sim(30, "none");
    let c = client(settings(&sim), &Arc::new(MemoryTokens::new()));
    let now = now_unix();
    let e = bounded(
        20,
        c.query_page(INOUT, &window(now - 7 * DAY - 1, now), "datas", 1, 50),
    )
    .expect_err("8 days");
    let m = e.to_string();
    assert!(
        e.is_permanent() && m.contains("code 140") && m.contains("七天") && m.contains("page 1"),
        "{m}"
    );
    bounded(
        20,
        c.query_page(INOUT, &window(now - 7 * DAY, now), "datas", 1, 50),
    )
    .expect("exactly 7 days is fine");
    let e = bounded(
        20,
        c.query_page(INOUT, &window(now - DAY, now), "datas", 1, 51),
    )
    .expect_err("page size 51");
    assert!(
        e.is_permanent() && e.to_string().contains("page_size"),
        "{e}"
    );
    let e = bounded(
        20,
        c.query_page("shops.query", &Map::new(), "datas", 1, 101),
    )
    .expect_err("101 shops");
    assert!(
        e.is_permanent() && e.to_string().contains("page_size"),
        "{e}"
    );
    bounded(
        20,
        c.query_page("shops.query", &Map::new(), "datas", 1, 100),
    )
    .expect("100 shops");
    let e = bounded(20, c.query_page(INOUT, &Map::new(), "datas", 1, 50)).expect_err("no window");
    assert!(e.is_permanent(), "{e}");
    let e = bounded(20, c.query_page("no.such.api", &Map::new(), "datas", 1, 50))
        .expect_err("unknown API");
    assert!(
        e.is_permanent() && e.to_string().contains("code 190"),
        "{e}"
    );
    sim.stop();
}

#[test]
fn client_never_exceeds_the_rate_limits() {
    let sim = start(JstSimOptions {
        docs: 30,
        per_second: 5,
        per_minute: 100,
        ..Default::default()
    });
    let mut s = settings(&sim);
    s.per_second = 5;
    s.per_minute = 100;
    let c = client(s, &Arc::new(MemoryTokens::new()));
    let now = now_unix();
    let calls = Arc::new(AtomicUsize::new(0));
    let run = async {
        let mut tasks = Vec::new();
        for _ in 0..3 {
            let (c, calls) = (c.clone(), calls.clone());
            tasks.push(tokio::spawn(async move {
                for _ in 0..10 {
                    c.query_page(INOUT, &window(now - DAY, now), "datas", 1, 50)
                        .await?;
                    calls.fetch_add(1, Ordering::SeqCst);
                }
                Ok::<(), SourceError>(())
            }));
        }
        for t in tasks {
            t.await.expect("task").expect("queries");
        }
    };
    bounded(60, run);
    assert_eq!(calls.load(Ordering::SeqCst), 30);
    assert!(
        sim.max_per_second() <= 5,
        "{} per second",
        sim.max_per_second()
    );
    assert!(
        sim.max_per_second() >= 4,
        "the client should not crawl either"
    );
    assert!(sim.max_per_minute() <= 100);
    sim.stop();
}

#[test]
fn client_backs_off_when_the_server_says_199() {
    let sim = start(JstSimOptions {
        docs: 10,
        per_second: 3,
        per_minute: 1000,
        ..Default::default()
    });
    let mut s = settings(&sim);
    s.per_second = 50; // more than the server allows: it answers 199
    s.rate_backoff = Duration::from_millis(300);
    let c = client(s, &Arc::new(MemoryTokens::new()));
    let now = now_unix();
    bounded(60, async {
        for _ in 0..10 {
            c.query_page(INOUT, &window(now - DAY, now), "datas", 1, 50)
                .await
                .expect("query");
        }
    });
    sim.stop();
}

fn profile_delivers_everything(profile: &str, timeout: Duration) {
    let sim = fast_sim(200, profile);
    let mut s = settings(&sim);
    s.timeout = timeout;
    s.max_tries = 3;
    let c = client(s, &Arc::new(MemoryTokens::new()));
    let now = now_unix();
    let got =
        bounded(120, all_documents(&c, now, 32, 8)).unwrap_or_else(|e| panic!("{profile}: {e}"));
    assert_eq!(ids(&got), ids(&sim.documents_at(now)), "{profile}");
    assert!(sim.faults_injected() > 0, "{profile} injected nothing");
    eprintln!("{profile}: {} faults injected", sim.faults_injected());
    sim.stop();
}

#[test]
fn fault_rate_storm_delivers_everything() {
    profile_delivers_everything("rate-storm", Duration::from_secs(5));
}

#[test]
fn fault_http5xx_delivers_everything() {
    profile_delivers_everything("http5xx", Duration::from_secs(5));
}

#[test]
fn fault_timeouts_deliver_everything() {
    profile_delivers_everything("timeouts", Duration::from_millis(700));
}

#[test]
fn fault_latency_delivers_everything() {
    profile_delivers_everything("latency", Duration::from_secs(5));
}

#[test]
fn fault_session_loss_and_chaos_deliver_everything() {
    profile_delivers_everything("session-loss", Duration::from_secs(5));
    profile_delivers_everything("chaos", Duration::from_millis(700));
}

#[test]
fn unknown_fault_profile_is_an_error() {
    let e = sim::start(JstSimOptions {
        faults: "earthquake".into(),
        ..Default::default()
    });
    assert!(e.is_err_and(|e| e.to_string().contains("earthquake")));
}

/// A server that answers every request with the same raw HTTP response; counts requests.
fn hostile(status: &str, content_type: &str, body: &str) -> (String, Arc<AtomicUsize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let count = Arc::new(AtomicUsize::new(0));
    let response = format!(
        "HTTP/1.1 {status}\r\ncontent-type: {content_type}\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
        body.len()
    );
    let seen = count.clone();
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let _ = stream.set_read_timeout(Some(Duration::from_secs(2)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 4096];
            // read headers and the body (content-length)
            loop {
                match stream.read(&mut chunk) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => buf.extend_from_slice(&chunk[..n]),
                }
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break;
                    }
                }
            }
            seen.fetch_add(1, Ordering::SeqCst);
            let _ = stream.write_all(response.as_bytes());
        }
    });
    (format!("http://{addr}"), count)
}

fn hostile_client(url: String) -> Client {
    let s = ClientSettings {
        base_url: url,
        app_key: "k".into(),
        app_secret: Secret::new("s"),
        access_token: Some(Secret::new("t")),
        timeout: Duration::from_secs(3),
        retry_backoff: Duration::from_millis(10),
        rate_backoff: Duration::from_millis(10),
        rate_limit_tries: 3,
        ..Default::default()
    };
    client(s, &Arc::new(MemoryTokens::new()))
}

fn hostile_call(
    status: &str,
    ct: &str,
    body: &str,
) -> (Result<ferry::source::jushuitan::Page, SourceError>, usize) {
    let (url, count) = hostile(status, ct, body);
    let c = hostile_client(url);
    let r = bounded(30, c.query_page(INOUT, &Map::new(), "datas", 3, 50));
    (r, count.load(Ordering::SeqCst))
}

#[test]
fn malformed_answers_are_errors_naming_api_and_page() {
    let cases = [
        ("200 OK", "text/html", "<html><body>维护中</body></html>"),
        (
            "200 OK",
            "application/json",
            r#"{"code":0,"data":{"datas":["#,
        ),
        (
            "200 OK",
            "application/json",
            r#"{"code":0,"data":{"datas":{"io_id":1}}}"#,
        ),
        ("200 OK", "application/json", r#"[1,2,3]"#),
        ("200 OK", "application/json", ""),
    ];
    for (status, ct, body) in cases {
        let (r, n) = hostile_call(status, ct, body);
        let e = r.expect_err(body);
        let m = e.to_string();
        assert!(
            m.contains("other.inout.query page 3") && m.contains("malformed"),
            "{m}"
        );
        assert!(!e.is_permanent());
        assert!((1..=3).contains(&n), "bounded retries: {n}");
    }
}

#[test]
fn http_and_code_errors_are_bounded_and_classified() {
    let (r, n) = hostile_call("502 Bad Gateway", "text/html", "<html>502</html>");
    let e = r.expect_err("502");
    assert!(
        !e.is_permanent() && e.to_string().contains("page 3") && n == 3,
        "{e} after {n}"
    );
    let (r, n) = hostile_call("404 Not Found", "text/plain", "no");
    let e = r.expect_err("404");
    assert!(
        e.is_permanent() && e.to_string().contains("HTTP 404") && n == 1,
        "{e} after {n}"
    );
    let (r, n) = hostile_call(
        "200 OK",
        "application/json",
        r#"{"code":199,"msg":"调用太频繁，请稍后再试!"}"#,
    );
    let e = r.expect_err("199");
    assert!(
        !e.is_permanent() && e.to_string().contains("rate limit") && n == 3,
        "{e} after {n}"
    );
    for (code, permanent) in [
        (10, true),
        (120, true),
        (110, true),
        (130, true),
        (190, true),
    ] {
        let (r, n) = hostile_call(
            "200 OK",
            "application/json",
            &format!(r#"{{"code":{code},"msg":"x"}}"#),
        );
        let e = r.expect_err("code");
        assert_eq!(e.is_permanent(), permanent, "{e}");
        assert!(
            e.to_string().contains(&format!("code {code}")) && n == 1,
            "{e} after {n}"
        );
    }
    let (r, n) = hostile_call(
        "200 OK",
        "application/json",
        r#"{"code":180,"msg":"执行失败!"}"#,
    );
    assert!(r.is_err() && n == 2, "180: one re-signed retry, then {n}");
}

#[test]
fn tolerant_parsing_of_strings_and_flags() {
    let body = r#"{"code":"0","msg":"执行成功","data":{"page_index":"3","page_size":"50","has_next":1,"data_count":"123","extra":{"x":1},"datas":[{"io_id":"10001","qty":"3"}]}}"#;
    let (r, _) = hostile_call("200 OK", "application/json; charset=utf-8", body);
    let p = r.expect("tolerated");
    assert_eq!(
        (p.index, p.has_next, p.data_count, p.items.len()),
        (3, true, Some(123), 1)
    );
    let body = r#"{"code":0,"data":{"has_next":"false","datas":null}}"#;
    let (r, _) = hostile_call("200 OK", "application/json", body);
    let p = r.expect("null list");
    assert!(!p.has_next && p.items.is_empty() && p.data_count.is_none());
    let body = r#"{"code":0,"data":{"page_count":5,"datas":[]}}"#;
    let (r, _) = hostile_call("200 OK", "application/json", body);
    assert!(r.expect("page_count").has_next, "page 3 of 5");
}

#[test]
fn backfill_of_thousands_of_documents_is_fast() {
    let t0 = std::time::Instant::now();
    let sim = start(JstSimOptions {
        docs: 3000,
        lines: Some(5),
        per_second: 1_000_000,
        per_minute: 60_000_000,
        ..Default::default()
    });
    let generated = t0.elapsed();
    let mut s = settings(&sim);
    s.per_second = 1_000_000;
    s.per_minute = 60_000_000;
    let c = client(s, &Arc::new(MemoryTokens::new()));
    let now = now_unix();
    let t1 = std::time::Instant::now();
    let got = bounded(60, all_documents(&c, now, 32, 50)).expect("backfill");
    let took = t1.elapsed();
    assert_eq!(got.len(), 3000);
    assert!(got
        .iter()
        .all(|d| d["items"].as_array().is_some_and(|a| a.len() == 5)));
    eprintln!(
        "generated 3000 documents in {generated:?}; fetched them in {took:?} ({:.0} docs/s)",
        3000.0 / took.as_secs_f64()
    );
    assert!(took < Duration::from_secs(20), "{took:?}");
    sim.stop();
}
