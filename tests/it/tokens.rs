//! Jushuitan tokens across crashes: the real binary is killed (SIGKILL) at exactly the points
//! around a token rotation (`FERRY_PAUSE_AT`), then restarted.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use crate::helpers::*;
use crate::pipeline::assert_exactly_once;

/// Starts `ferry run --once` paused at `point`, waits until it is there, and kills it.
fn kill_at(config: &std::path::Path, point: &str) {
    let mut child = Command::new(ferry_bin())
        .arg("--config")
        .arg(config)
        .args(["run", "--once", "--json"])
        .env("FERRY_LOG", "warn")
        .env("FERRY_PAUSE_AT", point)
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferry");
    let stderr = child.stderr.take().expect("stderr");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stderr).lines().map_while(Result::ok) {
            if line.contains("paused at") {
                let _ = tx.send(());
            }
        }
    });
    let paused = rx.recv_timeout(Duration::from_secs(30)).is_ok();
    let _ = child.kill(); // SIGKILL
    let _ = child.wait();
    assert!(paused, "ferry never reached {point}");
}

/// A config whose Jushuitan app was authorized by a merchant: tokens in config.toml, the
/// access token already revoked, so the first call makes ferry rotate them.
fn authorized_app(dir: &std::path::Path, sims: &ferry::sim::Sims) -> std::path::PathBuf {
    let (access, refresh) = sims.jushuitan.issue_tokens();
    sims.jushuitan.revoke_access_tokens();
    configured_tokens(dir, sims, &access, &refresh)
}

fn configured_tokens(
    dir: &std::path::Path,
    sims: &ferry::sim::Sims,
    access: &str,
    refresh: &str,
) -> std::path::PathBuf {
    write_config(dir, sims, |t| {
        if let Some(toml::Value::Table(j)) = t.get_mut("jushuitan") {
            j.insert("access_token".into(), toml::Value::String(access.into()));
            j.insert("refresh_token".into(), toml::Value::String(refresh.into()));
        }
    })
}

fn status_text(config: &std::path::Path) -> String {
    let out = ferry(config, &["status"]);
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

#[test]
fn a_rotated_refresh_token_survives_a_kill_right_after_it_was_saved() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(dir.path(), &SimOpts::default());
    let config = authorized_app(dir.path(), &sims);
    kill_at(&config, "jushuitan-token-saved");
    assert_eq!(
        sims.jushuitan.token_calls(),
        (0, 1),
        "(init, refresh) calls"
    );
    // The restarted ferry uses the tokens it saved: no second refresh, no getInitToken.
    let (code, summary, stderr) = run_once(&config, &[]);
    assert_eq!(code, 0, "{summary}\n{stderr}");
    assert_eq!(
        sims.jushuitan.token_calls(),
        (0, 1),
        "(init, refresh) calls"
    );
    assert_exactly_once(&sims);
}

#[test]
fn a_rotation_lost_in_a_crash_is_reported_plainly_until_the_app_is_authorized_again() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(dir.path(), &SimOpts::default());
    let config = authorized_app(dir.path(), &sims);
    // Killed after Jushuitan rotated the tokens, before ferry could save the new pair: the
    // configured refresh token is spent, and only a person can authorize the app again.
    kill_at(&config, "jushuitan-token-received");
    let (code, summary, stderr) = run_once(&config, &["--wait-retries", "0s"]);
    assert_eq!(code, 1, "{summary}\n{stderr}");
    let text = format!("{summary}\n{stderr}");
    assert!(
        text.contains("refresh_token") && text.contains("Authorize the app again"),
        "{text}"
    );
    // A merchant-authorized app cannot use getInitToken: never tried.
    assert_eq!(sims.jushuitan.token_calls().0, 0, "getInitToken was called");
    assert!(sims.kingdee.saved("SAL_RETURNSTOCK").is_empty());
    // `ferry status` says which token, since when, and what to do; with no secrets at hand.
    let status = status_text(&config);
    assert!(
        status.contains("refresh_token")
            && status.contains("since")
            && status.contains("Authorize the app again"),
        "{status}"
    );
    // The admin authorizes the app again and puts the new pair into config.toml.
    let (access, refresh) = sims.jushuitan.issue_tokens();
    let config = configured_tokens(dir.path(), &sims, &access, &refresh);
    let (code, summary, stderr) = run_once(&config, &[]);
    assert_eq!(code, 0, "{summary}\n{stderr}");
    assert_exactly_once(&sims);
    assert!(!status_text(&config).contains("Authorize the app again"));
}

#[test]
fn a_self_built_app_initialises_again_after_a_lost_rotation() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(dir.path(), &SimOpts::default());
    let config = write_config(dir.path(), &sims, |_| {});
    // The first token of a self-built app comes from getInitToken; lose it in a crash.
    kill_at(&config, "jushuitan-token-received");
    assert_eq!(sims.jushuitan.token_calls(), (1, 0));
    let (code, summary, stderr) = run_once(&config, &[]);
    assert_eq!(code, 0, "{summary}\n{stderr}");
    assert_eq!(sims.jushuitan.token_calls(), (2, 0));
    assert_exactly_once(&sims);
    assert!(!status_text(&config).contains("Authorize the app again"));
}
