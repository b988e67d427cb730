//! Numbers in scripts: Jushuitan's documentation types most business numbers as `string`
//! (`qty`, `sale_price`, amounts), so a field may hold `2` or `"2"`, `129.9` or `"129.90"`.
//!
//! `num(x)` reads a number, a numeric string or `()` as a number; `round(x, digits)` and `abs(x)`
//! take numeric strings too. A numeric string gives the number the same text gives as a JSON
//! number (`"2"` → `2`, `"129.90"` → `129.9`, `"0.00"` → `0.0`), so a document maps to the same
//! model whichever shape its numbers come in. Surrounding whitespace is ignored; `"12,5"`,
//! `"1,234.5"`, `"abc"`, `"NaN"`, `"inf"`, `"0x10"` are not numbers. A blank string counts as a
//! missing value (`()`): `num("")` is `0`, like `num(())`.
//!
//! Numbers take the registered integer and float overloads (no parsing, no conversion); only
//! other values reach the `Dynamic` overloads.

use rhai::{Dynamic, Engine, EvalAltResult, ImmutableString, Position};

/// A number read from text.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Num {
    Int(i64),
    Float(f64),
}

/// The number a numeric string stands for: an integer when it is written as one and fits,
/// otherwise a finite float. `None` when the text is not a number.
pub fn parse(text: &str) -> Option<Dynamic> {
    parse_num(text).map(|n| match n {
        Num::Int(i) => Dynamic::from_int(i),
        Num::Float(f) => Dynamic::from_float(f),
    })
}

/// [`parse`] without rhai.
pub fn parse_num(text: &str) -> Option<Num> {
    let t = text.trim();
    let b = t.as_bytes();
    let mut i = usize::from(matches!(b.first(), Some(b'+' | b'-')));
    let digits = |i: &mut usize| {
        let start = *i;
        while b.get(*i).is_some_and(u8::is_ascii_digit) {
            *i += 1;
        }
        *i - start
    };
    let whole = digits(&mut i);
    let mut integer = true;
    let mut fraction = 0;
    if b.get(i) == Some(&b'.') {
        integer = false;
        i += 1;
        fraction = digits(&mut i);
    }
    if whole + fraction == 0 {
        return None;
    }
    if matches!(b.get(i), Some(b'e' | b'E')) {
        integer = false;
        i += 1;
        if matches!(b.get(i), Some(b'+' | b'-')) {
            i += 1;
        }
        if digits(&mut i) == 0 {
            return None;
        }
    }
    if i != b.len() {
        return None;
    }
    if integer {
        if let Ok(n) = t.parse::<i64>() {
            return Some(Num::Int(n));
        }
    }
    t.parse::<f64>()
        .ok()
        .filter(|f| f.is_finite())
        .map(Num::Float)
}

fn error(msg: String) -> Box<EvalAltResult> {
    Box::new(EvalAltResult::ErrorRuntime(msg.into(), Position::NONE))
}

/// A value as it appears in an error message: strings quoted (shortened when long), other
/// values with their kind in words.
pub fn describe(x: &Dynamic) -> String {
    if let Some(s) = x.read_lock::<ImmutableString>() {
        let short: String = s.chars().take(60).collect();
        let more = if short.len() < s.len() { "…" } else { "" };
        return format!("{:?}", format!("{short}{more}"));
    }
    let kind = match x.type_name() {
        "()" => return "nothing (null)".to_string(),
        "bool" => "a boolean",
        "array" => "an array",
        "map" => "an object",
        "char" => "a character",
        _ => "a value",
    };
    let text: String = x.to_string().chars().take(60).collect();
    format!("{text} ({kind})")
}

fn not_a_number(x: &Dynamic) -> Box<EvalAltResult> {
    error(format!("{} is not a number", describe(x)))
}

/// `()` or a blank string: no value.
fn is_missing(x: &Dynamic) -> bool {
    x.is_unit()
        || x.read_lock::<ImmutableString>()
            .is_some_and(|s| s.trim().is_empty())
}

/// A number or a numeric string as a number (integer or float).
fn number(x: &Dynamic) -> Result<Dynamic, Box<EvalAltResult>> {
    if x.is_int() || x.is_float() {
        return Ok(x.clone());
    }
    if let Some(s) = x.read_lock::<ImmutableString>() {
        if let Some(n) = parse(&s) {
            return Ok(n);
        }
    }
    Err(not_a_number(x))
}

pub fn round_float(x: f64, digits: i64) -> f64 {
    let p = 10f64.powi(digits.clamp(0, 12) as i32);
    (x * p).round() / p
}

/// `num`, `round` and `abs` for numbers and numeric strings.
pub fn register(engine: &mut Engine) {
    engine.register_fn("num", |x: i64| x);
    engine.register_fn("num", |x: f64| x);
    engine.register_fn("num", |x: Dynamic| -> Result<Dynamic, Box<EvalAltResult>> {
        if is_missing(&x) {
            return Ok(Dynamic::from_int(0));
        }
        number(&x)
    });

    engine.register_fn("round", round_float);
    engine.register_fn("round", |x: i64, _digits: i64| x);
    engine.register_fn(
        "round",
        |x: Dynamic, digits: i64| -> Result<Dynamic, Box<EvalAltResult>> {
            if is_missing(&x) {
                return Ok(Dynamic::UNIT);
            }
            let n = number(&x)?;
            Ok(match n.as_float() {
                Ok(f) => Dynamic::from_float(round_float(f, digits)),
                Err(_) => n,
            })
        },
    );

    // Numbers take rhai's own `abs`.
    engine.register_fn("abs", |x: Dynamic| -> Result<Dynamic, Box<EvalAltResult>> {
        if is_missing(&x) {
            return Err(error(format!(
                "abs: the value is missing ({}); write abs(num(x)) to read a missing value as 0",
                if x.is_unit() {
                    "null"
                } else {
                    "an empty string"
                }
            )));
        }
        let n = number(&x)?;
        Ok(match (n.as_int(), n.as_float()) {
            (Ok(i), _) => i
                .checked_abs()
                .map(Dynamic::from_int)
                .unwrap_or_else(|| Dynamic::from_float((i as f64).abs())),
            (_, Ok(f)) => Dynamic::from_float(f.abs()),
            _ => n,
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Option<String> {
        parse(s).map(|d| format!("{d:?}"))
    }

    #[test]
    fn numeric_text() {
        assert_eq!(p("2"), Some("2".into()));
        assert_eq!(p("-2"), Some("-2".into()));
        assert_eq!(p("+2"), Some("2".into()));
        assert_eq!(p(" 12.5 "), Some("12.5".into()));
        assert_eq!(p("129.90"), Some("129.9".into()));
        assert_eq!(p("0.00"), Some("0.0".into()));
        assert_eq!(p("1e2"), Some("100.0".into()));
        assert_eq!(p("1.5E-1"), Some("0.15".into()));
        assert_eq!(p(".5"), Some("0.5".into()));
        assert_eq!(p("5."), Some("5.0".into()));
        assert_eq!(p("9223372036854775807"), Some("9223372036854775807".into()));
        assert_eq!(
            p("9223372036854775808"),
            Some("9.223372036854776e18".into())
        );
        for bad in [
            "", " ", "abc", "12,5", "1,234.5", "NaN", "nan", "inf", "-inf", "infinity", "0x10",
            "1_000", "1e", "1e+", "e5", ".", "-", "+", "--1", "1.2.3", "1e999", "１２", "2 3",
        ] {
            assert_eq!(p(bad), None, "{bad:?}");
        }
    }

    #[test]
    fn descriptions() {
        assert_eq!(describe(&Dynamic::from("12,5")), "\"12,5\"");
        assert_eq!(describe(&Dynamic::UNIT), "nothing (null)");
        assert_eq!(describe(&Dynamic::from_bool(true)), "true (a boolean)");
        let long = "x".repeat(100);
        assert_eq!(describe(&Dynamic::from(long)).chars().count(), 63);
    }
}
