//! `[scheme.source]`: the Jushuitan API, its fixed parameters, the modification windows, the
//! page size and the document and line keys.
//!
//! Each mistake is reported once, where it was made: a bad value of one key never makes another
//! (correct) key report an error it does not have.

use std::time::Duration;

use super::connections::PageCaps;
use super::reader::{Ctx, Table};
use super::tree::Kind;
use super::{SourceSpec, DEFAULT_PAGE_CAP};
use crate::mapping::SourcePath;

/// Jushuitan refuses modification windows longer than this.
pub const MAX_WINDOW: Duration = Duration::from_secs(7 * 86400);

pub(super) fn source(ctx: &mut Ctx, mut s: Table, caps: &PageCaps) -> Option<SourceSpec> {
    let span = s.span.clone();
    let api = s.req_string(ctx, "api");
    let cap = match &api {
        Some(a) => api_cap(ctx, &mut s, a, caps),
        None => Cap::Unchecked,
    };
    let params = s.json_table(ctx, "params", "a table of fixed parameters");
    // Whether each key is written decides the "goes with" errors; whether its value is good is
    // reported by its own getter.
    let window_given = s.has("window");
    let start_given = s.has("start_from");
    let window = s.duration(ctx, "window");
    let start_from = start_from(ctx, &mut s);
    let window = match (window_given, start_given) {
        (true, true) => match window {
            Some(w) if w.is_zero() || w > MAX_WINDOW => {
                let sp = value_span(&mut s, "window");
                ctx.err(
                    &sp,
                    "source.window",
                    "must be more than 0 and at most 7 days (Jushuitan refuses longer windows)",
                );
                Duration::ZERO
            }
            Some(w) => w,
            None => Duration::ZERO,
        },
        (false, false) => Duration::ZERO,
        (true, false) => {
            ctx.err(
                &span,
                "source.start_from",
                "a windowed source needs start_from (the first time to fetch from)",
            );
            Duration::ZERO
        }
        (false, true) => {
            ctx.err(
                &span,
                "source.window",
                "start_from needs a window size (at most \"7d\")",
            );
            Duration::ZERO
        }
    };
    let overlap = s.duration(ctx, "overlap").unwrap_or(if window.is_zero() {
        Duration::ZERO
    } else {
        Duration::from_secs(600)
    });
    if !window.is_zero() && overlap >= window {
        let sp = value_span(&mut s, "overlap");
        ctx.err(&sp, "source.overlap", "must be shorter than the window");
    }
    let list_key = s.string(ctx, "list_key").unwrap_or_else(|| "datas".into());
    let page_size = s.int(ctx, "page_size", 1, 10_000).map(|v| v as u32);
    let too_large = match (page_size, &cap, &api) {
        (Some(p), Cap::Known(c), Some(a)) if p > *c => Some(format!(
            "{p} is over the largest page {a} accepts ({c}; see [jushuitan.page_size_caps])"
        )),
        (Some(p), Cap::Assumed, Some(a)) if p > DEFAULT_PAGE_CAP => Some(format!(
            "{p} is over {DEFAULT_PAGE_CAP}, the page size ferry assumes for an API it has no \
             cap for; if Jushuitan allows more for {a}, give its cap in \
             [jushuitan.page_size_caps]"
        )),
        _ => None,
    };
    if let Some(message) = too_large {
        let sp = value_span(&mut s, "page_size");
        ctx.err(&sp, "source.page_size", message);
    }
    let page_size = page_size.unwrap_or(match cap {
        Cap::Known(c) => c,
        _ => DEFAULT_PAGE_CAP,
    });
    let key = if s.has("key") {
        path_key(ctx, &mut s, "key", false)
    } else {
        s.get("key");
        s.missing(ctx, "key");
        None
    };
    let (lines_given, line_key_given) = (s.has("lines"), s.has("line_key"));
    let lines = path_key(ctx, &mut s, "lines", false);
    let line_key = path_key(ctx, &mut s, "line_key", true);
    if lines_given != line_key_given {
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
        start_from: start_from.unwrap_or(0),
        window,
        overlap,
        list_key,
        page_size,
        key: key?,
        lines,
        line_key,
    })
}

/// The span of `key`'s value (the table's when absent).
fn value_span(s: &mut Table, key: &'static str) -> std::ops::Range<usize> {
    s.get(key)
        .map(|e| e.value.span.clone())
        .unwrap_or(s.span.clone())
}

/// What the page size of a source is checked against.
enum Cap {
    /// The API's cap (built in, or from `[jushuitan.page_size_caps]`).
    Known(u32),
    /// An API ferry has no cap for: the default one.
    Assumed,
    /// The API name is wrong (reported): nothing to check against.
    Unchecked,
}

/// Checks an API name: known, or any other paged API, but not a near miss of a known one (a
/// typo would otherwise only show as Jushuitan's refusal, or as a page size over a cap it does
/// not have).
fn api_cap(ctx: &mut Ctx, s: &mut Table, api: &str, caps: &PageCaps) -> Cap {
    let span = value_span(s, "api");
    let well_formed = !api.is_empty()
        && api
            .split('.')
            .all(|p| !p.is_empty() && p.chars().all(|c| c.is_ascii_alphanumeric() || c == '_'));
    if !well_formed {
        ctx.err(
            &span,
            "source.api",
            format!("`{api}` is not an API name like \"other.inout.query\""),
        );
        return Cap::Unchecked;
    }
    if let Some(c) = caps.get(api) {
        return Cap::Known(*c);
    }
    let Some(near) = super::suggest::closest(api, caps.keys().map(String::as_str)) else {
        return Cap::Assumed;
    };
    ctx.err(
        &span,
        "source.api",
        format!(
            "unknown Jushuitan API `{api}`: did you mean `{near}`? (if `{api}` is right, give \
             its page size cap in [jushuitan.page_size_caps])"
        ),
    );
    Cap::Unchecked
}

/// `start_from`, a Beijing time; `None` when absent or reported as wrong.
fn start_from(ctx: &mut Ctx, s: &mut Table) -> Option<i64> {
    let e = s.get("start_from")?;
    let text = match &e.value.kind {
        Kind::Str(t) | Kind::Datetime(t) => t.clone(),
        other => {
            ctx.err(
                &e.value.span,
                "source.start_from",
                format!(
                    "expected a time like \"2026-09-01 00:00:00\", found {}",
                    other.type_name()
                ),
            );
            return None;
        }
    };
    match crate::time::parse_beijing(&text) {
        Ok(v) => Some(v),
        Err(err) => {
            ctx.err(
                &e.value.span,
                "source.start_from",
                format!("`{text}` is not a Beijing time like \"2026-09-01 00:00:00\": {err}"),
            );
            None
        }
    }
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
