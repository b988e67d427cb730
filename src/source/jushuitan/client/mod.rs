//! The client: one signed form POST per call, with tokens, pacing and bounded retries.

use std::sync::Arc;
use std::time::Duration;

use parking_lot::Mutex;
use serde_json::{Map, Value};

use super::error::{hint, Call, SourceError};
use super::limiter::Limiter;
use super::parse::{self, Envelope};
use super::sign::{form_encode, sign};
use super::tokens::{fingerprint, TokenProblem, TokenStore, Tokens};
use super::{ClientSettings, Page};
use crate::time::{now_millis, now_unix};
use budget::Budget;

mod budget;
mod rotation;

const GET_INIT_TOKEN: &str = "/openWeb/auth/getInitToken";
const REFRESH_TOKEN: &str = "/openWeb/auth/refreshToken";
/// Persist the call log with every call only while limits are as tight as the real ones.
const PERSIST_CALLS_UP_TO_PER_MINUTE: u32 = 1000;

/// The path of an API: `other.inout.query` → `/open/other/inout/query`; a name starting with
/// `/` is taken as the path itself.
pub fn api_path(api: &str) -> String {
    let api = api.trim();
    if api.starts_with('/') {
        api.to_string()
    } else {
        format!("/open/{}", api.replace('.', "/"))
    }
}

/// Jushuitan client. Cheap to clone; clones share the call budget (rate limiter) and the
/// tokens. [`Client::for_scheme`] gives the clone a scheme's turn at the budget.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
    /// Whose turn this clone's calls wait for (a scheme's name; empty: no scheme).
    lane: Arc<str>,
}

struct Inner {
    base_url: String,
    settings: ClientSettings,
    http: reqwest::Client,
    store: Arc<dyn TokenStore>,
    tokens: Mutex<TokenState>,
    refresh_lock: tokio::sync::Mutex<()>,
    budget: Mutex<Budget>,
    /// Woken whenever a caller takes its turn at the budget or gives it up.
    turn_taken: tokio::sync::Notify,
    persist_calls: bool,
}

#[derive(Default)]
struct TokenState {
    tokens: Option<Tokens>,
    /// Jushuitan rejected the current access token (code 100).
    stale: bool,
    /// New tokens that could not be saved yet: not used until they are (a crash would lose
    /// them, and Jushuitan has already revoked the refresh token they replaced).
    unsaved: bool,
}

/// Result of one HTTP exchange that is worth retrying.
enum Retry {
    Transport(String),
    Malformed(String),
}

/// Why one HTTP POST brought no answer to look at.
enum Unanswered {
    /// Network failure or timeout: worth retrying.
    Transport(String),
    /// A 3xx: never followed, never retried.
    Redirect(String),
    /// The answer is over the size limit: not read, not retried within this call.
    TooLarge(String),
}

impl Client {
    /// Builds the client; takes tokens from the store, else from the settings.
    pub fn new(
        settings: ClientSettings,
        store: Arc<dyn TokenStore>,
    ) -> Result<Client, SourceError> {
        let base_url = settings.base_url.trim().trim_end_matches('/').to_string();
        if !(base_url.starts_with("http://") || base_url.starts_with("https://")) {
            return Err(SourceError::Settings(format!(
                "base_url must start with http:// or https://, got {base_url:?}"
            )));
        }
        if settings.app_key.trim().is_empty() {
            return Err(SourceError::Settings("app_key is empty".into()));
        }
        let connect = settings.timeout.min(Duration::from_secs(10));
        let http = crate::http::client_builder()
            .timeout(settings.timeout)
            .connect_timeout(connect)
            .build()
            .map_err(|e| SourceError::Settings(format!("HTTP client: {e}")))?;
        let stored = store.load();
        let mut limiter = Limiter::new(settings.per_second, settings.per_minute);
        if let Some(t) = &stored {
            limiter.seed(&t.recent_calls, now_millis());
        }
        let configured = settings.access_token.as_ref().map(|a| {
            let refresh = settings
                .refresh_token
                .as_ref()
                .map(|r| r.expose().to_string())
                .unwrap_or_default();
            Tokens {
                origin: fingerprint(a.expose(), &refresh),
                access_token: a.expose().to_string(),
                refresh_token: refresh,
                ..Tokens::default()
            }
        });
        let origin = configured.as_ref().map(|c| c.origin.clone());
        // Tokens obtained by ferry win, unless config.toml holds a different pair than the one
        // they descend from: then a person authorized the app again.
        let tokens = match (stored, configured) {
            (Some(s), Some(c)) if s.origin != c.origin => {
                tracing::info!("config.toml holds new Jushuitan tokens; using them");
                Some(c)
            }
            (Some(s), _) => Some(s),
            (None, c) => c,
        };
        if let Some(p) = store.load_problem() {
            if origin.as_ref().is_some_and(|o| *o != p.origin) {
                if let Err(e) = store.save_problem(None) {
                    tracing::warn!("could not clear the Jushuitan token problem: {e}");
                }
            }
        }
        let persist_calls =
            settings.per_minute > 0 && settings.per_minute <= PERSIST_CALLS_UP_TO_PER_MINUTE;
        Ok(Client {
            inner: Arc::new(Inner {
                base_url,
                settings,
                http,
                store,
                tokens: Mutex::new(TokenState {
                    tokens,
                    stale: false,
                    unsaved: false,
                }),
                refresh_lock: tokio::sync::Mutex::new(()),
                budget: Mutex::new(Budget {
                    limiter,
                    turns: Default::default(),
                    recent: Default::default(),
                    reserve_held: false,
                }),
                turn_taken: tokio::sync::Notify::new(),
                persist_calls,
            }),
            lane: "".into(),
        })
    }

    /// The tokens in use (None before the first call of a self-built app).
    pub fn tokens(&self) -> Option<Tokens> {
        self.inner.tokens.lock().tokens.clone()
    }

    /// Reads page `page_index` (1-based) of a paged query API. `biz` holds the business
    /// parameters; `page_index` and `page_size` are added here. The records are taken from
    /// `data.<list_key>`.
    pub async fn query_page(
        &self,
        api: &str,
        biz: &Map<String, Value>,
        list_key: &str,
        page_index: u32,
        page_size: u32,
    ) -> Result<Page, SourceError> {
        let call = Call::new(api, page_index);
        let mut biz = biz.clone();
        biz.insert("page_index".into(), Value::from(page_index));
        biz.insert("page_size".into(), Value::from(page_size));
        let biz = Value::Object(biz).to_string();
        let env = self.business(&call, &api_path(api), &biz).await?;
        parse::page(env.data, list_key, page_index, page_size)
            .map_err(|message| SourceError::Malformed { call, message })
    }

    /// A business call: refreshes the token once on code 100, maps error codes to errors.
    async fn business(&self, call: &Call, path: &str, biz: &str) -> Result<Envelope, SourceError> {
        let mut refreshed = false;
        loop {
            let token = self.access_token(call).await?;
            let s = &self.inner.settings;
            let env = self
                .exchange(call, path, |ts| {
                    vec![
                        ("access_token", token.clone()),
                        ("app_key", s.app_key.clone()),
                        ("biz", biz.to_string()),
                        ("charset", "utf-8".into()),
                        ("timestamp", ts.to_string()),
                        ("version", "2".into()),
                    ]
                })
                .await?;
            match env.code {
                0 => return Ok(env),
                100 if !refreshed => {
                    tracing::info!(%call, "Jushuitan rejected the access token (code 100); refreshing");
                    refreshed = true;
                    let mut st = self.inner.tokens.lock();
                    if st.tokens.as_ref().is_some_and(|t| t.access_token == token) {
                        st.stale = true;
                    }
                }
                code => return Err(api_error(call, code, env.msg)),
            }
        }
    }

    /// Sends one signed call, retrying network errors, 5xx, malformed bodies (bounded), code 180
    /// (once, fresh timestamp), 150 and 199/200 (with back-off). Returns any other answer.
    async fn exchange<F>(&self, call: &Call, path: &str, params: F) -> Result<Envelope, SourceError>
    where
        F: Fn(&str) -> Vec<(&'static str, String)>,
    {
        let s = &self.inner.settings;
        let max_tries = s.max_tries.max(1);
        let rate_tries = s.rate_limit_tries.max(1);
        let (mut failures, mut limited, mut resigned) = (0u32, 0u32, false);
        loop {
            let granted_at = self.acquire().await;
            let ts = now_unix().to_string();
            let mut p = params(&ts);
            let sig = sign(s.app_secret.expose(), &p);
            p.push(("sign", sig));
            self.leaving(granted_at);
            let retry = match self.send(path, &p).await {
                Ok((status, body)) if (200..300).contains(&status) => {
                    match parse::envelope_within(&body.bytes, body.limit()) {
                        Ok(env) => match env.code {
                            180 if !resigned => {
                                tracing::warn!(%call, "Jushuitan refused the timestamp (180); re-signing");
                                resigned = true;
                                continue;
                            }
                            150 => Retry::Transport(format!("code 150: {}", env.msg)),
                            199 | 200 if is_rate_limit(env.code, &env.msg) => {
                                limited += 1;
                                if limited >= rate_tries {
                                    return Err(SourceError::RateLimited {
                                        call: call.clone(),
                                        code: env.code,
                                        msg: env.msg,
                                        tries: limited,
                                    });
                                }
                                let pause = rate_pause(s.rate_backoff, env.code, limited);
                                tracing::warn!(%call, code = env.code, ?pause, "Jushuitan rate limit; backing off");
                                self.inner
                                    .budget
                                    .lock()
                                    .limiter
                                    .pause(now_millis() + pause.as_millis() as i64);
                                continue;
                            }
                            _ => return Ok(env),
                        },
                        Err(m) => Retry::Malformed(m),
                    }
                }
                Ok((status, body)) if matches!(status, 408 | 425 | 429 | 500..=599) => {
                    Retry::Transport(format!("HTTP {status}: {}", parse::excerpt(&body.bytes)))
                }
                Ok((status, body)) => {
                    return Err(SourceError::Http {
                        call: call.clone(),
                        status,
                        body: parse::excerpt(&body.bytes),
                    })
                }
                Err(Unanswered::Transport(m)) => Retry::Transport(m),
                Err(Unanswered::Redirect(message)) => {
                    return Err(SourceError::Redirect {
                        call: call.clone(),
                        message,
                    })
                }
                Err(Unanswered::TooLarge(message)) => {
                    return Err(SourceError::TooLarge {
                        call: call.clone(),
                        message,
                    })
                }
            };
            failures += 1;
            if failures >= max_tries {
                return Err(match retry {
                    Retry::Transport(message) => SourceError::Transport {
                        call: call.clone(),
                        tries: failures,
                        message,
                    },
                    Retry::Malformed(message) => SourceError::Malformed {
                        call: call.clone(),
                        message,
                    },
                });
            }
            let pause = backoff(s.retry_backoff, failures);
            match &retry {
                Retry::Transport(m) | Retry::Malformed(m) => {
                    tracing::warn!(%call, try_ = failures, ?pause, "Jushuitan call failed, retrying: {m}")
                }
            }
            tokio::time::sleep(pause).await;
        }
    }

    /// One HTTP POST; Err carries a printable reason (never a secret: only the path is named).
    async fn send(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<(u16, crate::http::Body), Unanswered> {
        let started = std::time::Instant::now();
        let r = self.send_once(path, params).await;
        if let Some(t) = &self.inner.settings.telemetry {
            use crate::telemetry::{Outcome, System};
            let outcome = match &r {
                Ok((s, _)) if *s >= 500 || *s == 429 => Outcome::Server,
                Ok((s, _)) if (200..300).contains(s) => Outcome::Ok,
                Ok(_) | Err(Unanswered::Redirect(_)) => Outcome::Refused,
                Err(Unanswered::Transport(_)) => Outcome::Transport,
                Err(Unanswered::TooLarge(_)) => Outcome::Malformed,
            };
            t.request(System::Jushuitan, path, started.elapsed(), outcome);
        }
        r
    }

    async fn send_once(
        &self,
        path: &str,
        params: &[(&str, String)],
    ) -> Result<(u16, crate::http::Body), Unanswered> {
        let url = format!("{}{}", self.inner.base_url, path);
        let resp = self
            .inner
            .http
            .post(&url)
            .header(
                reqwest::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded;charset=UTF-8",
            )
            .body(form_encode(params))
            .send()
            .await
            .map_err(|e| Unanswered::Transport(describe(&e, path)))?;
        let status = resp.status().as_u16();
        if let Some(m) = crate::http::redirect(status, resp.headers()) {
            return Err(Unanswered::Redirect(m));
        }
        match crate::http::read_body(resp, self.inner.settings.max_response_mb).await {
            Ok(body) => Ok((status, body)),
            Err(crate::http::BodyError::Read(e)) => Err(Unanswered::Transport(describe(&e, path))),
            Err(e) => Err(Unanswered::TooLarge(e.to_string())),
        }
    }
}

fn api_error(call: &Call, code: i64, msg: String) -> SourceError {
    SourceError::Api {
        call: call.clone(),
        code,
        msg,
        hint: hint(code),
    }
}

/// 199/200 are rate limits; a 200 whose message speaks of something else is not (seen in the
/// wild: `200 参数错误`).
fn is_rate_limit(code: i64, msg: &str) -> bool {
    code == 199
        || msg.trim().is_empty()
        || ["频", "繁", "限", "limit", "frequen"]
            .iter()
            .any(|w| msg.contains(w))
}

/// Back-off after the n-th rate-limit answer: 199 (per second) grows linearly up to 5 s,
/// 200 (per minute) doubles up to 30 s.
fn rate_pause(base: Duration, code: i64, n: u32) -> Duration {
    if code == 199 {
        (base * n).min(base * 5)
    } else {
        (base * 2u32.saturating_pow(n.min(5))).min(Duration::from_secs(30).max(base))
    }
}

/// Exponential back-off with jitter after the n-th failure.
fn backoff(base: Duration, n: u32) -> Duration {
    let d = base * 2u32.saturating_pow(n.saturating_sub(1).min(6));
    d.mul_f64(0.8 + fastrand::f64() * 0.4)
}

fn describe(e: &reqwest::Error, path: &str) -> String {
    let kind = if e.is_timeout() {
        "timed out"
    } else if e.is_connect() {
        "connection failed"
    } else if e.is_body() || e.is_decode() {
        "reading the answer failed"
    } else {
        "request failed"
    };
    let mut msg = format!("{kind} (POST {path})");
    let mut src = std::error::Error::source(e);
    while let Some(s) = src {
        msg.push_str(&format!(": {s}"));
        src = s.source();
    }
    msg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths() {
        assert_eq!(api_path("other.inout.query"), "/open/other/inout/query");
        assert_eq!(api_path("shops.query"), "/open/shops/query");
        assert_eq!(api_path("/open/x/y"), "/open/x/y");
    }

    #[test]
    fn pauses() {
        let b = Duration::from_secs(1);
        assert_eq!(rate_pause(b, 199, 1), b);
        assert_eq!(rate_pause(b, 199, 9), 5 * b);
        assert_eq!(rate_pause(b, 200, 1), 2 * b);
        assert_eq!(rate_pause(b, 200, 9), 30 * b);
        assert!(is_rate_limit(200, "调用频次超过限制!"));
        assert!(!is_rate_limit(200, "参数错误"));
        let d = backoff(Duration::from_millis(100), 3);
        assert!(d >= Duration::from_millis(320) && d <= Duration::from_millis(480));
    }

    #[test]
    fn settings_are_checked() {
        let store: Arc<dyn TokenStore> = Arc::new(super::super::MemoryTokens::new());
        let bad = ClientSettings {
            base_url: "openapi.jushuitan.com".into(),
            app_key: "k".into(),
            ..ClientSettings::default()
        };
        assert!(Client::new(bad, store.clone()).is_err());
        let no_key = ClientSettings::default();
        assert!(Client::new(no_key, store).is_err());
    }
}
