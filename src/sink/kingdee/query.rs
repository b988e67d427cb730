//! Building ExecuteBillQuery requests for identity look-ups.

use serde_json::{json, Value};

/// Values per `in (...)` filter.
pub const MAX_VALUES_PER_QUERY: usize = 100;
/// Rows per page.
pub const PAGE_LIMIT: u64 = 2000;

/// A SQL string literal with `'` doubled.
pub fn quote_literal(v: &str) -> String {
    format!("'{}'", v.replace('\'', "''"))
}

/// `F in ('a','b')`.
pub fn in_filter(field: &str, values: &[String]) -> String {
    let list: Vec<String> = values.iter().map(|v| quote_literal(v)).collect();
    format!("{field} in ({})", list.join(","))
}

/// The `data` object of an ExecuteBillQuery looking up identities.
pub fn find_query(
    form_id: &str,
    id_field: &str,
    identity_field: &str,
    values: &[String],
    start_row: u64,
) -> Value {
    json!({
        "FormId": form_id,
        "FieldKeys": format!("{id_field},{identity_field}"),
        "FilterString": in_filter(identity_field, values),
        "OrderString": "",
        "TopRowCount": 0,
        "StartRow": start_row,
        "Limit": PAGE_LIMIT,
        "SubSystemId": "",
    })
}

/// A cell as text (ids come back as numbers).
pub fn cell_text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        Value::Null => String::new(),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quotes_are_doubled() {
        assert_eq!(
            in_filter("FBillNo", &["a".into(), "O'Brien".into()]),
            "FBillNo in ('a','O''Brien')"
        );
        let q = find_query("BD_STOCK", "FStockId", "FNumber", &["X".into()], 0);
        assert_eq!(q["FieldKeys"], "FStockId,FNumber");
        assert_eq!(q["Limit"], 2000);
    }
}
