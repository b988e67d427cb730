//! Evaluates compiled templates against one source document.

use rhai::{Dynamic, Scope};
use serde_json::{Map, Value};

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

/// The current row: the element, its rhai form (shared, cheap to clone) and its index.
#[derive(Clone)]
struct Row<'a> {
    item: &'a Value,
    dynamic: Option<Dynamic>,
    index: i64,
}

/// State for one document.
pub(crate) struct Run<'a> {
    engine: &'a ScriptEngine,
    doc: &'a Value,
    /// `Some` when the mapping has scripts: `doc` at position 0, then `item`, `index`.
    scope: Option<Scope<'static>>,
    /// Results of row scripts that depend on `doc` alone, by script address: run once per
    /// document, not once per row.
    per_document: Vec<(*const Script, Value)>,
}

impl<'a> Run<'a> {
    pub fn new(engine: &'a ScriptEngine, doc: &'a Value, scripts: bool) -> Result<Self, String> {
        let scope = if scripts {
            let d = to_dynamic(doc);
            let mut s = Scope::new();
            s.push_constant_dynamic(VAR_DOC, d.into_shared());
            Some(s)
        } else {
            None
        };
        Ok(Run {
            engine,
            doc,
            scope,
            per_document: Vec::new(),
        })
    }

    fn enter_row(&mut self, row: Option<&Row>) {
        if let Some(scope) = self.scope.as_mut() {
            scope.rewind(1);
            if let Some(r) = row {
                if let Some(d) = &r.dynamic {
                    scope.push_constant_dynamic(VAR_ITEM, d.clone());
                    scope.push_constant(VAR_INDEX, r.index);
                }
            }
        }
    }

    /// Runs a script in the document scope (precondition).
    pub fn script(&mut self, t: &Template) -> Result<Value, FieldError> {
        self.value(t, None)
    }

    fn object(
        &mut self,
        fields: &[(String, Template)],
        row: Option<&Row>,
    ) -> Result<Value, FieldError> {
        let mut out = Map::with_capacity(fields.len());
        for (k, t) in fields {
            let v = self.value(t, row).map_err(|e| e.prefixed(k))?;
            out.insert(k.clone(), v);
        }
        Ok(Value::Object(out))
    }

    pub fn header(&mut self, fields: &[(String, Template)]) -> Result<Value, FieldError> {
        self.object(fields, None)
    }

    fn value(&mut self, t: &Template, row: Option<&Row>) -> Result<Value, FieldError> {
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
                let v = self.run_script(s)?;
                self.per_document.push((at, v.clone()));
                Ok(v)
            }
            Template::Script(s) => self.run_script(s),
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
                let src = from.resolve(self.doc, row.map(|r| r.item));
                let elems: &[Value] = match src {
                    None | Some(Value::Null) => &[],
                    Some(Value::Array(a)) => a,
                    Some(other) => {
                        return Err(FieldError {
                            field: String::new(),
                            message: format!(
                                "`{}` is not an array (found {})",
                                from.as_str(),
                                type_name(other)
                            ),
                        })
                    }
                };
                let scripts = self.scope.is_some() && fields.iter().any(|(_, t)| t.has_scripts());
                let mut out = Vec::with_capacity(elems.len());
                for (i, item) in elems.iter().enumerate() {
                    let dynamic = if scripts {
                        Some(to_dynamic(item).into_shared())
                    } else {
                        None
                    };
                    let r = Row {
                        item,
                        dynamic,
                        index: i as i64,
                    };
                    if scripts {
                        self.enter_row(Some(&r));
                    }
                    let v = self
                        .object(fields, Some(&r))
                        .map_err(|e| e.prefixed(&format!("[{i}]")))?;
                    out.push(v);
                }
                if scripts {
                    // Back to the enclosing row (or the header) for the fields that follow.
                    self.enter_row(row);
                }
                Ok(Value::Array(out))
            }
        }
    }
}

impl Run<'_> {
    fn run_script(&mut self, s: &Script) -> Result<Value, FieldError> {
        let engine = self.engine;
        let scope = self.scope.as_mut().ok_or_else(|| FieldError {
            field: String::new(),
            message: "internal: script without scope".into(),
        })?;
        let d = engine.run(s, scope).map_err(|m| FieldError {
            field: String::new(),
            message: m,
        })?;
        to_json(&d).map_err(|m| FieldError {
            field: String::new(),
            message: format!("script result cannot be written as JSON: {m}"),
        })
    }
}

/// A JSON value as rhai sees it (`null` is `()`; integers that fit `i64` are integers, other
/// numbers floats), the same as `rhai::serde::to_dynamic` without the serde round trip.
fn to_dynamic(v: &Value) -> Dynamic {
    match v {
        Value::Null => Dynamic::UNIT,
        Value::Bool(b) => Dynamic::from_bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => Dynamic::from_int(i),
            None => Dynamic::from_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => Dynamic::from(rhai::ImmutableString::from(s.as_str())),
        Value::Array(a) => {
            let mut out = rhai::Array::with_capacity(a.len());
            out.extend(a.iter().map(to_dynamic));
            Dynamic::from_array(out)
        }
        Value::Object(m) => {
            let mut out = rhai::Map::new();
            for (k, e) in m {
                out.insert(k.as_str().into(), to_dynamic(e));
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
        let ours = to_dynamic(&doc);
        let theirs = rhai::serde::to_dynamic(&doc).expect("serde");
        assert_eq!(ours.to_string(), theirs.to_string());
        assert_eq!(format!("{ours:?}"), format!("{theirs:?}"));
        assert_eq!(to_json(&ours), to_json(&theirs));
    }
}
