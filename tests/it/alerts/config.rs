//! `[[alert]]` in config.toml: what a correct entry compiles to, and every mistake said once with
//! its line and field, never with the URL (it holds the robot's key).

use std::path::Path;
use std::time::Duration;

use ferry::config::alerts::{AlertKind, Trigger, TRIGGERS};

use crate::config_mistakes::{assert_mistakes, expect};
use crate::helpers::shipped_config;

/// The shipped config with `alerts` appended.
pub fn shipped_with(alerts: &str) -> String {
    let text = std::fs::read_to_string(shipped_config()).expect("shipped config");
    format!("{text}\n{alerts}")
}

#[test]
fn alerts_compile_with_their_defaults() {
    std::env::set_var(
        "FERRY_TEST_ALERT_DD_URL",
        "https://oapi.dingtalk.com/robot/send?access_token=abc123",
    );
    let text = shipped_with(
        r#"
[[alert]]
kind = "wecom"
url = "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-0000"

[[alert]]
name = "钉钉运维群"
kind = "dingtalk"
url = "${FERRY_TEST_ALERT_DD_URL}"
secret = "SEC000111"
on = ["dead_letter", "kingdee_unreachable", "dead_letter"]
min_interval = "30s"
"#,
    );
    let c = ferry::config::load_str(Path::new("x.toml"), &text).expect("valid");
    assert_eq!(c.alerts.len(), 2);
    let a = &c.alerts[0];
    assert_eq!(a.name, "alert-1");
    assert_eq!(a.kind, AlertKind::WeCom);
    assert_eq!(a.on, TRIGGERS.iter().map(|(_, t)| *t).collect::<Vec<_>>());
    assert_eq!(a.min_interval, Duration::from_secs(300));
    assert!(a.secret.is_none());
    let d = &c.alerts[1];
    assert_eq!(d.name, "钉钉运维群");
    assert_eq!(d.kind, AlertKind::DingTalk);
    assert_eq!(
        d.url.expose(),
        "https://oapi.dingtalk.com/robot/send?access_token=abc123"
    );
    assert_eq!(d.secret.as_ref().map(|s| s.expose()), Some("SEC000111"));
    assert_eq!(d.on, vec![Trigger::DeadLetter, Trigger::KingdeeUnreachable]);
    assert_eq!(d.min_interval, Duration::from_secs(30));
    // Printing the config never shows the URL or the signing secret.
    let shown = format!("{:?}", c.alerts);
    assert!(
        !shown.contains("abc123") && !shown.contains("SEC000111") && !shown.contains("693a91f6"),
        "{shown}"
    );
    // No alerts is fine.
    let plain = std::fs::read_to_string(shipped_config()).expect("shipped");
    let c = ferry::config::load_str(Path::new("x.toml"), &plain).expect("valid");
    assert!(c.alerts.is_empty());
}

#[test]
fn an_unset_url_variable_stops_check_but_not_the_consoles_commands() {
    let text =
        shipped_with("[[alert]]\nkind = \"wecom\"\nurl = \"${FERRY_TEST_ALERT_NEVER_SET}\"\n");
    let path = Path::new("x.toml");
    assert!(ferry::config::load_str(path, &text).is_err());
    let c = ferry::config::load_str_with(path, &text, ferry::config::Secrets::NotNeeded)
        .expect("status, dlq and trace need no secrets");
    assert_eq!(c.alerts.len(), 1);
    assert!(c.alerts[0].url.is_empty());
}

#[test]
fn every_alert_mistake_is_reported_once_with_line_and_field() {
    let text = shipped_with(
        r#"
[[alert]]
kind = "wecon"
url = "${FERRY_TEST_ALERT_UNSET_URL}"
on = ["dead_leter", "kingdee_unreachable", 5]
min_interval = "5q"
colour = "red"

[[alert]]
name = "ops"
kind = "dingtalk"
url = "https://oapi.dingtalk.com/robot/send?token=SECRET-PART-abc123"
min_interval = "500ms"

[[alert]]
name = "ops"
kind = "wecom"
url = "ftp://files.example/SECRET-PART-def456"
secret = "SECsign"

[[alert]]
kind = "webhook"
url = "http://127.0.0.1:9/hook"
on = []
"#,
    );
    assert_mistakes(
        &text,
        &[
            expect(
                Some("kind = \"wecon\""),
                None,
                "alert[1].kind",
                "unknown kind `wecon`: did you mean `wecom`?",
            ),
            expect(
                Some("FERRY_TEST_ALERT_UNSET_URL"),
                None,
                "alert[1].url",
                "environment variable `FERRY_TEST_ALERT_UNSET_URL` is not set",
            ),
            expect(
                Some("\"dead_leter\""),
                None,
                "alert[1].on",
                "unknown event `dead_leter`: did you mean `dead_letter`?",
            ),
            expect(
                Some("\"dead_leter\""),
                None,
                "alert[1].on",
                "expected an event name, found an integer",
            ),
            expect(
                Some("min_interval = \"5q\""),
                None,
                "alert[1].min_interval",
                "`5q` is not a duration",
            ),
            expect(
                Some("colour = \"red\""),
                None,
                "alert[1].colour",
                "unknown key `colour`",
            ),
            expect(
                Some("?token=SECRET-PART-abc123"),
                None,
                "alert[2].url",
                "a dingtalk robot's URL carries its `access_token`",
            ),
            expect(
                Some("\"500ms\""),
                None,
                "alert[2].min_interval",
                "must be at least 1s",
            ),
            expect(
                None,
                None,
                "alert[3].name",
                "an alert named `ops` is defined twice (first on line",
            ),
            expect(
                Some("ftp://files.example"),
                None,
                "alert[3].url",
                "is not an http:// or https:// URL",
            ),
            expect(
                Some("secret = \"SECsign\""),
                None,
                "alert[3].secret",
                "only DingTalk robots sign their messages",
            ),
            expect(Some("on = []"), None, "alert[4].on", "is empty"),
        ],
    );
    let errors = ferry::config::load_str(Path::new("x.toml"), &text).expect_err("broken");
    let all = errors.to_string();
    assert!(!all.contains("SECRET-PART"), "a URL was printed:\n{all}");
}
