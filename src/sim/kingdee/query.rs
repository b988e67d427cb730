//! ExecuteBillQuery / BillQuery / View over seeded and saved documents.

use serde_json::{json, Map, Value};

use super::db::{identity_field, Db, Doc};
use super::envelope::get_ci;
use super::filter;

/// A query failure: (MsgCode, message).
pub type QueryError = (i64, String);

fn is_date_like(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() >= 10
        && b[4] == b'-'
        && b[7] == b'-'
        && b[..4].iter().all(u8::is_ascii_digit)
        && (b.len() == 10 || ((b[10] == b' ' || b[10] == b'T') && b.len() >= 19))
}

/// Output form of a cell: dates as `yyyy-MM-ddTHH:mm:ss`, references as their number.
fn out_cell(v: &Value) -> Value {
    match v {
        Value::String(s) if is_date_like(s) => {
            let d = if s.len() == 10 {
                format!("{s}T00:00:00")
            } else {
                format!("{}T{}", &s[..10], &s[11..19])
            };
            Value::String(d)
        }
        Value::Object(_) => get_ci(v, "FNumber").cloned().unwrap_or(Value::Null),
        other => other.clone(),
    }
}

fn entries(doc: &Doc) -> Vec<Value> {
    match get_ci(&doc.model, "FEntity") {
        Some(Value::Array(a)) => a.clone(),
        _ => Vec::new(),
    }
}

/// Values of `key` in a doc (and entry, if the row is an entry row).
fn field(doc: &Doc, entry: Option<(usize, &Value)>, key: &str) -> Vec<Value> {
    let lower = key.to_ascii_lowercase();
    if lower == "fid" {
        return vec![json!(doc.id)];
    }
    if lower == "fdocumentstatus" {
        return vec![json!(doc.status)];
    }
    if let Some(sub) = lower.strip_prefix("fentity_") {
        return match entry {
            Some((i, e)) => match sub {
                "fseq" => vec![json!(i + 1)],
                "fentryid" => vec![get_ci(e, "FEntryID")
                    .cloned()
                    .unwrap_or(json!(doc.id * 1000 + i as u64 + 1))],
                other => vec![get_ci(e, other).cloned().unwrap_or(Value::Null)],
            },
            None => entries(doc)
                .iter()
                .enumerate()
                .map(|(i, _)| json!(doc.id * 1000 + i as u64 + 1))
                .collect(),
        };
    }
    let (root, rest) = match key.split_once('.') {
        Some((r, s)) => (r, Some(s)),
        None => (key, None),
    };
    let pick = |v: &Value| -> Value {
        match rest {
            Some(sub) => get_ci(v, sub).cloned().unwrap_or(Value::Null),
            None => v.clone(),
        }
    };
    if let Some(v) = get_ci(&doc.model, root) {
        return vec![pick(v)];
    }
    if let Some(sub) = get_ci(&doc.model, "SubHeadEntity") {
        if let Some(v) = get_ci(sub, root) {
            return vec![pick(v)];
        }
    }
    match entry {
        Some((_, e)) => vec![get_ci(e, root).map(pick).unwrap_or(Value::Null)],
        None => entries(doc)
            .iter()
            .filter_map(|e| get_ci(e, root).map(pick))
            .collect(),
    }
}

fn is_entry_key(doc: &Doc, key: &str) -> bool {
    if key.to_ascii_lowercase().starts_with("fentity_") {
        return true;
    }
    let root = key.split('.').next().unwrap_or(key);
    if root.eq_ignore_ascii_case("fid") || get_ci(&doc.model, root).is_some() {
        return false;
    }
    entries(doc).iter().any(|e| get_ci(e, root).is_some())
}

fn num(data: &Value, key: &str) -> u64 {
    match get_ci(data, key) {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

/// Runs a query: (field keys, rows of cells).
pub fn run(db: &Db, data: &Value) -> Result<(Vec<String>, Vec<Vec<Value>>), QueryError> {
    let form = get_ci(data, "FormId")
        .and_then(Value::as_str)
        .unwrap_or("")
        .to_string();
    if form.is_empty() {
        return Err((8, "data数据包中的参数FormId的值不能为空。".into()));
    }
    if !db.form_known(&form) {
        return Err((4, format!("标识为“{form}”的业务对象不存在，或者被删除。")));
    }
    let keys: Vec<String> = get_ci(data, "FieldKeys")
        .and_then(Value::as_str)
        .unwrap_or("")
        .split(',')
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    if keys.is_empty() {
        return Err((8, "data数据包中的参数FieldKeys的值不能为空。".into()));
    }
    let filter_text = match get_ci(data, "FilterString") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => array_filter(items),
        _ => String::new(),
    };
    let expr =
        filter::parse(&filter_text).map_err(|e| (4, format!("GetRealExpress error: {e}")))?;
    let ident = identity_field(&form);
    let docs: Vec<&Doc> = match filter::candidates(&expr, ident) {
        Some(numbers) => db.by_numbers(&form, &numbers),
        None => db.docs(&form).iter().collect(),
    };
    let mut rows = Vec::new();
    for doc in docs {
        let expand = keys.iter().any(|k| is_entry_key(doc, k));
        if expand {
            for (i, e) in entries(doc).iter().enumerate() {
                let get = |k: &str| field(doc, Some((i, e)), k);
                if filter::eval(&expr, &get) {
                    rows.push(keys.iter().map(|k| out_cell(&first(get(k)))).collect());
                }
            }
        } else {
            let get = |k: &str| field(doc, None, k);
            if filter::eval(&expr, &get) {
                rows.push(keys.iter().map(|k| out_cell(&first(get(k)))).collect());
            }
        }
    }
    let top = num(data, "TopRowCount") as usize;
    if top > 0 {
        rows.truncate(top);
    }
    let start = num(data, "StartRow") as usize;
    let limit = num(data, "Limit") as usize;
    let rows: Vec<Vec<Value>> = rows
        .into_iter()
        .skip(start)
        .take(if limit == 0 { usize::MAX } else { limit })
        .collect();
    Ok((keys, rows))
}

fn first(v: Vec<Value>) -> Value {
    v.into_iter().next().unwrap_or(Value::Null)
}

/// Array-form FilterString (`[{"Left","FieldName","Compare","Value","Right","Logic"}]`) as text.
fn array_filter(items: &[Value]) -> String {
    let mut s = String::new();
    for (i, it) in items.iter().enumerate() {
        let g = |k: &str| {
            get_ci(it, k)
                .map(|v| match v {
                    Value::String(s) => s.clone(),
                    Value::Null => String::new(),
                    o => o.to_string(),
                })
                .unwrap_or_default()
        };
        if i > 0 {
            s.push_str(if g("Logic") == "1" { " or " } else { " and " });
        }
        let op = match g("Compare").as_str() {
            "67" | "=" | "" => "=",
            "83" | "<>" => "<>",
            other => other,
        }
        .to_string();
        s.push_str(&format!(
            "{}{} {} '{}'{}",
            g("Left"),
            g("FieldName"),
            op,
            g("Value").replace('\'', "''"),
            g("Right")
        ));
    }
    s
}

/// BillQuery rows as objects.
pub fn as_objects(keys: &[String], rows: Vec<Vec<Value>>) -> Value {
    Value::Array(
        rows.into_iter()
            .map(|r| {
                let mut m = Map::new();
                for (k, v) in keys.iter().zip(r) {
                    m.insert(k.clone(), v);
                }
                Value::Object(m)
            })
            .collect(),
    )
}

/// View by `Number` or `Id`.
pub fn view(db: &Db, form: &str, data: &Value) -> Option<Value> {
    let number = get_ci(data, "Number").and_then(Value::as_str).unwrap_or("");
    let id = num(data, "Id");
    let doc = db.docs(form).iter().find(|d| {
        (!number.is_empty() && d.number.eq_ignore_ascii_case(number)) || (id != 0 && d.id == id)
    })?;
    let mut m = match &doc.model {
        Value::Object(m) => m.clone(),
        _ => Map::new(),
    };
    m.insert("Id".into(), json!(doc.id));
    m.insert("Number".into(), json!(doc.number));
    m.insert("BillNo".into(), json!(doc.number));
    m.insert("DocumentStatus".into(), json!(doc.status));
    Some(Value::Object(m))
}
