//! `[[scheme]]` tables: schedule, retries, source, target, on-change policy and the mapping.

use std::sync::Arc;
use std::time::Duration;

use super::mapping_toml;
use super::reader::{parse_duration, Ctx, Table};
use super::tree::{Kind, Node};
use super::{JushuitanConfig, OnChange, RetryPolicy, Scheme, SourceSpec, TargetSpec};
use crate::mapping::{Mapper, MapperSpec, ScriptEngine, SourcePath};

/// Jushuitan refuses modification windows longer than this.
pub const MAX_WINDOW: Duration = Duration::from_secs(7 * 86400);

/// Default retry delays: a quick first retry, then 20 s, 5 min, 1 h, 4 h, 20 h.
pub fn default_backoff() -> Vec<Duration> {
    [5, 20, 300, 3600, 4 * 3600, 20 * 3600]
        .into_iter()
        .map(Duration::from_secs)
        .collect()
}

const OPERATIONS: &[&str] = &["BatchSave"];

pub(super) fn schemes(
    ctx: &mut Ctx,
    root: &mut Table,
    jst: Option<&JushuitanConfig>,
    engine: &Arc<ScriptEngine>,
) -> Vec<Scheme> {
    let Some(e) = root.get("scheme") else {
        root.missing(ctx, "scheme");
        return Vec::new();
    };
    let nodes: Vec<&Node> = match &e.value.kind {
        Kind::Array(a) => a.iter().collect(),
        Kind::Table(_) => vec![&e.value],
        other => {
            ctx.err(
                &e.value.span,
                "scheme",
                format!("expected [[scheme]] tables, found {}", other.type_name()),
            );
            return Vec::new();
        }
    };
    let mut out: Vec<Scheme> = Vec::new();
    for (i, node) in nodes.into_iter().enumerate() {
        if let Some(s) = scheme(ctx, node, i, jst, engine) {
            if out.iter().any(|o| o.name == s.name) {
                ctx.err(
                    &node.span,
                    "name",
                    format!("a scheme named `{}` is defined twice", s.name),
                );
            } else {
                out.push(s);
            }
        }
        ctx.scheme = None;
    }
    out
}

fn scheme(
    ctx: &mut Ctx,
    node: &Node,
    index: usize,
    jst: Option<&JushuitanConfig>,
    engine: &Arc<ScriptEngine>,
) -> Option<Scheme> {
    ctx.scheme = Some(format!("#{}", index + 1));
    let mut t = Table::of(ctx, node, "")?;
    let name = t.req_string(ctx, "name");
    if let Some(n) = &name {
        if n.trim().is_empty() {
            ctx.err(&node.span, "name", "must not be empty");
        } else {
            ctx.scheme = Some(n.clone());
        }
    }
    let enabled = t.bool(ctx, "enabled").unwrap_or(true);
    let every = t.duration(ctx, "every").unwrap_or(Duration::from_secs(300));
    if every < Duration::from_secs(1) {
        let span = t
            .get("every")
            .map(|e| e.value.span.clone())
            .unwrap_or_default();
        ctx.err(&span, "every", "must be at least 1s");
    }
    let on_change = match t.string(ctx, "on_change").as_deref() {
        None | Some("record") => Some(OnChange::Record),
        Some("dead_letter") => Some(OnChange::DeadLetter),
        Some(other) => {
            let span = t
                .get("on_change")
                .map(|e| e.value.span.clone())
                .unwrap_or_default();
            ctx.err(
                &span,
                "on_change",
                format!("unknown policy `{other}` (use \"record\" or \"dead_letter\")"),
            );
            None
        }
    };
    let precondition = match t.raw_string(ctx, "precondition") {
        Some((src, n)) => match engine.compile_expression(&src) {
            Ok(s) => Some(s),
            Err(m) => {
                ctx.err(&n.span, "precondition", m);
                None
            }
        },
        None => None,
    };
    let retry = retry(ctx, &mut t);
    let source = match t.table(ctx, "source") {
        Some(s) => source(ctx, s, jst),
        None => {
            t.missing(ctx, "source");
            None
        }
    };
    let target = match t.table(ctx, "target") {
        Some(s) => target(ctx, s),
        None => {
            t.missing(ctx, "target");
            None
        }
    };
    let fields = match t.table(ctx, "mapping") {
        Some(mut m) => {
            let entries = m.take_all();
            let f = mapping_toml::fields(ctx, entries, "mapping", engine, false);
            if let Some(tg) = &target {
                if !entries.iter().any(|e| e.key == tg.identity_field) {
                    ctx.err(
                        &m.span,
                        "mapping",
                        format!(
                            "the mapping must produce the identity field `{}` (target.identity_field)",
                            tg.identity_field
                        ),
                    );
                }
            }
            Some(f)
        }
        None => {
            t.missing(ctx, "mapping");
            None
        }
    };
    t.finish(ctx);
    let (source, target, fields, name) = (source?, target?, fields?, name?);
    let key = SourcePath::parse(&source.key, false).ok()?;
    let lines = match &source.lines {
        Some(l) => Some(SourcePath::parse(l, false).ok()?),
        None => None,
    };
    let line_key = match &source.line_key {
        Some(l) => Some(SourcePath::parse(&format!("item.{l}"), true).ok()?),
        None => None,
    };
    let mapper = Mapper::new(MapperSpec {
        scheme: name.clone(),
        engine: engine.clone(),
        key,
        lines,
        line_key,
        identity_field: target.identity_field.clone(),
        precondition,
        fields,
    });
    Some(Scheme {
        name,
        enabled,
        every,
        retry: retry?,
        source,
        target,
        on_change: on_change?,
        mapper: Arc::new(mapper),
    })
}

fn retry(ctx: &mut Ctx, t: &mut Table) -> Option<RetryPolicy> {
    let mut policy = RetryPolicy {
        max_attempts: 7,
        backoff: default_backoff(),
    };
    let Some(mut r) = t.table(ctx, "retry") else {
        return Some(policy);
    };
    let mut ok = true;
    if let Some(n) = r.int(ctx, "max_attempts", 1, 1000) {
        policy.max_attempts = n as u32;
    }
    if let Some(e) = r.get("backoff") {
        match &e.value.kind {
            Kind::Array(items) if !items.is_empty() => {
                let mut steps = Vec::new();
                for (i, n) in items.iter().enumerate() {
                    match parse_duration(ctx, n, &format!("retry.backoff[{i}]")) {
                        Some(d) => steps.push(d),
                        None => ok = false,
                    }
                }
                policy.backoff = steps;
            }
            _ => {
                ctx.err(
                    &e.value.span,
                    "retry.backoff",
                    "expected a non-empty list of durations like [\"20s\", \"5m\", \"1h\"]",
                );
                ok = false;
            }
        }
    }
    r.finish(ctx);
    ok.then_some(policy)
}

fn source(ctx: &mut Ctx, mut s: Table, jst: Option<&JushuitanConfig>) -> Option<SourceSpec> {
    let api = s.req_string(ctx, "api");
    if let Some(a) = &api {
        let valid = !a.is_empty()
            && a.split('.')
                .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
        if !valid {
            let span = s
                .get("api")
                .map(|e| e.value.span.clone())
                .unwrap_or_default();
            ctx.err(
                &span,
                "source.api",
                format!("`{a}` is not an API name like \"other.inout.query\""),
            );
        }
    }
    let params = match s.get("params") {
        Some(e) => match e.value.to_json() {
            serde_json::Value::Object(m) => Some(m),
            _ => {
                ctx.err(
                    &e.value.span,
                    "source.params",
                    "expected a table of fixed parameters",
                );
                None
            }
        },
        None => Some(serde_json::Map::new()),
    };
    let window = s.duration(ctx, "window");
    let start_from = match s.get("start_from") {
        Some(e) => {
            let text = match &e.value.kind {
                Kind::Str(t) | Kind::Datetime(t) => Some(t.clone()),
                other => {
                    ctx.err(
                        &e.value.span,
                        "source.start_from",
                        format!(
                            "expected a time like \"2026-09-01 00:00:00\", found {}",
                            other.type_name()
                        ),
                    );
                    None
                }
            };
            match text.map(|t| (crate::time::parse_beijing(&t), t)) {
                Some((Ok(v), _)) => Some(v),
                Some((Err(err), t)) => {
                    ctx.err(
                        &e.value.span,
                        "source.start_from",
                        format!("`{t}` is not a Beijing time like \"2026-09-01 00:00:00\": {err}"),
                    );
                    None
                }
                None => None,
            }
        }
        None => None,
    };
    let span = s.span.clone();
    let (window, start_from) = match (window, start_from) {
        (Some(w), Some(st)) => {
            if w.is_zero() || w > MAX_WINDOW {
                let sp = s
                    .get("window")
                    .map(|e| e.value.span.clone())
                    .unwrap_or(span.clone());
                ctx.err(
                    &sp,
                    "source.window",
                    "must be more than 0 and at most 7 days (Jushuitan refuses longer windows)",
                );
            }
            (w, st)
        }
        (None, None) => (Duration::ZERO, 0),
        (Some(_), None) => {
            ctx.err(
                &span,
                "source.start_from",
                "a windowed source needs start_from (the first time to fetch from)",
            );
            (Duration::ZERO, 0)
        }
        (None, Some(_)) => {
            ctx.err(
                &span,
                "source.window",
                "start_from needs a window size (at most \"7d\")",
            );
            (Duration::ZERO, 0)
        }
    };
    let overlap = s.duration(ctx, "overlap").unwrap_or(if window.is_zero() {
        Duration::ZERO
    } else {
        Duration::from_secs(600)
    });
    if !window.is_zero() && overlap >= window {
        let sp = s
            .get("overlap")
            .map(|e| e.value.span.clone())
            .unwrap_or(span.clone());
        ctx.err(&sp, "source.overlap", "must be shorter than the window");
    }
    let list_key = s.string(ctx, "list_key").unwrap_or_else(|| "datas".into());
    let cap = match (&api, jst) {
        (Some(a), Some(j)) => j.page_cap(a),
        _ => super::DEFAULT_PAGE_CAP,
    };
    let page_size = s
        .int(ctx, "page_size", 1, 10_000)
        .map(|v| v as u32)
        .unwrap_or(cap);
    if page_size > cap {
        let sp = s
            .get("page_size")
            .map(|e| e.value.span.clone())
            .unwrap_or(span.clone());
        ctx.err(
            &sp,
            "source.page_size",
            format!("{page_size} is over the API's page size cap of {cap}"),
        );
    }
    let key = path_key(ctx, &mut s, "key", false).or_else(|| {
        s.missing(ctx, "key");
        None
    });
    let lines = path_key(ctx, &mut s, "lines", false);
    let line_key = path_key(ctx, &mut s, "line_key", true);
    if line_key.is_some() != lines.is_some() {
        ctx.err(
            &span,
            "source.line_key",
            "`lines` and `line_key` go together (e.g. lines = \"items\", line_key = \"ioi_id\")",
        );
    }
    s.finish(ctx);
    Some(SourceSpec {
        api: api?,
        params: params?,
        start_from,
        window,
        overlap,
        list_key,
        page_size,
        key: key?,
        lines,
        line_key,
    })
}

/// A source path setting, checked for syntax.
fn path_key(ctx: &mut Ctx, s: &mut Table, key: &'static str, in_row: bool) -> Option<String> {
    let (text, node) = s.raw_string(ctx, key)?;
    let p = text.strip_prefix('$').unwrap_or(&text).to_string();
    let check = if in_row {
        format!("item.{p}")
    } else {
        p.clone()
    };
    match SourcePath::parse(&check, in_row) {
        Ok(_) => Some(p),
        Err(m) => {
            ctx.err(&node.span, &s.field(key), m);
            None
        }
    }
}

fn target(ctx: &mut Ctx, mut s: Table) -> Option<TargetSpec> {
    let form_id = s.req_string(ctx, "form_id");
    let operation = s
        .string(ctx, "operation")
        .unwrap_or_else(|| "BatchSave".into());
    if !OPERATIONS.contains(&operation.as_str()) {
        let span = s
            .get("operation")
            .map(|e| e.value.span.clone())
            .unwrap_or_default();
        ctx.err(
            &span,
            "target.operation",
            format!(
                "unsupported operation `{operation}` (supported: {})",
                OPERATIONS.join(", ")
            ),
        );
    }
    let batch_size = s.int(ctx, "batch_size", 1, 1000).map_or(50, |v| v as usize);
    let options = match s.get("options") {
        Some(e) => match e.value.to_json() {
            serde_json::Value::Object(m) => Some(m),
            _ => {
                ctx.err(
                    &e.value.span,
                    "target.options",
                    "expected a table of save options",
                );
                None
            }
        },
        None => Some(serde_json::Map::new()),
    };
    let identity_field = s
        .string(ctx, "identity_field")
        .unwrap_or_else(|| "FBillNo".into());
    let id_field = s.string(ctx, "id_field").unwrap_or_else(|| "FID".into());
    s.finish(ctx);
    Some(TargetSpec {
        form_id: form_id?,
        operation,
        batch_size,
        options: options?,
        identity_field,
        id_field,
    })
}
