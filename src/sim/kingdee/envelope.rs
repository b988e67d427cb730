//! Request routing and the three body envelopes Kingdee clients use:
//! named `{"formid","data"}`, positional `{"parameters":[...]}` and the legacy .NET
//! `{"format":1,...,"parameters":"<json string>"}`. Key casing is ignored.
//!
//! Each may also come form-urlencoded (`Content-Type: application/x-www-form-urlencoded`), as
//! clients posting a dict do (Python `requests.post(url, data={...})`, PHP `http_build_query`):
//! `formid=SAL_RETURNSTOCK&data=<json>`, `data=<json>` for queries, `parameters=<json array>`,
//! `acctid=..&username=..&password=..&lcid=2052` for logins. A JSON body mislabelled as a form
//! (PHP curl's default content type) is read as JSON.

use crate::sim::form::{decode_form, is_form};
use serde_json::{Map, Value};

/// The service named by a request path `.../{service}.common.kdsvc`, and its last dotted part
/// lowercased (`batchsave`, `validateuser`, ...).
pub fn route(path: &str) -> Option<(String, String)> {
    let last = path.rsplit('/').next()?;
    let lower = last.to_ascii_lowercase();
    let stem_len = lower.strip_suffix(".common.kdsvc")?.len();
    let service = &last[..stem_len];
    let method = service.rsplit('.').next()?.to_ascii_lowercase();
    if method.is_empty() {
        return None;
    }
    Some((service.to_string(), method))
}

/// Request arguments, by lowercased name and by position.
#[derive(Debug, Default)]
pub struct Args {
    named: Map<String, Value>,
    positional: Vec<Value>,
}

/// A value that may itself be JSON text (`data` sent as a string).
pub fn unstring(v: &Value) -> Value {
    match v {
        Value::String(s) => {
            let t = s.trim();
            if t.starts_with('{') || t.starts_with('[') {
                serde_json::from_str(t).unwrap_or_else(|_| v.clone())
            } else {
                v.clone()
            }
        }
        other => other.clone(),
    }
}

/// Parses a request body; `content_type` is the request's Content-Type header ("" if none).
pub fn parse_body(bytes: &[u8], content_type: &str) -> Result<Args, String> {
    let text = std::str::from_utf8(bytes).map_err(|_| "request body is not UTF-8".to_string())?;
    let text = text.trim_start_matches('\u{feff}').trim();
    if text.is_empty() {
        return Ok(Args::default());
    }
    let value: Value = if is_form(content_type) && !text.starts_with(['{', '[']) {
        let fields = decode_form(text.as_bytes()).map_err(|e| format!("request body: {e}"))?;
        Value::Object(
            fields
                .into_iter()
                .map(|(k, v)| (k, Value::String(v)))
                .collect(),
        )
    } else {
        serde_json::from_str(text).map_err(|e| format!("request body is not JSON: {e}"))?
    };
    let mut args = Args::default();
    match value {
        Value::Object(map) => {
            for (k, v) in map {
                args.named.insert(k.to_ascii_lowercase(), v);
            }
        }
        Value::Array(a) => args.positional = a,
        _ => return Err("request body is not a JSON object".into()),
    }
    if let Some(p) = args.named.get("parameters") {
        match unstring(p) {
            Value::Array(a) => args.positional = a,
            Value::Object(m) => {
                for (k, v) in m {
                    args.named.insert(k.to_ascii_lowercase(), v);
                }
            }
            _ => {}
        }
    }
    Ok(args)
}

impl Args {
    /// By name (case-insensitive) or else by position.
    pub fn get(&self, names: &[&str], pos: usize) -> Option<Value> {
        for n in names {
            if let Some(v) = self.named.get(&n.to_ascii_lowercase()) {
                return Some(v.clone());
            }
        }
        self.positional.get(pos).cloned()
    }

    pub fn text(&self, names: &[&str], pos: usize) -> String {
        match self.get(names, pos) {
            Some(Value::String(s)) => s,
            Some(Value::Null) | None => String::new(),
            Some(v) => v.to_string(),
        }
    }

    /// `formid` + `data` of a form call (positional: `[formid, data]`).
    pub fn form_and_data(&mut self) -> (String, Value) {
        let form = self.text(&["formid"], 0);
        let data = self.take(&["data"], 1).map(|v| match v {
            Value::String(_) => unstring(&v),
            other => other,
        });
        (form, data.unwrap_or(Value::Null))
    }

    /// Like [`get`](Self::get), but moves the value out (no copy of a large `data`).
    fn take(&mut self, names: &[&str], pos: usize) -> Option<Value> {
        for n in names {
            if let Some(v) = self.named.get_mut(&n.to_ascii_lowercase()) {
                return Some(v.take());
            }
        }
        self.positional.get_mut(pos).map(Value::take)
    }

    /// `data` of a query call (positional: `[data]`).
    pub fn query_data(&self) -> Value {
        self.get(&["data"], 0)
            .map(|v| unstring(&v))
            .unwrap_or(Value::Null)
    }
}

/// Case-insensitive key lookup in a JSON object.
pub fn get_ci<'a>(v: &'a Value, key: &str) -> Option<&'a Value> {
    let obj = v.as_object()?;
    if let Some(x) = obj.get(key) {
        return Some(x);
    }
    obj.iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// A Kingdee boolean: `true` or `"true"`.
pub fn truthy(v: Option<&Value>) -> bool {
    match v {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.trim().eq_ignore_ascii_case("true") || s.trim() == "1",
        Some(Value::Number(n)) => n.as_i64() == Some(1),
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn routes_case_insensitively() {
        assert_eq!(
            route("/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave.common.kdsvc"),
            Some((
                "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave".into(),
                "batchsave".into()
            ))
        );
        assert_eq!(
            route("/x/Kingdee.bos.webapi.ServicesStub.authservice.validateuser.COMMON.KDSVC")
                .map(|r| r.1),
            Some("validateuser".into())
        );
        assert_eq!(route("/k3cloud/foo"), None);
    }

    #[test]
    fn three_envelopes() {
        let json = "application/json";
        let mut a = parse_body(br#"{"FormId":"BD_STOCK","data":"{\"Model\":[]}"}"#, json)
            .unwrap_or_default();
        assert_eq!(a.form_and_data(), ("BD_STOCK".into(), json!({"Model": []})));
        let mut b = parse_body(br#"{"parameters":["BD_STOCK","{\"Model\":[]}"]}"#, json)
            .unwrap_or_default();
        assert_eq!(b.form_and_data(), ("BD_STOCK".into(), json!({"Model": []})));
        let mut c = parse_body(
            br#"{"format":1,"useragent":"ApiClient","rid":"1","parameters":"[\"BD_STOCK\",\"{\\\"Model\\\":[]}\"]","timestamp":"x","v":"1.0"}"#,
            json,
        )
        .unwrap_or_default();
        assert_eq!(c.form_and_data(), ("BD_STOCK".into(), json!({"Model": []})));
        let d = parse_body(
            br#"{"acctID":"a","UserName":"u","password":"p","lcid":2052}"#,
            "",
        )
        .unwrap_or_default();
        assert_eq!(d.text(&["acctid"], 0), "a");
        assert_eq!(d.text(&["username"], 1), "u");
    }

    #[test]
    fn form_urlencoded_envelopes() {
        let form = "application/x-www-form-urlencoded; charset=UTF-8";
        let mut a = parse_body(
            b"formid=SAL_RETURNSTOCK&data=%7B%22Model%22%3A%7B%22FNote%22%3A%22a+b%26c%3D%E9%80%80%22%7D%7D",
            form,
        )
        .unwrap_or_default();
        assert_eq!(
            a.form_and_data(),
            (
                "SAL_RETURNSTOCK".into(),
                json!({"Model": {"FNote": "a b&c=退"}})
            )
        );
        let mut b = parse_body(
            b"parameters=%5B%22BD_STOCK%22%2C%22%7B%5C%22Model%5C%22%3A%5B%5D%7D%22%5D",
            form,
        )
        .unwrap_or_default();
        assert_eq!(b.form_and_data(), ("BD_STOCK".into(), json!({"Model": []})));
        let c =
            parse_body(b"acctid=a&UserName=u&password=p%25&lcid=2052", form).unwrap_or_default();
        assert_eq!(c.text(&["password"], 2), "p%");
        assert_eq!(c.text(&["lcid"], 3), "2052");
        // JSON sent with a form content type is JSON.
        let d = parse_body(br#"{"data":{"FormId":"BD_STOCK"}}"#, form).unwrap_or_default();
        assert_eq!(d.query_data(), json!({"FormId": "BD_STOCK"}));
        assert!(parse_body(b"data=%zz", form).is_err());
        assert!(parse_body(b"data=%E8%80", form).is_err());
        assert!(parse_body(b"formid=X&data=1", "application/json").is_err());
    }
}
