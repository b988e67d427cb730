//! A webhook receiver on 127.0.0.1 that answers like a WeCom or DingTalk robot: it records every
//! request, answers from a script (then `{"errcode":0,"errmsg":"ok"}`), and, as a DingTalk robot
//! with 加签, checks the signature the way DingTalk documents it.

use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use base64::Engine;
use hmac::{Hmac, Mac};
use sha2::Sha256;

/// One request the receiver got.
#[derive(Debug, Clone)]
pub struct Hit {
    pub method: String,
    /// Path and query, as sent.
    pub target: String,
    pub content_type: String,
    pub body: serde_json::Value,
    /// For a DingTalk receiver: whether the signature was right.
    pub signed: Option<bool>,
}

impl Hit {
    /// The text of a robot message (`text.content`), or a webhook's `text`.
    pub fn text(&self) -> String {
        self.body["text"]["content"]
            .as_str()
            .or_else(|| self.body["text"].as_str())
            .unwrap_or_default()
            .to_string()
    }
}

/// How the receiver answers.
#[derive(Debug, Clone)]
pub enum Answer {
    /// HTTP status and body.
    Reply(u16, &'static str),
    /// Never answers (holds the connection for this long).
    Hang(Duration),
    /// A 302 to this address.
    Redirect(String),
}

pub const OK: Answer = Answer::Reply(200, r#"{"errcode":0,"errmsg":"ok"}"#);

#[derive(Default)]
struct State {
    hits: Vec<Hit>,
    script: VecDeque<Answer>,
    /// Answer once the script is used up.
    then: Option<Answer>,
}

pub struct Receiver {
    pub port: u16,
    state: Arc<Mutex<State>>,
    stop: Arc<AtomicBool>,
}

impl Receiver {
    /// A receiver answering `script` in order, then `then` to every further request. With
    /// `dingtalk_secret`, a request whose signature is wrong is answered like DingTalk does
    /// (errcode 310000) whatever the script says.
    pub fn start(script: Vec<Answer>, then: Answer, dingtalk_secret: Option<&str>) -> Receiver {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind receiver");
        listener.set_nonblocking(true).expect("nonblocking");
        let port = listener.local_addr().expect("addr").port();
        let state = Arc::new(Mutex::new(State {
            hits: Vec::new(),
            script: script.into(),
            then: Some(then),
        }));
        let stop = Arc::new(AtomicBool::new(false));
        let (st, sp) = (state.clone(), stop.clone());
        let secret = dingtalk_secret.map(str::to_string);
        std::thread::spawn(move || {
            while !sp.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((stream, _)) => {
                        let (st, sp, secret) = (st.clone(), sp.clone(), secret.clone());
                        std::thread::spawn(move || serve(stream, &st, &sp, secret.as_deref()));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        });
        Receiver { port, state, stop }
    }

    /// `http://127.0.0.1:PORT` + `path_and_query`.
    pub fn url(&self, path_and_query: &str) -> String {
        format!("http://127.0.0.1:{}{path_and_query}", self.port)
    }

    pub fn hits(&self) -> Vec<Hit> {
        self.state.lock().expect("state").hits.clone()
    }
}

impl Drop for Receiver {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve(mut stream: TcpStream, state: &Mutex<State>, stop: &AtomicBool, secret: Option<&str>) {
    let _ = stream.set_nonblocking(false);
    let _ = stream.set_read_timeout(Some(Duration::from_secs(5)));
    let Some((head, body)) = read_request(&mut stream) else {
        return;
    };
    let mut lines = head.lines();
    let mut first = lines.next().unwrap_or_default().split(' ');
    let method = first.next().unwrap_or_default().to_string();
    let target = first.next().unwrap_or_default().to_string();
    let content_type = lines
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-type"))
        .map(|(_, v)| v.trim().to_string())
        .unwrap_or_default();
    let signed = secret.map(|s| dingtalk_signed(&target, s));
    let answer = {
        let mut st = state.lock().expect("state");
        st.hits.push(Hit {
            method,
            target,
            content_type,
            body: serde_json::from_slice(&body).unwrap_or(serde_json::Value::Null),
            signed,
        });
        let scripted = st.script.pop_front();
        scripted.or_else(|| st.then.clone()).unwrap_or(OK)
    };
    let answer = match (signed, answer) {
        (Some(false), _) => Answer::Reply(200, r#"{"errcode":310000,"errmsg":"sign not match"}"#),
        (_, a) => a,
    };
    match answer {
        Answer::Reply(status, body) => {
            let _ = write!(
                stream,
                "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
        }
        Answer::Redirect(to) => {
            let _ = write!(
                stream,
                "HTTP/1.1 302 Found\r\nLocation: {to}\r\nContent-Length: 0\r\nConnection: close\r\n\r\n"
            );
        }
        Answer::Hang(d) => {
            let until = Instant::now() + d;
            while Instant::now() < until && !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Head and body of one HTTP/1.1 request (with Content-Length).
fn read_request(stream: &mut TcpStream) -> Option<(String, Vec<u8>)> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 4096];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i;
        }
        if buf.len() > 1 << 20 {
            return None;
        }
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_string();
    let len: usize = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(k, _)| k.eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse().ok())
        .unwrap_or(0);
    let mut body = buf[head_end + 4..].to_vec();
    while body.len() < len {
        let n = stream.read(&mut chunk).ok()?;
        if n == 0 {
            break;
        }
        body.extend_from_slice(&chunk[..n]);
    }
    Some((head, body))
}

/// `%XX` decoding with `+` as a space, as Java's URLDecoder (DingTalk's server side) does.
pub fn url_decode(s: &str) -> String {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' if i + 2 < b.len() => {
                let hex = std::str::from_utf8(&b[i + 1..i + 3]).unwrap_or("zz");
                match u8::from_str_radix(hex, 16) {
                    Ok(v) => {
                        out.push(v);
                        i += 2;
                    }
                    Err(_) => out.push(b'%'),
                }
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The query parameter `name` of a request target, decoded.
pub fn query_param(target: &str, name: &str) -> Option<String> {
    let query = target.split_once('?')?.1;
    query
        .split('&')
        .filter_map(|p| p.split_once('='))
        .find(|(k, _)| *k == name)
        .map(|(_, v)| url_decode(v))
}

/// DingTalk's check: `timestamp` within an hour of now, and `sign` (URL-decoded) equal to
/// Base64(HmacSHA256(key = secret, timestamp + "\n" + secret)).
pub fn dingtalk_signed(target: &str, secret: &str) -> bool {
    let (Some(ts), Some(sign)) = (
        query_param(target, "timestamp"),
        query_param(target, "sign"),
    ) else {
        return false;
    };
    let Ok(ts_ms) = ts.parse::<i64>() else {
        return false;
    };
    if (ferry::time::now_millis() - ts_ms).abs() > 3_600_000 {
        return false;
    }
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("hmac key");
    mac.update(format!("{ts}\n{secret}").as_bytes());
    let expected = base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes());
    sign == expected
}
