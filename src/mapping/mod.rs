//! The mapping engine: turns one Jushuitan document into one Kingdee model, as a scheme's
//! `[scheme.mapping]` says.
//!
//! # Mapping syntax (in `config.toml`)
//!
//! Every key under `[scheme.mapping]` is a field of the Kingdee model, written in the order
//! Kingdee's template uses. Its value decides what goes there:
//!
//! | written as | produces |
//! |---|---|
//! | a number, `true`/`false`, or a string not starting with `$` or `=` | that constant (`FEntryTaxRate = 13`, `FOwnerTypeId = "BD_OwnerOrg"`) |
//! | `"$path"` | the source value at that path, unchanged (numbers stay numbers, missing → `null`): `"$io_id"`, `"$a.b.c"`, `"$items.0.sku_id"`; inside an entry `"$item.sku_id"` is the current row |
//! | `"=expression"` | the result of a rhai expression over `doc` (and, inside an entry, `item` and `index`): `'="JST-" + doc.io_id'` |
//! | an inline table `{ FNumber = "$item.sku_id" }` or a sub-table `[scheme.mapping.SubHeadEntity]` | a JSON object whose values follow the same rules (base-data references, `SubHeadEntity`) |
//! | a table with `from = "items"` and `fields = { … }` (`[scheme.mapping.FEntity]` + `[scheme.mapping.FEntity.fields]`) | an entry array: one object per element of the source array (missing/empty → `[]`); entries may nest (`from = "item.batchs"`) |
//! | a TOML array `[ … ]` | a JSON array whose elements follow the same rules (e.g. a one-row `FEntity_Link`) |
//!
//! A literal string that must start with `$` or `=` is written `$$…` / `==…`.
//! Use TOML single-quoted strings for expressions that contain double quotes:
//! `FDate = '=date(doc.io_date, "yyyy-MM-dd")'`.
//!
//! Script functions besides rhai's standard ones: `lookup("name", key)` (a `[lookups.name]`
//! entry; a missing key fails the document, naming lookup and key), `lookup_or("name", key,
//! default)`, `num(x)`, `round(x, digits)`, `abs(x)`, `date(text, "yyyy-MM-dd HH:mm:ss")`.
//! `num`, `round` and `abs` take numbers and numeric strings alike (Jushuitan types most numbers
//! as strings: `"129.90"`, `"2"`); `num(x)` turns a number, a numeric string, `()` or `""` (both
//! 0) into a number and fails the document for anything else (see [`numbers`]). Scripts are
//! compiled once when the config loads; syntax errors, unknown variables and unknown lookup names
//! are config errors. A missing document property reads as `()` (null). The sandbox limits count
//! beyond what the document holds (see [`sandbox`]).
//!
//! The scheme's `precondition` is such an expression too; it must return `true` (map the
//! document), `false` (skip it, `MapOutcome::Filtered`); anything else fails the document.

pub mod eval;
pub mod native;
pub mod numbers;
pub mod path;
pub mod sandbox;
pub mod script;
pub mod template;

use std::sync::Arc;

use serde_json::Value;

pub use path::SourcePath;
pub use script::{Lookups, Script, ScriptEngine};
pub use template::Template;

/// The result of mapping one source document.
#[derive(Debug, Clone, PartialEq)]
pub enum MapOutcome {
    /// The precondition is false: the document is not meant for Kingdee.
    Filtered {
        source_key: String,
        reason: String,
    },
    Mapped(Mapped),
    /// The document cannot be mapped (missing lookup key, script error, no identity…).
    Failed {
        source_key: String,
        error: String,
    },
}

/// One Kingdee model built from one source document.
#[derive(Debug, Clone, PartialEq)]
pub struct Mapped {
    pub source_key: String,
    /// The model's identity field (`FBillNo`, `FNumber`) as text.
    pub identity: String,
    /// The source line keys (`ioi_id` of each item), in order.
    pub line_keys: Vec<String>,
    /// The model as JSON bytes, written once straight from the templates (what the outbox
    /// stores, the fingerprint is computed over and BatchSave sends).
    pub json: Vec<u8>,
    /// FNV-1a 64 of `json`.
    pub fingerprint: u64,
}

impl Mapped {
    /// The model as a JSON value, its fields in template order (for previews and tests).
    pub fn model(&self) -> Value {
        serde_json::from_slice(&self.json).unwrap_or(Value::Null)
    }
}

impl MapOutcome {
    pub fn source_key(&self) -> &str {
        match self {
            MapOutcome::Filtered { source_key, .. } | MapOutcome::Failed { source_key, .. } => {
                source_key
            }
            MapOutcome::Mapped(m) => &m.source_key,
        }
    }
}

/// What a [`Mapper`] is built from (config compiles this from `[[scheme]]`).
#[derive(Debug, Clone)]
pub struct MapperSpec {
    pub scheme: String,
    pub engine: Arc<ScriptEngine>,
    /// Source key path (`io_id`).
    pub key: SourcePath,
    /// Source line array (`items`) and the key of each line (`ioi_id`).
    pub lines: Option<SourcePath>,
    pub line_key: Option<SourcePath>,
    /// The model field holding the identity (`FBillNo`).
    pub identity_field: String,
    pub precondition: Option<Script>,
    pub fields: Vec<(String, Template)>,
}

/// A compiled scheme mapping. Cheap to share (`Arc`), safe to call from many threads.
pub struct Mapper {
    spec: MapperSpec,
    precondition: Option<Template>,
}

impl std::fmt::Debug for Mapper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Mapper")
            .field("scheme", &self.spec.scheme)
            .field("fields", &self.spec.fields.len())
            .field("precondition", &self.precondition_source())
            .finish()
    }
}

/// FNV-1a 64.
pub fn fnv1a64(bytes: &[u8]) -> u64 {
    let mut h: u64 = 0xcbf2_9ce4_8422_2325;
    for b in bytes {
        h ^= u64::from(*b);
        h = h.wrapping_mul(0x0000_0100_0000_01b3);
    }
    h
}

impl Mapper {
    pub fn new(mut spec: MapperSpec) -> Mapper {
        let precondition = spec
            .precondition
            .clone()
            .map(|s| Template::Script(Box::new(s)));
        // Constant objects (`{ FNumber = "100" }`) and arrays are built once, here.
        spec.fields = std::mem::take(&mut spec.fields)
            .into_iter()
            .map(|(k, t)| (k, t.folded()))
            .collect();
        Mapper { spec, precondition }
    }

    pub fn scheme(&self) -> &str {
        &self.spec.scheme
    }

    /// The precondition as written, for summaries.
    pub fn precondition_source(&self) -> Option<&str> {
        self.spec.precondition.as_ref().map(|s| s.source.as_str())
    }

    pub fn identity_field(&self) -> &str {
        &self.spec.identity_field
    }

    /// The source key of a document (`""` when it has none).
    pub fn source_key(&self, doc: &Value) -> String {
        path::key_string(self.spec.key.resolve(doc, None))
    }

    fn fail(&self, key: &str, field: &str, msg: &str) -> MapOutcome {
        let at = if field.is_empty() {
            String::new()
        } else {
            format!(", field {field}")
        };
        MapOutcome::Failed {
            source_key: key.to_string(),
            error: format!(
                "scheme \"{}\"{at}, document {}: {msg}",
                self.spec.scheme,
                if key.is_empty() { "(no key)" } else { key }
            ),
        }
    }

    /// Maps one source document.
    pub fn map(&self, doc: &Value) -> MapOutcome {
        let key = self.source_key(doc);
        if key.is_empty() {
            let msg = format!(
                "the document has no source key at `{}`",
                self.spec.key.as_str()
            );
            return self.fail("", "", &msg);
        }
        let mut run = eval::Run::new(&self.spec.engine, doc);
        if let Some(pre) = &self.precondition {
            match run.script(pre) {
                Ok(Value::Bool(true)) => {}
                Ok(Value::Bool(false)) => {
                    return MapOutcome::Filtered {
                        source_key: key,
                        reason: format!(
                            "precondition `{}` is false",
                            self.precondition_source().unwrap_or_default()
                        ),
                    }
                }
                Ok(other) => {
                    let msg = format!(
                        "precondition `{}` returned {other} instead of true or false",
                        self.precondition_source().unwrap_or_default()
                    );
                    return self.fail(&key, "precondition", &msg);
                }
                Err(e) => return self.fail(&key, "precondition", &e.message),
            }
        }
        let mut json = Vec::with_capacity(1024);
        let identity =
            match run.write_header(&self.spec.fields, &self.spec.identity_field, &mut json) {
                Ok(id) => id,
                Err(e) => return self.fail(&key, &e.field, &e.message),
            };
        if identity.is_empty() {
            let msg = "is empty or missing; the model needs an identity";
            return self.fail(&key, &self.spec.identity_field, msg);
        }
        let mut line_keys = Vec::new();
        if let (Some(lines), Some(line_key)) = (&self.spec.lines, &self.spec.line_key) {
            if let Some(Value::Array(items)) = lines.resolve(doc, None) {
                for (i, item) in items.iter().enumerate() {
                    let k = path::key_string(line_key.resolve(item, Some(item)));
                    if k.is_empty() {
                        let msg = format!("line {i} has no line key `{}`", line_key.as_str());
                        return self.fail(&key, lines.as_str(), &msg);
                    }
                    line_keys.push(k);
                }
            }
        }
        MapOutcome::Mapped(Mapped {
            source_key: key,
            identity,
            line_keys,
            fingerprint: fnv1a64(&json),
            json,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fnv_reference_values() {
        assert_eq!(fnv1a64(b""), 0xcbf29ce484222325);
        assert_eq!(fnv1a64(b"a"), 0xaf63dc4c8601ec8c);
        assert_eq!(fnv1a64(b"foobar"), 0x85944171f73967e8);
    }
}
