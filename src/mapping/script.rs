//! The sandboxed rhai engine shared by every scheme of a config, and compiled scripts.
//!
//! Functions available to scripts besides rhai's standard library (which has no file or network
//! access): `lookup(name, key)`, `lookup_or(name, key, default)`, `num(x)`, `round(x, digits)`,
//! `abs(x)` (numbers or numeric strings, see [`numbers`](super::numbers)),
//! `date(text, "yyyy-MM-dd")`. Limits on operations, depth, string, array and map sizes stop a
//! runaway script; they count beyond what the document holds (see [`sandbox`](super::sandbox)).

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, OnceLock};

use rhai::{Dynamic, Engine, EvalAltResult, Position, Scope, AST};

use super::{numbers, sandbox};

/// Static value maps (`[lookups.NAME]`): lookup name → (source value → Kingdee value).
pub type Lookups = BTreeMap<String, HashMap<String, String>>;

/// Variables a script sees.
pub const VAR_DOC: &str = "doc";
pub const VAR_ITEM: &str = "item";
pub const VAR_INDEX: &str = "index";

/// One engine for a whole config: the lookups are registered as functions. It holds one rhai
/// engine per sandbox size class (the same functions, scaled limits), built when first needed.
pub struct ScriptEngine {
    engines: Vec<OnceLock<Engine>>,
    lookups: Arc<Lookups>,
}

impl std::fmt::Debug for ScriptEngine {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptEngine")
            .field("lookups", &self.lookups.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// A compiled script with its source (for messages).
#[derive(Clone)]
pub struct Script {
    pub source: String,
    pub ast: AST,
    /// Whether the script may use `item`/`index` (it sits inside an entry's fields).
    pub in_row: bool,
    /// Whether the script gives the same result for every row of a document: it is in a row
    /// but compiles without `item` and `index`, so the mapper runs it once per document.
    pub per_document: bool,
    /// The script in the native subset, when it is in it: run without rhai (rhai still runs
    /// it whenever the native evaluator cannot vouch for a result).
    pub native: Option<super::native::Native>,
}

impl std::fmt::Debug for Script {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Script({:?})", self.source)
    }
}

fn key_text(key: &Dynamic) -> String {
    if key.is_unit() {
        String::new()
    } else if let Some(s) = key.read_lock::<rhai::ImmutableString>() {
        s.to_string()
    } else {
        key.to_string()
    }
}

fn lookup_error(name: &str, key: &str, known: bool) -> Box<EvalAltResult> {
    let msg = if known {
        format!("lookup \"{name}\" has no entry for \"{key}\"")
    } else {
        format!("there is no lookup named \"{name}\"")
    };
    Box::new(EvalAltResult::ErrorRuntime(msg.into(), Position::NONE))
}

/// A rhai engine with ferry's functions and the limits of a sandbox size class.
fn build(lookups: &Arc<Lookups>, class: usize) -> Engine {
    let mut engine = Engine::new();
    sandbox::apply(&mut engine, class);
    engine.set_max_expr_depths(64, 32);
    engine.set_max_call_levels(16);
    engine.set_strict_variables(true);
    engine.disable_symbol("eval");
    engine.on_print(|_| {});
    engine.on_debug(|_, _, _| {});

    let l = lookups.clone();
    engine.register_fn(
        "lookup",
        move |name: &str, key: Dynamic| -> Result<String, Box<EvalAltResult>> {
            let key = key_text(&key);
            let table = l.get(name).ok_or_else(|| lookup_error(name, &key, false))?;
            table
                .get(&key)
                .cloned()
                .ok_or_else(|| lookup_error(name, &key, true))
        },
    );
    let l = lookups.clone();
    engine.register_fn(
        "lookup_or",
        move |name: &str, key: Dynamic, default: Dynamic| -> Result<Dynamic, Box<EvalAltResult>> {
            let key = key_text(&key);
            let table = l.get(name).ok_or_else(|| lookup_error(name, &key, false))?;
            Ok(table
                .get(&key)
                .map(|v| Dynamic::from(v.clone()))
                .unwrap_or(default))
        },
    );
    numbers::register(&mut engine);
    engine.register_fn(
        "date",
        |text: &str, pattern: &str| -> Result<String, Box<EvalAltResult>> {
            let unix = crate::time::parse_beijing(text).map_err(|e| -> Box<EvalAltResult> {
                Box::new(EvalAltResult::ErrorRuntime(
                    e.to_string().into(),
                    Position::NONE,
                ))
            })?;
            Ok(crate::time::format_pattern(unix, pattern))
        },
    );
    engine.register_fn("date", |_text: (), _pattern: &str| {});
    engine
}

impl ScriptEngine {
    pub fn new(lookups: Lookups) -> Arc<ScriptEngine> {
        let lookups = Arc::new(lookups);
        let engines: Vec<OnceLock<Engine>> =
            (0..sandbox::CLASSES).map(|_| OnceLock::new()).collect();
        let _ = engines[0].set(build(&lookups, 0));
        Arc::new(ScriptEngine { engines, lookups })
    }

    /// The engine of a sandbox size class (built on first use).
    fn engine(&self, class: usize) -> &Engine {
        let class = class.min(self.engines.len() - 1);
        self.engines[class].get_or_init(|| build(&self.lookups, class))
    }

    pub fn lookups(&self) -> &Lookups {
        &self.lookups
    }

    /// Compiles a script once. `in_row`: `item` and `index` are in scope. Undefined variables,
    /// syntax errors and unknown lookup names (when written as a literal) are errors here.
    pub fn compile(&self, source: &str, in_row: bool) -> Result<Script, String> {
        self.compile_inner(source, in_row, false)
    }

    /// Like [`compile`](Self::compile) but only an expression is allowed (no `let`, no
    /// assignment): used for preconditions, where `=` instead of `==` is a likely slip.
    pub fn compile_expression(&self, source: &str) -> Result<Script, String> {
        self.compile_inner(source, false, true)
    }

    fn compile_inner(&self, source: &str, in_row: bool, expr: bool) -> Result<Script, String> {
        // Plain variables, not constants: the optimizer would fold a constant's compile-time
        // placeholder value into the script (`index + 1` would always be 1).
        let mut scope = Scope::new();
        scope.push_dynamic(VAR_DOC, Dynamic::UNIT);
        if in_row {
            scope.push_dynamic(VAR_ITEM, Dynamic::UNIT);
            scope.push_dynamic(VAR_INDEX, Dynamic::from(0i64));
        }
        let ast = if expr {
            self.engine(0).compile_expression_with_scope(&scope, source)
        } else {
            self.engine(0).compile_with_scope(&scope, source)
        };
        let ast = ast.map_err(|e| {
            let msg = e.to_string();
            if !in_row && msg.contains("Undefined variable: item") {
                format!("{msg} (`item` is only available inside an entry's fields)")
            } else {
                msg
            }
        })?;
        for name in literal_lookup_names(source) {
            if !self.lookups.contains_key(&name) {
                let known: Vec<&str> = self.lookups.keys().map(String::as_str).collect();
                return Err(format!(
                    "lookup \"{name}\" is not defined (defined lookups: {})",
                    if known.is_empty() {
                        "none".to_string()
                    } else {
                        known.join(", ")
                    }
                ));
            }
        }
        // A row script that compiles without `item`/`index` depends on `doc` alone.
        let per_document = in_row && {
            let mut doc_only = Scope::new();
            doc_only.push_dynamic(VAR_DOC, Dynamic::UNIT);
            self.engine(0).compile_with_scope(&doc_only, source).is_ok()
        };
        Ok(Script {
            source: source.to_string(),
            ast,
            in_row,
            per_document,
            native: super::native::Native::compile(source),
        })
    }

    /// Runs a compiled script with the variables already in `scope`, with the base sandbox
    /// limits; variables the script declares are dropped afterwards.
    pub fn run(&self, script: &Script, scope: &mut Scope) -> Result<Dynamic, String> {
        self.run_sized(script, scope, 0)
    }

    /// Like [`run`](Self::run), with the limits of a sandbox size class
    /// ([`sandbox::class_of`] the document in `scope`).
    pub fn run_sized(
        &self,
        script: &Script,
        scope: &mut Scope,
        class: usize,
    ) -> Result<Dynamic, String> {
        #[cfg(test)]
        RHAI_RUNS.with(|n| n.set(n.get() + 1));
        let len = scope.len();
        let r = self
            .engine(class)
            .eval_ast_with_scope::<Dynamic>(scope, &script.ast);
        scope.rewind(len);
        r.map_err(|e| sandbox::describe_error(&e, class))
    }
}

#[cfg(test)]
thread_local! {
    /// Scripts run in rhai on this thread (tests count them).
    pub static RHAI_RUNS: std::cell::Cell<usize> = const { std::cell::Cell::new(0) };
}

/// The names of lookups a script calls with a string literal: `lookup("warehouse", …)`.
pub fn literal_lookup_names(source: &str) -> Vec<String> {
    let mut names = Vec::new();
    let mut rest = source;
    while let Some(i) = rest.find("lookup") {
        let before_ok = rest[..i]
            .chars()
            .next_back()
            .map(|c| !(c.is_alphanumeric() || c == '_'))
            .unwrap_or(true);
        let mut after = &rest[i + "lookup".len()..];
        rest = after;
        if !before_ok {
            continue;
        }
        after = after.strip_prefix("_or").unwrap_or(after);
        let after = after.trim_start();
        let Some(after) = after.strip_prefix('(') else {
            continue;
        };
        let after = after.trim_start();
        let Some(after) = after.strip_prefix('"') else {
            continue;
        };
        if let Some(end) = after.find('"') {
            names.push(after[..end].to_string());
        }
    }
    names
}

/// Converts a script result to JSON (`()` is null).
pub fn to_json(d: &Dynamic) -> Result<serde_json::Value, String> {
    use serde_json::Value;
    // Scalars directly (most script results): the serde route costs several allocations.
    if d.is_unit() {
        return Ok(Value::Null);
    }
    if let Some(s) = d.read_lock::<rhai::ImmutableString>() {
        return Ok(Value::String(s.as_str().to_string()));
    }
    if let Ok(b) = d.as_bool() {
        return Ok(Value::Bool(b));
    }
    if let Ok(i) = d.as_int() {
        return Ok(Value::from(i));
    }
    if let Ok(f) = d.as_float() {
        if let Some(n) = serde_json::Number::from_f64(f) {
            return Ok(Value::Number(n));
        }
    }
    rhai::serde::from_dynamic::<Value>(d).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn engine() -> Arc<ScriptEngine> {
        let mut l = Lookups::new();
        l.insert(
            "warehouse".into(),
            [("主仓".to_string(), "CK001".to_string())]
                .into_iter()
                .collect(),
        );
        ScriptEngine::new(l)
    }

    fn eval(
        e: &ScriptEngine,
        src: &str,
        doc: serde_json::Value,
    ) -> Result<serde_json::Value, String> {
        let s = e.compile(src, false)?;
        let mut scope = Scope::new();
        scope.push_constant(VAR_DOC, rhai::serde::to_dynamic(&doc).unwrap());
        to_json(&e.run(&s, &mut scope)?)
    }

    #[test]
    fn functions() {
        let e = engine();
        let d = json!({"io_id": 10001, "io_date": "2026-09-02 10:00:00.123", "p": 1.005, "z": 0.0, "w": "主仓"});
        assert_eq!(
            eval(&e, r#""JST-" + doc.io_id"#, d.clone()).unwrap(),
            json!("JST-10001")
        );
        assert_eq!(
            eval(&e, r#"date(doc.io_date, "yyyy-MM-dd")"#, d.clone()).unwrap(),
            json!("2026-09-02")
        );
        assert_eq!(
            eval(&e, r#"date(doc.nope, "yyyy-MM-dd")"#, d.clone()).unwrap(),
            json!(null)
        );
        assert_eq!(eval(&e, "round(2.345, 2)", d.clone()).unwrap(), json!(2.35));
        assert_eq!(eval(&e, "abs(-3)", d.clone()).unwrap(), json!(3));
        assert_eq!(eval(&e, "doc.z == 0", d.clone()).unwrap(), json!(true));
        assert_eq!(
            eval(
                &e,
                "if doc.io_id > 5 { \"big\" } else { \"small\" }",
                d.clone()
            )
            .unwrap(),
            json!("big")
        );
        assert_eq!(
            eval(&e, r#"lookup("warehouse", doc.w)"#, d.clone()).unwrap(),
            json!("CK001")
        );
        assert_eq!(
            eval(&e, r#"lookup_or("warehouse", "x", "CK009")"#, d.clone()).unwrap(),
            json!("CK009")
        );
        let err = eval(&e, r#"lookup("warehouse", "外仓")"#, d.clone()).unwrap_err();
        assert!(
            err.contains("lookup \"warehouse\" has no entry for \"外仓\""),
            "{err}"
        );
        assert!(eval(&e, "let x = 2; x * doc.io_id", d.clone()).is_ok());
    }

    #[test]
    fn compile_time_checks() {
        let e = engine();
        let err = e
            .compile(r#"lookup("customer", doc.x)"#, false)
            .unwrap_err();
        assert!(err.contains("lookup \"customer\" is not defined"), "{err}");
        assert!(e.compile("dco.x", false).is_err());
        assert!(e.compile("item.x", false).unwrap_err().contains("entry"));
        assert!(e.compile("item.x + index", true).is_ok());
        assert!(!e.compile("item.x + index", true).unwrap().per_document);
        assert!(!e.compile("index", true).unwrap().per_document);
        assert!(e.compile("doc.x + 1", true).unwrap().per_document);
        assert!(!e.compile("doc.x + 1", false).unwrap().per_document);
        assert!(e.compile("doc.x +", false).is_err());
        assert!(e.compile_expression(r#"doc.status = "Confirmed""#).is_err());
        assert!(e.compile_expression(r#"doc.status == "Confirmed""#).is_ok());
        assert_eq!(
            literal_lookup_names(r#"lookup("a", 1) + lookup_or( "b",2,3) + mylookup("c")"#),
            vec!["a", "b"]
        );
    }

    #[test]
    fn sandbox_limits() {
        let e = engine();
        let err = eval(&e, "let x = 0; loop { x += 1; }", json!({})).unwrap_err();
        assert!(err.to_lowercase().contains("too many operations"), "{err}");
        let huge = r#"let s = "深"; for i in 0..40 { s += s; }; s.len()"#;
        let err = eval(&e, huge, json!({})).unwrap_err();
        assert!(err.contains("Length of string too large"), "{err}");
        let err = eval(
            &e,
            "let a = [1]; a.pad(1_000_000_000, 0); a.len()",
            json!({}),
        )
        .unwrap_err();
        assert!(err.contains("too large"), "{err}");
        // A larger class allows more, and is still a limit.
        let s = e.compile(huge, false).unwrap();
        let mut scope = Scope::new();
        scope.push_constant(VAR_DOC, ());
        let err = e.run_sized(&s, &mut scope, 4).unwrap_err();
        assert!(
            err.contains("too large") && err.contains("4194304"),
            "{err}"
        );
    }

    #[test]
    fn numbers_and_numeric_strings() {
        let e = engine();
        let d = json!({"q": "3", "p": "129.90", "z": "0.00", "b": " ", "n": 2, "f": 1.5,
                       "neg": "-2.5", "bad": "12,5", "t": true});
        for (src, want) in [
            ("num(doc.q)", json!(3)),
            ("num(doc.p)", json!(129.9)),
            ("num(doc.z)", json!(0.0)),
            ("num(doc.z) == 0", json!(true)),
            ("num(doc.b)", json!(0)),
            ("num(doc.missing)", json!(0)),
            ("num(doc.n)", json!(2)),
            ("num(doc.f)", json!(1.5)),
            ("num(doc.q) + 1", json!(4)),
            ("round(doc.p, 1)", json!(129.9)),
            (r#"round("2.345", 2)"#, json!(2.35)),
            ("round(doc.q, 2)", json!(3)),
            ("round(doc.n, 2)", json!(2)),
            ("round(doc.f, 0)", json!(2.0)),
            ("round(doc.missing, 2)", json!(null)),
            ("round(doc.b, 2)", json!(null)),
            ("abs(doc.neg)", json!(2.5)),
            (r#"abs("-3")"#, json!(3)),
            ("abs(-2)", json!(2)),
            ("abs(-2.5)", json!(2.5)),
            (
                r#"abs("-9223372036854775808")"#,
                json!(9223372036854775808.0),
            ),
            // Why formulas need num() (as the README says): no arithmetic on strings.
            (r#""2" + 1"#, json!("21")),
            (r#""0.00" == 0"#, json!(false)),
        ] {
            assert_eq!(eval(&e, src, d.clone()), Ok(want), "{src}");
        }
        for (src, says) in [
            ("num(doc.bad)", r#""12,5" is not a number"#),
            ("round(doc.bad, 2)", r#""12,5" is not a number"#),
            ("abs(doc.bad)", r#""12,5" is not a number"#),
            ("num(doc.t)", "true (a boolean) is not a number"),
            ("num([1, 2])", "(an array) is not a number"),
            ("num(#{a: 1})", "(an object) is not a number"),
            (r#"num("NaN")"#, r#""NaN" is not a number"#),
            ("abs(doc.missing)", "abs: the value is missing (null)"),
            ("abs(doc.b)", "abs: the value is missing (an empty string)"),
        ] {
            let err = eval(&e, src, d.clone()).unwrap_err();
            assert!(err.contains(says), "{src}: {err}");
            assert!(!err.contains("Runtime error"), "{src}: {err}");
        }
    }
}
