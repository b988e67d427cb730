//! The Kingdee WebAPI client's transport: auth (signed headers or session logins), the session
//! id and cookies, one POST, and the MsgCode-1 re-login rule. The form services are in `ops`.
//! Clones share the HTTP pool and the session.

use std::error::Error as _;
use std::sync::Arc;

use parking_lot::Mutex;
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, SET_COOKIE};
use serde_json::{json, Value};

use crate::http::Body;

use super::classify::{classify_reply_within, Op, Reply};
use super::sign::{login_by_sign_signature, signed_headers};
use super::{Auth, ClientSettings, SinkError};

const FORM_SERVICE: &str = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.";
const AUTH_SERVICE: &str = "Kingdee.BOS.WebApi.ServicesStub.AuthService.";
const SID_COOKIE: &str = "kdservice-sessionid";

#[derive(Debug, Default, Clone)]
struct Session {
    sid: String,
    cookies: Vec<(String, String)>,
}

/// Kingdee K/3 Cloud WebAPI client (cheap to clone).
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

impl std::fmt::Debug for Client {
    /// Settings only (secrets print as `***`); never the session id.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("settings", &self.inner.settings)
            .finish_non_exhaustive()
    }
}

struct Inner {
    http: reqwest::Client,
    settings: ClientSettings,
    base: String,
    session: Mutex<Option<Session>>,
}

fn error_chain(e: &reqwest::Error) -> String {
    let mut s = e.to_string();
    let mut src = e.source();
    while let Some(inner) = src {
        s.push_str(": ");
        s.push_str(&inner.to_string());
        src = inner.source();
    }
    s
}

impl Client {
    /// Builds the client. TLS certificates are verified unless `accept_invalid_certs` is set;
    /// `ca_file` adds CA certificates and pins the server's own (see `tls`).
    pub fn new(settings: ClientSettings) -> Result<Client, SinkError> {
        let mut builder = crate::http::client_builder()
            .connect_timeout(settings.connect_timeout)
            .timeout(settings.timeout)
            .user_agent(concat!("ferry/", env!("CARGO_PKG_VERSION")));
        if settings.accept_invalid_certs {
            builder = builder.danger_accept_invalid_certs(true);
        } else if let Some(path) = &settings.ca_file {
            let certs = super::tls::read_certificates(path).map_err(SinkError::Permanent)?;
            let config = super::tls::client_config(certs, path).map_err(SinkError::Permanent)?;
            builder = builder.use_preconfigured_tls(config);
        }
        let http = builder.build().map_err(|e| {
            SinkError::Permanent(format!(
                "cannot build the Kingdee HTTP client: {}",
                error_chain(&e)
            ))
        })?;
        let mut base = settings.base_url.trim().to_string();
        if !base.ends_with('/') {
            base.push('/');
        }
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                settings,
                base,
                session: Mutex::new(None),
            }),
        })
    }

    pub fn settings(&self) -> &ClientSettings {
        &self.inner.settings
    }

    fn uses_login(&self) -> bool {
        !matches!(self.inner.settings.auth, Auth::Signed { .. })
    }

    fn transport_error(&self, e: &reqwest::Error, op: Op) -> SinkError {
        let detail = error_chain(e);
        if e.is_connect() {
            SinkError::Transient(format!(
                "cannot connect to Kingdee at {}: {detail}",
                self.inner.base
            ))
        } else if e.is_builder() {
            SinkError::Permanent(format!("bad Kingdee request: {detail}"))
        } else if op == Op::Read {
            SinkError::Transient(format!("Kingdee query failed: {detail}"))
        } else if e.is_timeout() {
            SinkError::Uncertain(format!(
                "no reply from Kingdee within {:?} after the request was sent; it may have been applied: {detail}",
                self.inner.settings.timeout
            ))
        } else {
            SinkError::Uncertain(format!(
                "connection to Kingdee lost after the request was sent; it may have been applied: {detail}"
            ))
        }
    }

    fn absorb_cookies(&self, headers: &HeaderMap) {
        let mut got: Vec<(String, String)> = Vec::new();
        for v in headers.get_all(SET_COOKIE) {
            let Ok(text) = v.to_str() else { continue };
            let first = text.split(';').next().unwrap_or("");
            if let Some((name, value)) = first.split_once('=') {
                got.push((name.trim().to_string(), value.trim().to_string()));
            }
        }
        if got.is_empty() {
            return;
        }
        let mut guard = self.inner.session.lock();
        let session = guard.get_or_insert_with(Session::default);
        for (name, value) in got {
            if name.eq_ignore_ascii_case(SID_COOKIE) && !value.is_empty() {
                session.sid = value.clone();
            }
            session.cookies.retain(|(n, _)| n != &name);
            session.cookies.push((name, value));
        }
    }

    fn header_map(&self, url: &str) -> HeaderMap {
        let mut pairs: Vec<(String, String)> = vec![
            ("Content-Type".into(), "application/json".into()),
            ("Accept-Charset".into(), "utf-8".into()),
        ];
        if let Auth::Signed { app_id, app_secret } = &self.inner.settings.auth {
            pairs.extend(signed_headers(
                app_id,
                app_secret.expose(),
                &self.inner.settings.acct_id,
                &self.inner.settings.user,
                self.inner.settings.lcid,
                &self.inner.settings.org_num,
                url,
                crate::time::now_unix(),
            ));
        }
        if let Some(s) = self.inner.session.lock().as_ref() {
            if !s.sid.is_empty() {
                pairs.push((SID_COOKIE.into(), s.sid.clone()));
            }
            if !s.cookies.is_empty() {
                let c: Vec<String> = s.cookies.iter().map(|(n, v)| format!("{n}={v}")).collect();
                pairs.push(("Cookie".into(), c.join("; ")));
            }
        }
        let mut map = HeaderMap::new();
        for (k, v) in pairs {
            if let (Ok(k), Ok(v)) = (
                HeaderName::from_bytes(k.as_bytes()),
                HeaderValue::from_str(&v),
            ) {
                map.insert(k, v);
            }
        }
        map
    }

    /// One POST; returns the HTTP status and body.
    async fn post(&self, service: &str, body: &Value, op: Op) -> Result<(u16, Body), SinkError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| SinkError::Permanent(format!("cannot encode the request: {e}")))?;
        self.post_bytes(service, bytes, op).await
    }

    /// One POST of an encoded body.
    async fn post_bytes(
        &self,
        service: &str,
        bytes: Vec<u8>,
        op: Op,
    ) -> Result<(u16, Body), SinkError> {
        let url = format!("{}{service}.common.kdsvc", self.inner.base);
        let resp = self
            .inner
            .http
            .post(&url)
            .headers(self.header_map(&url))
            .body(bytes)
            .send()
            .await
            .map_err(|e| self.transport_error(&e, op))?;
        let status = resp.status().as_u16();
        let method = service.rsplit('.').next().unwrap_or(service);
        if let Some(m) = crate::http::redirect(status, resp.headers()) {
            // Whatever the operation, nothing was applied: a redirect is answered instead.
            return Err(SinkError::Permanent(format!(
                "Kingdee ({}) answered {method} with {m}",
                self.inner.base
            )));
        }
        self.absorb_cookies(resp.headers());
        match crate::http::read_body(resp, self.inner.settings.max_response_mb).await {
            Ok(body) => Ok((status, body)),
            Err(crate::http::BodyError::Read(e)) => Err(self.transport_error(&e, op)),
            Err(too_large) => {
                let m = format!("Kingdee's answer to {method} was refused: {too_large}");
                Err(if op == Op::Write {
                    SinkError::Uncertain(format!("{m}; the save may have been applied"))
                } else {
                    SinkError::Transient(m)
                })
            }
        }
    }

    /// What a reply means (the body is parsed within its memory budget).
    fn classify(&self, status: u16, body: &Body, op: Op) -> Reply {
        let limit = body.limit();
        match std::str::from_utf8(&body.bytes) {
            Ok(text) => classify_reply_within(status, text, op, limit),
            // Not UTF-8, so not Kingdee's JSON: classified on its start (never copied whole).
            Err(_) => {
                let start = String::from_utf8_lossy(&body.bytes[..body.bytes.len().min(1024)]);
                classify_reply_within(status, &start, op, limit)
            }
        }
    }

    /// Session login for the Password / AppSecret / Sign modes (no-op for Signed).
    pub async fn login(&self) -> Result<(), SinkError> {
        let s = &self.inner.settings;
        let (service, params) = match &s.auth {
            Auth::Signed { .. } => return Ok(()),
            Auth::Password { password } => (
                "ValidateUser",
                json!([s.acct_id, s.user, password.expose(), s.lcid]),
            ),
            Auth::AppSecret { app_id, app_secret } => (
                "LoginByAppSecret",
                json!([s.acct_id, s.user, app_id, app_secret.expose(), s.lcid]),
            ),
            Auth::Sign { app_id, app_secret } => {
                let ts = crate::time::now_unix();
                let sign =
                    login_by_sign_signature(&s.acct_id, &s.user, app_id, app_secret.expose(), ts);
                (
                    "LoginBySign",
                    json!([s.acct_id, s.user, app_id, ts, sign, s.lcid]),
                )
            }
        };
        *self.inner.session.lock() = None;
        let body = json!({ "parameters": params });
        let (status, reply) = self
            .post(&format!("{AUTH_SERVICE}{service}"), &body, Op::Read)
            .await?;
        let value = match self.classify(status, &reply, Op::Read) {
            Reply::Ok(v) => v,
            Reply::Failed(e) => return Err(e),
            Reply::SessionLost(m) => {
                return Err(SinkError::Permanent(format!(
                    "Kingdee refused the {service} login of user {}: {m}",
                    s.user
                )))
            }
        };
        let result_type = value
            .get("LoginResultType")
            .and_then(Value::as_i64)
            .unwrap_or(i64::MIN);
        if result_type != 1 {
            let msg = value
                .get("Message")
                .and_then(Value::as_str)
                .unwrap_or("no message");
            let what = match result_type {
                0 => "wrong user name or password",
                -1 => "login failed",
                -2 | -3 => "password expired",
                i64::MIN => "the reply is not a login result",
                _ => "login not completed",
            };
            return Err(SinkError::Permanent(format!(
                "Kingdee refused the {service} login of user {} to account set {} ({what}, LoginResultType {result_type}): {msg}",
                s.user, s.acct_id
            )));
        }
        if let Some(sid) = value.get("KDSVCSessionId").and_then(Value::as_str) {
            if !sid.is_empty() {
                let mut guard = self.inner.session.lock();
                let session = guard.get_or_insert_with(Session::default);
                session.sid = sid.to_string();
            }
        }
        tracing::debug!(service, "logged in to Kingdee");
        Ok(())
    }

    fn has_session(&self) -> bool {
        self.inner
            .session
            .lock()
            .as_ref()
            .is_some_and(|s| !s.sid.is_empty())
    }

    /// One DynamicFormService call with session handling. MsgCode 1 (会话信息已丢失) means the
    /// server refused the call before running it, so after a new login (or, with signed headers,
    /// without the stale session id) the call is sent once more, writes included. A write whose
    /// outcome is unknown (timeout, dropped connection) is never re-sent: `Uncertain`.
    pub(super) async fn call(
        &self,
        method: &str,
        body: &Value,
        op: Op,
    ) -> Result<Value, SinkError> {
        let bytes = serde_json::to_vec(body)
            .map_err(|e| SinkError::Permanent(format!("cannot encode the request: {e}")))?;
        self.call_bytes(method, bytes, op).await
    }

    /// `call` with the body already encoded.
    pub(super) async fn call_bytes(
        &self,
        method: &str,
        body: Vec<u8>,
        op: Op,
    ) -> Result<Value, SinkError> {
        let service = format!("{FORM_SERVICE}{method}");
        let mut relogged = false;
        loop {
            if self.uses_login() && !self.has_session() {
                self.login().await?;
            }
            // A resend after a new login is rare; the copy keeps `body` for it.
            let (status, reply) = self.post_bytes(&service, body.clone(), op).await?;
            match self.classify(status, &reply, op) {
                Reply::Ok(v) => return Ok(v),
                Reply::Failed(e) => return Err(e),
                Reply::SessionLost(msg) => {
                    *self.inner.session.lock() = None;
                    if relogged && !self.uses_login() {
                        return Err(SinkError::Permanent(format!(
                            "Kingdee refused the signed headers (MsgCode 1: {msg}): check [kingdee] app_id, app_secret, user and lcid"
                        )));
                    }
                    if relogged {
                        return Err(SinkError::Transient(format!(
                            "Kingdee lost the session again after a new login (MsgCode 1): {msg}"
                        )));
                    }
                    tracing::info!(method, "Kingdee session lost (MsgCode 1); logging in again");
                    relogged = true;
                }
            }
        }
    }
}
