//! The DynamicFormService calls: BatchSave, Save, View, ExecuteBillQuery, BillQuery and the
//! identity look-up `find` built on ExecuteBillQuery.

use std::collections::HashMap;

use serde::Serialize;
use serde_json::{json, Map, Value};

use super::classify::{
    error_text, is_unknown_field_message, is_unknown_form_message, response_status, save_results,
    Op, QUERY_REFUSED,
};
use super::query::{cell_text, find_query, MAX_VALUES_PER_QUERY, PAGE_LIMIT};
use super::{Client, ItemResult, SinkError};

/// A query reply that is a failure envelope instead of rows.
fn query_failure(value: &Value) -> Option<SinkError> {
    let rs = response_status(value)?;
    let code = rs.get("MsgCode").and_then(Value::as_i64).unwrap_or(0);
    Some(SinkError::Permanent(format!(
        "{QUERY_REFUSED}{code}: {}",
        error_text(rs)
    )))
}

/// A failed identity look-up, worded as the configuration error it is when Kingdee refused the
/// query itself (a MsgCode: unknown form or field, bad filter); transport, credential and
/// passing failures pass through unchanged.
fn lookup_error(e: SinkError, form_id: &str, id_field: &str, identity_field: &str) -> SinkError {
    let msg = match e {
        SinkError::Permanent(msg) if msg.starts_with(QUERY_REFUSED) => msg,
        other => return other,
    };
    let culprit = if is_unknown_field_message(&msg) {
        // The message names the key as sent; tolerate spaces around it and another case.
        let named: String = msg
            .chars()
            .filter(|c| !c.is_whitespace())
            .collect::<String>()
            .to_lowercase();
        [identity_field, id_field]
            .into_iter()
            .find(|f| named.contains(&format!("标识为{}的", f.trim().to_lowercase())))
            .map(|f| {
                let which = if f == identity_field {
                    "identity_field"
                } else {
                    "id_field"
                };
                format!("{which} \"{f}\" is not a field of form {form_id}")
            })
            .unwrap_or_else(|| format!("form {form_id} has no such field"))
    } else if is_unknown_form_message(&msg) {
        format!("form {form_id} does not exist")
    } else {
        format!("Kingdee refused the query of form {form_id}")
    };
    SinkError::Permanent(format!(
        "configuration error: cannot look up {form_id} documents by {identity_field} (fields {id_field},{identity_field}): {culprit} ({msg}); check form_id, id_field and identity_field in the scheme's [scheme.target]"
    ))
}

/// `{"formid": ..., "data": {<options>, "Model": [...]}}`, serialized straight from borrowed parts.
#[derive(Serialize)]
struct SaveBody<'a, M> {
    formid: &'a str,
    data: SaveData<'a, M>,
}

#[derive(Serialize)]
struct SaveData<'a, M> {
    #[serde(flatten)]
    options: &'a Map<String, Value>,
    #[serde(rename = "Model")]
    model: &'a [M],
}

impl Client {
    /// BatchSave: one `ItemResult` per model, matched by `DIndex`. `options` (IsAutoSubmitAndAudit,
    /// IsVerifyBaseDataField, IsDeleteEntry, ...) go into the `data` object next to `Model`.
    /// Models are anything serializable: the Writer passes the stored JSON text as it is
    /// (`RawValue`), so a batch is written into the request without being parsed again.
    pub async fn batch_save<M: Serialize>(
        &self,
        form_id: &str,
        models: &[M],
        options: &Map<String, Value>,
    ) -> Result<Vec<ItemResult>, SinkError> {
        if models.is_empty() {
            return Ok(Vec::new());
        }
        let body = SaveBody {
            formid: form_id,
            data: SaveData {
                options,
                model: models,
            },
        };
        let bytes = serde_json::to_vec(&body)
            .map_err(|e| SinkError::Permanent(format!("cannot encode the request: {e}")))?;
        let value = self.call_bytes("BatchSave", bytes, Op::Write).await?;
        save_results(&value, models.len())
    }

    /// Save of one model.
    pub async fn save(
        &self,
        form_id: &str,
        model: &Value,
        options: &Map<String, Value>,
    ) -> Result<ItemResult, SinkError> {
        let mut data = options.clone();
        data.insert("Model".into(), model.clone());
        let body = json!({ "formid": form_id, "data": Value::Object(data) });
        let value = self.call("Save", &body, Op::Write).await?;
        save_results(&value, 1)?
            .pop()
            .ok_or_else(|| SinkError::Uncertain("Kingdee Save reply has no result".into()))
    }

    /// View by number: the whole object, or `None` if Kingdee has none (MsgCode 10).
    pub async fn view(&self, form_id: &str, number: &str) -> Result<Option<Value>, SinkError> {
        let body =
            json!({ "formid": form_id, "data": {"CreateOrgId": 0, "Number": number, "Id": ""} });
        let value = self.call("View", &body, Op::Read).await?;
        let Some(rs) = response_status(&value) else {
            return Err(SinkError::Transient(
                "Kingdee View reply has no Result.ResponseStatus".into(),
            ));
        };
        if rs.get("IsSuccess").and_then(Value::as_bool) == Some(true) {
            return Ok(value.get("Result").and_then(|r| r.get("Result")).cloned());
        }
        match rs.get("MsgCode").and_then(Value::as_i64) {
            Some(10) => Ok(None),
            code => Err(SinkError::Permanent(format!(
                "Kingdee MsgCode {}: {}",
                code.unwrap_or(0),
                error_text(rs)
            ))),
        }
    }

    /// ExecuteBillQuery: rows of cells in FieldKeys order. `data` is the query object
    /// (`FormId`, `FieldKeys`, `FilterString`, `StartRow`, `Limit`, ...).
    pub async fn execute_bill_query(&self, data: &Value) -> Result<Vec<Vec<Value>>, SinkError> {
        let body = json!({ "data": data });
        let value = self.call("ExecuteBillQuery", &body, Op::Read).await?;
        if let Some(e) = query_failure(&value) {
            return Err(e);
        }
        let Value::Array(rows) = value else {
            return Err(SinkError::Transient(
                "Kingdee ExecuteBillQuery reply is not an array".into(),
            ));
        };
        Ok(rows
            .into_iter()
            .map(|r| match r {
                Value::Array(cells) => cells,
                other => vec![other],
            })
            .collect())
    }

    /// BillQuery: one JSON object per row.
    pub async fn bill_query(&self, data: &Value) -> Result<Vec<Value>, SinkError> {
        let body = json!({ "data": data });
        let value = self.call("BillQuery", &body, Op::Read).await?;
        if let Some(e) = query_failure(&value) {
            return Err(e);
        }
        match value {
            Value::Array(rows) => Ok(rows),
            _ => Err(SinkError::Transient(
                "Kingdee BillQuery reply is not an array".into(),
            )),
        }
    }

    /// Looks identities up (`identity_field in (...)`, quotes doubled, 100 per query, paged):
    /// identity → (id, number). Absent identities are simply missing from the map. A query
    /// Kingdee refuses (unknown form or field: a configuration mistake) is a `Permanent` error
    /// naming the form and the fields, never "not found".
    pub async fn find(
        &self,
        form_id: &str,
        id_field: &str,
        identity_field: &str,
        values: &[String],
    ) -> Result<HashMap<String, (String, String)>, SinkError> {
        let mut found = HashMap::new();
        for chunk in values.chunks(MAX_VALUES_PER_QUERY) {
            let mut start = 0u64;
            loop {
                let q = find_query(form_id, id_field, identity_field, chunk, start);
                let rows = self
                    .execute_bill_query(&q)
                    .await
                    .map_err(|e| lookup_error(e, form_id, id_field, identity_field))?;
                let n = rows.len() as u64;
                for row in rows {
                    if let [id, number, ..] = row.as_slice() {
                        let number = cell_text(number);
                        // Kingdee compares numbers case-insensitively: report under the
                        // identity as asked.
                        let key = chunk
                            .iter()
                            .find(|v| v.eq_ignore_ascii_case(&number))
                            .cloned()
                            .unwrap_or_else(|| number.clone());
                        found.insert(key, (cell_text(id), number));
                    }
                }
                if n < PAGE_LIMIT {
                    break;
                }
                start += n;
            }
        }
        Ok(found)
    }
}
