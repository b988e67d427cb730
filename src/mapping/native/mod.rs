//! Mapping formulas run as native code: the simple scripts a mapping is made of (`"JST-" +
//! doc.io_id`, `lookup("warehouse", doc.warehouse)`, `round(num(item.sale_price), 2)`,
//! comparisons, `if`, a `for` over a document array) are read once at config load into a small
//! tree ([`parse`]) and evaluated over the JSON document directly ([`eval`]), without converting
//! the document into rhai values.
//!
//! rhai stays the authority: whatever the native evaluator is not certain to do exactly as rhai
//! does (a float printed into text, an error of any kind, a type it does not know, a long loop,
//! a long text) makes it give up on that run, and the script runs in rhai as before. So results
//! and error messages are rhai's by construction; the native path only makes the common case
//! cheap. The differential test in `tests.rs` checks that over many generated documents.

mod eval;
mod parse;
#[cfg(test)]
mod tests;

pub use eval::{eval, Fallback};

/// A script read into the native subset.
#[derive(Debug, Clone)]
pub struct Native {
    body: Block,
}

impl Native {
    /// `None` when the script uses anything outside the native subset.
    pub fn compile(source: &str) -> Option<Native> {
        parse::script(source).map(|body| Native { body })
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Lit {
    Unit,
    Bool(bool),
    Int(i64),
    Float(f64),
    Str(String),
}

#[derive(Debug, Clone, PartialEq)]
enum Var {
    Doc,
    Item,
    Index,
    Local(String),
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum BinOp {
    Add,
    Sub,
    Mul,
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Func {
    Lookup,
    LookupOr,
    Num,
    Round,
    Abs,
    Date,
}

#[derive(Debug, Clone, PartialEq)]
enum Expr {
    Lit(Lit),
    Var(Var),
    /// `x.name`
    Prop(Box<Expr>, String),
    /// `x.len()`
    Len(Box<Expr>),
    Call(Func, Vec<Expr>),
    Neg(Box<Expr>),
    Not(Box<Expr>),
    Bin(BinOp, Box<Expr>, Box<Expr>),
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Paren(Box<Expr>),
    If(Box<Expr>, Block, Option<Box<Expr>>),
    Block(Block),
}

#[derive(Debug, Clone, PartialEq)]
enum Stmt {
    Let(String, Option<Expr>),
    Assign(String, Expr),
    Expr(Expr),
    For(String, Expr, Block),
    Break,
}

/// What a block gives.
#[derive(Debug, Clone, PartialEq)]
enum Tail {
    /// Its last expression (no `;` after it).
    Expr(Box<Expr>),
    /// Nothing in it: `()`.
    Unit,
    /// Ends with a statement: left to rhai when the value is used.
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
struct Block {
    stmts: Vec<Stmt>,
    tail: Tail,
}
