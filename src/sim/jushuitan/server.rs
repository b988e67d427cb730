//! HTTP side of the simulator: one handler for every path. Counts and limits requests, injects
//! faults, checks the common parameters (app_key, sign, timestamp, access_token) and routes to
//! the token endpoints or the query APIs. Answers are HTTP 200 with the JSON envelope
//! `{"code","msg","data"}` unless a fault says otherwise.

use std::path::PathBuf;
use std::time::{Duration, Instant};

use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse};
use md5::{Digest, Md5};
use parking_lot::{Mutex, RwLock};
use serde_json::Value;

use super::apis;
use super::faults::{Fault, Faults};
use super::query;
use super::rate::Rates;
use super::state::{IssuedRefresh, IssuedToken, State, TokenBook};
use crate::sim::form::decode_form;
use crate::time::now_unix;

/// Everything the handlers share.
pub struct Shared {
    pub app_key: String,
    pub app_secret: String,
    pub per_second: usize,
    pub per_minute: usize,
    pub token_ttl: i64,
    pub max_skew: i64,
    pub sign_error_code: i64,
    pub hang: Duration,
    pub state_dir: Option<PathBuf>,
    pub state: RwLock<State>,
    pub tokens: Mutex<TokenBook>,
    pub rates: Mutex<Rates>,
    pub faults: Mutex<Faults>,
    /// Token requests answered: getInitToken/accessToken, refreshToken.
    pub init_calls: std::sync::atomic::AtomicU64,
    pub refresh_calls: std::sync::atomic::AtomicU64,
    /// Documents live mode created and changed.
    pub live_counts: super::live::LiveCounts,
}

/// Outcome of a call: code, message and (on success) the `data` JSON text.
type Answer = (i64, String, Option<String>);

fn fail(code: i64, msg: impl Into<String>) -> Answer {
    (code, msg.into(), None)
}

fn envelope((code, msg, data): Answer) -> HttpResponse {
    let msg = Value::String(if code == 0 {
        "执行成功".into()
    } else {
        msg
    });
    let body = format!(
        r#"{{"code":{code},"msg":{msg},"data":{}}}"#,
        data.as_deref().unwrap_or("null")
    );
    HttpResponse::Ok()
        .content_type("application/json; charset=utf-8")
        .body(body)
}

/// The simulator's own signature check (independent of the client's implementation).
fn signature(secret: &str, form: &[(String, String)]) -> String {
    let mut p: Vec<&(String, String)> = form.iter().filter(|(k, _)| k != "sign").collect();
    p.sort_by(|a, b| a.0.cmp(&b.0));
    let mut h = Md5::new();
    h.update(secret.as_bytes());
    for (k, v) in p {
        h.update(k.as_bytes());
        h.update(v.as_bytes());
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn field<'a>(form: &'a [(String, String)], key: &str) -> Option<&'a str> {
    form.iter().find(|(k, _)| k == key).map(|(_, v)| v.as_str())
}

/// Checks app_key, the presence of `required`, the signature and the timestamp.
fn verify(s: &Shared, form: &[(String, String)], required: &[&str]) -> Result<(), Answer> {
    for key in required {
        if field(form, key).is_none_or(|v| v.is_empty()) {
            return Err(fail(130, format!("入参缺少{key}")));
        }
    }
    if field(form, "app_key") != Some(s.app_key.as_str()) {
        return Err(fail(s.sign_error_code, "验证失败!无效的app_key"));
    }
    if field(form, "sign") != Some(signature(&s.app_secret, form).as_str()) {
        return Err(fail(s.sign_error_code, "验证失败!无效签名"));
    }
    let ts: i64 = field(form, "timestamp")
        .and_then(|t| t.trim().parse().ok())
        .ok_or_else(|| fail(180, "执行失败!timestamp无效"))?;
    if (now_unix() - ts).abs() > s.max_skew {
        return Err(fail(
            180,
            "执行失败!timestamp无效(与服务器时间相差超过10分钟)",
        ));
    }
    if field(form, "charset").is_some_and(|c| !c.eq_ignore_ascii_case("utf-8")) {
        return Err(fail(
            140,
            "参数不符合规范,请检查传入参数! charset只能为utf-8",
        ));
    }
    Ok(())
}

fn random_token() -> String {
    (0..32)
        .map(|_| char::from_digit(fastrand::u32(..16), 16).unwrap_or('0'))
        .collect()
}

/// Issues a new access and refresh token pair (as an authorization does) and saves the book.
pub fn issue_pair(s: &Shared, book: &mut TokenBook) -> (String, String) {
    let now = now_unix();
    let access = random_token();
    let refresh = random_token();
    book.access.insert(
        access.clone(),
        IssuedToken {
            expires_at: now + s.token_ttl,
            uses: 0,
        },
    );
    book.refresh.insert(
        refresh.clone(),
        IssuedRefresh {
            expires_at: now + 2 * s.token_ttl,
            access_token: access.clone(),
        },
    );
    book.save(s.state_dir.as_deref());
    (access, refresh)
}

fn issue(s: &Shared, book: &mut TokenBook) -> String {
    let (access, refresh) = issue_pair(s, book);
    serde_json::json!({
        "access_token": access,
        "expires_in": s.token_ttl,
        "refresh_token": refresh,
        "scope": "all",
    })
    .to_string()
}

fn init_token(s: &Shared, form: &[(String, String)]) -> Answer {
    let required = [
        "app_key",
        "timestamp",
        "grant_type",
        "charset",
        "code",
        "sign",
    ];
    if let Err(a) = verify(s, form, &required) {
        return a;
    }
    if field(form, "grant_type") != Some("authorization_code") {
        return fail(
            140,
            "参数不符合规范,请检查传入参数! grant_type应为authorization_code",
        );
    }
    s.init_calls
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let mut book = s.tokens.lock();
    (0, String::new(), Some(issue(s, &mut book)))
}

fn refresh_token(s: &Shared, form: &[(String, String)]) -> Answer {
    let required = [
        "app_key",
        "timestamp",
        "grant_type",
        "charset",
        "refresh_token",
        "sign",
    ];
    if let Err(a) = verify(s, form, &required) {
        return a;
    }
    if field(form, "grant_type") != Some("refresh_token") {
        return fail(
            140,
            "参数不符合规范,请检查传入参数! grant_type应为refresh_token",
        );
    }
    s.refresh_calls
        .fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let rt = field(form, "refresh_token").unwrap_or_default();
    let mut book = s.tokens.lock();
    match book.refresh.remove(rt) {
        Some(old) if old.expires_at > now_unix() => {
            book.access.remove(&old.access_token);
            (0, String::new(), Some(issue(s, &mut book)))
        }
        _ => {
            book.save(s.state_dir.as_deref());
            fail(100, "验证失败！无效的refresh_token或refresh_token已过期")
        }
    }
}

fn business(s: &Shared, path: &str, form: &[(String, String)], drop_token: bool) -> Answer {
    let required = [
        "app_key",
        "access_token",
        "timestamp",
        "charset",
        "version",
        "biz",
        "sign",
    ];
    if let Err(a) = verify(s, form, &required) {
        return a;
    }
    if field(form, "version") != Some("2") {
        return fail(140, "参数不符合规范,请检查传入参数! version只能为2");
    }
    let token = field(form, "access_token").unwrap_or_default();
    {
        let mut book = s.tokens.lock();
        let now = now_unix();
        let valid = book.access.get(token).is_some_and(|t| t.expires_at > now);
        if !valid {
            return fail(100, "验证失败！无效的access_token或access_token已过期");
        }
        if drop_token && book.access.get(token).is_some_and(|t| t.uses >= 3) {
            book.access.remove(token);
            book.save(s.state_dir.as_deref());
            return fail(100, "验证失败！无效的access_token或access_token已过期");
        }
        if let Some(t) = book.access.get_mut(token) {
            t.uses += 1;
        }
    }
    let biz: Value = match serde_json::from_str(field(form, "biz").unwrap_or("{}")) {
        Ok(v @ Value::Object(_)) => v,
        _ => {
            return fail(
                140,
                "参数不符合规范,请检查传入参数! biz必须是JSON对象字符串",
            )
        }
    };
    // Recursive: a query does not wait behind live mode waiting to write (the live thread
    // waits instead), so a slow query never holds the others back.
    let state = s.state.read_recursive();
    let result = match path {
        "/open/shops/query" => query::shops(&state.shops, &biz),
        p => match apis::by_path(p).and_then(|a| state.docs_of(a.name).map(|d| (a, d))) {
            Some((api, docs)) => query::documents(api, docs, &biz),
            None => return fail(190, "验证失败!无API权限或接口不存在"),
        },
    };
    match result {
        Ok(data) => (0, String::new(), Some(data)),
        Err(msg) => fail(140, msg),
    }
}

fn http_fault(status: u16) -> HttpResponse {
    let code = StatusCode::from_u16(status).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut r = HttpResponse::build(code);
    match status {
        502 => r
            .content_type("text/html")
            .body("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"),
        503 => r
            .content_type("text/html")
            .body("<html><body><h1>503 Service Temporarily Unavailable</h1></body></html>"),
        _ => r.content_type("text/plain").body("Internal Server Error"),
    }
}

/// The one handler.
pub async fn dispatch(s: web::Data<Shared>, req: HttpRequest, body: web::Bytes) -> HttpResponse {
    let (in_second, in_minute) = s.rates.lock().arrive(Instant::now());
    if req.method() != Method::POST {
        return HttpResponse::MethodNotAllowed()
            .content_type("text/plain")
            .body("only POST is supported");
    }
    if s.per_second > 0 && in_second > s.per_second {
        return envelope(fail(199, "调用太频繁，请稍后再试!"));
    }
    if s.per_minute > 0 && in_minute > s.per_minute {
        return envelope(fail(200, "调用频次超过限制!"));
    }
    let path = req.path().to_string();
    let is_business = path.starts_with("/open/");
    let fault = s.faults.lock().next(is_business);
    let mut drop_token = false;
    match fault {
        None => {}
        Some(Fault::Delay(d)) => actix_rt::time::sleep(d).await,
        Some(Fault::Hang) => actix_rt::time::sleep(s.hang).await,
        Some(Fault::Http(status)) => return http_fault(status),
        Some(Fault::RateLimit(199)) => return envelope(fail(199, "调用太频繁，请稍后再试!")),
        Some(Fault::RateLimit(code)) => return envelope(fail(code, "调用频次超过限制!")),
        Some(Fault::DropToken) => drop_token = true,
    }
    let form = match decode_form(&body) {
        Ok(f) if !f.is_empty() => f,
        Ok(_) => return envelope(fail(130, "传输数据不能为空")),
        Err(e) => return envelope(fail(130, format!("传输数据无法解析: {e}"))),
    };
    let answer = match path.as_str() {
        "/openWeb/auth/getInitToken" | "/openWeb/auth/accessToken" => init_token(&s, &form),
        "/openWeb/auth/refreshToken" => refresh_token(&s, &form),
        p if p.starts_with("/open/") => business(&s, p, &form, drop_token),
        _ => fail(190, "接口不存在"),
    };
    envelope(answer)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_signature_as_the_published_vector() {
        let form: Vec<(String, String)> = [
            ("timestamp", "100"),
            ("app_key", "app"),
            ("charset", "utf-8"),
            ("sign", "x"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        assert_eq!(
            signature("secret", &form),
            "706427ca94e342781ac36d501151cb10"
        );
    }
}
