//! Evaluates compiled templates against one source document.

use rhai::{Dynamic, Scope};
use serde_json::{Map, Value};

use super::native;
use super::path::SourcePath;
use super::sandbox::{self, DataSizes};
use super::script::{to_json, Script, ScriptEngine, VAR_DOC, VAR_INDEX, VAR_ITEM};
use super::template::Template;

/// A failure while building one field; `field` grows outward (`FEntity[2].FStockId`).
#[derive(Debug, Clone, PartialEq)]
pub struct FieldError {
    pub field: String,
    pub message: String,
}

impl FieldError {
    fn prefixed(mut self, key: &str) -> FieldError {
        self.field = if self.field.is_empty() {
            key.to_string()
        } else if self.field.starts_with('[') {
            format!("{key}{}", self.field)
        } else {
            format!("{key}.{}", self.field)
        };
        self
    }
}

/// The current row: the element (scripts see it as `item`) and its position (`index`).
#[derive(Clone, Copy)]
struct Row<'a> {
    item: &'a Value,
    index: usize,
}

/// State for one document.
pub(crate) struct Run<'a> {
    engine: &'a ScriptEngine,
    doc: &'a Value,
    /// Built when a script first needs rhai (most run natively, see [`native`](super::native)):
    /// `doc` at position 0, then `item` and `index` of the row being built once one of its
    /// scripts needs rhai (a nested entry's row shadows its parent's until it is done).
    scope: Option<Scope<'static>>,
    /// The scope length before the current row's `item` was pushed, once it is.
    row_pushed: Option<usize>,
    /// Results of row scripts that depend on `doc` alone, by script address: run once per
    /// document, not once per row.
    per_document: Vec<(*const Script, Value)>,
    /// The sandbox size class of the document: its scripts' limits count beyond what it holds.
    class: usize,
}

impl<'a> Run<'a> {
    pub fn new(engine: &'a ScriptEngine, doc: &'a Value) -> Self {
        Run {
            engine,
            doc,
            scope: None,
            row_pushed: None,
            per_document: Vec::new(),
            class: 0,
        }
    }

    /// Runs a script in the document scope (precondition).
    pub fn script(&mut self, t: &Template) -> Result<Value, FieldError> {
        self.value(t, None)
    }

    fn object(
        &mut self,
        fields: &[(String, Template)],
        row: Option<Row>,
    ) -> Result<Value, FieldError> {
        let mut out = Map::with_capacity(fields.len());
        for (k, t) in fields {
            let v = self.value(t, row).map_err(|e| e.prefixed(k))?;
            out.insert(k.clone(), v);
        }
        Ok(Value::Object(out))
    }

    fn value(&mut self, t: &Template, row: Option<Row>) -> Result<Value, FieldError> {
        match t {
            Template::Const(v) => Ok(v.clone()),
            Template::Path(p) => Ok(p
                .resolve(self.doc, row.map(|r| r.item))
                .cloned()
                .unwrap_or(Value::Null)),
            Template::Script(s) if s.per_document && row.is_some() => {
                let at = &**s as *const Script;
                if let Some((_, v)) = self.per_document.iter().find(|(p, _)| *p == at) {
                    return Ok(v.clone());
                }
                let v = self.run_script(s, None)?;
                self.per_document.push((at, v.clone()));
                Ok(v)
            }
            Template::Script(s) => self.run_script(s, row),
            Template::Object(fields) => self.object(fields, row),
            Template::Array(items) => {
                let mut out = Vec::with_capacity(items.len());
                for (i, t) in items.iter().enumerate() {
                    out.push(
                        self.value(t, row)
                            .map_err(|e| e.prefixed(&format!("[{i}]")))?,
                    );
                }
                Ok(Value::Array(out))
            }
            Template::Entries { from, fields } => {
                let elems = self.elements(from, row)?;
                let outer = self.row_pushed.take();
                let mut out = Vec::with_capacity(elems.len());
                for (index, item) in elems.iter().enumerate() {
                    let v = self.object(fields, Some(Row { item, index }));
                    if let (Some(len), Some(scope)) = (self.row_pushed.take(), self.scope.as_mut())
                    {
                        // Back to the enclosing row (or the header) for the fields that follow.
                        scope.rewind(len);
                    }
                    out.push(v.map_err(|e| e.prefixed(&format!("[{index}]")))?);
                }
                self.row_pushed = outer;
                Ok(Value::Array(out))
            }
        }
    }
}

impl<'a> Run<'a> {
    /// The model of the header `fields` built as a `Value` (what `write_header` must write).
    #[cfg(test)]
    pub fn model_value(&mut self, fields: &[(String, Template)]) -> Result<Value, FieldError> {
        self.object(fields, None)
    }

    /// The source array an entry template iterates (missing or null: none).
    fn elements(&self, from: &SourcePath, row: Option<Row<'a>>) -> Result<&'a [Value], FieldError> {
        match from.resolve(self.doc, row.map(|r| r.item)) {
            None | Some(Value::Null) => Ok(&[]),
            Some(Value::Array(a)) => Ok(a),
            Some(other) => Err(FieldError {
                field: String::new(),
                message: format!(
                    "`{}` is not an array (found {})",
                    from.as_str(),
                    type_name(other)
                ),
            }),
        }
    }

    /// Writes the model of the header `fields` into `out` as compact JSON, the bytes
    /// `serde_json::to_vec` gives for the model built as a `Value`, without building it: source
    /// values are written where they are, and no map of the model's fields is made. Returns the
    /// value of the header field `identity` as text (`path::key_string`; empty if none).
    pub fn write_header(
        &mut self,
        fields: &[(String, Template)],
        identity: &str,
        out: &mut Vec<u8>,
    ) -> Result<String, FieldError> {
        self.write_object(fields, None, Some(identity), out)
    }

    /// Writes an object of `fields`; the field named `identity`, if any, is evaluated as a value
    /// and returned as text (empty if none).
    fn write_object(
        &mut self,
        fields: &[(String, Template)],
        row: Option<Row>,
        identity: Option<&str>,
        out: &mut Vec<u8>,
    ) -> Result<String, FieldError> {
        let mut id = String::new();
        out.push(b'{');
        for (i, (k, t)) in fields.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            write_key(out, k);
            if identity == Some(k.as_str()) {
                let v = self.value(t, row).map_err(|e| e.prefixed(k))?;
                id = super::path::key_string(Some(&v));
                write_json(out, &v);
            } else {
                self.write(t, row, out).map_err(|e| e.prefixed(k))?;
            }
        }
        out.push(b'}');
        Ok(id)
    }

    /// `value`, written into `out` instead of returned.
    fn write(
        &mut self,
        t: &Template,
        row: Option<Row>,
        out: &mut Vec<u8>,
    ) -> Result<(), FieldError> {
        match t {
            Template::Const(v) => write_json(out, v),
            Template::Path(p) => match p.resolve(self.doc, row.map(|r| r.item)) {
                Some(v) => write_json(out, v),
                None => out.extend_from_slice(b"null"),
            },
            Template::Script(_) => {
                let v = self.value(t, row)?;
                write_json(out, &v);
            }
            Template::Object(fields) => {
                self.write_object(fields, row, None, out)?;
            }
            Template::Array(items) => {
                out.push(b'[');
                for (i, t) in items.iter().enumerate() {
                    if i > 0 {
                        out.push(b',');
                    }
                    self.write(t, row, out)
                        .map_err(|e| e.prefixed(&format!("[{i}]")))?;
                }
                out.push(b']');
            }
            Template::Entries { from, fields } => {
                let elems = self.elements(from, row)?;
                let outer = self.row_pushed.take();
                out.push(b'[');
                for (index, item) in elems.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    let r = self.write_object(fields, Some(Row { item, index }), None, out);
                    if let (Some(len), Some(scope)) = (self.row_pushed.take(), self.scope.as_mut())
                    {
                        // Back to the enclosing row (or the header) for the fields that follow.
                        scope.rewind(len);
                    }
                    r.map_err(|e| e.prefixed(&format!("[{index}]")))?;
                }
                self.row_pushed = outer;
                out.push(b']');
            }
        }
        Ok(())
    }

    /// Runs a script natively when it can (see [`native`](super::native)), else in rhai.
    fn run_script(&mut self, s: &Script, row: Option<Row>) -> Result<Value, FieldError> {
        let engine = self.engine;
        if let Some(n) = &s.native {
            let (item, index) = row.map_or((None, 0), |r| (Some(r.item), r.index));
            if let Ok(v) = native::eval(n, self.doc, item, index, engine.lookups()) {
                return Ok(v);
            }
        }
        let class = &mut self.class;
        let doc = self.doc;
        let scope = self.scope.get_or_insert_with(|| {
            let mut sizes = DataSizes::default();
            let mut s = Scope::new();
            s.push_constant_dynamic(VAR_DOC, to_dynamic(doc, &mut sizes));
            *class = sandbox::class_of(&sizes);
            s
        });
        if let (Some(r), None) = (row, self.row_pushed) {
            self.row_pushed = Some(scope.len());
            scope.push_constant_dynamic(VAR_ITEM, to_dynamic(r.item, &mut DataSizes::default()));
            scope.push_constant(VAR_INDEX, r.index as i64);
        }
        let d = engine
            .run_sized(s, scope, self.class)
            .map_err(|m| FieldError {
                field: String::new(),
                message: m,
            })?;
        to_json(&d).map_err(|m| FieldError {
            field: String::new(),
            message: format!("script result cannot be written as JSON: {m}"),
        })
    }
}

/// `v` as compact JSON, as `serde_json::to_vec` writes it (into a `Vec`, which cannot fail).
fn write_json(out: &mut Vec<u8>, v: &Value) {
    let _ = serde_json::to_writer(&mut *out, v);
}

/// `"key":`, the key escaped as serde_json escapes it.
fn write_key(out: &mut Vec<u8>, k: &str) {
    let _ = serde_json::to_writer(&mut *out, k);
    out.push(b':');
}

/// A JSON value as rhai sees it (`null` is `()`; integers that fit `i64` are integers, other
/// numbers floats), the same as `rhai::serde::to_dynamic` without the serde round trip. Adds the
/// value's data sizes, as rhai counts them, to `sizes`.
pub(crate) fn to_dynamic(v: &Value, sizes: &mut DataSizes) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => {
            sizes.strings += s.len();
            Dynamic::from(rhai::ImmutableString::from(s.as_str()))
        }
        Value::Array(a) => {
            sizes.arrays += a.len();
            let mut out = rhai::Array::with_capacity(a.len());
            out.extend(a.iter().map(|e| to_dynamic(e, sizes)));
            Dynamic::from_array(out)
        }
        Value::Object(m) => {
            sizes.maps += m.len();
            let mut out = rhai::Map::new();
            for (k, e) in m {
                out.insert(k.as_str().into(), to_dynamic(e, sizes));
            }
            Dynamic::from_map(out)
        }
    }
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn to_dynamic_matches_rhai_serde() {
        let doc = json!({
            "n": null, "b": true, "i": -5, "u": 18446744073709551615u64, "f": 1.25, "s": "文本",
            "items": [{"q": 1, "sub": [{"x": 2}]}, 3, "x", [1, {"y": 1}]], "o": {"k": [1.5]}
        });
        let ours = to_dynamic(&doc, &mut DataSizes::default());
        let theirs = rhai::serde::to_dynamic(&doc).expect("serde");
        assert_eq!(ours.to_string(), theirs.to_string());
        assert_eq!(format!("{ours:?}"), format!("{theirs:?}"));
        assert_eq!(to_json(&ours), to_json(&theirs));
    }

    /// The sizes counted while converting are the ones rhai measures: a method call on the
    /// document passes with limits at exactly those sizes and fails one below any of them.
    #[test]
    fn data_sizes_are_the_ones_rhai_measures() {
        let doc = json!({
            "io_id": 1, "s": "文本", "n": null,
            "items": [{"sku": "A-1", "sub": [1, "xy", {"k": "v"}]}, 3, [1, [2, "z"]]],
            "o": {"k": [1.5, "abc"]}
        });
        let mut sizes = DataSizes::default();
        let d = to_dynamic(&doc, &mut sizes);
        let within = |strings: usize, arrays: usize, maps: usize| {
            let mut e = rhai::Engine::new();
            e.set_max_string_size(strings);
            e.set_max_array_size(arrays);
            e.set_max_map_size(maps);
            let mut scope = Scope::new();
            scope.push_constant_dynamic("doc", d.clone());
            e.eval_with_scope::<Dynamic>(&mut scope, "doc.len()")
                .is_ok()
        };
        let (s, a, m) = (sizes.strings, sizes.arrays, sizes.maps);
        assert!(s > 1 && a > 1 && m > 1, "{sizes:?}");
        assert!(within(s, a, m), "{sizes:?}");
        assert!(!within(s - 1, a, m), "{sizes:?}");
        assert!(!within(s, a - 1, m), "{sizes:?}");
        assert!(!within(s, a, m - 1), "{sizes:?}");
    }
}
