//! Hostile servers: malformed answers, HTTP errors, odd types.

use super::*;

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
    client(settings_for(&url), &Arc::new(MemoryTokens::new()))
}

fn settings_for(url: &str) -> ClientSettings {
    ClientSettings {
        base_url: url.to_string(),
        app_key: "k".into(),
        app_secret: Secret::new("s"),
        access_token: Some(Secret::new("t")),
        timeout: Duration::from_secs(3),
        retry_backoff: Duration::from_millis(10),
        rate_backoff: Duration::from_millis(10),
        rate_limit_tries: 3,
        ..Default::default()
    }
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
    let body = r#"{"code":0,"data":{"page_count":5,"datas":[{"io_id":1}]}}"#;
    let (r, _) = hostile_call("200 OK", "application/json", body);
    assert!(r.expect("page_count").has_next, "page 3 of 5");
}

#[test]
fn answers_that_are_not_pages_are_malformed_not_empty() {
    for (body, says) in [
        (
            r#"{"code":0,"msg":"执行成功","data":null}"#,
            "`data` is null",
        ),
        (
            r#"{"code":0,"data":{"page_index":3}}"#,
            "no `data.datas` list",
        ),
        (
            r#"{"code":0,"data":{"page_count":5,"datas":[]}}"#,
            "more pages follow",
        ),
        (
            r#"{"code":0,"data":{"data_count":"12","datas":null}}"#,
            "counts 12",
        ),
    ] {
        let (r, _) = hostile_call("200 OK", "application/json", body);
        let m = r.expect_err(body).to_string();
        assert!(
            m.contains("other.inout.query page 3") && m.contains(says),
            "{m}"
        );
    }
    // More records than the page size asked for (50).
    let items: Vec<String> = (0..51).map(|i| format!(r#"{{"io_id":{i}}}"#)).collect();
    let body = format!(r#"{{"code":0,"data":{{"datas":[{}]}}}}"#, items.join(","));
    let (r, _) = hostile_call("200 OK", "application/json", &body);
    let m = r.expect_err("51 records").to_string();
    assert!(m.contains("51 records on a page of 50"), "{m}");
}

#[test]
fn redirects_are_errors_naming_the_location_and_nothing_follows_them() {
    let trap = crate::proxy::Trap::start();
    for status in [
        "301 Moved Permanently",
        "302 Found",
        "307 Temporary Redirect",
        "308 Permanent Redirect",
    ] {
        let location = format!("{}/open/other/inout/query", trap.url);
        let proxy = crate::proxy::Proxy::start("http://127.0.0.1:9", move |_| {
            crate::proxy::Action::Respond {
                status,
                headers: vec![("location".into(), location.clone())],
                body: Vec::new(),
            }
        });
        // A business call (access_token and sign in the body) ...
        let c = hostile_client(proxy.url.clone());
        let e = bounded(30, c.query_page(INOUT, &Map::new(), "datas", 3, 50)).expect_err(status);
        let m = e.to_string();
        assert!(m.contains(&trap.url) && m.contains(&status[..3]), "{m}");
        assert!(e.is_permanent(), "{m}");
        // ... and a token request of a self-built app (app_key and sign).
        let mut s = settings_for(&proxy.url);
        s.access_token = None;
        let c = client(s, &Arc::new(MemoryTokens::new()));
        let e = bounded(30, c.query_page(INOUT, &Map::new(), "datas", 1, 50)).expect_err(status);
        assert!(e.to_string().contains(&trap.url), "{e}");
        assert_eq!(proxy.requests().len(), 2, "one request each, no retries");
    }
    assert_eq!(trap.hits(), 0, "a request followed a redirect");
}

#[test]
fn answers_over_the_size_limit_are_refused_without_reading_them() {
    const MB: u64 = 1 << 20;
    for announce in [true, false] {
        let proxy = crate::proxy::Proxy::start("http://127.0.0.1:9", move |_| {
            crate::proxy::Action::Stream {
                prefix: br#"{"code":0,"data":{"datas":["#.to_vec(),
                filler: br#"{"io_id":1},"#.to_vec(),
                total: 300 * MB,
                announce,
            }
        });
        let mut s = settings_for(&proxy.url);
        s.max_response_mb = 2;
        let c = client(s, &Arc::new(MemoryTokens::new()));
        let e = bounded(30, c.query_page(INOUT, &Map::new(), "datas", 3, 50)).expect_err("huge");
        let m = e.to_string();
        assert!(
            m.contains("other.inout.query page 3") && m.contains("larger than the 2 MB limit"),
            "{m}"
        );
        assert!(!e.is_permanent());
        assert_eq!(proxy.requests().len(), 1, "not retried within the call");
    }
}
