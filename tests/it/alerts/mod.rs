//! Alerts against a local webhook receiver on 127.0.0.1: events emitted into a `Telemetry` here
//! (the dispatcher on its own), and the real binary (`ferry alert test`, `ferry run --once`
//! dead-lettering documents against the simulators).

mod binary;
mod config;
pub mod receiver;

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, Instant};

use ferry::telemetry::{Event, System, Telemetry};

use receiver::{Answer, Hit, Receiver, OK};

/// A reason as Kingdee words it.
const REASON: &str =
    "单据体实体【明细】第【1】行分录，字段“仓库”的值“CK999”在基础资料中不存在或已禁用";

fn config_with(alerts: &str) -> ferry::config::Config {
    let text = config::shipped_with(alerts);
    ferry::config::load_str(Path::new("alerts.toml"), &text).expect("config with alerts")
}

fn dead(i: usize) -> Event {
    Event::DeadLetter {
        scheme: "offline-returns".into(),
        source_key: format!("{}", 990_000 + i),
        identity: format!("JST-{}", 990_000 + i),
        reason: REASON.into(),
    }
}

/// Waits without blocking the runtime the alert tasks run on.
async fn wait_hits(r: &Receiver, n: usize, within: Duration) -> Vec<Hit> {
    let until = Instant::now() + within;
    loop {
        let hits = r.hits();
        if hits.len() >= n || Instant::now() >= until {
            return hits;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn a_burst_of_dead_letters_is_one_digest_naming_the_documents() {
    let rx = Receiver::start(vec![], OK, None);
    let config = config_with(&format!(
        "[[alert]]\nname = \"ops\"\nkind = \"wecom\"\nurl = \"{}\"\non = [\"dead_letter\"]\nmin_interval = \"5s\"\n",
        rx.url("/cgi-bin/webhook/send?key=burst-key-0001")
    ));
    let telemetry = Telemetry::new();
    let alerts = ferry::alert::spawn(&config, telemetry.subscribe());
    for i in 0..30 {
        telemetry.emit(dead(i));
    }
    // Not what this alert is on.
    telemetry.emit(Event::Unreachable {
        system: System::Kingdee,
        error: "connection refused".into(),
    });
    let hits = wait_hits(&rx, 1, Duration::from_secs(5)).await;
    assert_eq!(hits.len(), 1, "{hits:?}");
    let first_at = Instant::now();
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(rx.hits().len(), 1, "one message for the whole burst");

    let h = &hits[0];
    assert_eq!(h.method, "POST");
    assert_eq!(h.target, "/cgi-bin/webhook/send?key=burst-key-0001");
    assert!(h.content_type.starts_with("application/json"), "{h:?}");
    assert_eq!(h.body["msgtype"], "text", "{h:?}");
    let text = h.text();
    assert!(text.contains("30 条单据进入死信："), "{text}");
    assert!(
        text.contains(&format!(
            "方案 offline-returns，单据 990000（JST-990000）：{REASON}"
        )),
        "scheme, document and Kingdee's words: {text}"
    );
    assert!(text.contains("单据 990009（JST-990009）"), "{text}");
    assert!(text.contains("…及另外 20 条。"), "{text}");
    assert!(!text.contains("金蝶云星空"), "not on unreachable: {text}");
    assert!(
        text.len() <= 2048,
        "WeCom takes 2,048 bytes: {}",
        text.len()
    );

    // More within min_interval are folded into the next message, which waits for it.
    for i in 30..35 {
        telemetry.emit(dead(i));
    }
    tokio::time::sleep(Duration::from_millis(1000)).await;
    for i in 35..40 {
        telemetry.emit(dead(i));
    }
    tokio::time::sleep(Duration::from_millis(2300)).await;
    assert_eq!(rx.hits().len(), 1, "nothing before min_interval");
    let hits = wait_hits(&rx, 2, Duration::from_secs(5)).await;
    assert_eq!(hits.len(), 2, "{hits:?}");
    let waited = first_at.elapsed();
    assert!(
        waited >= Duration::from_millis(4500),
        "sent after {waited:?}"
    );
    let text = hits[1].text();
    assert!(
        text.contains("过去 5 秒 10 条单据进入死信："),
        "a digest of what came meanwhile: {text}"
    );
    assert!(
        text.contains("单据 990030（JST-990030）") && text.contains("单据 990039（JST-990039）"),
        "{text}"
    );
    assert!(!text.contains("及另外"), "{text}");
    tokio::time::sleep(Duration::from_millis(500)).await;
    assert_eq!(rx.hits().len(), 2);
    alerts.close().await;
    assert_eq!(rx.hits().len(), 2, "nothing was pending at shutdown");
}

#[tokio::test]
async fn a_robot_that_answers_500_or_an_errcode_gets_the_message_again() {
    let rx = Receiver::start(
        vec![
            Answer::Reply(500, "<html>Internal Server Error</html>"),
            Answer::Reply(200, r#"{"errcode":45009,"errmsg":"api freq out of limit"}"#),
        ],
        OK,
        None,
    );
    let config = config_with(&format!(
        "[[alert]]\nkind = \"wecom\"\nurl = \"{}\"\non = [\"scheme_failing\"]\nmin_interval = \"1m\"\n",
        rx.url("/cgi-bin/webhook/send?key=retry-key-0002")
    ));
    let telemetry = Telemetry::new();
    let alerts = ferry::alert::spawn(&config, telemetry.subscribe());
    telemetry.emit(Event::SchemeFailing {
        scheme: "shops-to-stocks".into(),
        error: "Jushuitan (shops.query, page 1): code 100: 签名错误".into(),
        failures: 3,
    });
    let hits = wait_hits(&rx, 3, Duration::from_secs(10)).await;
    assert_eq!(hits.len(), 3, "{hits:?}");
    assert!(hits.iter().all(|h| h.body == hits[0].body), "{hits:?}");
    let text = hits[0].text();
    assert!(
        text.contains("方案 shops-to-stocks 连续 3 次失败：Jushuitan (shops.query, page 1): code 100: 签名错误"),
        "{text}"
    );
    // Taken: not sent again.
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(rx.hits().len(), 3);
    alerts.close().await;
}

#[tokio::test]
async fn dingtalk_messages_are_signed_as_dingtalk_documents() {
    let secret = "SECc0ffee0123456789abcdef+/=";
    let good = Receiver::start(vec![], OK, Some(secret));
    // A robot whose secret is not the configured one refuses (and the check is real).
    let other = Receiver::start(vec![], OK, Some("SECsomething-else"));
    let config = config_with(&format!(
        "[[alert]]\nname = \"dd\"\nkind = \"dingtalk\"\nurl = \"{}\"\nsecret = \"{secret}\"\non = [\"token_expiring\"]\n\n\
         [[alert]]\nname = \"dd-wrong\"\nkind = \"dingtalk\"\nurl = \"{}\"\nsecret = \"{secret}\"\non = [\"token_expiring\"]\n",
        good.url("/robot/send?access_token=dd-token-0003"),
        other.url("/robot/send?access_token=dd-token-0004"),
    ));
    let telemetry = Telemetry::new();
    let alerts = ferry::alert::spawn(&config, telemetry.subscribe());
    telemetry.emit(Event::TokenExpiring {
        system: System::Jushuitan,
        detail: "聚水潭拒绝了 refresh_token：请重新授权应用，并把新的令牌写入 config.toml".into(),
        expires_at: Some(1_788_228_000),
    });
    let hits = wait_hits(&good, 1, Duration::from_secs(5)).await;
    assert_eq!(hits.len(), 1, "{hits:?}");
    let h = &hits[0];
    assert_eq!(h.signed, Some(true), "signature: {}", h.target);
    assert_eq!(
        receiver::query_param(&h.target, "access_token").as_deref(),
        Some("dd-token-0003")
    );
    assert!(
        h.target
            .starts_with("/robot/send?access_token=dd-token-0003&timestamp="),
        "{}",
        h.target
    );
    assert_eq!(h.body["msgtype"], "text");
    let text = h.text();
    assert!(text.contains("聚水潭的凭据需要人工处理"), "{text}");
    assert!(
        text.contains("请重新授权应用") && text.contains("到期时间 2026-09-01 10:00:00"),
        "{text}"
    );

    let refused = wait_hits(&other, 2, Duration::from_secs(5)).await;
    assert!(refused.len() >= 2, "refused, then retried: {refused:?}");
    assert!(refused.iter().all(|h| h.signed == Some(false)));
    alerts.close().await;
}

#[tokio::test]
async fn shutdown_sends_the_pending_digest_and_a_hanging_robot_does_not_hold_it_up() {
    let rx = Receiver::start(vec![], OK, None);
    let stuck = Receiver::start(vec![], Answer::Hang(Duration::from_secs(30)), None);
    let config = config_with(&format!(
        "[[alert]]\nkind = \"webhook\"\nurl = \"{}\"\nmin_interval = \"10m\"\n\n\
         [[alert]]\nkind = \"wecom\"\nurl = \"{}\"\n",
        rx.url("/hooks/ferry"),
        stuck.url("/cgi-bin/webhook/send?key=stuck-key-0005"),
    ));
    let telemetry = Telemetry::new();
    let alerts = ferry::alert::spawn(&config, telemetry.subscribe());
    telemetry.emit(dead(1));
    let hits = wait_hits(&rx, 1, Duration::from_secs(5)).await;
    assert_eq!(hits.len(), 1);
    // Pending: the next message is 10 minutes away.
    for i in 2..5 {
        telemetry.emit(dead(i));
    }
    telemetry.emit(Event::Unreachable {
        system: System::Kingdee,
        error: "error sending request: connection refused".into(),
    });
    let t = Instant::now();
    alerts.close().await;
    let took = t.elapsed();
    assert!(took < Duration::from_secs(3), "close took {took:?}");
    let hits = rx.hits();
    assert_eq!(hits.len(), 2, "{hits:?}");
    // The plain webhook's own shape.
    let b = &hits[1].body;
    assert_eq!(b["source"], "ferry");
    assert_eq!(b["alert"], "alert-1");
    assert_eq!(b["test"], false);
    assert_eq!(b["counts"]["dead_letter"], 3, "{b}");
    assert_eq!(b["counts"]["kingdee_unreachable"], 1, "{b}");
    assert_eq!(b["omitted"], 0);
    let events = b["events"].as_array().cloned().unwrap_or_default();
    assert_eq!(events.len(), 4, "{b}");
    assert_eq!(events[0]["event"], "dead_letter");
    assert_eq!(events[0]["source_key"], "990002");
    assert_eq!(events[0]["reason"], REASON);
    assert_eq!(events[3]["event"], "unreachable");
    assert_eq!(events[3]["system"], "kingdee");
    assert!(b["period_secs"].as_u64().is_some(), "{b}");
    let text = hits[1].text();
    assert!(
        text.contains("3 条单据进入死信") && text.contains("无法连接金蝶云星空（1 次）"),
        "{text}"
    );
    assert!(!stuck.hits().is_empty(), "the stuck robot was tried");
}

/// The events from one emitter reach every alert, each only its own.
#[tokio::test]
async fn each_alert_gets_only_the_events_it_is_on() {
    let dl = Receiver::start(vec![], OK, None);
    let net = Receiver::start(vec![], OK, None);
    let config = config_with(&format!(
        "[[alert]]\nkind = \"webhook\"\nurl = \"{}\"\non = [\"dead_letter\"]\n\n\
         [[alert]]\nkind = \"webhook\"\nurl = \"{}\"\non = [\"jushuitan_unreachable\"]\n",
        dl.url("/dl"),
        net.url("/net"),
    ));
    let telemetry = Arc::new(Telemetry::new());
    let alerts = ferry::alert::spawn(&config, telemetry.subscribe());
    telemetry.emit(Event::Unreachable {
        system: System::Jushuitan,
        error: "timed out".into(),
    });
    telemetry.emit(dead(7));
    telemetry.emit(Event::Reachable {
        system: System::Jushuitan,
    });
    let d = wait_hits(&dl, 1, Duration::from_secs(5)).await;
    let n = wait_hits(&net, 1, Duration::from_secs(5)).await;
    alerts.close().await;
    assert_eq!((d.len(), n.len()), (1, 1));
    assert_eq!(d[0].body["counts"], serde_json::json!({"dead_letter": 1}));
    assert_eq!(
        n[0].body["counts"],
        serde_json::json!({"jushuitan_unreachable": 1, "jushuitan_reachable": 1})
    );
    let text = n[0].text();
    assert!(
        text.contains("无法连接聚水潭（1 次）：\n1. timed out")
            && text.contains("聚水潭已恢复连接。"),
        "{text}"
    );
}

#[tokio::test]
async fn a_redirect_is_not_followed() {
    let elsewhere = Receiver::start(vec![], OK, None);
    let rx = Receiver::start(vec![], Answer::Redirect(elsewhere.url("/stolen")), None);
    let config = config_with(&format!(
        "[[alert]]\nkind = \"wecom\"\nurl = \"{}\"\n",
        rx.url("/cgi-bin/webhook/send?key=moved-key-0007")
    ));
    let sender = ferry::alert::send::Sender::new(&config.alerts[0]).expect("sender");
    let err = ferry::alert::send_test(&sender)
        .await
        .expect_err("a redirect is a failure");
    assert!(
        err.to_string()
            .contains("HTTP 302 redirect; ferry does not follow redirects"),
        "{err}"
    );
    assert!(!err.retryable());
    assert_eq!(rx.hits().len(), 1);
    assert!(elsewhere.hits().is_empty(), "nothing may be sent elsewhere");
}
