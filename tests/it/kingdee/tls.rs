//! TLS: an on-prem Kingdee behind its own certificate (a TLS proxy in front of the simulator).
//! Verification is on by default, a custom CA file makes the certificate trusted, and
//! `accept_invalid_certs` is the explicit opt-out.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::*;

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures/tls")
        .join(name)
}

/// Kills the proxy when the test ends, however it ends.
struct Proxy(Child);

impl Drop for Proxy {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

/// Starts the TLS proxy in front of `upstream`; returns it and its https base URL.
fn tls_proxy(upstream: &str) -> (Proxy, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls/proxy.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(upstream.trim_end_matches('/').trim_end_matches("/k3cloud"))
        .arg(fixture("server.pem"))
        .arg(fixture("server.key"))
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .expect("python3 runs the TLS proxy");
    let stdout = child.stdout.take().expect("stdout");
    let proxy = Proxy(child);
    let mut line = String::new();
    BufReader::new(stdout)
        .read_line(&mut line)
        .expect("port line");
    let port: u16 = line.trim().parse().expect("the proxy prints its port");
    (proxy, format!("https://127.0.0.1:{port}/k3cloud/"))
}

fn tls_client(s: &KdSimHandle, base: &str, ca: Option<PathBuf>, accept_invalid: bool) -> Client {
    let settings = ClientSettings {
        base_url: base.to_string(),
        acct_id: s.acct_id().into(),
        user: s.user().into(),
        lcid: s.lcid(),
        org_num: "100".into(),
        auth: Auth::Password {
            password: Secret::new(s.password()),
        },
        connect_timeout: Duration::from_secs(2),
        timeout: Duration::from_secs(10),
        ca_file: ca,
        accept_invalid_certs: accept_invalid,
    };
    match Client::new(settings) {
        Ok(c) => c,
        Err(e) => panic!("client: {e}"),
    }
}

#[tokio::test]
async fn custom_ca_is_trusted_default_verification_refuses_an_unknown_certificate() {
    let s = sim(KdSimOptions::default());
    let (_proxy, base) = tls_proxy(&s.base_url());

    // Verification on, certificate signed by a CA nobody configured: refused, nothing saved.
    let plain = tls_client(&s, &base, None, false);
    let err = plain
        .batch_save(STOCK, &[stock_model("TLS001", "证书仓")], &Map::new())
        .await
        .expect_err("an untrusted certificate must be refused");
    assert!(!err.message().is_empty());
    assert_eq!(s.count(STOCK), 0);

    // The CA file from the config: trusted, session login and save go through the proxy.
    let trusted = tls_client(&s, &base, Some(fixture("ca.pem")), false);
    let r = trusted
        .batch_save(STOCK, &[stock_model("TLS002", "证书仓")], &Map::new())
        .await
        .expect("save over TLS with the custom CA");
    assert!(matches!(r[0], ItemResult::Saved { .. }), "{r:?}");
    let found = trusted
        .find(STOCK, "FStockId", "FNumber", &["TLS002".to_string()])
        .await
        .expect("query over TLS");
    assert!(found.contains_key("TLS002"));

    // The explicit opt-out also works (for a test server only).
    let lax = tls_client(&s, &base, None, true);
    let r = lax
        .batch_save(STOCK, &[stock_model("TLS003", "证书仓")], &Map::new())
        .await
        .expect("save with verification off");
    assert!(matches!(r[0], ItemResult::Saved { .. }), "{r:?}");
    assert_eq!(s.count(STOCK), 2);
}
