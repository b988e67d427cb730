//! Evaluates compiled templates against one source document.

use rhai::{Dynamic, Scope};
use serde_json::{Map, Value};

use super::script::{to_json, ScriptEngine, VAR_DOC, VAR_INDEX, VAR_ITEM};
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
}

impl<'a> Run<'a> {
    pub fn new(engine: &'a ScriptEngine, doc: &'a Value, scripts: bool) -> Result<Self, String> {
        let scope = if scripts {
            let d = rhai::serde::to_dynamic(doc)
                .map_err(|e| format!("document cannot be given to scripts: {e}"))?;
            let mut s = Scope::new();
            s.push_constant_dynamic(VAR_DOC, d.into_shared());
            Some(s)
        } else {
            None
        };
        Ok(Run { engine, doc, scope })
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
            Template::Script(s) => {
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
                        Some(
                            rhai::serde::to_dynamic(item)
                                .map_err(|e| FieldError {
                                    field: format!("[{i}]"),
                                    message: e.to_string(),
                                })?
                                .into_shared(),
                        )
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
