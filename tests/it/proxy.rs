//! A tampering HTTP proxy on 127.0.0.1 for hostile-server tests: it forwards each request to a
//! real simulator, or answers it itself (garbage, redirects, huge bodies, delays) as a rule
//! decides. One request per connection (`connection: close`); every loop is bounded.

#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

/// One request as the proxy saw it.
#[derive(Debug, Clone)]
pub struct Seen {
    /// 1-based, in arrival order.
    pub n: usize,
    pub method: String,
    pub path: String,
    pub body: Vec<u8>,
}

impl Seen {
    /// A field of a form-urlencoded body (decoded), e.g. `biz`.
    pub fn form(&self, key: &str) -> Option<String> {
        ferry::sim::form::decode_form(&self.body)
            .ok()?
            .into_iter()
            .find_map(|(k, v)| (k == key).then_some(v))
    }
}

/// What to do with a request.
pub enum Action {
    /// Pass it to the upstream server and its answer back.
    Forward,
    /// The same, after a pause.
    ForwardAfter(Duration),
    /// Answer it here: status line (e.g. "200 OK"), extra headers and body.
    Respond {
        status: &'static str,
        headers: Vec<(String, String)>,
        body: Vec<u8>,
    },
    /// Answer 200 with `prefix`, then `filler` repeated up to `total` bytes (stops when the
    /// client hangs up). `announce` sends a content-length; otherwise the body is chunked.
    Stream {
        prefix: Vec<u8>,
        filler: Vec<u8>,
        total: u64,
        announce: bool,
    },
}

pub type Rule = dyn Fn(&Seen) -> Action + Send + Sync;

/// A running proxy; stops accepting when dropped.
pub struct Proxy {
    pub url: String,
    pub seen: Arc<Mutex<Vec<Seen>>>,
    stop: Arc<AtomicBool>,
}

impl Proxy {
    /// Starts a proxy to `upstream` (e.g. `http://127.0.0.1:1234`, no trailing path).
    pub fn start(upstream: &str, rule: impl Fn(&Seen) -> Action + Send + Sync + 'static) -> Proxy {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind proxy");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let upstream = upstream
            .trim_start_matches("http://")
            .split('/')
            .next()
            .unwrap_or_default()
            .to_string();
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let rule: Arc<Rule> = Arc::new(rule);
        {
            let (seen, stop) = (seen.clone(), stop.clone());
            std::thread::spawn(move || {
                // Bounded: a test never runs for an hour.
                for _ in 0..(3600 * 200) {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    match listener.accept() {
                        Ok((stream, _)) => {
                            let (seen, rule, upstream) =
                                (seen.clone(), rule.clone(), upstream.clone());
                            std::thread::spawn(move || {
                                let _ = serve(stream, &upstream, &seen, &*rule);
                            });
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
        }
        Proxy {
            url: format!("http://{addr}"),
            seen,
            stop,
        }
    }

    /// Requests seen so far.
    pub fn requests(&self) -> Vec<Seen> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for Proxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// A server that accepts connections and counts them, answering nothing useful: where a
/// redirect points, to prove nothing is sent there.
pub struct Trap {
    pub url: String,
    pub hits: Arc<Mutex<Vec<Vec<u8>>>>,
    stop: Arc<AtomicBool>,
}

impl Trap {
    pub fn start() -> Trap {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind trap");
        listener.set_nonblocking(true).expect("nonblocking");
        let addr = listener.local_addr().expect("addr");
        let hits = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        {
            let (hits, stop) = (hits.clone(), stop.clone());
            std::thread::spawn(move || {
                for _ in 0..(3600 * 200) {
                    if stop.load(Ordering::SeqCst) {
                        return;
                    }
                    match listener.accept() {
                        Ok((mut s, _)) => {
                            let _ = s.set_read_timeout(Some(Duration::from_millis(500)));
                            let mut buf = vec![0u8; 65536];
                            let n = s.read(&mut buf).unwrap_or(0);
                            buf.truncate(n);
                            if let Ok(mut h) = hits.lock() {
                                h.push(buf);
                            }
                            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\n{}");
                        }
                        Err(_) => std::thread::sleep(Duration::from_millis(5)),
                    }
                }
            });
        }
        Trap {
            url: format!("http://{addr}"),
            hits,
            stop,
        }
    }

    pub fn hits(&self) -> usize {
        self.hits.lock().map(|h| h.len()).unwrap_or(0)
    }
}

impl Drop for Trap {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
    }
}

/// Reads one request: head lines and a content-length body.
fn read_request(stream: &TcpStream) -> std::io::Result<(String, Vec<String>, Vec<u8>)> {
    let mut r = BufReader::new(stream.try_clone()?);
    let mut line = String::new();
    r.read_line(&mut line)?;
    let request_line = line.trim_end().to_string();
    let mut headers = Vec::new();
    let mut len = 0usize;
    for _ in 0..200 {
        line.clear();
        if r.read_line(&mut line)? == 0 {
            break;
        }
        let l = line.trim_end().to_string();
        if l.is_empty() {
            break;
        }
        if let Some((k, v)) = l.split_once(':') {
            if k.trim().eq_ignore_ascii_case("content-length") {
                len = v.trim().parse().unwrap_or(0);
            }
        }
        headers.push(l);
    }
    let mut body = vec![0u8; len];
    r.read_exact(&mut body)?;
    Ok((request_line, headers, body))
}

fn serve(
    mut client: TcpStream,
    upstream: &str,
    seen: &Mutex<Vec<Seen>>,
    rule: &Rule,
) -> std::io::Result<()> {
    client.set_nonblocking(false)?;
    client.set_read_timeout(Some(Duration::from_secs(10)))?;
    let (request_line, headers, body) = read_request(&client)?;
    let mut parts = request_line.split_whitespace();
    let method = parts.next().unwrap_or_default().to_string();
    let path = parts.next().unwrap_or_default().to_string();
    let s = {
        let mut all = seen.lock().map_err(|_| std::io::Error::other("poisoned"))?;
        let s = Seen {
            n: all.len() + 1,
            method,
            path,
            body,
        };
        all.push(s.clone());
        s
    };
    match rule(&s) {
        Action::Forward => forward(&mut client, upstream, &request_line, &headers, &s.body),
        Action::ForwardAfter(d) => {
            std::thread::sleep(d);
            forward(&mut client, upstream, &request_line, &headers, &s.body)
        }
        Action::Respond {
            status,
            headers,
            body,
        } => {
            let mut head = format!(
                "HTTP/1.1 {status}\r\ncontent-length: {}\r\nconnection: close\r\n",
                body.len()
            );
            for (k, v) in headers {
                head.push_str(&format!("{k}: {v}\r\n"));
            }
            head.push_str("\r\n");
            client.write_all(head.as_bytes())?;
            client.write_all(&body)
        }
        Action::Stream {
            prefix,
            filler,
            total,
            announce,
        } => {
            let head = if announce {
                format!("HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {total}\r\nconnection: close\r\n\r\n")
            } else {
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n".to_string()
            };
            client.write_all(head.as_bytes())?;
            let whole = (64 * 1024 / filler.len().max(1)).max(1) * filler.len();
            let chunk: Vec<u8> = filler.iter().copied().cycle().take(whole).collect();
            let mut sent = 0u64;
            let mut pieces: Vec<&[u8]> = vec![&prefix];
            let rounds = (total / chunk.len() as u64) + 1;
            for _ in 0..rounds {
                pieces.push(&chunk);
            }
            for p in pieces {
                let take = (total - sent).min(p.len() as u64) as usize;
                if take == 0 {
                    break;
                }
                let piece = &p[..take];
                if announce {
                    client.write_all(piece)?;
                } else {
                    client.write_all(format!("{:x}\r\n", piece.len()).as_bytes())?;
                    client.write_all(piece)?;
                    client.write_all(b"\r\n")?;
                }
                sent += take as u64;
            }
            if !announce {
                client.write_all(b"0\r\n\r\n")?;
            }
            Ok(())
        }
    }
}

fn forward(
    client: &mut TcpStream,
    upstream: &str,
    request_line: &str,
    headers: &[String],
    body: &[u8],
) -> std::io::Result<()> {
    let mut up = TcpStream::connect(upstream)?;
    up.set_read_timeout(Some(Duration::from_secs(60)))?;
    let mut head = format!("{request_line}\r\n");
    for h in headers {
        if !h.to_ascii_lowercase().starts_with("connection:") {
            head.push_str(h);
            head.push_str("\r\n");
        }
    }
    head.push_str("connection: close\r\n\r\n");
    up.write_all(head.as_bytes())?;
    up.write_all(body)?;
    let mut answer = Vec::new();
    up.read_to_end(&mut answer)?;
    client.write_all(&answer)
}
