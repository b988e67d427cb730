//! Typed, error-collecting access to the spanned TOML tree: each getter records the key as known,
//! reports a wrong type or a bad value with its position, and `finish` reports every key nobody
//! asked for (unknown keys are errors, listing the known ones).

use std::ops::Range;
use std::path::Path;
use std::time::Duration;

use super::error::ConfigError;
use super::tree::{line_col, Entry, Kind, Node};
use crate::secret::Secret;

/// Where errors go while a config is compiled.
pub(crate) struct Ctx<'a> {
    pub file: &'a Path,
    pub text: &'a str,
    pub errors: Vec<ConfigError>,
    /// Set while a `[[scheme]]` is compiled.
    pub scheme: Option<String>,
    /// Whether secrets must be present (see [`Secrets`]).
    pub secrets: Secrets,
}

/// Whether a command needs the credentials of Jushuitan and Kingdee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Secrets {
    /// Every secret must be there and every `${VAR}` in it set (`run`, `check`, `sim`).
    Required,
    /// The command never talks to Jushuitan or Kingdee (`status`, `dlq`, `trace`, `preview`): a
    /// secret that is missing, or whose `${VAR}` is not set, is left empty instead of being an
    /// error. Such a config must never reach a client.
    NotNeeded,
}

impl<'a> Ctx<'a> {
    pub fn new(file: &'a Path, text: &'a str, secrets: Secrets) -> Self {
        Ctx {
            file,
            text,
            errors: Vec::new(),
            scheme: None,
            secrets,
        }
    }

    pub fn err(&mut self, span: &Range<usize>, field: &str, message: impl Into<String>) {
        let (line, column) = line_col(self.text, span.start);
        self.errors.push(ConfigError {
            file: self.file.to_path_buf(),
            line,
            column,
            scheme: self.scheme.clone(),
            field: field.to_string(),
            message: message.into(),
        });
    }
}

/// Expands `${VAR}` references (anywhere in the string; `$${` is a literal `${`).
/// Returns the names of unset variables as the error.
pub(crate) fn expand_env(s: &str) -> Result<String, Vec<String>> {
    if !s.contains("${") {
        return Ok(s.to_string());
    }
    let mut out = String::with_capacity(s.len());
    let mut missing = Vec::new();
    let mut rest = s;
    while let Some(i) = rest.find('$') {
        out.push_str(&rest[..i]);
        let after = &rest[i..];
        if let Some(r) = after.strip_prefix("$${") {
            out.push_str("${");
            rest = r;
        } else if let Some(r) = after.strip_prefix("${") {
            match r.find('}') {
                Some(end) => {
                    let name = r[..end].trim();
                    match std::env::var(name) {
                        Ok(v) => out.push_str(&v),
                        Err(_) if missing.iter().any(|m| m == name) => {}
                        Err(_) => missing.push(name.to_string()),
                    }
                    rest = &r[end + 1..];
                }
                None => {
                    out.push_str(after);
                    rest = "";
                }
            }
        } else {
            out.push('$');
            rest = &after[1..];
        }
    }
    out.push_str(rest);
    if missing.is_empty() {
        Ok(out)
    } else {
        Err(missing)
    }
}

/// A TOML table being read.
pub(crate) struct Table<'n> {
    pub path: String,
    pub span: Range<usize>,
    pub entries: &'n [Entry],
    pub used: Vec<bool>,
    pub known: Vec<&'static str>,
}

impl<'n> Table<'n> {
    /// `None` (and an error) when the node is not a table.
    pub fn of(ctx: &mut Ctx, node: &'n Node, path: &str) -> Option<Table<'n>> {
        match &node.kind {
            Kind::Table(entries) => Some(Table {
                path: path.to_string(),
                span: node.span.clone(),
                entries,
                used: vec![false; entries.len()],
                known: Vec::new(),
            }),
            other => {
                ctx.err(
                    &node.span,
                    path,
                    format!("expected a table, found {}", other.type_name()),
                );
                None
            }
        }
    }

    pub fn field(&self, key: &str) -> String {
        if self.path.is_empty() {
            key.to_string()
        } else {
            format!("{}.{}", self.path, key)
        }
    }

    /// The entry for `key`, marking it known and used.
    pub fn get(&mut self, key: &'static str) -> Option<&'n Entry> {
        if !self.known.contains(&key) {
            self.known.push(key);
        }
        let i = self.entries.iter().position(|e| e.key == key)?;
        self.used[i] = true;
        Some(&self.entries[i])
    }

    /// Marks every remaining key as used (free-form tables such as lookups and mappings).
    pub fn take_all(&mut self) -> &'n [Entry] {
        self.used.iter_mut().for_each(|u| *u = true);
        self.entries
    }

    pub fn missing(&self, ctx: &mut Ctx, key: &str) {
        ctx.err(&self.span, &self.field(key), "missing required key");
    }

    /// Reports unknown keys.
    pub fn finish(self, ctx: &mut Ctx) {
        for (e, used) in self.entries.iter().zip(&self.used) {
            if !used {
                ctx.err(
                    &e.key_span,
                    &self.field(&e.key),
                    format!(
                        "unknown key `{}` (known keys: {})",
                        e.key,
                        self.known.join(", ")
                    ),
                );
            }
        }
    }

    fn type_err(&self, ctx: &mut Ctx, e: &Entry, want: &str) {
        ctx.err(
            &e.value.span,
            &self.field(&e.key),
            format!("expected {want}, found {}", e.value.kind.type_name()),
        );
    }

    /// A string without `${VAR}` expansion (expressions, mapping values).
    pub fn raw_string(&mut self, ctx: &mut Ctx, key: &'static str) -> Option<(String, &'n Node)> {
        let e = self.get(key)?;
        match &e.value.kind {
            Kind::Str(s) => Some((s.clone(), &e.value)),
            _ => {
                self.type_err(ctx, e, "a string");
                None
            }
        }
    }

    /// A string with `${VAR}` references expanded; an unset variable is an error.
    /// A table given as free JSON (fixed parameters, save options); absent is an empty one.
    pub fn json_table(
        &mut self,
        ctx: &mut Ctx,
        key: &'static str,
        what: &str,
    ) -> Option<serde_json::Map<String, serde_json::Value>> {
        let Some(e) = self.get(key) else {
            return Some(serde_json::Map::new());
        };
        match e.value.to_json() {
            serde_json::Value::Object(m) => Some(m),
            _ => {
                ctx.err(&e.value.span, &self.field(key), format!("expected {what}"));
                None
            }
        }
    }

    pub fn string(&mut self, ctx: &mut Ctx, key: &'static str) -> Option<String> {
        let e = self.get(key)?;
        let s = match &e.value.kind {
            Kind::Str(s) => s,
            _ => {
                self.type_err(ctx, e, "a string");
                return None;
            }
        };
        match expand_env(s) {
            Ok(v) => Some(v),
            Err(missing) => {
                for m in missing {
                    ctx.err(
                        &e.value.span,
                        &self.field(key),
                        format!("environment variable `{m}` is not set"),
                    );
                }
                None
            }
        }
    }

    pub fn req_string(&mut self, ctx: &mut Ctx, key: &'static str) -> Option<String> {
        if !self.has(key) {
            self.get(key);
            self.missing(ctx, key);
            return None;
        }
        self.string(ctx, key)
    }

    /// Whether the table has `key` (without marking it known).
    pub fn has(&self, key: &str) -> bool {
        self.entries.iter().any(|e| e.key == key)
    }

    /// A secret (`${VAR}` expanded). With [`Secrets::NotNeeded`] an unset variable leaves it
    /// empty instead of being an error.
    pub fn secret(&mut self, ctx: &mut Ctx, key: &'static str) -> Option<Secret> {
        if ctx.secrets == Secrets::NotNeeded {
            if let Some(Kind::Str(s)) = self.get(key).map(|e| &e.value.kind) {
                return Some(Secret::new(expand_env(s).unwrap_or_default()));
            }
        }
        self.string(ctx, key).map(Secret::new)
    }

    pub fn bool(&mut self, ctx: &mut Ctx, key: &'static str) -> Option<bool> {
        let e = self.get(key)?;
        match e.value.kind {
            Kind::Bool(b) => Some(b),
            _ => {
                self.type_err(ctx, e, "true or false");
                None
            }
        }
    }

    /// An integer within `lo..=hi`.
    pub fn int(&mut self, ctx: &mut Ctx, key: &'static str, lo: i64, hi: i64) -> Option<i64> {
        let e = self.get(key)?;
        match e.value.kind {
            Kind::Int(i) if (lo..=hi).contains(&i) => Some(i),
            Kind::Int(i) => {
                ctx.err(
                    &e.value.span,
                    &self.field(key),
                    format!("{i} is out of range (allowed {lo}..={hi})"),
                );
                None
            }
            _ => {
                self.type_err(ctx, e, "an integer");
                None
            }
        }
    }

    /// A number (integer or not) within `lo..=hi`.
    pub fn number(&mut self, ctx: &mut Ctx, key: &'static str, lo: f64, hi: f64) -> Option<f64> {
        let e = self.get(key)?;
        let x = match e.value.kind {
            Kind::Int(i) => i as f64,
            Kind::Float(f) => f,
            _ => {
                self.type_err(ctx, e, "a number");
                return None;
            }
        };
        if (lo..=hi).contains(&x) {
            return Some(x);
        }
        ctx.err(
            &e.value.span,
            &self.field(key),
            format!("{x} is out of range (allowed {lo}..={hi})"),
        );
        None
    }

    /// A humantime duration such as `"30s"`, `"5m"`, `"1d"`.
    pub fn duration(&mut self, ctx: &mut Ctx, key: &'static str) -> Option<Duration> {
        let e = self.get(key)?;
        parse_duration(ctx, &e.value, &self.field(key))
    }

    /// A duration that must be more than zero; `why` says what zero would mean.
    pub fn positive_duration(
        &mut self,
        ctx: &mut Ctx,
        key: &'static str,
        why: &str,
    ) -> Option<Duration> {
        let e = self.get(key)?;
        let field = self.field(key);
        let d = parse_duration(ctx, &e.value, &field)?;
        if d.is_zero() {
            ctx.err(
                &e.value.span,
                &field,
                format!("must be more than 0 ({why})"),
            );
            return None;
        }
        Some(d)
    }

    pub fn table(&mut self, ctx: &mut Ctx, key: &'static str) -> Option<Table<'n>> {
        let e = self.get(key)?;
        let path = self.field(key);
        Table::of(ctx, &e.value, &path)
    }
}

/// The longest duration any setting takes: no schedule, timeout or delay of ferry needs more, and
/// larger ones overflow the arithmetic on times.
pub const MAX_DURATION: Duration = Duration::from_secs(366 * 86400);

pub(crate) fn parse_duration(ctx: &mut Ctx, node: &Node, field: &str) -> Option<Duration> {
    match &node.kind {
        Kind::Str(s) => match humantime::parse_duration(s.trim()) {
            Ok(d) if d > MAX_DURATION => {
                ctx.err(
                    &node.span,
                    field,
                    format!("`{s}` is too long: at most 366 days"),
                );
                None
            }
            Ok(d) => Some(d),
            Err(e) => {
                ctx.err(
                    &node.span,
                    field,
                    format!("`{s}` is not a duration like \"30s\", \"5m\", \"1h\", \"1d\": {e}"),
                );
                None
            }
        },
        other => {
            ctx.err(
                &node.span,
                field,
                format!(
                    "expected a duration string like \"30s\", found {}",
                    other.type_name()
                ),
            );
            None
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::tree::parse;

    #[test]
    fn env_expansion() {
        std::env::set_var("FERRY_TEST_READER_X", "abc");
        assert_eq!(expand_env("plain").unwrap(), "plain");
        assert_eq!(expand_env("${FERRY_TEST_READER_X}").unwrap(), "abc");
        assert_eq!(expand_env("a-${FERRY_TEST_READER_X}-b").unwrap(), "a-abc-b");
        assert_eq!(expand_env("$${X}").unwrap(), "${X}");
        assert_eq!(expand_env("$5 ok").unwrap(), "$5 ok");
        assert_eq!(
            expand_env("${FERRY_TEST_READER_NOPE_1}${FERRY_TEST_READER_NOPE_2}").unwrap_err(),
            vec!["FERRY_TEST_READER_NOPE_1", "FERRY_TEST_READER_NOPE_2"]
        );
    }

    #[test]
    fn getters_collect_errors_and_unknown_keys() {
        let text = "a = 1\nb = \"x\"\nc = \"5q\"\nzz = 1\n";
        let root = parse(text).unwrap();
        let file = Path::new("c.toml");
        let mut ctx = Ctx::new(file, text, Secrets::Required);
        let mut t = Table::of(&mut ctx, &root, "").unwrap();
        assert_eq!(t.string(&mut ctx, "a"), None);
        assert_eq!(t.int(&mut ctx, "b", 0, 1), None);
        assert_eq!(t.duration(&mut ctx, "c"), None);
        assert_eq!(t.req_string(&mut ctx, "d"), None);
        t.finish(&mut ctx);
        let lines: Vec<usize> = ctx.errors.iter().map(|e| e.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 1, 4]);
        assert!(ctx.errors[4].message.contains("unknown key `zz`"));
        assert!(ctx.errors[4].message.contains("a, b, c, d"));
    }
}
