//! Tolerant parsing of Jushuitan answers: numbers as numbers or strings, `has_next` as a bool,
//! 0/1 or a string, optional fields missing, extra fields ignored. Never panics.

use serde_json::Value;

use super::tokens::Tokens;
use super::Page;

/// The common envelope: `code`, `msg`, and `data` (or the whole object for the flat old style).
#[derive(Debug, Clone)]
pub struct Envelope {
    pub code: i64,
    pub msg: String,
    pub data: Value,
}

/// A number given as a JSON number or a numeric string.
pub fn as_i64(v: &Value) -> Option<i64> {
    match v {
        Value::Number(n) => n
            .as_i64()
            .or_else(|| n.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64)),
        Value::String(s) => {
            let s = s.trim();
            s.parse::<i64>().ok().or_else(|| {
                s.parse::<f64>()
                    .ok()
                    .filter(|f| f.fract() == 0.0 && f.is_finite())
                    .map(|f| f as i64)
            })
        }
        _ => None,
    }
}

/// A boolean given as `true`/`false`, `0`/`1` or a string of either.
pub fn as_bool(v: &Value) -> Option<bool> {
    match v {
        Value::Bool(b) => Some(*b),
        Value::Number(_) => as_i64(v).map(|n| n != 0),
        Value::String(s) => match s.trim().to_ascii_lowercase().as_str() {
            "true" | "1" | "yes" | "y" => Some(true),
            "false" | "0" | "no" | "n" | "" => Some(false),
            _ => None,
        },
        _ => None,
    }
}

/// A short, printable excerpt of a body for error messages. Only the start is looked at: the
/// body may be many megabytes, and invalid UTF-8 would be copied whole.
pub fn excerpt(body: &[u8]) -> String {
    crate::http::printable(&String::from_utf8_lossy(&body[..body.len().min(1024)]), 160)
}

/// Parses the envelope of any answer (within the default size limit's memory budget).
#[cfg(test)]
pub fn envelope(body: &[u8]) -> Result<Envelope, String> {
    envelope_within(body, (crate::http::DEFAULT_MAX_RESPONSE_MB as usize) << 20)
}

/// Parses the envelope of an answer whose size limit is `limit` bytes.
pub fn envelope_within(body: &[u8], limit: usize) -> Result<Envelope, String> {
    let root = crate::http::parse_json(body, limit).map_err(|e| match e {
        crate::http::JsonError::Syntax(e) => format!("not JSON ({e}): {:?}", excerpt(body)),
        too_big => too_big.to_string(),
    })?;
    let Value::Object(mut obj) = root else {
        return Err(format!("not a JSON object: {:?}", excerpt(body)));
    };
    let code = match obj.get("code") {
        Some(c) => as_i64(c).ok_or_else(|| format!("`code` is not a number: {c}"))?,
        None => match obj.get("issuccess").and_then(as_bool) {
            Some(true) => 0,
            _ => return Err(format!("no `code` in the answer: {:?}", excerpt(body))),
        },
    };
    let msg = match obj.get("msg") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    };
    // Moved out, not copied: a page is tens of kilobytes of documents. Without a `data` field
    // the answer is the old flat style, whose page fields sit beside `code`.
    let data = match obj.remove("data") {
        Some(d) => d,
        None => Value::Object(obj),
    };
    Ok(Envelope { code, msg, data })
}

/// What kind of JSON value `v` is, in words ("a list", "null"...), for error messages.
pub fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "a list",
        Value::Object(_) => "an object",
    }
}

/// The page inside a successful answer. Only a well-formed page is a page: `data` must be an
/// object holding the list (an empty list, or null when nothing matched), with no more records
/// than were asked for; an answer without the list is malformed, never an empty page, because
/// an empty page lets the checkpoint pass a window.
pub fn page(
    mut data: Value,
    list_key: &str,
    page_index: u32,
    page_size: u32,
) -> Result<Page, String> {
    let Value::Object(map) = &mut data else {
        return Err(format!("`data` is {}, not a page of records", kind(&data)));
    };
    let data_count = map
        .get("data_count")
        .and_then(as_i64)
        .and_then(|n| u64::try_from(n).ok());
    let items = match map.get_mut(list_key) {
        Some(Value::Array(a)) => std::mem::take(a),
        Some(Value::Null) if data_count.unwrap_or(0) == 0 => Vec::new(),
        Some(Value::String(s)) if s.trim().is_empty() && data_count.unwrap_or(0) == 0 => Vec::new(),
        Some(other) => {
            return Err(format!(
                "`data.{list_key}` is {}, not a list{}",
                kind(other),
                data_count
                    .map(|n| format!(" (the answer counts {n} records)"))
                    .unwrap_or_default()
            ))
        }
        None => {
            let fields: Vec<&str> = map.keys().map(String::as_str).take(12).collect();
            return Err(format!(
                "no `data.{list_key}` list in the answer (its fields: {})",
                if fields.is_empty() {
                    "none".to_string()
                } else {
                    fields.join(", ")
                }
            ));
        }
    };
    if page_size > 0 && items.len() > page_size as usize {
        return Err(format!(
            "{} records on a page of {page_size} asked for",
            items.len()
        ));
    }
    let page_count = map.get("page_count").and_then(as_i64);
    let has_next = match map.get("has_next").and_then(as_bool) {
        Some(b) => b,
        None => match page_count {
            Some(pc) => i64::from(page_index) < pc,
            None => page_size > 0 && items.len() >= page_size as usize,
        },
    };
    if has_next && items.is_empty() {
        return Err("the page holds no records but says more pages follow".into());
    }
    Ok(Page {
        index: page_index,
        has_next,
        data_count,
        items,
    })
}

/// The tokens inside a successful getInitToken / refreshToken answer.
pub fn tokens(data: &Value, now: i64) -> Result<Tokens, String> {
    let s = |k: &str| match data.get(k) {
        Some(Value::String(s)) => Some(s.clone()),
        Some(Value::Number(n)) => Some(n.to_string()),
        _ => None,
    };
    let access_token = s("access_token")
        .filter(|t| !t.is_empty())
        .ok_or("no `data.access_token` in the answer")?;
    let refresh_token = s("refresh_token").unwrap_or_default();
    let expires_at = match data.get("expires_in").and_then(as_i64) {
        Some(n) if n > 0 => now + n,
        _ => 0,
    };
    Ok(Tokens {
        access_token,
        refresh_token,
        expires_at,
        issued_at: now,
        recent_calls: Vec::new(),
        origin: String::new(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn strings_for_numbers_and_flags() {
        let e = envelope(br#"{"code":"0","msg":null,"data":{"page_index":"1","has_next":"1","data_count":"123","datas":[{"a":1}]}}"#).unwrap();
        assert_eq!(e.code, 0);
        let p = page(e.data, "datas", 1, 50).unwrap();
        assert!(p.has_next);
        assert_eq!(p.data_count, Some(123));
        assert_eq!(p.items.len(), 1);
        for (v, want) in [
            (json!(0), false),
            (json!(1), true),
            (json!("false"), false),
            (json!(true), true),
        ] {
            let d = json!({"has_next": v, "datas": [{"a": 1}]});
            assert_eq!(page(d, "datas", 1, 50).unwrap().has_next, want);
        }
    }

    #[test]
    fn missing_fields_and_flat_envelope() {
        let d = json!({"page_index": 2, "page_count": 3, "datas": [{"a": 1}]});
        let p = page(d, "datas", 2, 50).unwrap();
        assert!(p.has_next && p.items.len() == 1 && p.data_count.is_none());
        let e =
            envelope(br#"{"issuccess":true,"shops":[{"shop_id":1}],"has_next":false}"#).unwrap();
        assert_eq!(page(e.data, "shops", 1, 100).unwrap().items.len(), 1);
        assert!(page(json!({"datas": {"x": 1}}), "datas", 1, 50).is_err());
    }

    #[test]
    fn only_a_well_formed_page_is_a_page() {
        let empty = |body: &[u8]| {
            let e = envelope(body).unwrap();
            page(e.data, "datas", 1, 50)
        };
        // Empty pages, as Jushuitan sends them.
        for ok in [
            &br#"{"code":0,"data":{"page_index":1,"data_count":0,"has_next":false,"datas":[]}}"#[..],
            br#"{"code":0,"data":{"page_index":1,"data_count":0,"page_count":0,"datas":null}}"#,
            br#"{"code":0,"data":{"page_index":1,"has_next":false,"datas":null}}"#,
        ] {
            assert!(empty(ok).unwrap().items.is_empty());
        }
        // Not pages: they must never let a checkpoint pass a window.
        for (bad, says) in [
            (&br#"{"code":0,"data":null}"#[..], "`data` is null"),
            (br#"{"code":0,"msg":"ok","data":{}}"#, "no `data.datas`"),
            (
                br#"{"code":0,"data":{"page_index":1,"data_count":3}}"#,
                "no `data.datas`",
            ),
            (br#"{"code":0,"data":"ok"}"#, "`data` is a string"),
            (br#"{"code":0,"data":[]}"#, "`data` is a list"),
            (
                br#"{"code":0,"data":{"data_count":3,"datas":null}}"#,
                "counts 3",
            ),
            (
                br#"{"code":0,"data":{"has_next":true,"datas":[]}}"#,
                "more pages follow",
            ),
        ] {
            let e = empty(bad).expect_err(&String::from_utf8_lossy(bad));
            assert!(e.contains(says), "{e}");
        }
        let big = json!({"datas": (0..51).map(|i| json!({"io_id": i})).collect::<Vec<_>>()});
        let e = page(big, "datas", 1, 50).unwrap_err();
        assert!(e.contains("51 records on a page of 50"), "{e}");
    }

    #[test]
    fn garbage_is_an_error_not_a_panic() {
        for body in [
            &b"<html>502</html>"[..],
            b"",
            b"[1,2]",
            b"{\"code\":\"x\"}",
            b"{\"msg\":1}",
            b"{\"code\":0",
        ] {
            assert!(
                envelope(body).is_err(),
                "{:?}",
                String::from_utf8_lossy(body)
            );
        }
    }

    #[test]
    fn token_answer() {
        let t = tokens(
            &json!({"access_token":"a","refresh_token":"r","expires_in":"100"}),
            1000,
        )
        .unwrap();
        assert_eq!((t.expires_at, t.issued_at), (1100, 1000));
        assert!(tokens(&json!({"refresh_token":"r"}), 0).is_err());
    }
}
