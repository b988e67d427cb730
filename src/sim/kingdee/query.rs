//! ExecuteBillQuery / BillQuery / View over seeded and saved documents.
//!
//! Every field key (in `FieldKeys`, `FilterString` and `OrderString`) is resolved against the
//! form's table first; an unknown key answers MsgCode 9 `元数据中标识为X的字段不存在` instead of
//! null cells. Naming an entry's field anywhere (keys, filter or order) joins the entry: one row
//! per entry row, as the SQL Kingdee generates does.

use std::collections::HashMap;

use serde_json::{json, Map, Value};

use super::db::{Db, Doc};
use super::envelope::get_ci;
use super::filter;
use super::forms::{
    self, unknown_field_message, unknown_form_message, Column, Entry, Form, Place, Spec,
};
use super::order;
use super::save::entry_id;
use super::validate::ref_number;

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

/// Output form of a cell: dates as `yyyy-MM-ddTHH:mm:ss`, a stray object as its number.
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

fn rows_of<'a>(doc: &'a Doc, entry: &Entry) -> &'a [Value] {
    match get_ci(&doc.model, entry.key) {
        Some(Value::Array(a)) => a,
        _ => &[],
    }
}

/// The row a value is read from: the header, or one row of an entry (joined queries).
#[derive(Clone, Copy)]
enum Row<'a> {
    Head,
    Entry(&'static Entry, usize, &'a Value),
}

fn same(a: &Entry, b: &Entry) -> bool {
    std::ptr::eq(a, b)
}

/// Raw values of a field in a document: one, or one per entry row when the row is not joined
/// with that entry (a predicate then holds if any value satisfies it).
fn raw(doc: &Doc, row: Row, place: Place, key: &str) -> Vec<Value> {
    let pick = |v: &Value| get_ci(v, key).cloned().unwrap_or(Value::Null);
    match place {
        Place::Head => vec![pick(&doc.model)],
        Place::SubHead(s) => vec![get_ci(&doc.model, s.key).map(pick).unwrap_or(Value::Null)],
        Place::Entry(e) => match row {
            Row::Entry(re, _, v) if same(re, e) => vec![pick(v)],
            _ => rows_of(doc, e).iter().map(pick).collect(),
        },
    }
}

/// Every value `col` has in `row` of `doc` (see [`raw`]). A reference without a sub-key gives
/// the referenced document's id (0 when empty), as Kingdee's base-data columns do.
fn values(db: &Db, doc: &Doc, row: Row, col: &Column) -> Vec<Value> {
    let entry_values = |e: &'static Entry, one: &dyn Fn(usize, &Value) -> Value| match row {
        Row::Entry(re, i, v) if same(re, e) => vec![one(i, v)],
        _ => rows_of(doc, e)
            .iter()
            .enumerate()
            .map(|(i, v)| one(i, v))
            .collect(),
    };
    match col {
        Column::Pk => vec![json!(doc.id)],
        Column::Status => vec![json!(doc.status)],
        Column::EntryPk(e) => entry_values(e, &|i, v| {
            get_ci(v, e.pk)
                .cloned()
                .unwrap_or(json!(entry_id(doc.id, i)))
        }),
        Column::EntrySeq(e) => entry_values(e, &|i, _| json!(i + 1)),
        Column::Field(place, f) => {
            let vals = raw(doc, row, *place, f.key);
            match f.spec {
                Spec::Ref(target) => vals
                    .iter()
                    .map(|v| {
                        ref_number(v)
                            .and_then(|n| db.by_number(target, &n))
                            .map_or(json!(0), |d| json!(d.id))
                    })
                    .collect(),
                _ => vals,
            }
        }
        Column::Via(place, f, target, inner) => raw(doc, row, *place, f.key)
            .iter()
            .map(|v| {
                let Some(number) = ref_number(v) else {
                    return Value::Null;
                };
                match db.by_number(target.id, &number) {
                    Some(d) => first(values(db, d, Row::Head, inner)),
                    // Not resolvable: what the package itself said (`{"FNumber": ...}`).
                    None => match inner.as_ref() {
                        Column::Field(Place::Head, g) => {
                            get_ci(v, g.key).cloned().unwrap_or(Value::Null)
                        }
                        _ => Value::Null,
                    },
                }
            })
            .collect(),
    }
}

fn first(v: Vec<Value>) -> Value {
    v.into_iter().next().unwrap_or(Value::Null)
}

fn num(data: &Value, key: &str) -> u64 {
    match get_ci(data, key) {
        Some(Value::Number(n)) => n.as_u64().unwrap_or(0),
        Some(Value::String(s)) => s.trim().parse().unwrap_or(0),
        _ => 0,
    }
}

fn text<'a>(data: &'a Value, key: &str) -> &'a str {
    get_ci(data, key).and_then(Value::as_str).unwrap_or("")
}

fn resolve(form: &Form, key: &str) -> Result<Column, QueryError> {
    form.column(key).map_err(|k| (9, unknown_field_message(&k)))
}

/// Runs a query: (field keys as sent, rows of cells).
pub fn run(db: &Db, data: &Value) -> Result<(Vec<String>, Vec<Vec<Value>>), QueryError> {
    let form_id = text(data, "FormId").trim();
    if form_id.is_empty() {
        return Err((8, "data数据包中的参数FormId的值不能为空。".into()));
    }
    let Some(form) = forms::find(form_id) else {
        return Err((4, unknown_form_message(form_id)));
    };
    let keys: Vec<String> = text(data, "FieldKeys")
        .split(',')
        .map(|k| k.trim().to_string())
        .filter(|k| !k.is_empty())
        .collect();
    if keys.is_empty() {
        return Err((8, "data数据包中的参数FieldKeys的值不能为空。".into()));
    }
    let columns = keys
        .iter()
        .map(|k| resolve(form, k))
        .collect::<Result<Vec<_>, _>>()?;
    let filter_text = match get_ci(data, "FilterString") {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Array(items)) => array_filter(items),
        _ => String::new(),
    };
    let expr =
        filter::parse(&filter_text).map_err(|e| (4, format!("GetRealExpress error: {e}")))?;
    // Filter fields, by lower-case key; numeric "fields" (`1=1`) are literals.
    let mut filter_cols: HashMap<String, Column> = HashMap::new();
    for f in filter::fields(&expr) {
        if f.parse::<f64>().is_err() {
            filter_cols.insert(f.to_ascii_lowercase(), resolve(form, &f)?);
        }
    }
    let order = order::parse(text(data, "OrderString"))
        .map_err(|e| (4, e))?
        .into_iter()
        .map(|(k, desc)| resolve(form, &k).map(|c| (c, desc)))
        .collect::<Result<Vec<_>, _>>()?;
    let joined = columns
        .iter()
        .chain(filter_cols.values())
        .chain(order.iter().map(|(c, _)| c))
        .find_map(Column::entry);
    let docs: Vec<&Doc> = match filter::candidates(&expr, form.identity) {
        Some(numbers) => db.by_numbers(form.id, &numbers),
        None => db.docs(form.id).iter().collect(),
    };
    let mut rows: Vec<(Vec<Value>, Vec<Value>)> = Vec::new();
    for doc in docs {
        // A left join: a document without rows still gives one row, its entry cells null.
        let mut joined_rows: Vec<Row> = match joined {
            Some(e) => rows_of(doc, e)
                .iter()
                .enumerate()
                .map(|(i, v)| Row::Entry(e, i, v))
                .collect(),
            None => Vec::new(),
        };
        if joined_rows.is_empty() {
            joined_rows.push(Row::Head);
        }
        for row in joined_rows {
            let get = |k: &str| match filter_cols.get(&k.to_ascii_lowercase()) {
                Some(c) => values(db, doc, row, c),
                None => vec![Value::String(k.to_string())],
            };
            if filter::eval(&expr, &get) {
                let cells = columns
                    .iter()
                    .map(|c| out_cell(&first(values(db, doc, row, c))))
                    .collect();
                let sort = order
                    .iter()
                    .map(|(c, _)| first(values(db, doc, row, c)))
                    .collect();
                rows.push((cells, sort));
            }
        }
    }
    if !order.is_empty() {
        let desc: Vec<bool> = order.iter().map(|(_, d)| *d).collect();
        rows.sort_by(|a, b| order::compare(&a.1, &b.1, &desc));
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
        .map(|(cells, _)| cells)
        .collect();
    Ok((keys, rows))
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
pub fn view(db: &Db, form: &Form, data: &Value) -> Option<Value> {
    let number = text(data, "Number");
    let id = num(data, "Id");
    let doc = db.docs(form.id).iter().find(|d| {
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
