//! The real binary: `ferry alert test`, and `ferry run --once` whose dead letters reach a robot,
//! while a failing robot is retried and holds nothing up. The URL's key never shows in ferry's
//! output or log files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::{Duration, Instant};

use super::receiver::{Answer, Receiver, OK};
use crate::helpers::*;

fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Every log file under `dir`, concatenated.
fn logs(dir: &Path) -> String {
    let mut all = String::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(&d).into_iter().flatten().flatten() {
            let p = e.path();
            if p.is_dir() {
                stack.push(p);
            } else if p.to_string_lossy().contains("ferry.log") {
                all.push_str(&std::fs::read_to_string(&p).unwrap_or_default());
            }
        }
    }
    all
}

fn alert_test(config: &Path, extra: &[&str], env: &[(&str, &str)]) -> Output {
    let mut c = Command::new(ferry_bin());
    c.arg("--config")
        .arg(config)
        .args(["alert", "test"])
        .args(extra);
    c.env("FERRY_LOG", "debug");
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().expect("run ferry")
}

#[test]
fn ferry_alert_test_reaches_each_robot_and_says_which_failed() {
    let dir = tempfile::tempdir().expect("tempdir");
    let wecom = Receiver::start(vec![], OK, None);
    let ding_secret = "SECalert-test-0006";
    let ding = Receiver::start(vec![], OK, Some(ding_secret));
    let broken = Receiver::start(vec![], Answer::Reply(500, "upstream down"), None);
    let wecom_url = wecom.url("/cgi-bin/webhook/send?key=wecom-key-7f3a9c01");
    let cfg: PathBuf = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        super::config::shipped_with(&format!(
            "[[alert]]\nname = \"企业微信\"\nkind = \"wecom\"\nurl = \"${{FERRY_TEST_WECOM_URL}}\"\n\n\
             [[alert]]\nname = \"dd\"\nkind = \"dingtalk\"\nurl = \"{}\"\nsecret = \"{ding_secret}\"\n\n\
             [[alert]]\nname = \"hook\"\nkind = \"webhook\"\nurl = \"{}\"\n",
            ding.url("/robot/send?access_token=dd-key-5b2e8d02"),
            broken.url("/hook/hook-key-91c4e603"),
        )),
    )
    .expect("write config");
    let env = [("FERRY_TEST_WECOM_URL", wecom_url.as_str())];

    let out = alert_test(&cfg, &[], &env);
    let all = text(&out);
    assert_eq!(out.status.code(), Some(1), "{all}");
    assert!(
        all.contains("企业微信 (WeCom group robot at 127.0.0.1:") && all.contains("): OK"),
        "{all}"
    );
    assert!(all.contains("dd (DingTalk robot at 127.0.0.1:"), "{all}");
    assert!(
        all.contains(&format!(
            "hook (webhook at 127.0.0.1:{}): FAILED: HTTP 500: upstream down",
            broken.port
        )),
        "{all}"
    );
    assert!(all.contains("1 of 3 alerts failed"), "{all}");
    for key in [
        "wecom-key-7f3a9c01",
        "dd-key-5b2e8d02",
        "hook-key-91c4e603",
        ding_secret,
    ] {
        assert!(!all.contains(key), "`{key}` printed:\n{all}");
    }
    let hits = wecom.hits();
    assert_eq!(hits.len(), 1, "{hits:?}");
    let msg = hits[0].text();
    assert!(
        msg.contains("【ferry 测试】") && msg.contains("测试消息") && msg.contains("主机 "),
        "{msg}"
    );
    assert_eq!(hits[0].body["msgtype"], "text");
    let dd = ding.hits();
    assert_eq!(dd.len(), 1);
    assert_eq!(dd[0].signed, Some(true), "{}", dd[0].target);
    let b = broken.hits();
    assert_eq!(b.len(), 1, "a test is tried once: {b:?}");
    assert_eq!(b[0].body["test"], true);
    assert_eq!(b[0].body["source"], "ferry");

    // One by name.
    let out = alert_test(&cfg, &["--name", "dd"], &env);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out));
    assert_eq!(ding.hits().len(), 2);
    assert_eq!(wecom.hits().len(), 1);
    // A name that is not there.
    let out = alert_test(&cfg, &["--name", "ops"], &env);
    assert_eq!(out.status.code(), Some(2), "{}", text(&out));
    assert!(
        text(&out).contains("no alert named `ops`") && text(&out).contains("企业微信, dd, hook"),
        "{}",
        text(&out)
    );
    // A robot that is gone: said in plain words, without the URL.
    let gone = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        l.local_addr().expect("addr").port()
    };
    let gone_url = format!("http://127.0.0.1:{gone}/cgi-bin/webhook/send?key=gone-key-44d1a704");
    let out = alert_test(
        &cfg,
        &["--name", "企业微信"],
        &[("FERRY_TEST_WECOM_URL", &gone_url)],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    assert!(
        text(&out).contains("FAILED: cannot connect"),
        "{}",
        text(&out)
    );
    assert!(!text(&out).contains("gone-key-44d1a704"), "{}", text(&out));
}

/// `ferry run --once` where every return from 主仓 is refused by Kingdee (stock CK999 does not
/// exist): the dead letters reach the webhook as one digest (plus, at most, the rest at
/// shutdown), a WeCom robot that keeps failing is retried, the other documents are all
/// delivered, and the robots' keys are nowhere in ferry's output or logs.
#[test]
fn dead_letters_of_a_real_run_reach_the_robots_and_a_failing_one_holds_nothing_up() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(dir.path(), &SimOpts::default());
    let hook = Receiver::start(vec![], OK, None);
    let failing = Receiver::start(
        vec![Answer::Reply(500, "busy")],
        Answer::Reply(200, r#"{"errcode":93000,"errmsg":"invalid webhook url"}"#),
        None,
    );
    let hook_url = hook.url("/hooks/hook-key-2c9e7b05");
    let wecom_url = failing.url("/cgi-bin/webhook/send?key=wecom-key-a81f3d06");
    let cfg = write_config(dir.path(), &sims, |t| {
        if let Some(toml::Value::Table(l)) = t.get_mut("lookups") {
            if let Some(toml::Value::Table(w)) = l.get_mut("warehouse") {
                w.insert("主仓".into(), toml::Value::String("CK999".into()));
            }
        }
        let alert = |name: &str, kind: &str, url: &str| {
            let mut a = toml::Table::new();
            a.insert("name".into(), toml::Value::String(name.into()));
            a.insert("kind".into(), toml::Value::String(kind.into()));
            a.insert("url".into(), toml::Value::String(url.into()));
            a.insert(
                "on".into(),
                toml::Value::Array(vec![toml::Value::String("dead_letter".into())]),
            );
            toml::Value::Table(a)
        };
        t.insert(
            "alert".into(),
            toml::Value::Array(vec![
                alert("hook", "webhook", &hook_url),
                alert("ops", "wecom", &wecom_url),
            ]),
        );
    });
    let started = Instant::now();
    let (code, summary, stderr) = run_once(&cfg, &["--wait-retries", "0s"]);
    let took = started.elapsed();
    let r = row(&summary, "offline-returns");
    let dead = r["dead"].as_u64().unwrap_or(0);
    assert_eq!(
        code, 1,
        "dead letters make the run exit 1: {summary}\n{stderr}"
    );
    assert!(dead >= 2, "some returns are from 主仓: {summary}");

    // Every other eligible return was delivered, once.
    let eligible = eligible_returns(&sims);
    let expected: Vec<String> = eligible
        .iter()
        .filter(|d| d["warehouse"] != "主仓")
        .map(|d| format!("JST-{}", d["io_id"]))
        .collect();
    let saved = saved_identities(&sims, "SAL_RETURNSTOCK", "FBillNo");
    for id in &expected {
        assert_eq!(saved.get(id), Some(&1), "{id} delivered once: {summary}");
    }
    assert_eq!(dead as usize, eligible.len() - expected.len(), "{summary}");

    // The webhook: the dead letters in one digest, or two when more died after the first went
    // out; never one per document.
    let hits = hook.hits();
    assert!(
        (1..=2).contains(&hits.len()),
        "{} messages for {dead} dead letters",
        hits.len()
    );
    let counted: u64 = hits
        .iter()
        .map(|h| h.body["counts"]["dead_letter"].as_u64().unwrap_or(0))
        .sum();
    assert_eq!(counted, dead, "{hits:?}");
    let dlq = ferry(&cfg, &["dlq", "list", "--json"]);
    let dlq: serde_json::Value = serde_json::from_slice(&dlq.stdout).expect("dlq json");
    let dead_keys: Vec<String> = dlq
        .as_array()
        .into_iter()
        .flatten()
        .map(|d| d["source_key"].as_str().unwrap_or_default().to_string())
        .collect();
    let first = &hits[0];
    let text = first.text();
    assert!(
        text.contains("条单据进入死信") && text.contains("方案 offline-returns，单据 "),
        "{text}"
    );
    assert!(
        text.contains("在基础资料中不存在或已禁用") && text.contains("CK999"),
        "Kingdee's words: {text}"
    );
    for e in first.body["events"].as_array().into_iter().flatten() {
        let key = e["source_key"].as_str().unwrap_or_default();
        assert!(dead_keys.iter().any(|k| k == key), "{key} is a dead letter");
        assert!(
            text.contains(&format!("单据 {key}（JST-{key}）")),
            "{key} named: {text}"
        );
    }

    // The failing robot was tried more than once, and cost the run at most the shutdown wait.
    let tries = failing.hits();
    assert!(tries.len() >= 2, "retried: {} tries", tries.len());
    assert!(took < Duration::from_secs(90), "run took {took:?}");

    // The robots' keys are in no output and no log; the failure is logged by alert and host.
    let logs = logs(dir.path());
    assert!(
        logs.contains("alert not sent"),
        "failures are logged:\n{logs}"
    );
    assert!(
        logs.contains(&format!("127.0.0.1:{}", failing.port)),
        "{logs}"
    );
    let out = format!("{summary}\n{stderr}\n{logs}");
    for key in ["hook-key-2c9e7b05", "wecom-key-a81f3d06"] {
        assert!(!out.contains(key), "`{key}` leaked");
    }
    sims.stop();
}
