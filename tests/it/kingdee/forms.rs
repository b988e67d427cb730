//! The template library's target forms in the Kingdee simulator (issue 14): every minimal model
//! documented in `src/template/NOTES-kingdee.md` saves; a missing required field, an unknown
//! base-data number, a bill type of another form, a bad number or option are refused in
//! Kingdee's words; a material saved through BD_MATERIAL is usable by the bills.

use super::fidelity::{parse, post, JSON, SERVICE};
use super::*;

const NOTES: &str = include_str!("../../../src/template/NOTES-kingdee.md");

/// Every form with a documented minimal model.
const FORMS: &[&str] = &[
    "SAL_OUTSTOCK",
    "STK_InStock",
    "PUR_MRB",
    "STK_MisDelivery",
    "STK_MISCELLANEOUS",
    "STK_TransferDirect",
    "BD_MATERIAL",
];

/// The model documented for `form`: the ```json block after `<!-- model: FORM -->`.
fn model(form: &str) -> Value {
    let marker = format!("<!-- model: {form} -->");
    let Some(at) = NOTES.find(&marker) else {
        panic!("NOTES-kingdee.md has no model for {form}")
    };
    let rest = &NOTES[at + marker.len()..];
    let body = rest
        .split_once("```json")
        .and_then(|(_, b)| b.split_once("```"))
        .map(|(b, _)| b)
        .unwrap_or_else(|| panic!("no json block after {marker}"));
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{form} model is not JSON: {e}"))
}

/// Sets (`Some`) or removes (`None`) the field at `path` (`A.B`; an array step goes to row 0).
fn edit(m: &mut Value, path: &str, v: Option<Value>) {
    let keys: Vec<&str> = path.split('.').collect();
    let mut cur = m;
    for k in &keys[..keys.len() - 1] {
        cur = &mut cur[*k];
        if cur.is_array() {
            cur = &mut cur[0];
        }
    }
    let last = keys[keys.len() - 1];
    match (cur.as_object_mut(), v) {
        (Some(o), Some(v)) => {
            o.insert(last.to_string(), v);
        }
        (Some(o), None) => {
            o.remove(last);
        }
        (None, _) => panic!("{path}: not an object"),
    }
}

fn with(form: &str, path: &str, v: Option<Value>) -> Value {
    let mut m = model(form);
    edit(&mut m, path, v);
    m
}

fn verify() -> Map<String, Value> {
    opts(&[("IsVerifyBaseDataField", json!(true))])
}

/// Saves one model; the item's result.
async fn save_one(s: &KdSimHandle, form: &str, m: Value, o: &Map<String, Value>) -> ItemResult {
    match client(s).batch_save(form, &[m], o).await {
        Ok(mut r) if r.len() == 1 => r.remove(0),
        other => panic!("{form}: {other:?}"),
    }
}

fn identity(form: &str, m: &Value) -> String {
    let key = if form == "BD_MATERIAL" {
        "FNumber"
    } else {
        "FBillNo"
    };
    m[key].as_str().unwrap_or_default().to_string()
}

#[tokio::test]
async fn every_documented_model_saves_with_base_data_verified() {
    let s = sim(KdSimOptions::default());
    for form in FORMS {
        let m = model(form);
        let want = identity(form, &m);
        let r = save_one(&s, form, m, &verify()).await;
        assert!(
            matches!(&r, ItemResult::Saved { number, .. } if *number == want),
            "{form}: {r:?}"
        );
        assert_eq!(s.count(form), 1, "{form}");
    }
}

#[tokio::test]
async fn missing_required_fields_are_refused_in_kingdees_words() {
    let s = sim(KdSimOptions::default());
    let row = |label: &str| format!("单据体实体【明细信息】第【1】行分录，【{label}】字段必录");
    let head = |label: &str| format!("字段“{label}”是必填项");
    let cases: Vec<(&str, &str, String)> = vec![
        ("SAL_OUTSTOCK", "FCustomerID", head("客户")),
        ("SAL_OUTSTOCK", "FSaleOrgId", head("销售组织")),
        (
            "SAL_OUTSTOCK",
            "SubHeadEntity.FSettleOrgID",
            head("结算组织"),
        ),
        ("SAL_OUTSTOCK", "FEntity.FStockID", row("仓库")),
        ("SAL_OUTSTOCK", "FEntity.FRealQty", row("实发数量")),
        (
            "SAL_OUTSTOCK",
            "FEntity",
            "单据体“明细信息”至少需要录入一行分录".into(),
        ),
        ("STK_InStock", "FSupplierId", head("供应商")),
        ("STK_InStock", "FStockOrgId", head("收料组织")),
        ("STK_InStock", "FInStockFin.FSettleOrgId", head("结算组织")),
        ("STK_InStock", "FInStockEntry.FRealQty", row("实收数量")),
        ("STK_InStock", "FInStockEntry.FMaterialId", row("物料编码")),
        ("PUR_MRB", "FSupplierID", head("供应商")),
        ("PUR_MRB", "FStockOrgId", head("退料组织")),
        ("PUR_MRB", "FPURMRBENTRY.FRMREALQTY", row("实退数量")),
        ("PUR_MRB", "FPURMRBENTRY.FSTOCKID", row("仓库")),
        ("STK_MisDelivery", "FPickOrgId", head("领用组织")),
        ("STK_MisDelivery", "FDate", head("日期")),
        ("STK_MisDelivery", "FEntity.FQty", row("实发数量")),
        ("STK_MisDelivery", "FEntity.FStockId", row("发货仓库")),
        (
            "STK_MisDelivery",
            "FDeptId",
            "字段“领料部门”和“客户”不能同时为空".into(),
        ),
        ("STK_MISCELLANEOUS", "FStockOrgId", head("库存组织")),
        ("STK_MISCELLANEOUS", "FBillTypeID", head("单据类型")),
        ("STK_MISCELLANEOUS", "FEntity.FSTOCKID", row("收货仓库")),
        (
            "STK_MISCELLANEOUS",
            "FDEPTID",
            "字段“部门”和“供应商”不能同时为空".into(),
        ),
        ("STK_TransferDirect", "FStockOutOrgId", head("调出库存组织")),
        ("STK_TransferDirect", "FStockOrgId", head("调入库存组织")),
        (
            "STK_TransferDirect",
            "FBillEntry.FSrcStockId",
            row("调出仓库"),
        ),
        (
            "STK_TransferDirect",
            "FBillEntry.FDestStockId",
            row("调入仓库"),
        ),
        ("STK_TransferDirect", "FBillEntry.FQty", row("调拨数量")),
        ("BD_MATERIAL", "FName", head("名称")),
        ("BD_MATERIAL", "FUseOrgId", head("使用组织")),
        ("BD_MATERIAL", "SubHeadEntity.FBaseUnitId", head("基本单位")),
        ("BD_MATERIAL", "SubHeadEntity.FErpClsID", head("物料属性")),
    ];
    for (form, path, want) in cases {
        let r = save_one(&s, form, with(form, path, None), &Map::new()).await;
        assert_eq!(
            r,
            ItemResult::Permanent {
                message: want.clone()
            },
            "{form} without {path}"
        );
    }
    for form in FORMS {
        assert_eq!(s.count(form), 0, "{form}: a refused package was saved");
    }
    // Either of the two is enough.
    let m = with("STK_MisDelivery", "FDeptId", None);
    let mut m2 = m.clone();
    edit(&mut m2, "FCustId", Some(json!({"FNumber": "CUST001"})));
    let r = save_one(&s, "STK_MisDelivery", m2, &verify()).await;
    assert!(matches!(r, ItemResult::Saved { .. }), "{r:?}");
    let mut m3 = with("STK_MISCELLANEOUS", "FDEPTID", None);
    edit(&mut m3, "FSUPPLIERID", Some(json!({"FNumber": "VEN00003"})));
    let r = save_one(&s, "STK_MISCELLANEOUS", m3, &verify()).await;
    assert!(matches!(r, ItemResult::Saved { .. }), "{r:?}");
}

/// The FieldName and DIndex of a refusal, over raw HTTP, as observed on a real SAL_OUTSTOCK.
#[tokio::test]
async fn a_refusal_names_the_field_key_and_the_package() {
    let s = sim(KdSimOptions::default());
    let good = model("SAL_OUTSTOCK");
    let mut bad = with("SAL_OUTSTOCK", "FCustomerID", None);
    edit(&mut bad, "FBillNo", Some(json!("JST-XSCK-1002")));
    edit(&mut bad, "FEntity.FStockID", None);
    let body = json!({"formid": "SAL_OUTSTOCK", "data": {"Model": [good, bad]}}).to_string();
    let (status, text) = post(&s, &format!("{SERVICE}BatchSave"), JSON, body).await;
    assert_eq!(status, 200, "{text}");
    let v = parse(&text);
    let rs = &v["Result"]["ResponseStatus"];
    assert_eq!(rs["IsSuccess"], json!(false), "{text}");
    assert_eq!(rs["MsgCode"], json!(11), "{text}");
    assert_eq!(
        rs["Errors"],
        json!([
            {"FieldName": "FCustomerID", "Message": "字段“客户”是必填项", "DIndex": 1},
            {"FieldName": "FStockID",
             "Message": "单据体实体【明细信息】第【1】行分录，【仓库】字段必录", "DIndex": 1}
        ]),
        "{text}"
    );
    assert_eq!(rs["SuccessEntitys"][0]["Number"], json!("JST-XSCK-1001"));
    assert_eq!(rs["SuccessEntitys"][0]["DIndex"], json!(0));
    assert_eq!(
        saved_numbers(&s, "SAL_OUTSTOCK", "FBillNo"),
        vec!["JST-XSCK-1001"]
    );
}

#[tokio::test]
async fn unknown_base_data_numbers_are_refused() {
    let s = sim(KdSimOptions::default());
    let head = |label: &str, n: &str| format!("字段“{label}”的值“{n}”在基础资料中不存在或已禁用");
    let row = |label: &str, n: &str| {
        format!(
            "单据体实体【明细信息】第【1】行分录，字段“{label}”的值“{n}”在基础资料中不存在或已禁用"
        )
    };
    let num = |n: &str| Some(json!({"FNumber": n}));
    let cases: Vec<(&str, &str, &str, String)> = vec![
        (
            "SAL_OUTSTOCK",
            "FCustomerID",
            "CUST999",
            head("客户", "CUST999"),
        ),
        (
            "SAL_OUTSTOCK",
            "FEntity.FMaterialID",
            "SKU-9999",
            row("物料编码", "SKU-9999"),
        ),
        (
            "STK_InStock",
            "FSupplierId",
            "VEN99999",
            head("供应商", "VEN99999"),
        ),
        (
            "STK_InStock",
            "FInStockEntry.FStockId",
            "CK999",
            row("仓库", "CK999"),
        ),
        (
            "PUR_MRB",
            "FSupplierID",
            "VEN99999",
            head("供应商", "VEN99999"),
        ),
        (
            "PUR_MRB",
            "FPURMRBENTRY.FSTOCKID",
            "CK999",
            row("仓库", "CK999"),
        ),
        (
            "STK_MisDelivery",
            "FDeptId",
            "BM999999",
            head("领料部门", "BM999999"),
        ),
        (
            "STK_MisDelivery",
            "FEntity.FUnitID",
            "Box",
            row("单位", "Box"),
        ),
        (
            "STK_MISCELLANEOUS",
            "FDEPTID",
            "BM999999",
            head("部门", "BM999999"),
        ),
        (
            "STK_MISCELLANEOUS",
            "FEntity.FMATERIALID",
            "SKU-9999",
            row("物料编码", "SKU-9999"),
        ),
        (
            "STK_TransferDirect",
            "FBillEntry.FDestStockId",
            "CK999",
            row("调入仓库", "CK999"),
        ),
        (
            "STK_TransferDirect",
            "FStockOrgId",
            "999",
            head("调入库存组织", "999"),
        ),
        (
            "BD_MATERIAL",
            "SubHeadEntity.FBaseUnitId",
            "Box",
            head("基本单位", "Box"),
        ),
    ];
    for (form, path, number, want) in &cases {
        let r = save_one(&s, form, with(form, path, num(number)), &verify()).await;
        assert_eq!(
            r,
            ItemResult::Permanent {
                message: want.clone()
            },
            "{form}: {path} = {number}"
        );
    }
    // Without IsVerifyBaseDataField an unknown number is left empty: a required field is then
    // missing, an either-of pair then has neither.
    let r = save_one(
        &s,
        "STK_InStock",
        with("STK_InStock", "FSupplierId", num("VEN99999")),
        &Map::new(),
    )
    .await;
    assert_eq!(
        r,
        ItemResult::Permanent {
            message: "字段“供应商”是必填项".into()
        }
    );
    let r = save_one(
        &s,
        "STK_MisDelivery",
        with("STK_MisDelivery", "FDeptId", num("BM999999")),
        &Map::new(),
    )
    .await;
    assert_eq!(
        r,
        ItemResult::Permanent {
            message: "字段“领料部门”和“客户”不能同时为空".into()
        }
    );
    for form in FORMS {
        assert_eq!(s.count(form), 0, "{form}");
    }
}

#[tokio::test]
async fn a_bill_type_of_another_form_is_not_found() {
    let s = sim(KdSimOptions::default());
    let other = Some(json!({"FNUMBER": "XSTHD01_SYS"}));
    let r = save_one(
        &s,
        "SAL_OUTSTOCK",
        with("SAL_OUTSTOCK", "FBillTypeID", other.clone()),
        &verify(),
    )
    .await;
    assert_eq!(
        r,
        ItemResult::Permanent {
            message: "字段“单据类型”的值“XSTHD01_SYS”在基础资料中不存在或已禁用".into()
        }
    );
    let r = save_one(
        &s,
        "STK_TransferDirect",
        with(
            "STK_TransferDirect",
            "FBillTypeID",
            Some(json!({"FNumber": "QTCKD01_SYS"})),
        ),
        &Map::new(),
    )
    .await;
    assert_eq!(
        r,
        ItemResult::Permanent {
            message: "字段“单据类型”是必填项".into()
        }
    );
    // Each standard bill type is good for its own form.
    let r = save_one(&s, RET, ret_model("JST-1", "CK002"), &verify()).await;
    assert!(matches!(r, ItemResult::Saved { .. }), "{r:?}");
}

#[tokio::test]
async fn numbers_quantities_and_options_are_checked() {
    let s = sim(KdSimOptions::default());
    let cases: Vec<(&str, &str, Value, &str)> = vec![
        (
            "SAL_OUTSTOCK",
            "FEntity.FTaxPrice",
            json!("abc"),
            "单据体实体【明细信息】第【1】行分录，字段“含税单价”的值“abc”不是有效的数字",
        ),
        (
            "SAL_OUTSTOCK",
            "FEntity.FRealQty",
            json!(0),
            "单据体实体【明细信息】第【1】行分录，【实发数量】必须大于0",
        ),
        (
            "PUR_MRB",
            "FPURMRBENTRY.FRMREALQTY",
            json!("-1"),
            "单据体实体【明细信息】第【1】行分录，【实退数量】必须大于0",
        ),
        (
            "STK_MisDelivery",
            "FStockDirect",
            json!("SIDEWAYS"),
            "字段“库存方向”的值“SIDEWAYS”不是有效的选项",
        ),
        (
            "STK_TransferDirect",
            "FBillEntry.FOwnerTypeId",
            json!("BD_Nobody"),
            "单据体实体【明细信息】第【1】行分录，字段“调入货主类型”的值“BD_Nobody”不是有效的选项",
        ),
        (
            "STK_InStock",
            "FDate",
            json!("03/09/2026"),
            "字段“入库日期”的值“03/09/2026”不是有效的日期",
        ),
        (
            "BD_MATERIAL",
            "SubHeadEntity.FErpClsID",
            json!("8"),
            "字段“物料属性”的值“8”不是有效的选项",
        ),
    ];
    for (form, path, v, want) in cases {
        let r = save_one(&s, form, with(form, path, Some(v.clone())), &Map::new()).await;
        assert_eq!(
            r,
            ItemResult::Permanent {
                message: want.into()
            },
            "{form}: {path} = {v}"
        );
    }
    // Numeric strings, other letter case of an option, an empty optional price: accepted.
    let mut m = with("SAL_OUTSTOCK", "FEntity.FTaxPrice", Some(json!("59.90")));
    edit(&mut m, "FEntity.FRealQty", Some(json!("2")));
    edit(&mut m, "FEntity.FPrice", Some(json!("")));
    edit(&mut m, "FEntity.FOwnerTypeID", Some(json!("bd_ownerorg")));
    let r = save_one(&s, "SAL_OUTSTOCK", m, &verify()).await;
    assert!(matches!(r, ItemResult::Saved { .. }), "{r:?}");
}

/// ExecuteBillQuery over raw HTTP: the rows.
async fn query(s: &KdSimHandle, form: &str, keys: &str, filter: &str) -> Value {
    let body =
        json!({"data": {"FormId": form, "FieldKeys": keys, "FilterString": filter}}).to_string();
    let (status, text) = post(s, &format!("{SERVICE}ExecuteBillQuery"), JSON, body).await;
    assert_eq!(status, 200, "{text}");
    parse(&text)
}

#[tokio::test]
async fn a_material_saved_by_the_materials_flow_is_usable_by_the_bills() {
    let s = sim(KdSimOptions::default());
    let mut bill = model("STK_InStock");
    edit(
        &mut bill,
        "FInStockEntry.FMaterialId",
        Some(json!({"FNumber": "SKU-9001"})),
    );
    // Not there yet.
    let r = save_one(&s, "STK_InStock", bill.clone(), &verify()).await;
    assert!(
        matches!(&r, ItemResult::Permanent { message } if message.contains("“SKU-9001”在基础资料中不存在")),
        "{r:?}"
    );
    let r = save_one(&s, "BD_MATERIAL", model("BD_MATERIAL"), &verify()).await;
    assert!(
        matches!(&r, ItemResult::Saved { number, .. } if number == "SKU-9001"),
        "{r:?}"
    );
    let r = save_one(&s, "STK_InStock", bill, &verify()).await;
    assert!(matches!(r, ItemResult::Saved { .. }), "{r:?}");
    // The material's sub-header fields and the bill's references read back.
    assert_eq!(
        query(
            &s,
            "BD_MATERIAL",
            "FNumber,FName,FBaseUnitId.FNumber,FErpClsID",
            "FNumber = 'SKU-9001'"
        )
        .await,
        json!([["SKU-9001", "纯棉T恤 白色 L", "Pcs", "1"]])
    );
    assert_eq!(
        query(
            &s,
            "STK_InStock",
            "FBillNo,FSupplierId.FName,FInStockEntry_FSeq,FMaterialId.FNumber,FStockId.FName",
            "FBillNo = 'JST-CGRK-2001'"
        )
        .await,
        json!([["JST-CGRK-2001", "杭州织造有限公司", 1, "SKU-9001", "进货仓"]])
    );
    // A second material with the same number is a duplicate.
    let r = save_one(&s, "BD_MATERIAL", model("BD_MATERIAL"), &verify()).await;
    assert_eq!(
        r,
        ItemResult::AlreadyExists {
            message: "编码“SKU-9001”已经被使用，违反编码唯一性要求".into()
        }
    );
}

#[tokio::test]
async fn suppliers_departments_and_bill_types_are_seeded() {
    let s = sim(KdSimOptions::default());
    let rows = query(&s, "BD_Supplier", "FNumber,FName", "").await;
    assert_eq!(rows.as_array().map(Vec::len), Some(5), "{rows}");
    assert_eq!(rows[0], json!(["VEN00001", "默认供应商"]));
    let rows = query(&s, "BD_Department", "FNumber,FName", "FNumber = 'BM000003'").await;
    assert_eq!(rows, json!([["BM000003", "仓储部"]]));
    for (number, form) in [
        ("XSCKD01_SYS", "SAL_OUTSTOCK"),
        ("RKD01_SYS", "STK_InStock"),
        ("TLD01_SYS", "PUR_MRB"),
        ("QTCKD01_SYS", "STK_MisDelivery"),
        ("QTRKD01_SYS", "STK_MISCELLANEOUS"),
        ("ZJDB01_SYS", "STK_TransferDirect"),
    ] {
        let rows = query(
            &s,
            "BOS_BILLTYPE",
            "FNumber",
            &format!("FNumber = '{number}'"),
        )
        .await;
        assert_eq!(rows, json!([[number]]), "{form}");
        assert!(
            NOTES.contains(number) && NOTES.contains(form),
            "{number} not documented"
        );
    }
}
