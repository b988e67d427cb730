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

/// Starts the TLS proxy in front of `upstream` with the CA-signed server certificate.
fn tls_proxy(upstream: &str) -> (Proxy, String) {
    tls_proxy_with(upstream, "server")
}

/// Starts the TLS proxy in front of `upstream` with `NAME.pem`/`NAME.key`; returns it and its
/// https base URL.
fn tls_proxy_with(upstream: &str, name: &str) -> (Proxy, String) {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/tls/proxy.py");
    let mut child = Command::new("python3")
        .arg(script)
        .arg(upstream.trim_end_matches('/').trim_end_matches("/k3cloud"))
        .arg(fixture(&format!("{name}.pem")))
        .arg(fixture(&format!("{name}.key")))
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
    let mut settings = settings_for(s, base, ca);
    settings.accept_invalid_certs = accept_invalid;
    match Client::new(settings) {
        Ok(c) => c,
        Err(e) => panic!("client: {e}"),
    }
}

fn settings_for(s: &KdSimHandle, base: &str, ca: Option<PathBuf>) -> ClientSettings {
    ClientSettings {
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
        accept_invalid_certs: false,
        max_response_mb: 32,
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

/// Saves one warehouse through `base` trusting `ca`; the error message if that fails.
async fn save_through(s: &KdSimHandle, base: &str, ca: &str, number: &str) -> Result<(), String> {
    let client =
        Client::new(settings_for(s, base, Some(fixture(ca)))).map_err(|e| e.to_string())?;
    let r = client
        .batch_save(STOCK, &[stock_model(number, "证书仓")], &Map::new())
        .await
        .map_err(|e| e.message().to_string())?;
    match &r[0] {
        ItemResult::Saved { .. } => Ok(()),
        other => Err(format!("{other:?}")),
    }
}

#[tokio::test]
async fn the_servers_own_self_signed_certificate_is_pinned_pem_or_der() {
    let s = sim(KdSimOptions::default());

    // A proper self-signed leaf (names 127.0.0.1, CA:FALSE), as PEM and as a Windows DER .cer.
    let (_p1, base) = tls_proxy_with(&s.base_url(), "selfsigned");
    save_through(&s, &base, "selfsigned.pem", "PIN001")
        .await
        .expect("PEM self-signed");
    save_through(&s, &base, "selfsigned.cer", "PIN002")
        .await
        .expect("DER self-signed");

    // What webpki alone refuses: no subjectAltName (old IIS: CN only), and openssl's default
    // self-signed certificate with CA:TRUE. Pinned, both are trusted.
    let (_p2, base_nosan) = tls_proxy_with(&s.base_url(), "nosan");
    save_through(&s, &base_nosan, "nosan.pem", "PIN003")
        .await
        .expect("no SAN, pinned");
    let (_p3, base_ca) = tls_proxy_with(&s.base_url(), "selfca");
    save_through(&s, &base_ca, "selfca.pem", "PIN004")
        .await
        .expect("CA:TRUE leaf, pinned");
    assert_eq!(s.count(STOCK), 4);

    // Pinning is exact: another server's certificate is not trusted by it, nor by no CA file.
    let err = save_through(&s, &base_nosan, "selfsigned.pem", "PIN005")
        .await
        .expect_err("a different certificate must be refused");
    assert!(err.contains("certificate"), "{err}");
    let plain = tls_client(&s, &base, None, false);
    plain
        .batch_save(STOCK, &[stock_model("PIN006", "证书仓")], &Map::new())
        .await
        .expect_err("self-signed without ca_file must be refused");
    assert_eq!(s.count(STOCK), 4);
}

#[test]
fn a_ca_file_that_holds_no_certificate_is_a_clear_error() {
    let s = sim(KdSimOptions::default());
    let dir = tempfile::tempdir().expect("tempdir");
    let text = dir.path().join("notes.txt");
    std::fs::write(&text, "请把证书放这里\r\n").expect("write");
    let broken = dir.path().join("broken.pem");
    std::fs::write(&broken, "-----BEGIN CERTIFICATE-----\r\nnot base64\r\n").expect("write");
    for (path, expect) in [
        (fixture("selfsigned.key"), "holds no certificate"),
        (text, "holds no certificate"),
        (broken, "not a valid PEM certificate"),
    ] {
        let settings = settings_for(&s, "https://127.0.0.1:1/k3cloud/", Some(path.clone()));
        let err = match Client::new(settings) {
            Ok(_) => panic!("{} is not a certificate", path.display()),
            Err(e) => e.message().to_string(),
        };
        let named = err.contains(&*path.to_string_lossy());
        assert!(err.contains(expect) && named, "{err}");
    }
}
