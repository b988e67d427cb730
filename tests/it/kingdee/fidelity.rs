//! Simulator fidelity (issue 12, item 12): unknown query fields answer MsgCode 9, OrderString is
//! applied, saves to unknown forms answer MsgCode 4 and save nothing, form-urlencoded bodies work
//! like JSON ones; and ferry's client turns those answers into clear errors.

use super::*;

const FORM: &str = "application/x-www-form-urlencoded";
pub(super) const JSON: &str = "application/json";
pub(super) const SERVICE: &str = "Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.";

/// A raw POST to `{base}{service}.common.kdsvc` with SDK-style signed headers (`signed` true) and
/// the given Content-Type: (HTTP status, body).
pub(super) async fn post(
    s: &KdSimHandle,
    service: &str,
    content_type: &str,
    body: String,
) -> (u16, String) {
    post_as(s, service, content_type, body, true).await
}

async fn post_as(
    s: &KdSimHandle,
    service: &str,
    content_type: &str,
    body: String,
    signed: bool,
) -> (u16, String) {
    let url = format!("{}{service}.common.kdsvc", s.base_url());
    let mut req = reqwest::Client::new()
        .post(&url)
        .header("Content-Type", content_type)
        .body(body);
    if signed {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        for (k, v) in signed_headers(
            s.app_id(),
            s.app_secret(),
            s.acct_id(),
            s.user(),
            s.lcid(),
            "0",
            &url,
            now,
        ) {
            req = req.header(k, v);
        }
    }
    match req.send().await {
        Ok(r) => {
            let status = r.status().as_u16();
            (status, r.text().await.unwrap_or_default())
        }
        Err(e) => panic!("POST {url}: {e}"),
    }
}

pub(super) fn parse(text: &str) -> Value {
    serde_json::from_str(text).unwrap_or_else(|e| panic!("not JSON ({e}): {text}"))
}

/// `application/x-www-form-urlencoded` encoding of one component.
fn enc(s: &str) -> String {
    let mut out = String::new();
    for b in s.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'*' => {
                out.push(b as char)
            }
            b' ' => out.push('+'),
            other => out.push_str(&format!("%{other:02X}")),
        }
    }
    out
}

fn status_of(v: &Value) -> &Value {
    &v["Result"]["ResponseStatus"]
}

/// Saves three return bills in an order that is neither by number nor by date.
async fn three_bills(s: &KdSimHandle) {
    let mut models = Vec::new();
    for (no, date, stock) in [
        ("JST-2", "2026-09-05", "CK002"),
        ("JST-3", "2026-09-04", "CK001"),
        ("JST-1", "2026-09-05", "CK003"),
    ] {
        let mut m = ret_model(no, stock);
        m["FDate"] = json!(date);
        models.push(m);
    }
    // A second entry row on JST-3.
    let mut row = models[1]["FEntity"][0].clone();
    row["FMaterialId"] = json!({"FNumber": "SKU-0009"});
    row["FRealQty"] = json!(7);
    if let Some(rows) = models[1]["FEntity"].as_array_mut() {
        rows.push(row);
    }
    let r = client(s).batch_save(RET, &models, &Map::new()).await;
    assert!(
        matches!(
            r.as_deref(),
            Ok([
                ItemResult::Saved { .. },
                ItemResult::Saved { .. },
                ItemResult::Saved { .. }
            ])
        ),
        "{r:?}"
    );
}

#[tokio::test]
async fn unknown_field_keys_answer_msgcode_9_in_each_query_shape() {
    let s = sim(KdSimOptions::default());
    three_bills(&s).await;
    let query = |keys: &str| {
        json!({"data": {"FormId": RET, "FieldKeys": keys, "FilterString": "", "Limit": 10}})
            .to_string()
    };
    // ExecuteBillQuery: the failure nested in [[...]].
    let (code, text) = post(
        &s,
        &format!("{SERVICE}ExecuteBillQuery"),
        JSON,
        query("FBillNo,FNoSuchField"),
    )
    .await;
    assert_eq!(code, 200);
    let v = parse(&text);
    let st = status_of(&v[0][0]);
    assert_eq!(st["IsSuccess"], json!(false), "{text}");
    assert_eq!(st["MsgCode"], json!(9), "{text}");
    assert_eq!(
        st["Errors"][0]["Message"],
        json!("元数据中标识为FNoSuchField的字段不存在")
    );
    // BillQuery: the plain envelope.
    let (_, text) = post(
        &s,
        &format!("{SERVICE}BillQuery"),
        JSON,
        query("FBillNo,FNoSuchField"),
    )
    .await;
    let v = parse(&text);
    assert_eq!(status_of(&v)["MsgCode"], json!(9), "{text}");
    assert_eq!(
        status_of(&v)["Errors"][0]["Message"],
        json!("元数据中标识为FNoSuchField的字段不存在")
    );
    // A dotted key on a field that is not a reference names the field (as observed).
    let (_, text) = post(
        &s,
        &format!("{SERVICE}BillQuery"),
        JSON,
        query("FDocumentStatus.FName"),
    )
    .await;
    assert_eq!(
        status_of(&parse(&text))["Errors"][0]["Message"],
        json!("元数据中标识为FDocumentStatus的字段不存在")
    );
    // Unknown sub-key of a reference, and `_` instead of `.`.
    for key in ["FStockId.FNoSuch", "FMaterialId_FNumber"] {
        let (_, text) = post(&s, &format!("{SERVICE}ExecuteBillQuery"), JSON, query(key)).await;
        assert_eq!(
            status_of(&parse(&text)[0][0])["Errors"][0]["Message"],
            json!(format!("元数据中标识为{key}的字段不存在")),
            "{text}"
        );
    }
    // An unknown field in the filter is refused the same way, not matched against nothing.
    let c = client(&s);
    let r = c
        .execute_bill_query(
            &json!({"FormId": RET, "FieldKeys": "FBillNo", "FilterString": "FBillNoo = 'JST-1'"}),
        )
        .await;
    assert!(
        matches!(&r, Err(SinkError::Permanent(m)) if m.contains("MsgCode 9") && m.contains("元数据中标识为FBillNoo的字段不存在")),
        "{r:?}"
    );
    let r = c
        .bill_query(&json!({"FormId": RET, "FieldKeys": "FBillNo,FNoSuchField"}))
        .await;
    assert!(
        matches!(&r, Err(SinkError::Permanent(m)) if m.contains("元数据中标识为FNoSuchField的字段不存在")),
        "{r:?}"
    );
}

#[tokio::test]
async fn known_keys_any_case_entry_keys_and_references() {
    let s = sim(KdSimOptions::default());
    three_bills(&s).await;
    let c = client(&s);
    // Field keys ignore case; a reference alone gives the referenced id, `.FName` its name.
    let rows = c
        .execute_bill_query(&json!({"FormId": RET,
            "FieldKeys": "fbillno,FENTITY_FSEQ,fmaterialid.fnumber,FMaterialId.FName,FREALQTY,FSettleCurrId.FNumber,FEntity_FEntryID",
            "FilterString": "FBillNo = 'JST-3'"}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 2, "{rows:?}");
    assert_eq!(
        rows[0][..6],
        [
            json!("JST-3"),
            json!(1),
            json!("SKU-0001"),
            json!("商品0001"),
            json!(2),
            json!("PRE001")
        ]
    );
    assert_eq!(
        rows[1][..5],
        [
            json!("JST-3"),
            json!(2),
            json!("SKU-0009"),
            json!("商品0009"),
            json!(7)
        ]
    );
    assert_ne!(rows[0][6], rows[1][6]);
    let stock = c
        .execute_bill_query(
            &json!({"FormId": STOCK, "FieldKeys": "FStockId", "FilterString": "FNumber = 'CK001'"}),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let rows = c
        .execute_bill_query(
            &json!({"FormId": RET, "FieldKeys": "FStockId,FStockId.FNumber,FStockId.FName",
            "FilterString": "FBillNo = 'JST-3' and FMaterialId.FNumber = 'SKU-0001'"}),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        rows,
        vec![vec![stock[0][0].clone(), json!("CK001"), json!("主仓")]]
    );
    // A filter on an entry field joins the entry: one row per matching entry row.
    let rows = c
        .execute_bill_query(&json!({"FormId": RET, "FieldKeys": "FBillNo",
            "FilterString": "FRealQty > 0"}))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows.len(), 4, "{rows:?}");
}

#[tokio::test]
async fn order_string_is_applied() {
    let s = sim(KdSimOptions::default());
    three_bills(&s).await;
    let c = client(&s);
    let order = |o: &str, keys: &str| {
        let c = c.clone();
        let q = json!({"FormId": RET, "FieldKeys": keys, "FilterString": "", "OrderString": o});
        async move {
            c.execute_bill_query(&q)
                .await
                .unwrap_or_else(|e| panic!("{e}"))
        }
    };
    let col =
        |rows: Vec<Vec<Value>>| -> Vec<Value> { rows.into_iter().map(|r| r[0].clone()).collect() };
    assert_eq!(
        col(order("", "FBillNo").await),
        [json!("JST-2"), json!("JST-3"), json!("JST-1")]
    );
    assert_eq!(
        col(order("FBillNo DESC", "FBillNo").await),
        [json!("JST-3"), json!("JST-2"), json!("JST-1")]
    );
    assert_eq!(
        col(order("fbillno asc", "FBillNo").await),
        [json!("JST-1"), json!("JST-2"), json!("JST-3")]
    );
    assert_eq!(
        col(order("FDate ASC, FBillNo", "FBillNo,FDate").await),
        [json!("JST-3"), json!("JST-1"), json!("JST-2")]
    );
    assert_eq!(
        col(order("FDate DESC,FBillNo DESC", "FBillNo").await),
        [json!("JST-2"), json!("JST-1"), json!("JST-3")]
    );
    // Ordering by an entry field joins the entry rows.
    let rows = order("FRealQty DESC, FBillNo", "FBillNo,FRealQty").await;
    assert_eq!(
        rows,
        vec![
            vec![json!("JST-3"), json!(7)],
            vec![json!("JST-1"), json!(2)],
            vec![json!("JST-2"), json!(2)],
            vec![json!("JST-3"), json!(2)],
        ]
    );
    // Paging applies after ordering.
    let rows = c
        .bill_query(
            &json!({"FormId": RET, "FieldKeys": "FBillNo", "OrderString": "FBillNo",
            "StartRow": 1, "Limit": 1}),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(rows, vec![json!({"FBillNo": "JST-2"})]);
    // An unknown key in OrderString is MsgCode 9.
    let r = c
        .execute_bill_query(
            &json!({"FormId": RET, "FieldKeys": "FBillNo", "OrderString": "FBilNo DESC"}),
        )
        .await;
    assert!(
        matches!(&r, Err(SinkError::Permanent(m)) if m.contains("元数据中标识为FBilNo的字段不存在")),
        "{r:?}"
    );
}

#[tokio::test]
async fn save_to_an_unknown_form_is_refused_and_saves_nothing() {
    let s = sim(KdSimOptions::default());
    let typo = "SAL_RETURNSTOK";
    let msg = format!("标识为“{typo}”的业务对象不存在，或者被删除。");
    for service in ["Save", "BatchSave"] {
        let model = if service == "Save" {
            ret_model("JST-1", "CK001")
        } else {
            json!([ret_model("JST-1", "CK001"), ret_model("JST-2", "CK001")])
        };
        let body = json!({"formid": typo, "data": {"Model": model}}).to_string();
        let (code, text) = post(&s, &format!("{SERVICE}{service}"), JSON, body).await;
        assert_eq!(code, 200);
        let v = parse(&text);
        let st = status_of(&v);
        assert_eq!(st["IsSuccess"], json!(false), "{service}: {text}");
        assert_eq!(st["MsgCode"], json!(4), "{service}: {text}");
        assert_eq!(st["Errors"][0]["Message"], json!(msg), "{service}: {text}");
        assert_eq!(st["SuccessEntitys"], json!([]), "{service}: {text}");
    }
    // ferry's client: every model a permanent failure carrying Kingdee's message verbatim.
    let c = client(&s);
    let models = [
        ret_model("JST-1", "CK001"),
        ret_model("JST-2", "CK001"),
        ret_model("JST-3", "CK001"),
    ];
    let r = c
        .batch_save(typo, &models, &Map::new())
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let want = ItemResult::Permanent {
        message: msg.clone(),
    };
    assert_eq!(r, vec![want.clone(), want.clone(), want.clone()]);
    assert_eq!(c.save(typo, &models[0], &Map::new()).await, Ok(want));
    assert_eq!(s.count(typo), 0);
    assert_eq!(s.count(RET), 0);
    assert!(s.saved(typo).is_empty());
    // View and queries of the unknown form answer the same.
    let r = c.view(typo, "JST-1").await;
    assert!(
        matches!(&r, Err(SinkError::Permanent(m)) if m.contains(&msg)),
        "{r:?}"
    );
}

#[tokio::test]
async fn identity_lookup_with_an_unknown_field_is_a_configuration_error() {
    let s = sim(KdSimOptions::default());
    three_bills(&s).await;
    let c = client(&s);
    let r = c.find(RET, "FID", "FBillNum", &["JST-1".into()]).await;
    let Err(SinkError::Permanent(m)) = &r else {
        panic!("{r:?}")
    };
    for part in [
        "configuration error",
        "SAL_RETURNSTOCK",
        "identity_field \"FBillNum\"",
        "元数据中标识为FBillNum的字段不存在",
    ] {
        assert!(m.contains(part), "{part}: {m}");
    }
    let r = c.find(STOCK, "FID", "FNumber", &["CK001".into()]).await;
    assert!(
        matches!(&r, Err(SinkError::Permanent(m)) if m.contains("id_field \"FID\"") && m.contains("BD_STOCK")),
        "{r:?}"
    );
    let r = c
        .find("SAL_RETURNSTOK", "FID", "FBillNo", &["JST-1".into()])
        .await;
    assert!(
        matches!(&r, Err(SinkError::Permanent(m)) if m.contains("form SAL_RETURNSTOK does not exist")),
        "{r:?}"
    );
    // The right fields still find what is there.
    let found = c
        .find(RET, "FID", "FBillNo", &["JST-1".into(), "JST-9".into()])
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(found.keys().collect::<Vec<_>>(), vec!["JST-1"]);
}

#[tokio::test]
async fn form_urlencoded_bodies_are_accepted_like_json() {
    let s = sim(KdSimOptions::default());
    // Save: formid=...&data=<json>.
    let data =
        json!({"IsAutoSubmitAndAudit": true, "Model": ret_model("JST-F1", "CK001")}).to_string();
    let body = format!("formid={}&data={}", enc(RET), enc(&data));
    let (code, text) = post(&s, &format!("{SERVICE}Save"), FORM, body).await;
    assert_eq!(code, 200, "{text}");
    let v = parse(&text);
    assert_eq!(status_of(&v)["IsSuccess"], json!(true), "{text}");
    assert_eq!(v["Result"]["Number"], json!("JST-F1"));
    // BatchSave with a charset parameter and positional parameters.
    let params = json!([
        STOCK,
        json!({"Model": [stock_model("JSTSHOP-F1", "表单店铺 & 1")]}).to_string()
    ]);
    let body = format!("parameters={}", enc(&params.to_string()));
    let (_, text) = post(
        &s,
        &format!("{SERVICE}BatchSave"),
        "application/x-www-form-urlencoded; charset=UTF-8",
        body,
    )
    .await;
    assert_eq!(status_of(&parse(&text))["IsSuccess"], json!(true), "{text}");
    assert_eq!(saved_numbers(&s, STOCK, "FNumber"), vec!["JSTSHOP-F1"]);
    assert_eq!(s.saved(STOCK)[0]["FName"], json!("表单店铺 & 1"));
    // Queries: data=<json>.
    let q = json!({"FormId": RET, "FieldKeys": "FBillNo,FDocumentStatus", "FilterString": "FBillNo='JST-F1'"});
    let body = format!("data={}", enc(&q.to_string()));
    let (_, text) = post(
        &s,
        &format!("{SERVICE}ExecuteBillQuery"),
        FORM,
        body.clone(),
    )
    .await;
    assert_eq!(parse(&text), json!([["JST-F1", "C"]]), "{text}");
    let (_, text) = post(&s, &format!("{SERVICE}BillQuery"), FORM, body).await;
    assert_eq!(
        parse(&text),
        json!([{"FBillNo": "JST-F1", "FDocumentStatus": "C"}]),
        "{text}"
    );
    // A session login posted as a form (Python `requests.post(url, data=login_data)`).
    let body = format!(
        "acctid={}&username={}&password={}&lcid=2052",
        enc(s.acct_id()),
        enc(s.user()),
        enc(s.password())
    );
    let (_, text) = post_as(
        &s,
        "Kingdee.BOS.WebApi.ServicesStub.AuthService.ValidateUser",
        FORM,
        body,
        false,
    )
    .await;
    let v = parse(&text);
    assert_eq!(v["LoginResultType"], json!(1), "{text}");
    assert!(
        v["KDSVCSessionId"].as_str().is_some_and(|s| !s.is_empty()),
        "{text}"
    );
    // The same unknown-form answer as with JSON.
    let body = format!("formid=NO_SUCH_FORM&data={}", enc(&data));
    let (_, text) = post(&s, &format!("{SERVICE}Save"), FORM, body).await;
    assert_eq!(status_of(&parse(&text))["MsgCode"], json!(4), "{text}");
    assert_eq!(s.count(RET), 1);
}
