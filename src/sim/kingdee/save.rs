//! Save / BatchSave: validate each package independently, reject duplicate identities, assign
//! numeric ids, persist durably, answer with per-DIndex results.

use serde_json::{json, Map, Value};

use super::db::{Db, Doc};
use super::envelope::{get_ci, truthy};
use super::forms::{self, unknown_form_message};
use super::validate::validate;

fn text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.trim().to_string(),
        Some(Value::Number(n)) => n.to_string(),
        _ => String::new(),
    }
}

/// Moves `key` (any case) out of an object.
fn take_ci(v: &mut Value, key: &str) -> Option<Value> {
    let obj = v.as_object_mut()?;
    let k = obj.keys().find(|k| k.eq_ignore_ascii_case(key)).cloned()?;
    obj.remove(&k)
}

fn set_ci(obj: &mut Map<String, Value>, key: &str, v: Value) {
    let k = obj
        .keys()
        .find(|k| k.eq_ignore_ascii_case(key))
        .cloned()
        .unwrap_or_else(|| key.to_string());
    obj.insert(k, v);
}

/// The id of row `row` (0-based) of an entry of the document `id`.
pub fn entry_id(id: u64, row: usize) -> u64 {
    id * 1000 + row as u64 + 1
}

/// Failure envelope with one error.
pub fn failure(code: i64, msg: &str) -> Value {
    json!({"Result": {"ResponseStatus": {"ErrorCode": 500, "IsSuccess": false,
        "Errors": [{"FieldName": null, "Message": msg, "DIndex": 0}],
        "SuccessEntitys": [], "SuccessMessages": [], "MsgCode": code}}})
}

/// Runs a Save (`batch` false) or BatchSave. Errors from storage come back as `Err`.
pub fn save(
    db: &mut Db,
    form: &str,
    mut data: Value,
    batch: bool,
    reject_duplicates: bool,
) -> Result<Value, String> {
    if form.trim().is_empty() {
        return Ok(failure(5, "单据标识(formid)为空"));
    }
    // A form id without a table (a typo in form_id) saves nothing: MsgCode 4, like Kingdee.
    let Some(table) = forms::find(form) else {
        return Ok(failure(4, &unknown_form_message(form.trim())));
    };
    let verify = truthy(get_ci(&data, "IsVerifyBaseDataField"));
    let status = if truthy(get_ci(&data, "IsAutoSubmitAndAudit")) {
        "C"
    } else {
        "A"
    };
    let models: Vec<Value> = match take_ci(&mut data, "Model") {
        Some(Value::Array(a)) => a,
        Some(v @ Value::Object(_)) => vec![v],
        _ => return Ok(failure(8, "data数据包中的参数Model的值不能为空。")),
    };
    if models.is_empty() {
        return Ok(failure(8, "data数据包中的参数Model的值不能为空。"));
    }
    let ident = table.identity;
    let is_bill = table.is_bill();
    let mut errors: Vec<Value> = Vec::new();
    let mut ok: Vec<Value> = Vec::new();
    let mut pending: Vec<Doc> = Vec::new();
    for (i, m) in models.into_iter().enumerate() {
        let clean = match validate(table, m, verify, db) {
            Ok(c) => c,
            Err(problems) => {
                for (field, msg) in problems {
                    errors.push(json!({"FieldName": field, "Message": msg, "DIndex": i}));
                }
                continue;
            }
        };
        let mut obj = clean;
        let mut number = text(obj.get(ident).or_else(|| {
            obj.iter()
                .find(|(k, _)| k.eq_ignore_ascii_case(ident))
                .map(|(_, v)| v)
        }));
        if reject_duplicates && !number.is_empty() {
            let dup = db.exists(form, &number)
                || pending
                    .iter()
                    .any(|d| d.number.eq_ignore_ascii_case(&number));
            if dup {
                let msg = if is_bill {
                    format!("单据编号“{number}”已存在，违反单据编号唯一性要求")
                } else {
                    format!("编码“{number}”已经被使用，违反编码唯一性要求")
                };
                errors.push(json!({"FieldName": ident, "Message": msg, "DIndex": i}));
                continue;
            }
        }
        let id = db.alloc_id();
        if number.is_empty() {
            number = format!("{}{id:08}", table.auto_number);
        }
        set_ci(&mut obj, table.pk, json!(id));
        set_ci(&mut obj, ident, json!(number));
        set_ci(&mut obj, "FDocumentStatus", json!(status));
        for entry in table.entries {
            let k = obj
                .keys()
                .find(|k| k.eq_ignore_ascii_case(entry.key))
                .cloned();
            if let Some(Value::Array(rows)) = k.and_then(|k| obj.get_mut(&k)) {
                for (r, row) in rows.iter_mut().enumerate() {
                    if let Value::Object(e) = row {
                        set_ci(e, entry.pk, json!(entry_id(id, r)));
                    }
                }
            }
        }
        ok.push(json!({"Id": id, "Number": number, "DIndex": i}));
        pending.push(Doc {
            form: table.id.to_string(),
            id,
            number,
            status: status.to_string(),
            model: Value::Object(obj),
            seeded: false,
        });
    }
    db.insert(pending)?;
    let success = errors.is_empty();
    let mut rs = Map::new();
    if !success {
        rs.insert("ErrorCode".into(), json!(500));
    }
    rs.insert("IsSuccess".into(), json!(success));
    rs.insert("Errors".into(), Value::Array(errors));
    let first = ok.first().map(|f| (f["Id"].clone(), f["Number"].clone()));
    let saved = ok.len();
    rs.insert("SuccessEntitys".into(), Value::Array(ok));
    rs.insert("SuccessMessages".into(), json!([]));
    rs.insert("MsgCode".into(), json!(if success { 0 } else { 11 }));
    let mut result = Map::new();
    result.insert("ResponseStatus".into(), Value::Object(rs));
    if !batch {
        if let Some((id, number)) = first {
            result.insert("Id".into(), id);
            result.insert("Number".into(), number);
        } else {
            result.insert("Id".into(), json!(""));
            result.insert("Number".into(), json!(""));
        }
        result.insert("NeedReturnData".into(), json!([{}]));
    } else {
        result.insert(
            "NeedReturnData".into(),
            Value::Array((0..saved).map(|_| json!({})).collect()),
        );
    }
    Ok(json!({ "Result": Value::Object(result) }))
}
