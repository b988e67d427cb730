//! `[lookups.NAME]` tables and `[scheme.mapping]` → compiled mapping templates
//! (see `crate::mapping` for the syntax).

use std::collections::HashMap;

use super::reader::{Ctx, Table};
use super::tree::{Entry, Kind, Node};
use crate::mapping::{Lookups, ScriptEngine, SourcePath, Template};

pub(super) fn lookups(ctx: &mut Ctx, root: &mut Table) -> Lookups {
    let mut out = Lookups::new();
    let Some(mut t) = root.table(ctx, "lookups") else {
        return out;
    };
    for e in t.take_all() {
        let path = format!("lookups.{}", e.key);
        let Some(mut table) = Table::of(ctx, &e.value, &path) else {
            // Reported; known all the same, so its uses are not reported as undefined too.
            out.insert(e.key.clone(), HashMap::new());
            continue;
        };
        let mut map = HashMap::new();
        for kv in table.take_all() {
            let v = match &kv.value.kind {
                Kind::Str(s) => s.clone(),
                Kind::Int(i) => i.to_string(),
                other => {
                    ctx.err(
                        &kv.value.span,
                        &table.field(&kv.key),
                        format!(
                            "a lookup value must be a string, found {}",
                            other.type_name()
                        ),
                    );
                    continue;
                }
            };
            map.insert(kv.key.clone(), v);
        }
        out.insert(e.key.clone(), map);
    }
    out
}

/// Compiles the fields of a mapping table (header, sub-object or entry row).
pub(super) fn fields(
    ctx: &mut Ctx,
    entries: &[Entry],
    path: &str,
    engine: &ScriptEngine,
    in_row: bool,
) -> Vec<(String, Template)> {
    let mut out = Vec::with_capacity(entries.len());
    for e in entries {
        let field = format!("{path}.{}", e.key);
        if let Some(t) = value(ctx, &e.value, &field, engine, in_row) {
            out.push((e.key.clone(), t));
        }
    }
    out
}

fn value(
    ctx: &mut Ctx,
    node: &Node,
    field: &str,
    engine: &ScriptEngine,
    in_row: bool,
) -> Option<Template> {
    match &node.kind {
        Kind::Str(s) => match Template::from_str(s, engine, in_row) {
            Ok(t) => Some(t),
            Err(m) => {
                ctx.err(&node.span, field, m);
                None
            }
        },
        Kind::Datetime(_) | Kind::Int(_) | Kind::Float(_) | Kind::Bool(_) => {
            Some(Template::Const(node.to_json()))
        }
        Kind::Array(items) => {
            let mut out = Vec::with_capacity(items.len());
            for (i, n) in items.iter().enumerate() {
                out.push(value(ctx, n, &format!("{field}[{i}]"), engine, in_row)?);
            }
            Some(Template::Array(out))
        }
        Kind::Table(entries) => {
            if entries.iter().any(|e| e.key == "from") {
                entry_array(ctx, node, field, engine, in_row)
            } else {
                Some(Template::Object(fields(
                    ctx, entries, field, engine, in_row,
                )))
            }
        }
    }
}

/// `{ from = "items", fields = { … } }`.
fn entry_array(
    ctx: &mut Ctx,
    node: &Node,
    field: &str,
    engine: &ScriptEngine,
    in_row: bool,
) -> Option<Template> {
    let mut t = Table::of(ctx, node, field)?;
    let from = match t.raw_string(ctx, "from") {
        Some((s, n)) => {
            let p = s.strip_prefix('$').unwrap_or(&s);
            match SourcePath::parse(p, in_row) {
                Ok(p) => Some(p),
                Err(m) => {
                    ctx.err(&n.span, &t.field("from"), m);
                    None
                }
            }
        }
        None => None,
    };
    let rows = match t.get("fields") {
        Some(e) => {
            let path = t.field("fields");
            match &e.value.kind {
                Kind::Table(entries) => Some(fields(ctx, entries, &path, engine, true)),
                other => {
                    ctx.err(
                        &e.value.span,
                        &path,
                        format!(
                            "expected a table of row fields, found {}",
                            other.type_name()
                        ),
                    );
                    None
                }
            }
        }
        None => {
            t.missing(ctx, "fields");
            None
        }
    };
    t.finish(ctx);
    Some(Template::Entries {
        from: from?,
        fields: rows?,
    })
}
