//! Save validation as K/3 Cloud does it, driven by the form tables in `forms`: required fields,
//! base-data references (resolved by number, key case ignored; a bill type only for the form it
//! belongs to), `IsVerifyBaseDataField`, positive quantities, numbers, combo values, entries with
//! at least `min_rows` rows, header fields of which one must be given.
//!
//! Message wording (Kingdee's own where known, ours where the notes found none):
//! - header required: `字段“退货客户”是必填项`; entry required:
//!   `单据体实体【明细信息】第【1】行分录，【仓库】字段必录`
//! - unknown base data with IsVerifyBaseDataField=true (ours):
//!   `字段“仓库”的值“CK999”在基础资料中不存在或已禁用`
//! - not a number / not an option / neither of two (ours):
//!   `字段“含税单价”的值“abc”不是有效的数字`, `字段“库存方向”的值“X”不是有效的选项`,
//!   `字段“领料部门”和“客户”不能同时为空`
//! - duplicates (ours): bills `单据编号“JST-1”已存在，违反单据编号唯一性要求`,
//!   base data `编码“X”已经被使用，违反编码唯一性要求`

use serde_json::{Map, Value};

use super::db::Db;
use super::envelope::get_ci;
use super::forms::{Field, Form, Spec};

/// Does `number` resolve in `target` for a bill of `form`? A bill type (`BOS_BILLTYPE`) resolves
/// only for the form it belongs to (`FBillFormID`), as Kingdee filters the bill-type field.
fn resolves(db: &Db, form: &Form, target: &str, number: &str) -> bool {
    let Some(doc) = db.by_number(target, number) else {
        return false;
    };
    if !target.eq_ignore_ascii_case("BOS_BILLTYPE") {
        return true;
    }
    match get_ci(&doc.model, "FBillFormID").and_then(Value::as_str) {
        Some(owner) => owner.eq_ignore_ascii_case(form.id),
        None => true,
    }
}

/// One validation error: (FieldName, Message).
pub type Problem = (String, String);

/// A reference's number: `{"FNumber": x}` (any key case), or a bare string/number.
pub fn ref_number(v: &Value) -> Option<String> {
    let inner = match v {
        Value::Object(_) => get_ci(v, "FNumber")?,
        other => other,
    };
    match inner {
        Value::String(s) if !s.trim().is_empty() => Some(s.trim().to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn text_of(v: &Value) -> Option<String> {
    match v {
        Value::String(s) if !s.trim().is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

fn qty_of(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse().ok(),
        _ => None,
    }
}

/// The key of `obj` naming field `key` (Kingdee's field keys ignore case; an exact match wins).
/// A scan, not a hash lookup: a model object has a dozen keys, most of the fields a form knows
/// are absent from it, and keys of another length are passed over at once.
fn key_in(obj: &Map<String, Value>, key: &str) -> Option<String> {
    let mut folded = None;
    for k in obj.keys().filter(|k| k.len() == key.len()) {
        if k == key {
            return Some(k.clone());
        }
        if folded.is_none() && k.eq_ignore_ascii_case(key) {
            folded = Some(k);
        }
    }
    folded.cloned()
}

/// Checks (and cleans) one object against field specs. `entry_row` = (entry caption, 1-based
/// row) for entry rows.
#[allow(clippy::too_many_arguments)]
fn check<'a>(
    form: &Form,
    obj: &mut Map<String, Value>,
    fields: impl IntoIterator<Item = &'a Field>,
    entry_row: Option<(&str, usize)>,
    verify_base: bool,
    db: &Db,
    problems: &mut Vec<Problem>,
) {
    let required_msg = |label: &str| match entry_row {
        Some((entry, r)) => format!("单据体实体【{entry}】第【{r}】行分录，【{label}】字段必录"),
        None => format!("字段“{label}”是必填项"),
    };
    let row_prefix = match entry_row {
        Some((entry, r)) => format!("单据体实体【{entry}】第【{r}】行分录，"),
        None => String::new(),
    };
    for fd in fields {
        let k = key_in(obj, fd.key);
        let value = k.as_ref().and_then(|k| obj.get(k));
        let mut unresolved = false;
        let present = match (fd.spec, value) {
            (_, None) | (_, Some(Value::Null)) => false,
            (Spec::Ref(target), Some(v)) => match ref_number(v) {
                None => false,
                Some(num) if resolves(db, form, target, &num) => true,
                Some(num) => {
                    if verify_base {
                        let msg = match entry_row {
                            Some((entry, r)) => format!(
                                "单据体实体【{entry}】第【{r}】行分录，字段“{}”的值“{num}”在基础资料中不存在或已禁用",
                                fd.label
                            ),
                            None => format!(
                                "字段“{}”的值“{num}”在基础资料中不存在或已禁用",
                                fd.label
                            ),
                        };
                        problems.push((fd.key.to_string(), msg));
                        continue;
                    }
                    // Unresolved number: Kingdee leaves the field empty.
                    unresolved = true;
                    false
                }
            },
            (Spec::Text, Some(v)) => text_of(v).is_some(),
            (Spec::Number, Some(v)) => match text_of(v) {
                Some(t) if qty_of(v).is_some_and(f64::is_finite) => !t.is_empty(),
                Some(t) => {
                    problems.push((
                        fd.key.to_string(),
                        format!("{row_prefix}字段“{}”的值“{t}”不是有效的数字", fd.label),
                    ));
                    continue;
                }
                None => false,
            },
            (Spec::Choice(options), Some(v)) => match text_of(v) {
                Some(t) if options.iter().any(|o| o.eq_ignore_ascii_case(t.trim())) => true,
                Some(t) => {
                    problems.push((
                        fd.key.to_string(),
                        format!("{row_prefix}字段“{}”的值“{t}”不是有效的选项", fd.label),
                    ));
                    continue;
                }
                None => false,
            },
            (Spec::Value, Some(v)) => text_of(v).is_some() || !matches!(v, Value::String(_)),
            (Spec::Date, Some(v)) => match text_of(v) {
                Some(t) if crate::time::parse_beijing(&normalize_date(&t)).is_ok() => true,
                Some(t) => {
                    problems.push((
                        fd.key.to_string(),
                        format!("字段“{}”的值“{t}”不是有效的日期", fd.label),
                    ));
                    continue;
                }
                None => false,
            },
            (Spec::PositiveQty, Some(v)) => match qty_of(v) {
                Some(q) if q > 0.0 => true,
                Some(_) => {
                    let (entry, r) = entry_row.unwrap_or(("明细信息", 1));
                    problems.push((
                        fd.key.to_string(),
                        format!(
                            "单据体实体【{entry}】第【{r}】行分录，【{}】必须大于0",
                            fd.label
                        ),
                    ));
                    continue;
                }
                None => false,
            },
        };
        if unresolved {
            if let Some(k) = &k {
                obj.remove(k);
            }
        }
        if !present && fd.required {
            problems.push((fd.key.to_string(), required_msg(fd.label)));
        }
    }
}

/// `yyyy-MM-dd[ T]HH:mm:ss` or `yyyy-MM-dd` → `yyyy-MM-dd HH:mm:ss`.
pub fn normalize_date(t: &str) -> String {
    let t = t.trim().replace('T', " ");
    if t.len() == 10 {
        format!("{t} 00:00:00")
    } else {
        t
    }
}

/// Validates one model of `form` against its table; returns the cleaned model or the problems
/// found. Keys the table does not know are kept as sent (Kingdee ignores them).
pub fn validate(
    form: &Form,
    model: Value,
    verify_base: bool,
    db: &Db,
) -> Result<Map<String, Value>, Vec<Problem>> {
    let Value::Object(mut obj) = model else {
        return Err(vec![(
            String::new(),
            "数据包Model必须是一个JSON对象".to_string(),
        )]);
    };
    let mut problems = Vec::new();
    check(
        form,
        &mut obj,
        form.head_fields(),
        None,
        verify_base,
        db,
        &mut problems,
    );
    for group in form.one_of {
        let given = group.iter().any(|k| {
            key_in(&obj, k)
                .and_then(|k| obj.get(&k))
                .and_then(ref_number)
                .is_some()
        });
        if !given {
            let labels: Vec<String> = group
                .iter()
                .filter_map(|k| form.field(k))
                .map(|(_, f)| format!("“{}”", f.label))
                .collect();
            problems.push((
                group.first().map(|k| k.to_string()).unwrap_or_default(),
                format!("字段{}不能同时为空", labels.join("和")),
            ));
        }
    }
    for sub in form.sub_heads {
        let mut empty = Map::new();
        let target = match key_in(&obj, sub.key) {
            Some(k) => match obj.get_mut(&k) {
                Some(Value::Object(m)) => m,
                _ => &mut empty,
            },
            None => &mut empty,
        };
        check(
            form,
            target,
            sub.fields,
            None,
            verify_base,
            db,
            &mut problems,
        );
    }
    for entry in form.entries {
        let rows = key_in(&obj, entry.key).and_then(|k| match obj.get_mut(&k) {
            Some(Value::Array(a)) if !a.is_empty() => Some(a),
            _ => None,
        });
        let Some(rows) = rows else {
            if entry.min_rows > 0 {
                problems.push((
                    entry.key.to_string(),
                    format!("单据体“{}”至少需要录入一行分录", entry.label),
                ));
            }
            continue;
        };
        for (i, row) in rows.iter_mut().enumerate() {
            match row {
                Value::Object(e) => check(
                    form,
                    e,
                    entry.fields,
                    Some((entry.label, i + 1)),
                    verify_base,
                    db,
                    &mut problems,
                ),
                _ => problems.push((
                    entry.key.to_string(),
                    format!("单据体实体【{}】第【{}】行分录不是对象", entry.label, i + 1),
                )),
            }
        }
    }
    if problems.is_empty() {
        Ok(obj)
    } else {
        Err(problems)
    }
}
