//! Evaluates a [`Native`] script over the JSON document, the way rhai evaluates it over the
//! document's rhai form (see `script::to_dynamic` in `eval.rs`): `null` is `()`, integers that fit
//! `i64` are integers, other numbers floats. Every case not known to match rhai exactly gives
//! [`Fallback`], and the script then runs in rhai.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::{BinOp, Block, Expr, Func, Lit, Native, Stmt, Tail, Var};
use crate::mapping::numbers::{self, Num};
use crate::mapping::sandbox::BASE_STRING_BYTES;
use crate::mapping::script::Lookups;

/// The native evaluator cannot vouch for this run: run the script in rhai.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fallback;

/// Steps before giving up to rhai (far below rhai's smallest operation limit, so a script that
/// rhai would stop never finishes natively).
const MAX_STEPS: u32 = 5_000;

#[derive(Debug, Clone)]
enum V<'a> {
    Unit,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(Cow<'a, str>),
    Arr(&'a [Value]),
    Obj(&'a Map<String, Value>),
    /// The value of a block that ends with a statement: not modelled.
    Opaque,
}

enum Stop {
    Fallback,
    Break,
}

impl From<Fallback> for Stop {
    fn from(_: Fallback) -> Stop {
        Stop::Fallback
    }
}

type R<T> = Result<T, Stop>;

const FB: Stop = Stop::Fallback;

fn json(v: &Value) -> V<'_> {
    match v {
        Value::Null => V::Unit,
        Value::Bool(b) => V::Bool(*b),
        Value::Number(n) => match n.as_i64() {
            Some(i) => V::Int(i),
            None => V::Float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => V::Str(Cow::Borrowed(s)),
        Value::Array(a) => V::Arr(a),
        Value::Object(m) => V::Obj(m),
    }
}

struct Ctx<'a> {
    doc: &'a Value,
    item: Option<&'a Value>,
    index: i64,
    lookups: &'a Lookups,
    /// Name, value, whether an assignment may change it (`let`, not a loop variable).
    locals: Vec<(&'a str, V<'a>, bool)>,
    steps: u32,
}

/// Runs a script natively. `item`/`index`: the current entry row, if any.
pub fn eval(
    script: &Native,
    doc: &Value,
    item: Option<&Value>,
    index: usize,
    lookups: &Lookups,
) -> Result<Value, Fallback> {
    let mut c = Ctx {
        doc,
        item,
        index: i64::try_from(index).map_err(|_| Fallback)?,
        lookups,
        locals: Vec::new(),
        steps: 0,
    };
    let v = match c.block(&script.body) {
        Ok(v) => v,
        Err(_) => return Err(Fallback),
    };
    Ok(match v {
        V::Unit => Value::Null,
        V::Bool(b) => Value::Bool(b),
        V::Int(i) => Value::from(i),
        V::Float(f) => Value::Number(serde_json::Number::from_f64(f).ok_or(Fallback)?),
        V::Str(s) => Value::String(s.into_owned()),
        V::Arr(_) | V::Obj(_) | V::Opaque => return Err(Fallback),
    })
}

impl<'a> Ctx<'a> {
    fn step(&mut self) -> R<()> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(FB);
        }
        Ok(())
    }

    fn block(&mut self, b: &'a Block) -> R<V<'a>> {
        let depth = self.locals.len();
        let r = self.block_inner(b);
        self.locals.truncate(depth);
        r
    }

    fn block_inner(&mut self, b: &'a Block) -> R<V<'a>> {
        for s in &b.stmts {
            self.stmt(s)?;
        }
        match &b.tail {
            Tail::Expr(e) => self.expr(e),
            Tail::Unit => Ok(V::Unit),
            Tail::Unknown => Ok(V::Opaque),
        }
    }

    fn stmt(&mut self, s: &'a Stmt) -> R<()> {
        self.step()?;
        match s {
            Stmt::Let(name, init) => {
                let v = match init {
                    Some(e) => self.expr(e)?,
                    None => V::Unit,
                };
                self.locals.push((name, v, true));
            }
            Stmt::Assign(name, e) => {
                let v = self.expr(e)?;
                match self.locals.iter_mut().rev().find(|(n, _, _)| n == name) {
                    Some((_, slot, true)) => *slot = v,
                    _ => return Err(FB),
                }
            }
            Stmt::Expr(e) => {
                self.expr(e)?;
            }
            Stmt::For(name, over, body) => {
                let V::Arr(elems) = self.expr(over)? else {
                    return Err(FB);
                };
                for e in elems {
                    self.step()?;
                    let depth = self.locals.len();
                    self.locals.push((name, json(e), false));
                    let r = self.block(body);
                    self.locals.truncate(depth);
                    match r {
                        Ok(_) => {}
                        Err(Stop::Break) => break,
                        Err(Stop::Fallback) => return Err(FB),
                    }
                }
            }
            Stmt::Break => return Err(Stop::Break),
        }
        Ok(())
    }

    fn expr(&mut self, e: &'a Expr) -> R<V<'a>> {
        self.step()?;
        Ok(match e {
            Expr::Lit(l) => match l {
                Lit::Unit => V::Unit,
                Lit::Bool(b) => V::Bool(*b),
                Lit::Int(i) => V::Int(*i),
                Lit::Float(f) => V::Float(*f),
                Lit::Str(s) => V::Str(Cow::Borrowed(s)),
            },
            Expr::Var(v) => match v {
                Var::Doc => json(self.doc),
                Var::Item => json(self.item.ok_or(FB)?),
                Var::Index => V::Int(self.index),
                Var::Local(n) => self
                    .locals
                    .iter()
                    .rev()
                    .find(|(name, _, _)| name == n)
                    .map(|(_, v, _)| v.clone())
                    .ok_or(FB)?,
            },
            Expr::Prop(x, name) => match self.expr(x)? {
                V::Obj(m) => m.get(name.as_str()).map_or(V::Unit, json),
                _ => return Err(FB),
            },
            Expr::Len(x) => match self.expr(x)? {
                V::Arr(a) => V::Int(a.len() as i64),
                V::Obj(m) => V::Int(m.len() as i64),
                V::Str(s) => V::Int(s.chars().count() as i64),
                _ => return Err(FB),
            },
            Expr::Call(f, args) => {
                let mut vals = Vec::with_capacity(args.len());
                for a in args {
                    vals.push(self.expr(a)?);
                }
                call(*f, vals, self.lookups)?
            }
            Expr::Neg(x) => match self.expr(x)? {
                V::Int(i) => V::Int(i.checked_neg().ok_or(FB)?),
                V::Float(f) => V::Float(-f),
                _ => return Err(FB),
            },
            Expr::Not(x) => match self.expr(x)? {
                V::Bool(b) => V::Bool(!b),
                _ => return Err(FB),
            },
            Expr::And(l, r) => match self.expr(l)? {
                V::Bool(false) => V::Bool(false),
                V::Bool(true) => V::Bool(self.boolean(r)?),
                _ => return Err(FB),
            },
            Expr::Or(l, r) => match self.expr(l)? {
                V::Bool(true) => V::Bool(true),
                V::Bool(false) => V::Bool(self.boolean(r)?),
                _ => return Err(FB),
            },
            Expr::Bin(op, l, r) => {
                let l = self.expr(l)?;
                let r = self.expr(r)?;
                binary(*op, l, r)?
            }
            Expr::Paren(x) => self.expr(x)?,
            Expr::If(cond, then, otherwise) => {
                if self.boolean(cond)? {
                    self.block(then)?
                } else {
                    match otherwise {
                        Some(e) => self.expr(e)?,
                        None => V::Unit,
                    }
                }
            }
            Expr::Block(b) => self.block(b)?,
        })
    }

    fn boolean(&mut self, e: &'a Expr) -> R<bool> {
        match self.expr(e)? {
            V::Bool(b) => Ok(b),
            _ => Err(FB),
        }
    }
}

/// A value as a lookup key, as `script::key_text` makes it.
fn key_text<'v>(v: &'v V) -> Result<Cow<'v, str>, Fallback> {
    Ok(match v {
        V::Unit => Cow::Borrowed(""),
        V::Str(s) => Cow::Borrowed(s),
        V::Int(i) => Cow::Owned(i.to_string()),
        V::Bool(b) => Cow::Borrowed(if *b { "true" } else { "false" }),
        _ => return Err(Fallback),
    })
}

fn number(n: Num) -> V<'static> {
    match n {
        Num::Int(i) => V::Int(i),
        Num::Float(f) => V::Float(f),
    }
}

/// Whether a value counts as missing (`()` or a blank string), as `numbers::is_missing`.
fn missing(v: &V) -> bool {
    match v {
        V::Unit => true,
        V::Str(s) => s.trim().is_empty(),
        _ => false,
    }
}

fn call<'a>(f: Func, mut args: Vec<V<'a>>, lookups: &'a Lookups) -> R<V<'a>> {
    let arg = |args: &mut Vec<V<'a>>, i: usize| std::mem::replace(&mut args[i], V::Unit);
    Ok(match f {
        Func::Lookup | Func::LookupOr => {
            let V::Str(name) = &args[0] else {
                return Err(FB);
            };
            let table = lookups.get(name.as_ref()).ok_or(FB)?;
            let key = key_text(&args[1])?;
            match table.get(key.as_ref()) {
                Some(v) => V::Str(Cow::Borrowed(v.as_str())),
                None if f == Func::LookupOr => arg(&mut args, 2),
                None => return Err(FB),
            }
        }
        Func::Num => match arg(&mut args, 0) {
            V::Int(i) => V::Int(i),
            V::Float(f) => V::Float(f),
            x if missing(&x) => V::Int(0),
            V::Str(s) => number(numbers::parse_num(&s).ok_or(FB)?),
            _ => return Err(FB),
        },
        Func::Round => {
            let V::Int(digits) = args[1] else {
                return Err(FB);
            };
            match arg(&mut args, 0) {
                V::Float(f) => V::Float(numbers::round_float(f, digits)),
                V::Int(i) => V::Int(i),
                x if missing(&x) => V::Unit,
                V::Str(s) => match numbers::parse_num(&s).ok_or(FB)? {
                    Num::Float(f) => V::Float(numbers::round_float(f, digits)),
                    Num::Int(i) => V::Int(i),
                },
                _ => return Err(FB),
            }
        }
        Func::Abs => match arg(&mut args, 0) {
            V::Int(i) => V::Int(i.checked_abs().ok_or(FB)?),
            V::Float(f) => V::Float(f.abs()),
            x if missing(&x) => return Err(FB),
            V::Str(s) => match numbers::parse_num(&s).ok_or(FB)? {
                Num::Int(i) => match i.checked_abs() {
                    Some(a) => V::Int(a),
                    None => V::Float((i as f64).abs()),
                },
                Num::Float(f) => V::Float(f.abs()),
            },
            _ => return Err(FB),
        },
        Func::Date => {
            let V::Str(pattern) = &args[1] else {
                return Err(FB);
            };
            match &args[0] {
                V::Unit => V::Unit,
                V::Str(text) => {
                    let unix = crate::time::parse_beijing(text).map_err(|_| FB)?;
                    V::Str(Cow::Owned(crate::time::format_pattern(unix, pattern)))
                }
                _ => return Err(FB),
            }
        }
    })
}

/// Text of `a + b` when one side is text, as rhai builds it; too long → rhai decides.
fn concat<'a>(a: &str, b: &str) -> R<V<'a>> {
    if a.len() + b.len() > BASE_STRING_BYTES {
        return Err(FB);
    }
    let mut s = String::with_capacity(a.len() + b.len());
    s.push_str(a);
    s.push_str(b);
    Ok(V::Str(Cow::Owned(s)))
}

fn bool_text(b: bool) -> &'static str {
    if b {
        "true"
    } else {
        "false"
    }
}

/// rhai's float comparison (relative epsilon), for `==`, `!=`, `<`, `<=`, `>`, `>=`.
fn float_cmp(op: BinOp, x: f64, y: f64) -> bool {
    let max = if x * y == 0.0 {
        1.0
    } else {
        x.abs().max(y.abs())
    };
    match op {
        BinOp::Eq => max == 0.0 || (x - y).abs() / max <= f64::EPSILON,
        BinOp::Ne => max != 0.0 && (x - y).abs() / max > f64::EPSILON,
        BinOp::Gt => max != 0.0 && (x - y) / max > f64::EPSILON,
        BinOp::Ge => max == 0.0 || (x - y) / max > -f64::EPSILON,
        BinOp::Lt => max != 0.0 && (y - x) / max > f64::EPSILON,
        _ => max == 0.0 || (y - x) / max > -f64::EPSILON,
    }
}

fn ordered<T: PartialOrd + ?Sized>(op: BinOp, a: &T, b: &T) -> bool {
    match op {
        BinOp::Eq => a == b,
        BinOp::Ne => a != b,
        BinOp::Lt => a < b,
        BinOp::Le => a <= b,
        BinOp::Gt => a > b,
        _ => a >= b,
    }
}

fn float_of(v: &V) -> Option<f64> {
    match v {
        V::Int(i) => Some(*i as f64),
        V::Float(f) => Some(*f),
        _ => None,
    }
}

fn binary<'a>(op: BinOp, l: V<'a>, r: V<'a>) -> R<V<'a>> {
    use BinOp::*;
    if matches!(l, V::Opaque) || matches!(r, V::Opaque) {
        return Err(FB);
    }
    Ok(match (op, &l, &r) {
        (Add, V::Int(a), V::Int(b)) => V::Int(a.checked_add(*b).ok_or(FB)?),
        (Sub, V::Int(a), V::Int(b)) => V::Int(a.checked_sub(*b).ok_or(FB)?),
        (Mul, V::Int(a), V::Int(b)) => V::Int(a.checked_mul(*b).ok_or(FB)?),
        (Add | Sub | Mul, V::Int(_) | V::Float(_), V::Int(_) | V::Float(_)) => {
            let (x, y) = (float_of(&l).ok_or(FB)?, float_of(&r).ok_or(FB)?);
            V::Float(match op {
                Add => x + y,
                Sub => x - y,
                _ => x * y,
            })
        }
        (Add, V::Str(a), V::Str(b)) => concat(a, b)?,
        (Add, V::Str(_), V::Unit) => l,
        (Add, V::Unit, V::Str(_)) => r,
        (Add, V::Str(a), V::Int(i)) => concat(a, &i.to_string())?,
        (Add, V::Int(i), V::Str(b)) => concat(&i.to_string(), b)?,
        (Add, V::Str(a), V::Bool(x)) => concat(a, bool_text(*x))?,
        (Add, V::Bool(x), V::Str(b)) => concat(bool_text(*x), b)?,
        (Add | Sub | Mul, _, _) => return Err(FB),
        (_, V::Int(a), V::Int(b)) => V::Bool(ordered(op, a, b)),
        (_, V::Int(_) | V::Float(_), V::Int(_) | V::Float(_)) => V::Bool(float_cmp(
            op,
            float_of(&l).ok_or(FB)?,
            float_of(&r).ok_or(FB)?,
        )),
        (_, V::Str(a), V::Str(b)) => V::Bool(ordered(op, a.as_ref(), b.as_ref())),
        (_, V::Bool(a), V::Bool(b)) => V::Bool(ordered(op, a, b)),
        (_, V::Unit, V::Unit) => V::Bool(op == Eq),
        // Arrays and objects compare with their own functions in rhai.
        (_, V::Arr(_), V::Arr(_)) | (_, V::Obj(_), V::Obj(_)) => return Err(FB),
        // Values of different types: only `!=` is true (rhai's default).
        _ => V::Bool(op == Ne),
    })
}
