//! Sending one message to one alert's URL: the body each kind takes, DingTalk's 加签 signature,
//! reading the answer (bounded), and retrying a failure a bounded number of times.
//!
//! Robots (企业微信群机器人, 钉钉自定义机器人) take `{"msgtype":"text","text":{"content":…}}` and
//! answer `{"errcode":0,"errmsg":"ok"}`; anything else is a failure. A plain webhook gets
//! (`kind = "webhook"`, any 2xx answer is success):
//!
//! ```json
//! {"source": "ferry", "alert": "ops", "host": "srv01", "test": false,
//!  "text": "【ferry 告警】主机 srv01\n过去 5 分钟 12 条单据进入死信：…",
//!  "period_secs": 300,
//!  "counts": {"dead_letter": 12},
//!  "events": [{"event": "dead_letter", "scheme": "offline-returns", "source_key": "990001",
//!              "identity": "JST-990001", "reason": "…"}],
//!  "omitted": 2, "lost": 0}
//! ```
//!
//! `events` holds the first 10 events of each kind (`omitted` counts the others, `lost` those
//! ferry itself could not keep up with); `period_secs` is null for a message that went out at
//! once. The URL is a secret: nothing here prints it, only its host.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use base64::Engine;
use hmac::{Hmac, Mac};
use serde::Serialize;
use serde_json::{json, Value};
use sha2::Sha256;
use tokio::time::Instant;

use crate::config::alerts::{Alert, AlertKind};
use crate::http::printable;

/// One attempt may take this long in all.
const ATTEMPT_TIMEOUT: Duration = Duration::from_secs(10);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Waits before the retries of a failed message (then it is given up, and logged).
pub const RETRY_DELAYS: &[Duration] = &[
    Duration::from_secs(1),
    Duration::from_secs(4),
    Duration::from_secs(15),
];
/// An answer is read up to this many MB (a robot answers a few dozen bytes).
const ANSWER_MB: u32 = 1;

/// What a kind of alert takes.
pub struct Protocol {
    pub kind: AlertKind,
    /// In plain words, for `ferry alert test`.
    pub label: &'static str,
    /// Longest text it takes, in bytes (WeCom: 2,048 for a text message).
    pub max_bytes: usize,
    /// The JSON body for a message.
    pub body: fn(&Payload) -> Value,
    /// Success is `{"errcode":0}` (robots); otherwise any 2xx answer is.
    pub needs_errcode: bool,
}

pub const PROTOCOLS: &[Protocol] = &[
    Protocol {
        kind: AlertKind::WeCom,
        label: "WeCom group robot",
        max_bytes: 2048,
        body: robot_text,
        needs_errcode: true,
    },
    Protocol {
        kind: AlertKind::DingTalk,
        label: "DingTalk robot",
        max_bytes: 4000,
        body: robot_text,
        needs_errcode: true,
    },
    Protocol {
        kind: AlertKind::Webhook,
        label: "webhook",
        max_bytes: 16 * 1024,
        body: webhook_json,
        needs_errcode: false,
    },
];

pub fn protocol(kind: AlertKind) -> &'static Protocol {
    PROTOCOLS
        .iter()
        .find(|p| p.kind == kind)
        .unwrap_or(&PROTOCOLS[PROTOCOLS.len() - 1])
}

/// One message, with what a plain webhook gets besides the text.
#[derive(Debug, Clone, Serialize)]
pub struct Payload {
    pub source: &'static str,
    pub alert: String,
    pub host: String,
    pub test: bool,
    pub text: String,
    pub period_secs: Option<u64>,
    pub counts: BTreeMap<&'static str, u64>,
    /// The events, as [`Event`] serializes them.
    pub events: Vec<Value>,
    pub omitted: u64,
    pub lost: u64,
}

fn robot_text(p: &Payload) -> Value {
    json!({"msgtype": "text", "text": {"content": p.text}})
}

fn webhook_json(p: &Payload) -> Value {
    serde_json::to_value(p).unwrap_or_else(|_| json!({"source": "ferry", "text": p.text}))
}

/// DingTalk's 加签: Base64(HmacSHA256(key = secret, timestamp + "\n" + secret)); the caller
/// URL-encodes it into `&sign=`.
pub fn dingtalk_sign(secret: &str, timestamp_ms: i64) -> String {
    let mut mac = match Hmac::<Sha256>::new_from_slice(secret.as_bytes()) {
        Ok(m) => m,
        // HMAC takes keys of any length; this cannot happen.
        Err(_) => return String::new(),
    };
    mac.update(format!("{timestamp_ms}\n{secret}").as_bytes());
    base64::engine::general_purpose::STANDARD.encode(mac.finalize().into_bytes())
}

/// Why a message did not get through, in plain words; never holds the URL's secret.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SendError {
    #[error("cannot set up the HTTP client: {0}")]
    Client(String),
    #[error("no answer within {} s", ATTEMPT_TIMEOUT.as_secs())]
    Timeout,
    #[error("cannot connect: {0}")]
    Connect(String),
    #[error("the request failed: {0}")]
    Request(String),
    #[error("HTTP {0} redirect; ferry does not follow redirects, nothing was sent elsewhere (check the url)")]
    Redirect(u16),
    #[error("HTTP {status}{}", if .excerpt.is_empty() { String::new() } else { format!(": {}", .excerpt) })]
    Status { status: u16, excerpt: String },
    #[error("the robot refused the message: errcode {errcode}, errmsg {errmsg:?}")]
    Refused { errcode: i64, errmsg: String },
    #[error("the answer is not what the robot answers ({0})")]
    Answer(String),
}

impl SendError {
    /// Whether trying again may help (a 4xx other than 429, or a redirect, will not).
    pub fn retryable(&self) -> bool {
        match self {
            SendError::Client(_) | SendError::Redirect(_) => false,
            SendError::Status { status, .. } => *status >= 500 || *status == 429,
            _ => true,
        }
    }
}

/// Sends the messages of one alert.
#[derive(Clone)]
pub struct Sender {
    client: reqwest::Client,
    alert: Arc<Alert>,
    protocol: &'static Protocol,
    host: String,
    /// Parts of the URL (and the signing secret) that must never reach a log line.
    hidden: Arc<Vec<String>>,
}

impl Sender {
    pub fn new(alert: &Alert) -> Result<Sender, SendError> {
        let client = crate::http::client_builder()
            .timeout(ATTEMPT_TIMEOUT)
            .connect_timeout(CONNECT_TIMEOUT)
            .build()
            .map_err(|e| SendError::Client(e.without_url().to_string()))?;
        let url = reqwest::Url::parse(alert.url.expose()).ok();
        let host = url
            .as_ref()
            .and_then(|u| {
                u.host_str().map(|h| match u.port() {
                    Some(p) => format!("{h}:{p}"),
                    None => h.to_string(),
                })
            })
            .unwrap_or_else(|| "(no host)".into());
        let mut hidden = vec![alert.url.expose().to_string()];
        if let Some(u) = &url {
            hidden.extend(u.query_pairs().map(|(_, v)| v.into_owned()));
            hidden.extend(u.path_segments().into_iter().flatten().map(str::to_string));
            hidden.extend(u.password().map(str::to_string));
        }
        hidden.extend(alert.secret.iter().map(|s| s.expose().to_string()));
        // Short parts ("send", "robot") are not secrets and would garble messages.
        hidden.retain(|h| h.len() >= 8);
        Ok(Sender {
            client,
            alert: Arc::new(alert.clone()),
            protocol: protocol(alert.kind),
            host,
            hidden: Arc::new(hidden),
        })
    }

    pub fn alert(&self) -> &Alert {
        &self.alert
    }

    /// The URL's host (and port): all of the URL that may be printed.
    pub fn host(&self) -> &str {
        &self.host
    }

    pub fn protocol(&self) -> &'static Protocol {
        self.protocol
    }

    /// `text` with every secret part of the URL replaced by `***`.
    fn redact(&self, text: &str) -> String {
        let mut out = text.to_string();
        for h in self.hidden.iter() {
            if out.contains(h.as_str()) {
                out = out.replace(h.as_str(), "***");
            }
        }
        out
    }

    /// Sends once.
    pub async fn attempt(&self, payload: &Payload) -> Result<(), SendError> {
        let mut url = reqwest::Url::parse(self.alert.url.expose())
            .map_err(|_| SendError::Client("the url is not a URL".into()))?;
        if let Some(secret) = &self.alert.secret {
            let ts = crate::time::now_millis();
            let sign = dingtalk_sign(secret.expose(), ts);
            url.query_pairs_mut()
                .append_pair("timestamp", &ts.to_string())
                .append_pair("sign", &sign);
        }
        let body = (self.protocol.body)(payload);
        let resp = self
            .client
            .post(url)
            .json(&body)
            .send()
            .await
            .map_err(|e| self.transport(e))?;
        let status = resp.status().as_u16();
        if (300..400).contains(&status) {
            return Err(SendError::Redirect(status));
        }
        let answer = crate::http::read_body(resp, ANSWER_MB)
            .await
            .map_err(|e| match e {
                crate::http::BodyError::Read(e) => self.transport(e),
                other => SendError::Answer(other.to_string()),
            })?;
        let text = String::from_utf8_lossy(&answer.bytes);
        if !(200..300).contains(&status) {
            return Err(SendError::Status {
                status,
                excerpt: self.redact(&printable(&text, 200)),
            });
        }
        let parsed = crate::http::parse_json(&answer.bytes, answer.limit()).ok();
        let errcode = parsed.as_ref().and_then(|v| v.get("errcode"));
        match errcode {
            Some(code) if code.as_i64() == Some(0) => Ok(()),
            Some(code) => Err(SendError::Refused {
                errcode: code.as_i64().unwrap_or(-1),
                errmsg: self.redact(&printable(
                    parsed
                        .as_ref()
                        .and_then(|v| v.get("errmsg"))
                        .and_then(Value::as_str)
                        .unwrap_or(""),
                    200,
                )),
            }),
            None if self.protocol.needs_errcode => Err(SendError::Answer(format!(
                "HTTP {status} without an errcode: {}",
                self.redact(&printable(&text, 120))
            ))),
            None => Ok(()),
        }
    }

    /// Sends, retrying a failure after each of [`RETRY_DELAYS`] (but not past `deadline`);
    /// every failure is logged with the alert's name and host.
    pub async fn deliver(
        &self,
        payload: &Payload,
        deadline: Option<Instant>,
    ) -> Result<(), SendError> {
        let name = &self.alert.name;
        let mut attempt = 0;
        loop {
            attempt += 1;
            let err = match self.attempt(payload).await {
                Ok(()) => {
                    tracing::info!(alert = %name, host = %self.host, attempt, "alert sent");
                    return Ok(());
                }
                Err(e) => e,
            };
            let delay = RETRY_DELAYS.get(attempt - 1).copied();
            let next = delay
                .filter(|_| err.retryable())
                .map(|d| Instant::now() + d)
                .filter(|at| deadline.is_none_or(|dl| *at < dl));
            match next {
                Some(at) => {
                    tracing::warn!(
                        alert = %name, host = %self.host, attempt,
                        "alert not sent: {err}; trying again in {} s",
                        delay.unwrap_or_default().as_secs()
                    );
                    tokio::time::sleep_until(at).await;
                }
                None => {
                    tracing::error!(
                        alert = %name, host = %self.host, attempt,
                        "alert not sent: {err}; giving it up (the events are in this log)"
                    );
                    return Err(err);
                }
            }
        }
    }

    /// A transport error in plain words, without the URL.
    fn transport(&self, e: reqwest::Error) -> SendError {
        let e = e.without_url();
        if e.is_timeout() {
            return SendError::Timeout;
        }
        let mut words = Vec::new();
        let mut source: Option<&dyn std::error::Error> = std::error::Error::source(&e);
        while let Some(s) = source {
            words.push(s.to_string());
            source = s.source();
        }
        let detail = self.redact(&match words.last() {
            Some(last) => last.clone(),
            None => e.to_string(),
        });
        if e.is_connect() {
            SendError::Connect(detail)
        } else {
            SendError::Request(detail)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dingtalk_signature_matches_the_documented_recipe() {
        // From DingTalk's Python sample (hmac.new(secret, f"{ts}\n{secret}", sha256), base64).
        assert_eq!(
            dingtalk_sign("SEC0123456789abcdef", 1_700_000_000_000),
            "TSZbRFUuvaSQaRKUpF970OPCb2/LcQAP3wOvwZIzBZk="
        );
        // Appended like urllib.parse.quote_plus does.
        let mut url = reqwest::Url::parse("https://oapi.dingtalk.com/robot/send?access_token=abc")
            .expect("url");
        url.query_pairs_mut()
            .append_pair("timestamp", "1700000000000")
            .append_pair(
                "sign",
                &dingtalk_sign("SEC0123456789abcdef", 1_700_000_000_000),
            );
        assert_eq!(
            url.as_str(),
            "https://oapi.dingtalk.com/robot/send?access_token=abc&timestamp=1700000000000\
             &sign=TSZbRFUuvaSQaRKUpF970OPCb2%2FLcQAP3wOvwZIzBZk%3D"
        );
    }

    #[test]
    fn only_failures_that_may_pass_are_retried() {
        assert!(SendError::Timeout.retryable());
        assert!(SendError::Status {
            status: 503,
            excerpt: String::new()
        }
        .retryable());
        assert!(SendError::Status {
            status: 429,
            excerpt: String::new()
        }
        .retryable());
        assert!(!SendError::Status {
            status: 404,
            excerpt: String::new()
        }
        .retryable());
        assert!(SendError::Refused {
            errcode: 45009,
            errmsg: String::new()
        }
        .retryable());
        assert!(!SendError::Redirect(302).retryable());
    }

    #[test]
    fn the_url_secret_is_redacted() {
        let alert = Alert {
            name: "ops".into(),
            kind: AlertKind::WeCom,
            url: crate::secret::Secret::new(
                "https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4",
            ),
            secret: None,
            on: Vec::new(),
            min_interval: Duration::from_secs(60),
        };
        let s = Sender::new(&alert).expect("sender");
        assert_eq!(s.host(), "qyapi.weixin.qq.com");
        assert_eq!(
            s.redact("invalid webhook url key=693a91f6-7xxx-4bc4, from ip"),
            "invalid webhook url key=***, from ip"
        );
    }
}
