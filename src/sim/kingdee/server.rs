//! HTTP handling of the Kingdee simulator: routes `POST .../{service}.common.kdsvc` (JSON or
//! form-urlencoded body) to the login services and the form services, applies the fault profile
//! and session rules, and answers
//! `GET .../_sim/saved?formid=X` for out-of-process tests.

use std::collections::HashMap;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use actix_web::body::{BodySize, MessageBody};
use actix_web::http::header::{HeaderValue, CONTENT_TYPE, COOKIE, SET_COOKIE};
use actix_web::http::{Method, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, HttpResponseBuilder};
use parking_lot::Mutex;
use serde_json::{json, Value};

use super::auth::{check_signed, login, login_object, Creds, Sessions, SignCheck};
use super::db::Db;
use super::envelope::{parse_body, route, Args};
use super::faults::{decide, Fault, Profile};
use super::{forms, query, save};

/// Shared state of one simulator.
pub struct State {
    pub creds: Creds,
    pub db: Mutex<Db>,
    pub sessions: Mutex<Sessions>,
    pub profile: Profile,
    pub seed: u64,
    pub calls: AtomicU64,
    pub reject_duplicates: bool,
    pub save_latency: Duration,
    pub stall: Duration,
}

const SID_COOKIE: &str = "kdservice-sessionid";
const JSON: &str = "application/json; charset=utf-8";

/// A body that fails at once: the connection is dropped without a reply.
struct Broken;

impl MessageBody for Broken {
    type Error = std::io::Error;
    fn size(&self) -> BodySize {
        BodySize::Sized(64)
    }
    fn poll_next(
        self: Pin<&mut Self>,
        _cx: &mut Context<'_>,
    ) -> Poll<Option<Result<web::Bytes, Self::Error>>> {
        Poll::Ready(Some(Err(std::io::Error::new(
            std::io::ErrorKind::ConnectionReset,
            "simulated lost reply",
        ))))
    }
}

fn json_response(mut b: HttpResponseBuilder, v: &Value) -> HttpResponse {
    b.insert_header((CONTENT_TYPE, JSON)).body(v.to_string())
}

fn ok_json(v: &Value) -> HttpResponse {
    json_response(HttpResponse::Ok(), v)
}

/// A server-side exception as K/3 Cloud reports it (HTTP 200, `response_error:` prefix).
fn response_error(msg: &str) -> HttpResponse {
    let body = json!({"Message": msg, "InnerExWrapper": null, "InnerException": null});
    HttpResponse::Ok()
        .insert_header((CONTENT_TYPE, "text/plain; charset=utf-8"))
        .body(format!("response_error:{body}"))
}

/// A failure envelope, wrapped `[[...]]` for ExecuteBillQuery as Kingdee does.
fn failure_for(method: &str, code: i64, msg: &str) -> Value {
    let f = save::failure(code, msg);
    if method == "executebillquery" {
        json!([[f]])
    } else {
        f
    }
}

fn request_sid(req: &HttpRequest) -> Option<String> {
    if let Some(v) = req.headers().get(SID_COOKIE).and_then(|v| v.to_str().ok()) {
        if !v.trim().is_empty() {
            return Some(v.trim().to_string());
        }
    }
    for h in req.headers().get_all(COOKIE) {
        let Ok(text) = h.to_str() else { continue };
        for part in text.split(';') {
            if let Some((k, v)) = part.split_once('=') {
                if k.trim().eq_ignore_ascii_case(SID_COOKIE) && !v.trim().is_empty() {
                    return Some(v.trim().to_string());
                }
            }
        }
    }
    None
}

/// Adds the session cookies (no `expires`: the SDK splits Set-Cookie on commas).
fn with_session(b: &mut HttpResponseBuilder, sid: &str) {
    for c in [
        format!("{SID_COOKIE}={sid}; path=/"),
        format!(
            "ASP.NET_SessionId={}; path=/; HttpOnly",
            &sid[..sid.len().min(24)]
        ),
    ] {
        if let Ok(v) = HeaderValue::from_str(&c) {
            b.append_header((SET_COOKIE, v));
        }
    }
}

/// Every request except `GET _sim/saved`.
pub async fn handle(
    req: HttpRequest,
    body: web::Bytes,
    st: web::Data<State>,
    q: web::Query<HashMap<String, String>>,
) -> HttpResponse {
    if req.method() == Method::GET && req.path().ends_with("/_sim/saved") {
        let form = q.get("formid").map(String::as_str).unwrap_or("");
        return ok_json(&Value::Array(st.db.lock().saved(form)));
    }
    let Some((service, method)) = route(req.path()) else {
        return HttpResponse::NotFound().body("no such service");
    };
    if req.method() != Method::POST {
        return HttpResponse::MethodNotAllowed().body("POST only");
    }
    let content_type = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    let mut args = match parse_body(&body, content_type) {
        Ok(a) => a,
        Err(m) => return response_error(&m),
    };
    let bare = method.strip_suffix('2').unwrap_or(&method).to_string();
    match bare.as_str() {
        "validateuser" | "loginbyappsecret" | "loginbysign" => login_call(&st, &bare, &args),
        "logout" => {
            if let Some(sid) = request_sid(&req) {
                st.sessions.lock().remove(&sid);
            }
            ok_json(&json!(true))
        }
        "getdatacenterlist" => ok_json(&json!([{"Id": st.creds.acct_id,
            "Number": "ferry", "Name": "ferry模拟", "DatabaseType": 3}])),
        _ => form_call(&req, &st, &service, &method, &mut args).await,
    }
}

fn login_call(st: &State, method: &str, args: &Args) -> HttpResponse {
    match login(method, args, &st.creds, crate::time::now_unix()) {
        Ok(()) => {
            let sid = st.sessions.lock().new_sid();
            let mut b = HttpResponse::Ok();
            with_session(&mut b, &sid);
            json_response(b, &login_object(Ok(&sid), &st.creds))
        }
        Err((code, msg)) => ok_json(&login_object(Err((code, &msg)), &st.creds)),
    }
}

fn is_write(method: &str) -> bool {
    matches!(
        method,
        "save" | "batchsave" | "draft" | "submit" | "audit" | "unaudit" | "delete"
    )
}

async fn form_call(
    req: &HttpRequest,
    st: &State,
    service: &str,
    method: &str,
    args: &mut Args,
) -> HttpResponse {
    let write = is_write(method);
    let n = st.calls.fetch_add(1, Ordering::Relaxed);
    let d = decide(st.profile, st.seed, n, write);
    if !d.delay.is_zero() {
        tokio::time::sleep(d.delay).await;
    }
    match d.fault {
        Some(Fault::Stall) => {
            tokio::time::sleep(st.stall).await;
            return HttpResponse::ServiceUnavailable()
                .body("Service Unavailable (simulated stall)");
        }
        Some(Fault::Http(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::BAD_GATEWAY);
            return HttpResponse::build(status)
                .insert_header((CONTENT_TYPE, "text/html"))
                .body(format!(
                    "<html><head><title>{code}</title></head><body><h1>HTTP Error {code}</h1>(simulated)</body></html>"
                ));
        }
        Some(Fault::ResponseError) => {
            return response_error("服务器繁忙，请稍后再试 (simulated server exception)");
        }
        Some(Fault::RateLimited) => {
            return ok_json(&failure_for(
                method,
                14,
                "接口调用次数超过限制，请稍后再试 (simulated)",
            ));
        }
        Some(Fault::SessionLost) => st.sessions.lock().drop_all(),
        Some(Fault::LostReply) | None => {}
    }
    // Sessions: a live SID is accepted as is; otherwise signed headers are verified and a new
    // session issued; otherwise MsgCode 1.
    let mut new_sid = None;
    let known = request_sid(req).is_some_and(|s| st.sessions.lock().valid(&s));
    if !known {
        let get = |k: &str| {
            req.headers()
                .get(k)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        match check_signed(&get, &st.creds, crate::time::now_unix()) {
            SignCheck::Ok => new_sid = Some(st.sessions.lock().new_sid()),
            SignCheck::WrongAcct => {
                return HttpResponse::InternalServerError().body("Fail to verify thirty passport")
            }
            SignCheck::Absent | SignCheck::Bad(_) => {
                return ok_json(&failure_for(method, 1, "会话信息已丢失，请重新登录"));
            }
        }
    }
    if matches!(method, "save" | "batchsave") && !st.save_latency.is_zero() {
        tokio::time::sleep(st.save_latency).await;
    }
    let value = match dispatch(st, service, method, args) {
        Ok(v) => v,
        Err(m) => return response_error(&m),
    };
    let mut b = HttpResponse::Ok();
    if let Some(sid) = &new_sid {
        with_session(&mut b, sid);
    }
    if d.fault == Some(Fault::LostReply) && write {
        tokio::time::sleep(st.stall).await;
        return b.insert_header((CONTENT_TYPE, JSON)).body(Broken);
    }
    json_response(b, &value)
}

fn dispatch(st: &State, service: &str, method: &str, args: &mut Args) -> Result<Value, String> {
    match method {
        "save" | "batchsave" => {
            let (form, data) = args.form_and_data();
            let mut db = st.db.lock();
            save::save(
                &mut db,
                &form,
                data,
                method == "batchsave",
                st.reject_duplicates,
            )
        }
        "executebillquery" | "billquery" => {
            let data = args.query_data();
            let db = st.db.lock();
            Ok(match query::run(&db, &data) {
                Ok((_, rows)) if method == "executebillquery" => {
                    Value::Array(rows.into_iter().map(Value::Array).collect())
                }
                Ok((keys, rows)) => query::as_objects(&keys, rows),
                Err((code, msg)) => failure_for(method, code, &msg),
            })
        }
        "view" => {
            let (form, data) = args.form_and_data();
            let Some(table) = forms::find(&form) else {
                return Ok(save::failure(4, &forms::unknown_form_message(form.trim())));
            };
            let db = st.db.lock();
            Ok(match query::view(&db, table, &data) {
                Some(bill) => json!({"Result": {"ResponseStatus": {"IsSuccess": true,
                    "Errors": [], "SuccessEntitys": [], "SuccessMessages": [], "MsgCode": 0},
                    "Result": bill}}),
                None => save::failure(10, "未找到对应的数据，或者已被删除。"),
            })
        }
        _ => Ok(save::failure(4, &format!("模拟器不支持服务“{service}”"))),
    }
}
