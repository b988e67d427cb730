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
