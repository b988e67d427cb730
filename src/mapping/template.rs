//! What a mapping field produces, and the string conventions that decide it.

use serde_json::Value;

use super::path::SourcePath;
use super::script::{Script, ScriptEngine};

/// One field (or nested value) of a Kingdee model, compiled.
#[derive(Debug, Clone)]
pub enum Template {
    /// Written as-is.
    Const(Value),
    /// `"$path"`: the source value (missing → null).
    Path(SourcePath),
    /// `"=expr"`: a rhai script's result.
    Script(Box<Script>),
    /// An inline table or sub-table: a JSON object whose values follow the same rules.
    Object(Vec<(String, Template)>),
    /// A TOML array: a JSON array whose elements follow the same rules.
    Array(Vec<Template>),
    /// `{ from = "items", fields = { … } }`: one object per element of a source array.
    Entries {
        from: SourcePath,
        fields: Vec<(String, Template)>,
    },
}

/// How a mapping string is read.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StrKind<'a> {
    Literal(std::borrow::Cow<'a, str>),
    Path(&'a str),
    Script(&'a str),
}

/// The value convention for strings: `$path`, `=script`, `$$…`/`==…` escape a literal leading
/// `$`/`=`; anything else is a constant.
pub fn classify(s: &str) -> StrKind<'_> {
    if let Some(rest) = s.strip_prefix("$$") {
        StrKind::Literal(format!("${rest}").into())
    } else if let Some(rest) = s.strip_prefix("==") {
        StrKind::Literal(format!("={rest}").into())
    } else if let Some(p) = s.strip_prefix('$') {
        StrKind::Path(p)
    } else if let Some(e) = s.strip_prefix('=') {
        StrKind::Script(e)
    } else {
        StrKind::Literal(s.into())
    }
}

impl Template {
    /// Compiles a mapping string according to [`classify`].
    pub fn from_str(s: &str, engine: &ScriptEngine, in_row: bool) -> Result<Template, String> {
        match classify(s) {
            StrKind::Literal(l) => Ok(Template::Const(Value::String(l.into_owned()))),
            StrKind::Path(p) => SourcePath::parse(p, in_row).map(Template::Path),
            StrKind::Script(src) => {
                if src.trim().is_empty() {
                    return Err("empty script after `=`".into());
                }
                engine
                    .compile(src, in_row)
                    .map(|s| Template::Script(Box::new(s)))
            }
        }
    }

    /// The same template with constant objects and arrays built once: `{ FNumber = "100" }`
    /// becomes one constant value instead of an object assembled per document.
    pub fn folded(self) -> Template {
        let fold = |fields: Vec<(String, Template)>| -> Vec<(String, Template)> {
            fields.into_iter().map(|(k, t)| (k, t.folded())).collect()
        };
        match self {
            Template::Object(fields) => {
                let fields = fold(fields);
                if fields.iter().all(|(_, t)| matches!(t, Template::Const(_))) {
                    let mut m = serde_json::Map::with_capacity(fields.len());
                    for (k, t) in fields {
                        if let Template::Const(v) = t {
                            m.insert(k, v);
                        }
                    }
                    Template::Const(Value::Object(m))
                } else {
                    Template::Object(fields)
                }
            }
            Template::Array(items) => {
                let items: Vec<Template> = items.into_iter().map(Template::folded).collect();
                if items.iter().all(|t| matches!(t, Template::Const(_))) {
                    Template::Const(Value::Array(
                        items
                            .into_iter()
                            .filter_map(|t| match t {
                                Template::Const(v) => Some(v),
                                _ => None,
                            })
                            .collect(),
                    ))
                } else {
                    Template::Array(items)
                }
            }
            Template::Entries { from, fields } => Template::Entries {
                from,
                fields: fold(fields),
            },
            other => other,
        }
    }

    /// Whether evaluating this needs the document as a rhai value.
    pub fn has_scripts(&self) -> bool {
        match self {
            Template::Const(_) | Template::Path(_) => false,
            Template::Script(_) => true,
            Template::Object(f) | Template::Entries { fields: f, .. } => {
                f.iter().any(|(_, t)| t.has_scripts())
            }
            Template::Array(a) => a.iter().any(Template::has_scripts),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::mapping::script::Lookups;

    #[test]
    fn conventions() {
        assert_eq!(classify("$io_id"), StrKind::Path("io_id"));
        assert_eq!(classify("=doc.a + 1"), StrKind::Script("doc.a + 1"));
        assert_eq!(
            classify("BD_OwnerOrg"),
            StrKind::Literal("BD_OwnerOrg".into())
        );
        assert_eq!(classify("$$5"), StrKind::Literal("$5".into()));
        assert_eq!(classify("==x"), StrKind::Literal("=x".into()));
        assert_eq!(classify(""), StrKind::Literal("".into()));
        assert_eq!(classify("a$b=c"), StrKind::Literal("a$b=c".into()));
    }

    #[test]
    fn from_str_compiles_or_explains() {
        let e = ScriptEngine::new(Lookups::new());
        assert!(matches!(
            Template::from_str("$io_id", &e, false),
            Ok(Template::Path(_))
        ));
        assert!(matches!(
            Template::from_str("=doc.io_id", &e, false),
            Ok(Template::Script(_))
        ));
        assert!(matches!(
            Template::from_str("XSTHD01_SYS", &e, false),
            Ok(Template::Const(Value::String(_)))
        ));
        assert!(Template::from_str("$item.sku_id", &e, false).is_err());
        assert!(Template::from_str("$item.sku_id", &e, true).is_ok());
        assert!(Template::from_str("=", &e, false).is_err());
        assert!(Template::from_str("=doc.(", &e, false).is_err());
        let t = Template::Object(vec![
            ("a".into(), Template::Const(Value::Null)),
            ("b".into(), Template::from_str("=1", &e, false).unwrap()),
        ]);
        assert!(t.has_scripts());
        assert!(!Template::Array(vec![Template::Const(Value::Null)]).has_scripts());
    }
}
