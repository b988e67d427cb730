//! A small parser/evaluator for ExecuteBillQuery `FilterString`s:
//! `F = 'x'`, `<>`, `!=`, `<`, `<=`, `>`, `>=`, `F in ('a','b')`, `not in`, `like`,
//! `is [not] null`, `and`, `or`, `not`, parentheses. Keywords and equality ignore case.

use serde_json::Value;

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Str(String),
    Num(String),
    Op(String),
    LParen,
    RParen,
    Comma,
}

#[derive(Debug, Clone)]
pub enum Expr {
    True,
    And(Box<Expr>, Box<Expr>),
    Or(Box<Expr>, Box<Expr>),
    Not(Box<Expr>),
    Cmp(String, String, String),
    In(String, Vec<String>, bool),
    Like(String, String),
    IsNull(String, bool),
}

fn lex(s: &str) -> Result<Vec<Tok>, String> {
    let chars: Vec<char> = s.chars().collect();
    let mut i = 0;
    let mut out = Vec::new();
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c == '\'' {
            let mut v = String::new();
            i += 1;
            loop {
                match chars.get(i) {
                    None => return Err("unterminated string".into()),
                    Some('\'') if chars.get(i + 1) == Some(&'\'') => {
                        v.push('\'');
                        i += 2;
                    }
                    Some('\'') => {
                        i += 1;
                        break;
                    }
                    Some(ch) => {
                        v.push(*ch);
                        i += 1;
                    }
                }
            }
            out.push(Tok::Str(v));
        } else if c == '(' {
            out.push(Tok::LParen);
            i += 1;
        } else if c == ')' {
            out.push(Tok::RParen);
            i += 1;
        } else if c == ',' {
            out.push(Tok::Comma);
            i += 1;
        } else if "=<>!".contains(c) {
            let mut op = c.to_string();
            if let Some(n) = chars.get(i + 1) {
                if (c == '<' && (*n == '=' || *n == '>')) || ((c == '>' || c == '!') && *n == '=') {
                    op.push(*n);
                }
            }
            i += op.len();
            out.push(Tok::Op(op));
        } else if c.is_ascii_digit()
            || (c == '-' && chars.get(i + 1).is_some_and(|d| d.is_ascii_digit()))
        {
            let start = i;
            i += 1;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            out.push(Tok::Num(chars[start..i].iter().collect()));
        } else if c.is_alphanumeric() || c == '_' || c == '[' {
            let start = i;
            while i < chars.len()
                && (chars[i].is_alphanumeric() || matches!(chars[i], '_' | '.' | '[' | ']'))
            {
                i += 1;
            }
            let id: String = chars[start..i]
                .iter()
                .filter(|c| **c != '[' && **c != ']')
                .collect();
            out.push(Tok::Ident(id));
        } else {
            return Err(format!("unexpected character {c:?}"));
        }
    }
    Ok(out)
}

struct Parser {
    toks: Vec<Tok>,
    pos: usize,
}

impl Parser {
    fn peek_kw(&self, kw: &str) -> bool {
        matches!(self.toks.get(self.pos), Some(Tok::Ident(s)) if s.eq_ignore_ascii_case(kw))
    }
    fn next(&mut self) -> Option<Tok> {
        let t = self.toks.get(self.pos).cloned();
        self.pos += 1;
        t
    }
    fn or(&mut self) -> Result<Expr, String> {
        let mut e = self.and()?;
        while self.peek_kw("or") {
            self.pos += 1;
            e = Expr::Or(Box::new(e), Box::new(self.and()?));
        }
        Ok(e)
    }
    fn and(&mut self) -> Result<Expr, String> {
        let mut e = self.unary()?;
        while self.peek_kw("and") {
            self.pos += 1;
            e = Expr::And(Box::new(e), Box::new(self.unary()?));
        }
        Ok(e)
    }
    fn unary(&mut self) -> Result<Expr, String> {
        if self.peek_kw("not") {
            self.pos += 1;
            return Ok(Expr::Not(Box::new(self.unary()?)));
        }
        if self.toks.get(self.pos) == Some(&Tok::LParen) {
            self.pos += 1;
            let e = self.or()?;
            if self.next() != Some(Tok::RParen) {
                return Err("missing )".into());
            }
            return Ok(e);
        }
        self.predicate()
    }
    fn literal(&mut self) -> Result<String, String> {
        match self.next() {
            Some(Tok::Str(s)) | Some(Tok::Num(s)) => Ok(s),
            Some(Tok::Ident(s)) => Ok(s),
            other => Err(format!("expected a value, found {other:?}")),
        }
    }
    fn predicate(&mut self) -> Result<Expr, String> {
        let field = match self.next() {
            Some(Tok::Ident(f)) => f,
            Some(Tok::Num(n)) => n,
            other => return Err(format!("expected a field, found {other:?}")),
        };
        let negate = if self.peek_kw("not") {
            self.pos += 1;
            true
        } else {
            false
        };
        if self.peek_kw("in") {
            self.pos += 1;
            if self.next() != Some(Tok::LParen) {
                return Err("expected ( after in".into());
            }
            let mut vals = Vec::new();
            loop {
                vals.push(self.literal()?);
                match self.next() {
                    Some(Tok::Comma) => continue,
                    Some(Tok::RParen) => break,
                    other => return Err(format!("expected , or ), found {other:?}")),
                }
            }
            return Ok(Expr::In(field, vals, negate));
        }
        if self.peek_kw("like") {
            self.pos += 1;
            let e = Expr::Like(field, self.literal()?);
            return Ok(if negate { Expr::Not(Box::new(e)) } else { e });
        }
        if self.peek_kw("is") {
            self.pos += 1;
            let not = if self.peek_kw("not") {
                self.pos += 1;
                true
            } else {
                false
            };
            if !self.peek_kw("null") {
                return Err("expected null".into());
            }
            self.pos += 1;
            return Ok(Expr::IsNull(field, not));
        }
        match self.next() {
            Some(Tok::Op(op)) => Ok(Expr::Cmp(field, op, self.literal()?)),
            other => Err(format!(
                "expected an operator after {field}, found {other:?}"
            )),
        }
    }
}

/// Parses a filter; empty → matches everything.
pub fn parse(s: &str) -> Result<Expr, String> {
    let toks = lex(s)?;
    if toks.is_empty() {
        return Ok(Expr::True);
    }
    let mut p = Parser { toks, pos: 0 };
    let e = p.or()?;
    if p.pos < p.toks.len() {
        return Err(format!("unexpected {:?}", p.toks[p.pos]));
    }
    Ok(e)
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::Null => None,
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(if *b { "1".into() } else { "0".into() }),
        other => Some(other.to_string()),
    }
}

fn cmp(a: &str, op: &str, b: &str) -> bool {
    use std::cmp::Ordering;
    let ord = match (a.trim().parse::<f64>(), b.trim().parse::<f64>()) {
        (Ok(x), Ok(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
        _ => a.to_lowercase().cmp(&b.to_lowercase()),
    };
    match op {
        "=" => ord == Ordering::Equal,
        "<>" | "!=" => ord != Ordering::Equal,
        "<" => ord == Ordering::Less,
        "<=" => ord != Ordering::Greater,
        ">" => ord == Ordering::Greater,
        ">=" => ord != Ordering::Less,
        _ => false,
    }
}

fn like(v: &str, pat: &str) -> bool {
    let v = v.to_lowercase();
    let pat = pat.to_lowercase();
    let parts: Vec<&str> = pat.split('%').collect();
    if parts.len() == 1 {
        return v == pat;
    }
    let mut rest = v.as_str();
    for (i, p) in parts.iter().enumerate() {
        if i == 0 {
            let Some(r) = rest.strip_prefix(p) else {
                return false;
            };
            rest = r;
        } else if i == parts.len() - 1 {
            return rest.ends_with(p);
        } else if let Some(idx) = rest.find(p) {
            rest = &rest[idx + p.len()..];
        } else {
            return false;
        }
    }
    true
}

/// Evaluates against a row; `get` returns every value a field has in the row (entry fields of a
/// non-expanded bill give one per entry): a predicate holds if any value satisfies it.
pub fn eval(e: &Expr, get: &dyn Fn(&str) -> Vec<Value>) -> bool {
    match e {
        Expr::True => true,
        Expr::And(a, b) => eval(a, get) && eval(b, get),
        Expr::Or(a, b) => eval(a, get) || eval(b, get),
        Expr::Not(a) => !eval(a, get),
        Expr::Cmp(f, op, lit) => get(f).iter().filter_map(text).any(|v| cmp(&v, op, lit)),
        Expr::In(f, list, neg) => {
            let hit = get(f)
                .iter()
                .filter_map(text)
                .any(|v| list.iter().any(|l| cmp(&v, "=", l)));
            hit != *neg
        }
        Expr::Like(f, pat) => get(f).iter().filter_map(text).any(|v| like(&v, pat)),
        Expr::IsNull(f, not) => {
            let null = get(f).iter().filter_map(text).all(|v| v.is_empty());
            null != *not
        }
    }
}

/// The field names a filter reads, in order of appearance (repeats included).
pub fn fields(e: &Expr) -> Vec<String> {
    let mut out = Vec::new();
    fn walk(e: &Expr, out: &mut Vec<String>) {
        match e {
            Expr::True => {}
            Expr::And(a, b) | Expr::Or(a, b) => {
                walk(a, out);
                walk(b, out);
            }
            Expr::Not(a) => walk(a, out),
            Expr::Cmp(f, ..) | Expr::In(f, ..) | Expr::Like(f, _) | Expr::IsNull(f, _) => {
                out.push(f.clone())
            }
        }
    }
    walk(e, &mut out);
    out
}

/// The identity values a filter restricts `ident` to, if it does (`F = 'x'`, `F in (...)`,
/// possibly and-ed with other predicates): lets a query use the number index.
pub fn candidates(e: &Expr, ident: &str) -> Option<Vec<String>> {
    match e {
        Expr::In(f, vals, false) if f.eq_ignore_ascii_case(ident) => Some(vals.clone()),
        Expr::Cmp(f, op, v) if op == "=" && f.eq_ignore_ascii_case(ident) => Some(vec![v.clone()]),
        Expr::And(a, b) => candidates(a, ident).or_else(|| candidates(b, ident)),
        Expr::Or(a, b) => {
            let mut x = candidates(a, ident)?;
            x.extend(candidates(b, ident)?);
            Some(x)
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn run(filter: &str, row: Value) -> bool {
        let e = match parse(filter) {
            Ok(e) => e,
            Err(m) => panic!("{m}"),
        };
        eval(&e, &|f: &str| {
            crate::sim::kingdee::envelope::get_ci(&row, f)
                .cloned()
                .map(|v| vec![v])
                .unwrap_or_default()
        })
    }

    #[test]
    fn filters() {
        let row = json!({"FBillNo": "JST-1", "FID": 5, "FDocumentStatus": "C", "FName": "O'x"});
        assert!(run("FBillNo='JST-1'", row.clone()));
        assert!(run(
            "fbillno = 'jst-1' and FDocumentStatus='C'",
            row.clone()
        ));
        assert!(run("FBillNo in ('a','JST-1')", row.clone()));
        assert!(!run("FBillNo not in ('a','JST-1')", row.clone()));
        assert!(run("FBillNo='x' or (FID >= 5 and FID < 6)", row.clone()));
        assert!(run("FName = 'O''x'", row.clone()));
        assert!(run("FBillNo like 'JST%'", row.clone()));
        assert!(run("", row.clone()));
        assert!(parse("FBillNo = ").is_err());
        assert!(parse("FBillNo in ('a'").is_err());
    }

    #[test]
    fn field_names() {
        let e = parse("1=1 and (FBillNo='a' or FMaterialId.FNumber in ('x')) and not FQty > 2")
            .unwrap_or(Expr::True);
        assert_eq!(
            fields(&e),
            vec!["1", "FBillNo", "FMaterialId.FNumber", "FQty"]
        );
    }

    #[test]
    fn identity_candidates() {
        let c = |f: &str| parse(f).ok().and_then(|e| candidates(&e, "FBillNo"));
        assert_eq!(
            c("FBillNo in ('a','b')"),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(
            c("FDocumentStatus='C' and fbillno = 'x'"),
            Some(vec!["x".into()])
        );
        assert_eq!(
            c("FBillNo='a' or FBillNo='b'"),
            Some(vec!["a".into(), "b".into()])
        );
        assert_eq!(c("FBillNo='a' or FID=3"), None);
        assert_eq!(c("FBillNo like 'a%'"), None);
    }
}
