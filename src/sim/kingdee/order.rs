//! `OrderString` of ExecuteBillQuery/BillQuery: `"FBillNo DESC"`, `"FDate ASC, FBillNo"`, a
//! SQL `ORDER BY` list. Ordering follows SQL Server's defaults under Kingdee's case-insensitive
//! collation: nulls first, numbers by value, text ignoring case.

use std::cmp::Ordering;

use serde_json::Value;

/// The keys of an OrderString with `true` for descending. An empty string orders nothing.
pub fn parse(s: &str) -> Result<Vec<(String, bool)>, String> {
    let mut out = Vec::new();
    for part in s.split(',') {
        let words: Vec<&str> = part.split_whitespace().collect();
        let desc = match words.as_slice() {
            [] => continue,
            [_] => false,
            [_, dir] if dir.eq_ignore_ascii_case("asc") => false,
            [_, dir] if dir.eq_ignore_ascii_case("desc") => true,
            // Ours: no real message for a malformed OrderString was found.
            _ => return Err(format!("排序条件“{}”无法解析", s.trim())),
        };
        let key: String = words[0]
            .chars()
            .filter(|c| !matches!(c, '[' | ']'))
            .collect();
        out.push((key, desc));
    }
    Ok(out)
}

fn number(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::Bool(b) => Some(if *b { 1.0 } else { 0.0 }),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One value against another, ascending.
pub fn compare_values(a: &Value, b: &Value) -> Ordering {
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Less,
        (_, Value::Null) => Ordering::Greater,
        _ => match (number(a), number(b)) {
            (Some(x), Some(y)) => x.partial_cmp(&y).unwrap_or(Ordering::Equal),
            _ => {
                let (x, y) = (text(a), text(b));
                x.to_lowercase()
                    .cmp(&y.to_lowercase())
                    .then_with(|| x.cmp(&y))
            }
        },
    }
}

/// Two rows' sort keys, `desc[i]` reversing key `i`.
pub fn compare(a: &[Value], b: &[Value], desc: &[bool]) -> Ordering {
    for ((x, y), d) in a.iter().zip(b).zip(desc) {
        let o = compare_values(x, y);
        let o = if *d { o.reverse() } else { o };
        if o != Ordering::Equal {
            return o;
        }
    }
    Ordering::Equal
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn order_strings() {
        assert_eq!(parse(""), Ok(vec![]));
        assert_eq!(parse("  "), Ok(vec![]));
        assert_eq!(parse("FBillNo DESC"), Ok(vec![("FBillNo".into(), true)]));
        assert_eq!(
            parse("FDate ASC, FBillNo"),
            Ok(vec![("FDate".into(), false), ("FBillNo".into(), false)])
        );
        assert_eq!(
            parse("fdate desc,[FEntity_FSeq] asc"),
            Ok(vec![("fdate".into(), true), ("FEntity_FSeq".into(), false)])
        );
        assert!(parse("FBillNo DESCENDING").is_err());
        assert!(parse("FBillNo DESC FDate").is_err());
    }

    #[test]
    fn values_order_like_sql_server() {
        let mut v = vec![json!("b"), json!(null), json!("A"), json!("a"), json!("C")];
        v.sort_by(compare_values);
        assert_eq!(
            v,
            vec![json!(null), json!("A"), json!("a"), json!("b"), json!("C")]
        );
        let mut n = vec![json!("10"), json!(9), json!("2.5")];
        n.sort_by(compare_values);
        assert_eq!(n, vec![json!("2.5"), json!(9), json!("10")]);
        let rows = [vec![json!("x"), json!(1)], vec![json!("x"), json!(2)]];
        assert_eq!(
            compare(&rows[0], &rows[1], &[false, true]),
            Ordering::Greater
        );
    }
}
