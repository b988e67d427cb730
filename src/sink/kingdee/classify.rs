//! What a Kingdee reply means for delivery. Pure functions, no I/O: the client feeds them the
//! HTTP status and body. Chinese messages are passed through verbatim.

use serde_json::Value;

use super::{ItemResult, SinkError};

/// Whether the call could have changed data in Kingdee.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    Read,
    Write,
}

/// First look at a reply.
#[derive(Debug, Clone, PartialEq)]
pub enum Reply {
    /// A JSON body to interpret further (may still carry per-item errors).
    Ok(Value),
    /// MsgCode 1 (会话信息已丢失): log in again.
    SessionLost(String),
    /// The whole call failed.
    Failed(SinkError),
}

/// The `ResponseStatus` object of a reply, wherever it sits (`{"Result":{...}}` or the
/// ExecuteBillQuery error shape `[[{"Result":{...}}]]`).
pub fn response_status(v: &Value) -> Option<&Value> {
    let mut cur = v;
    for _ in 0..2 {
        match cur {
            Value::Array(a) if a.len() == 1 => cur = &a[0],
            _ => break,
        }
    }
    cur.get("Result")?.get("ResponseStatus")
}

/// Message texts of `Errors[]` (or the status' own `Message`), joined.
pub fn error_text(rs: &Value) -> String {
    let mut msgs: Vec<String> = rs
        .get("Errors")
        .and_then(Value::as_array)
        .map(|errs| {
            errs.iter()
                .filter_map(|e| e.get("Message").and_then(Value::as_str))
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    if msgs.is_empty() {
        if let Some(m) = rs.get("Message").and_then(Value::as_str) {
            msgs.push(m.to_string());
        }
    }
    if msgs.is_empty() {
        "Kingdee reported a failure without a message".to_string()
    } else {
        msgs.join("; ")
    }
}

fn msg_code(rs: &Value) -> i64 {
    rs.get("MsgCode").and_then(Value::as_i64).unwrap_or(0)
}

fn is_success(rs: &Value) -> bool {
    match rs.get("IsSuccess") {
        Some(Value::Bool(b)) => *b,
        Some(Value::String(s)) => s.eq_ignore_ascii_case("true"),
        _ => false,
    }
}

/// How a refused read starts its message: `Kingdee MsgCode 9: 元数据中标识为X的字段不存在`.
pub const QUERY_REFUSED: &str = "Kingdee MsgCode ";

/// MsgCodes that a later retry can cure: 4 异常, 6 数据库操作失败, 13 网控冲突, 14 调用限制.
pub fn msg_code_is_transient(code: i64) -> bool {
    matches!(code, 4 | 6 | 13 | 14)
}

/// Does a Kingdee message say the object already exists (duplicate number)?
pub fn is_duplicate_message(msg: &str) -> bool {
    let about_number = ["编号", "编码", "单号"].iter().any(|p| msg.contains(p));
    about_number
        && ["已存在", "已经存在", "已被使用", "已经被使用", "重复"]
            .iter()
            .any(|p| msg.contains(p))
}

/// Does a Kingdee message say the form (business object) does not exist? Observed:
/// `标识为“NO_SUCH_FORM”的业务对象不存在，或者被删除。` (MsgCode 4): a wrong form id, which no
/// retry cures although MsgCode 4 is otherwise transient.
pub fn is_unknown_form_message(msg: &str) -> bool {
    msg.contains("业务对象不存在")
}

/// Does a Kingdee message say a field key does not exist? Observed:
/// `元数据中标识为FNoSuchField的字段不存在` (MsgCode 9).
pub fn is_unknown_field_message(msg: &str) -> bool {
    msg.contains("元数据中标识为") && msg.contains("的字段不存在")
}

/// Classifies an HTTP reply. Read failures are never `Uncertain`.
pub fn classify_reply(status: u16, body: &str, op: Op) -> Reply {
    classify_reply_within(
        status,
        body,
        op,
        (crate::http::DEFAULT_MAX_RESPONSE_MB as usize) << 20,
    )
}

/// [`classify_reply`] of an answer whose size limit is `limit` bytes (the JSON is parsed within
/// a memory budget derived from it).
pub fn classify_reply_within(status: u16, body: &str, op: Op, limit: usize) -> Reply {
    let write = op == Op::Write;
    if status != 200 && status != 206 {
        let text = body.trim();
        if text.contains("Fail to verify thirty passport") {
            return Reply::Failed(SinkError::Permanent(format!(
                "Kingdee refused the account set (HTTP {status}: {text}): check [kingdee] acct_id, the data-center id"
            )));
        }
        let short: String = text.chars().take(300).collect();
        return Reply::Failed(match status {
            // 502/503 (gateway could not reach the server, server unavailable), 408 and 429 are
            // answered before the request is processed.
            502 | 503 | 408 | 429 => {
                SinkError::Transient(format!("Kingdee answered HTTP {status}: {short}"))
            }
            // A 500 or 504 on a write may come after the save ran.
            500..=599 if write => SinkError::Uncertain(format!(
                "Kingdee answered HTTP {status} to a write; it may have been applied: {short}"
            )),
            500..=599 => SinkError::Transient(format!("Kingdee answered HTTP {status}: {short}")),
            _ => SinkError::Permanent(format!(
                "Kingdee answered HTTP {status} (check base_url): {short}"
            )),
        });
    }
    let text = body.trim_start_matches('\u{feff}').trim();
    if let Some(rest) = text.strip_prefix("response_error:") {
        let rest = rest.trim();
        let msg = serde_json::from_str::<Value>(rest)
            .ok()
            .and_then(|v| v.get("Message").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_else(|| rest.chars().take(300).collect());
        return Reply::Failed(SinkError::Transient(format!(
            "Kingdee server exception: {msg}"
        )));
    }
    let value: Value = match crate::http::parse_json(text.as_bytes(), limit) {
        Ok(v) => v,
        Err(e) => {
            let short: String = text.chars().take(200).collect();
            let msg = format!("Kingdee reply is not JSON ({e}): {short}");
            return Reply::Failed(if write {
                SinkError::Uncertain(msg)
            } else {
                SinkError::Transient(msg)
            });
        }
    };
    if let Some(rs) = response_status(&value) {
        if !is_success(rs) {
            let code = msg_code(rs);
            let msg = error_text(rs);
            if code == 1 {
                return Reply::SessionLost(msg);
            }
            if code == 14 {
                return Reply::Failed(SinkError::Transient(format!(
                    "Kingdee call limit (MsgCode 14): {msg}"
                )));
            }
            // MsgCode 10 (未找到对应数据): View of a missing object, the caller decides.
            // On queries MsgCode 4 has only been seen for configuration mistakes (unknown form,
            // bad filter), so it is permanent there.
            if !write && code != 10 {
                return Reply::Failed(if code != 4 && msg_code_is_transient(code) {
                    SinkError::Transient(format!("Kingdee MsgCode {code}: {msg}"))
                } else {
                    SinkError::Permanent(format!("{QUERY_REFUSED}{code}: {msg}"))
                });
            }
        }
    }
    Reply::Ok(value)
}

fn id_text(v: Option<&Value>) -> String {
    match v {
        Some(Value::String(s)) => s.clone(),
        Some(Value::Null) | None => String::new(),
        Some(other) => other.to_string(),
    }
}

fn dindex(v: &Value) -> Option<usize> {
    match v.get("DIndex") {
        Some(Value::Number(n)) => n.as_u64().map(|n| n as usize),
        Some(Value::String(s)) => s.trim().parse().ok(),
        _ => None,
    }
}

/// One `ItemResult` per model of a Save/BatchSave reply, matched by `DIndex` (never by position).
/// A reply that does not account for every model is `Uncertain`: look up before re-sending.
pub fn save_results(value: &Value, n: usize) -> Result<Vec<ItemResult>, SinkError> {
    let Some(rs) = response_status(value) else {
        return Err(SinkError::Uncertain(
            "Kingdee save reply has no Result.ResponseStatus".to_string(),
        ));
    };
    // The whole call refused because the form does not exist: the same verbatim message for
    // every model, permanent (a typo in form_id must not be retried, nor "delivered").
    if !is_success(rs) {
        let unknown_form = rs
            .get("Errors")
            .and_then(Value::as_array)
            .into_iter()
            .flatten()
            .filter_map(|e| e.get("Message").and_then(Value::as_str))
            .find(|m| is_unknown_form_message(m));
        if let Some(message) = unknown_form {
            return Ok(vec![
                ItemResult::Permanent {
                    message: message.to_string()
                };
                n
            ]);
        }
    }
    let mut out: Vec<Option<ItemResult>> = vec![None; n];
    let mut errors: Vec<Vec<String>> = vec![Vec::new(); n];
    let mut general: Vec<String> = Vec::new();
    if let Some(errs) = rs.get("Errors").and_then(Value::as_array) {
        for e in errs {
            let msg = e
                .get("Message")
                .and_then(Value::as_str)
                .unwrap_or("(no message)")
                .to_string();
            match dindex(e) {
                Some(i) if i < n => errors[i].push(msg),
                _ => general.push(msg),
            }
        }
    }
    if let Some(ok) = rs.get("SuccessEntitys").and_then(Value::as_array) {
        for s in ok {
            if let Some(i) = dindex(s).filter(|i| *i < n) {
                out[i] = Some(ItemResult::Saved {
                    id: id_text(s.get("Id")),
                    number: id_text(s.get("Number")),
                });
            }
        }
    }
    let code = msg_code(rs);
    for i in 0..n {
        if out[i].is_some() {
            continue;
        }
        if !errors[i].is_empty() {
            let message = errors[i].join("; ");
            out[i] = Some(if errors[i].iter().any(|m| is_duplicate_message(m)) {
                ItemResult::AlreadyExists { message }
            } else {
                ItemResult::Permanent { message }
            });
        } else if !general.is_empty() || !is_success(rs) {
            let message = if general.is_empty() {
                format!("Kingdee MsgCode {code}: {}", error_text(rs))
            } else {
                format!("Kingdee MsgCode {code}: {}", general.join("; "))
            };
            out[i] = Some(if msg_code_is_transient(code) {
                ItemResult::Transient { message }
            } else if general.iter().any(|m| is_duplicate_message(m)) {
                ItemResult::AlreadyExists { message }
            } else {
                ItemResult::Permanent { message }
            });
        } else {
            return Err(SinkError::Uncertain(format!(
                "Kingdee save reply says nothing about model DIndex {i}"
            )));
        }
    }
    Ok(out.into_iter().flatten().collect())
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    const LOST: &str = r#"{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":null,"Message":"会话信息已丢失，请重新登录","DIndex":0}],"SuccessEntitys":[],"SuccessMessages":[],"MsgCode":1}}}"#;

    #[test]
    fn session_lost_plain_and_wrapped() {
        assert_eq!(
            classify_reply(200, LOST, Op::Write),
            Reply::SessionLost("会话信息已丢失，请重新登录".into())
        );
        let wrapped = format!("[[{LOST}]]");
        assert!(matches!(
            classify_reply(200, &wrapped, Op::Read),
            Reply::SessionLost(_)
        ));
    }

    #[test]
    fn transport_level_classes() {
        assert!(matches!(
            classify_reply(500, "Fail to verify thirty passport", Op::Write),
            Reply::Failed(SinkError::Permanent(m)) if m.contains("acct_id")
        ));
        assert!(matches!(
            classify_reply(502, "Bad Gateway", Op::Write),
            Reply::Failed(SinkError::Transient(_))
        ));
        assert!(matches!(
            classify_reply(504, "Gateway Timeout", Op::Write),
            Reply::Failed(SinkError::Uncertain(_))
        ));
        assert!(matches!(
            classify_reply(500, "oops", Op::Read),
            Reply::Failed(SinkError::Transient(_))
        ));
        assert!(matches!(
            classify_reply(404, "not here", Op::Read),
            Reply::Failed(SinkError::Permanent(_))
        ));
        let re = r#"response_error:{"Message":"服务端异常","InnerExWrapper":null,"InnerException":null}"#;
        assert_eq!(
            classify_reply(200, re, Op::Write),
            Reply::Failed(SinkError::Transient(
                "Kingdee server exception: 服务端异常".into()
            ))
        );
        assert!(matches!(
            classify_reply(200, "<html>", Op::Write),
            Reply::Failed(SinkError::Uncertain(_))
        ));
        assert!(matches!(
            classify_reply(200, "<html>", Op::Read),
            Reply::Failed(SinkError::Transient(_))
        ));
        let limit = r#"{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"Message":"调用限制","DIndex":0}],"MsgCode":14}}}"#;
        assert!(matches!(
            classify_reply(200, limit, Op::Write),
            Reply::Failed(SinkError::Transient(m)) if m.contains("调用限制")
        ));
    }

    #[test]
    fn query_errors_are_permanent_with_the_message() {
        let e = r#"[[{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":null,"Message":"元数据中标识为FNoSuchField的字段不存在","DIndex":0}],"SuccessEntitys":[],"SuccessMessages":[],"MsgCode":9}}}]]"#;
        assert!(matches!(
            classify_reply(200, e, Op::Read),
            Reply::Failed(SinkError::Permanent(m)) if m.contains("FNoSuchField")
        ));
        assert_eq!(
            classify_reply(200, "[[1,\"A\"]]", Op::Read),
            Reply::Ok(json!([[1, "A"]]))
        );
    }

    #[test]
    fn observed_save_success() {
        let ok = r#"{"Result":{"ResponseStatus":{"IsSuccess":true,"Errors":[],"SuccessEntitys":[{"Id":140670,"Number":"MBCGRK-2023051500004","DIndex":0}],"SuccessMessages":[],"MsgCode":0},"Id":140670,"Number":"MBCGRK-2023051500004","NeedReturnData":[{}]}}"#;
        let Reply::Ok(v) = classify_reply(200, ok, Op::Write) else {
            panic!("not ok")
        };
        assert_eq!(
            save_results(&v, 1),
            Ok(vec![ItemResult::Saved {
                id: "140670".into(),
                number: "MBCGRK-2023051500004".into()
            }])
        );
    }

    #[test]
    fn observed_validation_failure_and_required_fields() {
        let v: Value = serde_json::from_str(r#"{"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[{"FieldName":"","Message":"单据编号为“TK202504030001”的销售出库单，单据已经审核！","DIndex":0}],"SuccessEntitys":[],"SuccessMessages":[],"MsgCode":11}}}"#).unwrap_or_default();
        assert_eq!(
            save_results(&v, 1),
            Ok(vec![ItemResult::Permanent {
                message: "单据编号为“TK202504030001”的销售出库单，单据已经审核！".into()
            }])
        );
        let v = json!({"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,"Errors":[
            {"FieldName":"FCustomerID","Message":"字段“客户”是必填项","DIndex":0},
            {"FieldName":"FCustomerID","Message":"字段“客户”是必填项","DIndex":1},
            {"FieldName":"FStockID","Message":"单据体实体【明细信息】第【1】行分录，【仓库】字段必录","DIndex":0}],
            "SuccessEntitys":[],"SuccessMessages":[],"MsgCode":11}}});
        let r = save_results(&v, 2).unwrap_or_default();
        assert_eq!(
            r[0],
            ItemResult::Permanent {
                message:
                    "字段“客户”是必填项; 单据体实体【明细信息】第【1】行分录，【仓库】字段必录"
                        .into()
            }
        );
        assert_eq!(
            r[1],
            ItemResult::Permanent {
                message: "字段“客户”是必填项".into()
            }
        );
    }

    #[test]
    fn partial_success_is_matched_by_dindex_not_position() {
        let v = json!({"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,
            "Errors":[{"FieldName":"FBillNo","Message":"单据编号“JST-2”已存在，违反单据编号唯一性要求","DIndex":1}],
            "SuccessEntitys":[{"Id":12,"Number":"JST-3","DIndex":2},{"Id":11,"Number":"JST-1","DIndex":0}],
            "SuccessMessages":[],"MsgCode":11}}});
        let r = save_results(&v, 3).unwrap_or_default();
        assert_eq!(
            r,
            vec![
                ItemResult::Saved {
                    id: "11".into(),
                    number: "JST-1".into()
                },
                ItemResult::AlreadyExists {
                    message: "单据编号“JST-2”已存在，违反单据编号唯一性要求".into()
                },
                ItemResult::Saved {
                    id: "12".into(),
                    number: "JST-3".into()
                },
            ]
        );
    }

    #[test]
    fn unknown_form_on_save_is_permanent_for_every_model() {
        let msg = "标识为“SAL_RETURNSTOK”的业务对象不存在，或者被删除。";
        let v = json!({"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,
            "Errors":[{"FieldName":null,"Message":msg,"DIndex":0}],
            "SuccessEntitys":[],"SuccessMessages":[],"MsgCode":4}}});
        let Reply::Ok(v) = classify_reply(200, &v.to_string(), Op::Write) else {
            panic!("not ok")
        };
        let want = ItemResult::Permanent {
            message: msg.into(),
        };
        assert_eq!(
            save_results(&v, 3),
            Ok(vec![want.clone(), want.clone(), want])
        );
        // Other MsgCode 4 failures stay transient.
        let v = json!({"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,
            "Errors":[{"FieldName":null,"Message":"服务器异常","DIndex":null}],"MsgCode":4}}});
        assert!(matches!(
            save_results(&v, 2).unwrap_or_default()[..],
            [ItemResult::Transient { .. }, ItemResult::Transient { .. }]
        ));
        assert!(is_unknown_field_message(
            "元数据中标识为FNoSuchField的字段不存在"
        ));
        assert!(!is_unknown_field_message(msg));
    }

    #[test]
    fn duplicate_messages() {
        assert!(is_duplicate_message(
            "单据编号“JST-2”已存在，违反单据编号唯一性要求"
        ));
        assert!(is_duplicate_message(
            "编码“JSTSHOP1”已经被使用，违反编码唯一性要求"
        ));
        assert!(is_duplicate_message("单据编号重复"));
        assert!(!is_duplicate_message(
            "字段“仓库”的值“CK999”在基础资料中不存在或已禁用"
        ));
        assert!(!is_duplicate_message("物料重复录入"));
    }

    #[test]
    fn silent_items_make_the_call_uncertain() {
        let v = json!({"Result":{"ResponseStatus":{"IsSuccess":true,"Errors":[],
            "SuccessEntitys":[{"Id":1,"Number":"A","DIndex":0}],"MsgCode":0}}});
        assert!(matches!(save_results(&v, 2), Err(SinkError::Uncertain(_))));
        assert!(matches!(
            save_results(&json!({"x":1}), 1),
            Err(SinkError::Uncertain(_))
        ));
        let v = json!({"Result":{"ResponseStatus":{"ErrorCode":500,"IsSuccess":false,
            "Errors":[{"Message":"网控冲突","DIndex":null}],"MsgCode":13}}});
        assert!(matches!(
            save_results(&v, 2).unwrap_or_default()[1],
            ItemResult::Transient { .. }
        ));
    }
}
