//! `[[scheme]]` tables: schedule, retries, source, target, on-change policy and the mapping.

use std::sync::Arc;
use std::time::Duration;

use super::connections::PageCaps;
use super::mapping_toml;
use super::reader::{parse_duration, Ctx, Table};
use super::source::source;
use super::tree::{line_col, Kind, Node};
use super::{OnChange, RetryPolicy, Scheme, TargetSpec};
use crate::mapping::{Mapper, MapperSpec, ScriptEngine, SourcePath};

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
    caps: &PageCaps,
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
    // Names seen so far, with their line: a second scheme of the same name is a mistake even
    // when either has mistakes of its own.
    let mut names: Vec<(String, usize)> = Vec::new();
    for (i, node) in nodes.into_iter().enumerate() {
        if let Some(s) = scheme(ctx, node, i, &mut names, caps, engine) {
            out.push(s);
        }
        ctx.scheme = None;
    }
    out
}

fn scheme(
    ctx: &mut Ctx,
    node: &Node,
    index: usize,
    names: &mut Vec<(String, usize)>,
    caps: &PageCaps,
    engine: &Arc<ScriptEngine>,
) -> Option<Scheme> {
    ctx.scheme = Some(format!("#{}", index + 1));
    let mut t = Table::of(ctx, node, "")?;
    let name = t.req_string(ctx, "name");
    let mut duplicate = false;
    if let Some(n) = &name {
        if n.trim().is_empty() {
            ctx.err(&node.span, "name", "must not be empty");
        } else {
            ctx.scheme = Some(n.clone());
            let span = t
                .get("name")
                .map(|e| e.value.span.clone())
                .unwrap_or(node.span.clone());
            match names.iter().find(|(m, _)| m == n) {
                Some((_, first)) => {
                    duplicate = true;
                    ctx.err(
                        &span,
                        "name",
                        format!(
                            "a scheme named `{n}` is defined twice (first on line {first}); \
                             scheme names must be unique"
                        ),
                    );
                }
                None => names.push((n.clone(), line_col(ctx.text, span.start).0)),
            }
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
    let source = required_table(ctx, &mut t, "source").and_then(|s| source(ctx, s, caps));
    let target = required_table(ctx, &mut t, "target").and_then(|s| target(ctx, s));
    let fields = match required_table(ctx, &mut t, "mapping") {
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
        None => None,
    };
    t.finish(ctx);
    if duplicate {
        return None;
    }
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

/// A sub-table that must be there: "missing" when absent (a value that is not a table is
/// reported as such, not as missing).
fn required_table<'n>(ctx: &mut Ctx, t: &mut Table<'n>, key: &'static str) -> Option<Table<'n>> {
    let present = t.has(key);
    let table = t.table(ctx, key);
    if !present {
        t.missing(ctx, key);
    }
    table
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
                    let field = format!("retry.backoff[{i}]");
                    match parse_duration(ctx, n, &field) {
                        Some(d) if d.is_zero() => {
                            ctx.err(
                                &n.span,
                                &field,
                                "must be more than 0 (a retry right away meets the same failure \
                                 and uses up the attempts)",
                            );
                            ok = false;
                        }
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
    let options = s.json_table(ctx, "options", "a table of save options");
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
