//! The admin routes. Every handler but `/healthz` takes [`Authorized`]; store work runs on the
//! blocking pool.

use actix_web::http::{header, StatusCode};
use actix_web::{web, HttpRequest, HttpResponse, ResponseError};
use serde::Deserialize;
use serde_json::{json, Value};

use super::auth::Authorized;
use super::{views, AdminState};
use crate::pipeline::{scheduler, writer};
use crate::store::{Store, StoreError};
use crate::time::{format_beijing, now_unix};

/// An answer that is not 2xx, as `{"error": "..."}`.
#[derive(Debug, thiserror::Error)]
pub enum ApiError {
    #[error("this needs the admin token ([admin] token in config.toml)")]
    Unauthorized,
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    NotFound(String),
    #[error("{0}")]
    Conflict(String),
    #[error("{0}")]
    Internal(String),
}

impl ResponseError for ApiError {
    fn status_code(&self) -> StatusCode {
        match self {
            ApiError::Unauthorized => StatusCode::UNAUTHORIZED,
            ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
            ApiError::NotFound(_) => StatusCode::NOT_FOUND,
            ApiError::Conflict(_) => StatusCode::CONFLICT,
            ApiError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        }
    }

    fn error_response(&self) -> HttpResponse {
        let mut r = HttpResponse::build(self.status_code());
        if matches!(self, ApiError::Unauthorized) {
            r.insert_header((header::WWW_AUTHENTICATE, "Basic realm=\"ferry\""));
        }
        r.json(json!({ "error": self.to_string() }))
    }
}

impl From<StoreError> for ApiError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::NotFound(id) => ApiError::NotFound(format!("no entry #{id}")),
            StoreError::InvalidTransition { .. } | StoreError::LineKeyConflict { .. } => {
                ApiError::Conflict(e.to_string())
            }
            other => ApiError::Internal(format!("store: {other}")),
        }
    }
}

type Data = web::Data<AdminState>;

pub fn configure(cfg: &mut web::ServiceConfig) {
    cfg.route("/healthz", web::get().to(healthz))
        .route("/metrics", web::get().to(metrics))
        .route("/api/status", web::get().to(status))
        .route("/api/schemes", web::get().to(schemes))
        .route("/api/snapshot", web::get().to(snapshot))
        .route("/api/queue", web::get().to(queue))
        .route("/api/dlq", web::get().to(dlq_list))
        .route("/api/dlq/{id}", web::get().to(dlq_show))
        .route("/api/dlq/{id}/replay", web::post().to(dlq_replay))
        .route("/api/dlq/{id}/drop", web::post().to(dlq_drop))
        .route("/api/trace", web::get().to(trace))
        .route("/api/schemes/{name}/run", web::post().to(run_now))
        .route("/api/backup", web::post().to(backup))
        .route("/", web::get().to(console))
        .default_service(web::to(not_found));
    for path in super::assets::paths() {
        cfg.route(path, web::get().to(console));
    }
}

/// Runs `f` on the blocking pool with the store.
async fn with_store<T, F>(data: &Data, f: F) -> Result<T, ApiError>
where
    T: Send + 'static,
    F: FnOnce(&Store) -> Result<T, ApiError> + Send + 'static,
{
    let store = data.shared.store.clone();
    web::block(move || f(&store))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))?
}

/// The JSON body of a POST: `application/json`, a JSON object (empty body = `{}`).
fn json_body(req: &HttpRequest, body: &web::Bytes) -> Result<Value, ApiError> {
    let ct = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if !ct
        .trim()
        .to_ascii_lowercase()
        .starts_with("application/json")
    {
        return Err(ApiError::BadRequest(
            "send the request with Content-Type: application/json".into(),
        ));
    }
    if body.iter().all(|b| b.is_ascii_whitespace()) {
        return Ok(json!({}));
    }
    match serde_json::from_slice::<Value>(body) {
        Ok(v @ Value::Object(_)) => Ok(v),
        Ok(_) => Err(ApiError::BadRequest(
            "the body must be a JSON object".into(),
        )),
        Err(e) => Err(ApiError::BadRequest(format!("the body is not JSON: {e}"))),
    }
}

async fn not_found(req: HttpRequest) -> Result<HttpResponse, ApiError> {
    Err(ApiError::NotFound(format!(
        "no such page: {} {}",
        req.method(),
        crate::http::printable(req.path(), 200)
    )))
}

async fn healthz(data: Data) -> HttpResponse {
    let mut problems = Vec::new();
    if !data.writer.connected() {
        problems.push("the Writer has stopped".to_string());
    }
    if !(data.mapper_alive)() {
        problems.push("the Mapper has stopped".to_string());
    }
    for (i, f) in &data.fetchers {
        if !f.connected() {
            let name = &data.shared.config.schemes[*i].name;
            problems.push(format!("the Fetcher of scheme {name} has stopped"));
        }
    }
    let writable = with_store(&data, |s| {
        s.meta_put("admin.health", &now_unix().to_be_bytes())
            .map_err(ApiError::from)
    })
    .await;
    if let Err(e) = writable {
        problems.push(format!("the store cannot be written: {e}"));
    }
    if problems.is_empty() {
        HttpResponse::Ok().json(json!({"ok": true}))
    } else {
        HttpResponse::ServiceUnavailable().json(json!({"ok": false, "reason": problems.join("; ")}))
    }
}

fn active(data: &AdminState) -> Vec<usize> {
    data.fetchers.iter().map(|(i, _)| *i).collect()
}

/// Every scheme's card, read on the blocking pool.
async fn scheme_views(data: &Data) -> Result<Vec<views::SchemeView>, ApiError> {
    let d = data.clone();
    Ok(web::block(move || views::schemes(&d.shared, &active(&d)))
        .await
        .map_err(|e| ApiError::Internal(e.to_string()))??)
}

async fn metrics(_: Authorized, data: Data) -> Result<HttpResponse, ApiError> {
    let views = scheme_views(&data).await?;
    let figures = views::figures(&views, &data.shared);
    let bytes = store_bytes(&data);
    let text = data.shared.telemetry.metrics.render(&figures, bytes);
    Ok(HttpResponse::Ok()
        .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
        .body(text))
}

fn store_bytes(data: &AdminState) -> u64 {
    data.shared.store.size_on_disk().unwrap_or(0)
}

async fn status(_: Authorized, data: Data) -> Result<HttpResponse, ApiError> {
    let d = data.clone();
    let (views, dead_total, problem) = web::block(move || {
        let views = views::schemes(&d.shared, &active(&d))?;
        let dead: u64 = views.iter().map(|v| v.counts.dead).sum();
        let problem = crate::pipeline::tokens::token_problem(&d.shared.store);
        Ok::<_, StoreError>((views, dead, problem))
    })
    .await
    .map_err(|e| ApiError::Internal(e.to_string()))??;
    Ok(HttpResponse::Ok().json(json!({
        "version": env!("CARGO_PKG_VERSION"),
        "pid": std::process::id(),
        "started_at": format_beijing(data.started_at),
        "now": format_beijing(now_unix()),
        "now_unix": now_unix(),
        "admin_url": data.url,
        "store_bytes": store_bytes(&data),
        "jushuitan_token_problem": problem.map(|p| json!({"since": format_beijing(p.since), "detail": p.describe()})),
        "dead_total": dead_total,
        "schemes": views,
    })))
}

async fn schemes(_: Authorized, data: Data) -> Result<HttpResponse, ApiError> {
    let views = scheme_views(&data).await?;
    Ok(HttpResponse::Ok().json(json!({ "schemes": views })))
}

async fn queue(_: Authorized, data: Data) -> Result<HttpResponse, ApiError> {
    let names: Vec<String> = data
        .shared
        .config
        .schemes
        .iter()
        .map(|s| s.name.clone())
        .collect();
    let rows = with_store(&data, move |s| {
        let mut rows = Vec::new();
        for n in names {
            let c = s.counts(&n)?;
            rows.push(json!({
                "scheme": n, "pending": c.pending, "in_flight": c.in_flight,
                "retrying": c.retry, "dead": c.dead, "delivered": c.delivered,
            }));
        }
        Ok(rows)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "schemes": rows })))
}

#[derive(Deserialize)]
struct DlqQuery {
    scheme: Option<String>,
    limit: Option<usize>,
}

async fn dlq_list(
    _: Authorized,
    data: Data,
    q: web::Query<DlqQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let limit = q.limit.unwrap_or(200).min(1000);
    let (total, items) = with_store(&data, move |s| {
        let dead = s.dead_letters(q.scheme.as_deref())?;
        let total = dead.len();
        let items: Vec<Value> = dead.iter().take(limit).map(views::dead_item).collect();
        Ok((total, items))
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "total": total, "items": items })))
}

fn entry_id(raw: &str) -> Result<u64, ApiError> {
    raw.parse::<u64>().map_err(|_| {
        ApiError::BadRequest(format!(
            "`{}` is not an entry number",
            crate::http::printable(raw, 40)
        ))
    })
}

async fn dlq_show(
    _: Authorized,
    data: Data,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let id = entry_id(&id)?;
    let item = with_store(&data, move |s| {
        let e = s
            .get(id)?
            .ok_or(ApiError::NotFound(format!("no entry #{id}")))?;
        Ok(views::entry_detail(s, &e)?)
    })
    .await?;
    Ok(HttpResponse::Ok().json(item))
}

async fn dlq_replay(
    _: Authorized,
    req: HttpRequest,
    body: web::Bytes,
    data: Data,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    json_body(&req, &body)?;
    let id = entry_id(&id)?;
    super::replay::replay(&data, id).await?;
    data.writer.do_send(writer::Wake);
    Ok(HttpResponse::Ok().json(json!({ "replayed": id })))
}

async fn dlq_drop(
    _: Authorized,
    req: HttpRequest,
    body: web::Bytes,
    data: Data,
    id: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&req, &body)?;
    let id = entry_id(&id)?;
    let reason = body
        .get("reason")
        .and_then(Value::as_str)
        .map(str::trim)
        .unwrap_or("")
        .to_string();
    if reason.is_empty() {
        return Err(ApiError::BadRequest(
            "say why the dead letter is dropped: {\"reason\": \"...\"}".into(),
        ));
    }
    if reason.chars().count() > 500 {
        return Err(ApiError::BadRequest(
            "the reason is longer than 500 characters".into(),
        ));
    }
    with_store(&data, move |s| {
        s.drop_dead(id, &reason).map_err(ApiError::from)
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({ "dropped": id })))
}

#[derive(Deserialize)]
struct TraceQuery {
    key: Option<String>,
    scheme: Option<String>,
}

async fn trace(
    _: Authorized,
    data: Data,
    q: web::Query<TraceQuery>,
) -> Result<HttpResponse, ApiError> {
    let q = q.into_inner();
    let key = q.key.unwrap_or_default().trim().to_string();
    if key.is_empty() {
        return Err(ApiError::BadRequest(
            "give the document's key: /api/trace?key=...".into(),
        ));
    }
    let names: Vec<String> = match &q.scheme {
        Some(s) if data.shared.config.scheme(s).is_none() => {
            return Err(ApiError::NotFound(format!("no scheme named {s}")))
        }
        Some(s) => vec![s.clone()],
        None => data
            .shared
            .config
            .schemes
            .iter()
            .map(|s| s.name.clone())
            .collect(),
    };
    let k = key.clone();
    let items = with_store(&data, move |s| {
        views::trace(s, &names, &k).map_err(ApiError::from)
    })
    .await?;
    if items.is_empty() {
        return Err(ApiError::NotFound(format!(
            "nothing is known about a document with key {}",
            crate::http::printable(&key, 80)
        )));
    }
    Ok(HttpResponse::Ok().json(json!({ "items": items })))
}

async fn run_now(
    _: Authorized,
    req: HttpRequest,
    body: web::Bytes,
    data: Data,
    name: web::Path<String>,
) -> Result<HttpResponse, ApiError> {
    json_body(&req, &body)?;
    let name = name.into_inner();
    if data.shared.config.scheme(&name).is_none() {
        return Err(ApiError::NotFound(format!("no scheme named {name}")));
    }
    let sched = data.scheduler.lock().clone();
    let Some(sched) = sched else {
        return Err(ApiError::Conflict(
            "this ferry runs once (`run --once`); schemes are not scheduled".into(),
        ));
    };
    match sched.send(scheduler::RunNow(name.clone())).await {
        Ok(true) => Ok(HttpResponse::Accepted().json(json!({ "started": name }))),
        Ok(false) => Err(ApiError::Conflict(format!(
            "scheme {name} is not run by this ferry (disabled in config.toml)"
        ))),
        Err(e) => Err(ApiError::Internal(format!("scheduler: {e}"))),
    }
}

/// The console's embedded files: scripts and styles only from this origin, never in a frame.
async fn console(_: Authorized, req: HttpRequest) -> Result<HttpResponse, ApiError> {
    let Some((content_type, bytes)) = super::assets::asset(req.path()) else {
        return not_found(req).await;
    };
    Ok(HttpResponse::Ok()
        .content_type(content_type)
        .insert_header((header::CACHE_CONTROL, "no-cache"))
        .insert_header((
            header::CONTENT_SECURITY_POLICY,
            "default-src 'self'; frame-ancestors 'none'",
        ))
        .insert_header((header::X_CONTENT_TYPE_OPTIONS, "nosniff"))
        .body(bytes))
}

/// A consistent copy of the store into a new folder on this machine (`ferry backup` while
/// ferry runs comes here).
async fn backup(
    _: Authorized,
    req: HttpRequest,
    body: web::Bytes,
    data: Data,
) -> Result<HttpResponse, ApiError> {
    let body = json_body(&req, &body)?;
    let path = body
        .get("path")
        .and_then(Value::as_str)
        .unwrap_or("")
        .trim()
        .to_string();
    if path.is_empty() {
        return Err(ApiError::BadRequest(
            "name the folder to write the copy into: {\"path\": \"D:\\\\backup\\\\ferry-1\"}"
                .into(),
        ));
    }
    let path = std::path::PathBuf::from(path);
    if !path.is_absolute() {
        return Err(ApiError::BadRequest(format!(
            "{} is not an absolute path (the service's working folder is not yours)",
            path.display()
        )));
    }
    let report = with_store(&data, move |s| {
        s.backup(&path).map_err(|e| match e {
            StoreError::Backup(m) => ApiError::Conflict(m),
            other => ApiError::from(other),
        })
    })
    .await?;
    Ok(HttpResponse::Ok().json(json!({
        "path": report.path.display().to_string(),
        "bytes": report.bytes,
        "records": report.records,
        "held_ms": report.held_ms,
    })))
}

/// What `ferry status` shows, read now (`ferry status` while ferry runs comes here).
async fn snapshot(_: Authorized, data: Data) -> Result<HttpResponse, ApiError> {
    let d = data.clone();
    let mut snap = with_store(&data, move |s| {
        crate::pipeline::snapshot::collect(&d.shared.config, s, 10).map_err(ApiError::from)
    })
    .await?;
    crate::pipeline::snapshot::add_budget(&mut snap, &data.shared.jst);
    snap.admin_url = Some(data.url.clone());
    Ok(HttpResponse::Ok().json(snap))
}
