//! Reads the part of rhai's language that mappings use (paths, literals, `+`, comparisons,
//! `&&`/`||`, `if`, `let`, `for … in`, assignment, `break`, ferry's functions, `.len()`) into a
//! [`Block`]. Anything else (comments, `[…]`, `#{…}`, `/`, `while`, closures, other functions …)
//! makes the whole script `None`: it then always runs in rhai. Only scripts rhai has already
//! compiled reach this parser, so it never has to explain a mistake.

use super::{BinOp, Block, Expr, Func, Lit, Stmt, Tail, Var};

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Int(i64),
    Float(f64),
    P(&'static str),
}

const PUNCTS: [&str; 20] = [
    "==", "!=", "<=", ">=", "&&", "||", "(", ")", "{", "}", ".", ",", ";", "+", "-", "*", "<", ">",
    "!", "=",
];

fn tokenize(src: &str) -> Option<Vec<Tok>> {
    let b = src.as_bytes();
    let mut i = 0;
    let mut out = Vec::new();
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == b'_' {
            let start = i;
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_') {
                i += 1;
            }
            out.push(Tok::Ident(src[start..i].to_string()));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < b.len() && b[i].is_ascii_digit() {
                i += 1;
            }
            let mut float = false;
            if i + 1 < b.len() && b[i] == b'.' && b[i + 1].is_ascii_digit() {
                float = true;
                i += 1;
                while i < b.len() && b[i].is_ascii_digit() {
                    i += 1;
                }
            }
            // `1e5`, `1_000`, `0x10`, `1.abs()`…: left to rhai.
            if i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b'.') {
                return None;
            }
            let text = &src[start..i];
            out.push(if float {
                Tok::Float(text.parse().ok()?)
            } else {
                Tok::Int(text.parse().ok()?)
            });
        } else if c == b'"' {
            i += 1;
            let mut s = String::new();
            loop {
                let rest = src.get(i..)?;
                let ch = rest.chars().next()?;
                i += ch.len_utf8();
                match ch {
                    '"' => break,
                    '\\' => {
                        let e = *b.get(i)?;
                        i += 1;
                        s.push(match e {
                            b'\\' => '\\',
                            b'"' => '"',
                            b'n' => '\n',
                            b't' => '\t',
                            b'r' => '\r',
                            _ => return None,
                        });
                    }
                    '\n' | '\r' => return None,
                    _ => s.push(ch),
                }
            }
            out.push(Tok::Str(s));
        } else {
            let rest = &src[i..];
            // `//`, `/*`, `..`, `+=`, `::`, `?.`, `#{`, `[`, `'`, `` ` ``…: left to rhai.
            if [
                "//", "/*", "..", "+=", "-=", "*=", "::", "?.", "??", "=>", "->", "!in",
            ]
            .iter()
            .any(|p| rest.starts_with(p))
            {
                return None;
            }
            let p = PUNCTS.iter().find(|p| rest.starts_with(**p))?;
            i += p.len();
            out.push(Tok::P(p));
        }
    }
    Some(out)
}

struct Parser {
    toks: Vec<Tok>,
    at: usize,
    /// Names declared with `let` or as loop variables, innermost last (to tell locals from
    /// `doc`/`item`/`index`).
    locals: Vec<String>,
}

/// Parses a whole script (a statement list). `None`: not in the native subset.
pub fn script(src: &str) -> Option<Block> {
    let mut p = Parser {
        toks: tokenize(src)?,
        at: 0,
        locals: Vec::new(),
    };
    let block = p.statements()?;
    (p.at == p.toks.len()).then_some(block)
}

const KEYWORDS: [&str; 18] = [
    "if", "else", "let", "const", "for", "in", "break", "continue", "return", "while", "loop",
    "do", "fn", "true", "false", "switch", "throw", "try",
];

impl Parser {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.at)
    }
    fn is_p(&self, p: &str) -> bool {
        matches!(self.peek(), Some(Tok::P(q)) if *q == p)
    }
    fn is_kw(&self, k: &str) -> bool {
        matches!(self.peek(), Some(Tok::Ident(s)) if s == k)
    }
    fn eat_p(&mut self, p: &str) -> Option<()> {
        self.is_p(p).then(|| self.at += 1)
    }
    fn eat_kw(&mut self, k: &str) -> Option<()> {
        self.is_kw(k).then(|| self.at += 1)
    }
    fn name(&mut self) -> Option<String> {
        match self.peek() {
            Some(Tok::Ident(s)) if !KEYWORDS.contains(&s.as_str()) => {
                let s = s.clone();
                self.at += 1;
                Some(s)
            }
            _ => None,
        }
    }

    /// Statements up to `}` or the end; the tail is the last expression without `;`.
    fn statements(&mut self) -> Option<Block> {
        let depth = self.locals.len();
        let mut stmts = Vec::new();
        let mut tail = Tail::Unit;
        loop {
            if self.peek().is_none() || self.is_p("}") {
                break;
            }
            if self.eat_p(";").is_some() {
                tail = Tail::Unknown;
                continue;
            }
            if self.eat_kw("let").is_some() {
                let name = self.name()?;
                let init = if self.eat_p("=").is_some() {
                    Some(self.expr()?)
                } else {
                    None
                };
                self.locals.push(name.clone());
                stmts.push(Stmt::Let(name, init));
                tail = Tail::Unknown;
                self.end_of_statement()?;
                continue;
            }
            if self.eat_kw("break").is_some() {
                stmts.push(Stmt::Break);
                tail = Tail::Unknown;
                self.end_of_statement()?;
                continue;
            }
            if self.eat_kw("for").is_some() {
                let name = self.name()?;
                self.eat_kw("in")?;
                let over = self.expr()?;
                self.locals.push(name.clone());
                let body = self.block()?;
                self.locals.pop();
                stmts.push(Stmt::For(name, over, body));
                tail = Tail::Unknown;
                continue;
            }
            if let (Some(Tok::Ident(n)), Some(Tok::P("="))) =
                (self.peek(), self.toks.get(self.at + 1))
            {
                if !self.locals.contains(n) {
                    return None;
                }
                let n = n.clone();
                self.at += 2;
                let v = self.expr()?;
                stmts.push(Stmt::Assign(n, v));
                tail = Tail::Unknown;
                self.end_of_statement()?;
                continue;
            }
            let ends_with_block = self.is_kw("if");
            let e = self.expr()?;
            if self.peek().is_none() || self.is_p("}") {
                tail = Tail::Expr(Box::new(e));
                break;
            }
            stmts.push(Stmt::Expr(e));
            tail = Tail::Unknown;
            if !ends_with_block {
                self.eat_p(";")?;
            }
        }
        self.locals.truncate(depth);
        Some(Block { stmts, tail })
    }

    fn end_of_statement(&mut self) -> Option<()> {
        if self.eat_p(";").is_some() || self.is_p("}") || self.peek().is_none() {
            Some(())
        } else {
            None
        }
    }

    fn block(&mut self) -> Option<Block> {
        self.eat_p("{")?;
        let b = self.statements()?;
        self.eat_p("}")?;
        Some(b)
    }

    fn expr(&mut self) -> Option<Expr> {
        self.binary(0)
    }

    /// Precedence climbing with rhai's levels: `||` < `&&` < `==`/`!=` < comparisons < `+`/`-`
    /// < `*`. Comparisons do not chain natively.
    fn binary(&mut self, min: u8) -> Option<Expr> {
        let mut lhs = self.unary()?;
        loop {
            let (op, level) = match self.peek() {
                Some(Tok::P("||")) => (None, 1),
                Some(Tok::P("&&")) => (None, 2),
                Some(Tok::P("==")) => (Some(BinOp::Eq), 3),
                Some(Tok::P("!=")) => (Some(BinOp::Ne), 3),
                Some(Tok::P("<")) => (Some(BinOp::Lt), 4),
                Some(Tok::P("<=")) => (Some(BinOp::Le), 4),
                Some(Tok::P(">")) => (Some(BinOp::Gt), 4),
                Some(Tok::P(">=")) => (Some(BinOp::Ge), 4),
                Some(Tok::P("+")) => (Some(BinOp::Add), 5),
                Some(Tok::P("-")) => (Some(BinOp::Sub), 5),
                Some(Tok::P("*")) => (Some(BinOp::Mul), 6),
                _ => break,
            };
            if level < min {
                break;
            }
            let or = matches!(self.peek(), Some(Tok::P("||")));
            self.at += 1;
            let rhs = self.binary(level + 1)?;
            lhs = match op {
                None if or => Expr::Or(Box::new(lhs), Box::new(rhs)),
                None => Expr::And(Box::new(lhs), Box::new(rhs)),
                Some(op) => {
                    if (level == 3 || level == 4) && [&lhs, &rhs].iter().any(|e| is_comparison(e)) {
                        return None;
                    }
                    Expr::Bin(op, Box::new(lhs), Box::new(rhs))
                }
            };
        }
        Some(lhs)
    }

    fn unary(&mut self) -> Option<Expr> {
        if self.eat_p("-").is_some() {
            return Some(match self.peek() {
                Some(Tok::Int(i)) => {
                    let i = i.checked_neg()?;
                    self.at += 1;
                    self.postfix(Expr::Lit(Lit::Int(i)))?
                }
                Some(Tok::Float(f)) => {
                    let f = -f;
                    self.at += 1;
                    self.postfix(Expr::Lit(Lit::Float(f)))?
                }
                _ => Expr::Neg(Box::new(self.unary()?)),
            });
        }
        if self.eat_p("!").is_some() {
            return Some(Expr::Not(Box::new(self.unary()?)));
        }
        let p = self.primary()?;
        self.postfix(p)
    }

    fn postfix(&mut self, mut e: Expr) -> Option<Expr> {
        while self.eat_p(".").is_some() {
            let Some(Tok::Ident(n)) = self.peek() else {
                return None;
            };
            let n = n.clone();
            self.at += 1;
            if self.eat_p("(").is_some() {
                if n != "len" {
                    return None;
                }
                self.eat_p(")")?;
                e = Expr::Len(Box::new(e));
            } else {
                e = Expr::Prop(Box::new(e), n);
            }
        }
        Some(e)
    }

    fn primary(&mut self) -> Option<Expr> {
        let t = self.peek()?.clone();
        self.at += 1;
        Some(match t {
            Tok::Str(s) => Expr::Lit(Lit::Str(s)),
            Tok::Int(i) => Expr::Lit(Lit::Int(i)),
            Tok::Float(f) => Expr::Lit(Lit::Float(f)),
            Tok::P("(") => {
                if self.eat_p(")").is_some() {
                    return Some(Expr::Lit(Lit::Unit));
                }
                let e = self.expr()?;
                self.eat_p(")")?;
                Expr::Paren(Box::new(e))
            }
            Tok::P("{") => {
                let b = self.statements()?;
                self.eat_p("}")?;
                Expr::Block(b)
            }
            Tok::Ident(k) if k == "true" => Expr::Lit(Lit::Bool(true)),
            Tok::Ident(k) if k == "false" => Expr::Lit(Lit::Bool(false)),
            Tok::Ident(k) if k == "if" => self.if_rest()?,
            Tok::Ident(n) if self.is_p("(") => {
                self.at += 1;
                let f = match n.as_str() {
                    "lookup" => Func::Lookup,
                    "lookup_or" => Func::LookupOr,
                    "num" => Func::Num,
                    "round" => Func::Round,
                    "abs" => Func::Abs,
                    "date" => Func::Date,
                    _ => return None,
                };
                let mut args = Vec::new();
                if self.eat_p(")").is_none() {
                    loop {
                        args.push(self.expr()?);
                        if self.eat_p(")").is_some() {
                            break;
                        }
                        self.eat_p(",")?;
                    }
                }
                let arity = match f {
                    Func::Num | Func::Abs => 1,
                    Func::LookupOr => 3,
                    _ => 2,
                };
                if args.len() != arity {
                    return None;
                }
                Expr::Call(f, args)
            }
            Tok::Ident(n) if !KEYWORDS.contains(&n.as_str()) => {
                if self.locals.contains(&n) {
                    Expr::Var(Var::Local(n))
                } else {
                    match n.as_str() {
                        "doc" => Expr::Var(Var::Doc),
                        "item" => Expr::Var(Var::Item),
                        "index" => Expr::Var(Var::Index),
                        _ => return None,
                    }
                }
            }
            _ => return None,
        })
    }

    /// After `if`: condition, block, optional `else` block or `else if`.
    fn if_rest(&mut self) -> Option<Expr> {
        let cond = self.expr()?;
        let then = self.block()?;
        let otherwise = if self.eat_kw("else").is_some() {
            if self.eat_kw("if").is_some() {
                Some(Box::new(self.if_rest()?))
            } else {
                Some(Box::new(Expr::Block(self.block()?)))
            }
        } else {
            None
        };
        Some(Expr::If(Box::new(cond), then, otherwise))
    }
}

fn is_comparison(e: &Expr) -> bool {
    matches!(
        e,
        Expr::Bin(
            BinOp::Eq | BinOp::Ne | BinOp::Lt | BinOp::Le | BinOp::Gt | BinOp::Ge,
            _,
            _
        )
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_shipped_formulas() {
        for src in [
            r#""JST-" + doc.io_id"#,
            r#"date(doc.io_date, "yyyy-MM-dd")"#,
            r#"lookup("customer", doc.drp_co_name)"#,
            r#""聚水潭其它进仓 " + doc.io_id + (if doc.remark == () || doc.remark == "" { "" } else { "：" + doc.remark })"#,
            "abs(item.qty)",
            "round(num(item.sale_price), 2)",
            "num(item.sale_price) == 0",
            r#"if item.batch_id != () && item.batch_id != "" { item.batch_id } else { let b = ""; if doc.batchs != () { for x in doc.batchs { if x.sku_id == item.sku_id { b = x.batch_no; break; } } }; b }"#,
            r#"doc.type == "其它进仓" && doc.status == "Confirmed" && doc.items != () && doc.items.len() > 0"#,
            "-3 + index * 2",
        ] {
            assert!(script(src).is_some(), "{src}");
        }
    }

    #[test]
    fn leaves_the_rest_to_rhai() {
        for src in [
            "doc.items[0].sku_id",
            "doc.a / 2",
            "// c\n1",
            "#{a: 1}",
            "while true { break; }",
            "doc.x.to_upper()",
            "sub_string(doc.x, 1)",
            "1e5",
            "1 == 2 == false",
            "`x${doc.a}`",
            r#""\u{41}""#,
            "let x = 1; y = 2; x",
            "doc = 1",
            "num(1, 2)",
        ] {
            assert!(script(src).is_none(), "{src}");
        }
    }
}
