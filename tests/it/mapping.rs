//! Mapping: both seed schemes on real-shaped documents, lookups hit and miss, script errors.

use std::path::Path;

use ferry::config::{self, Config};
use ferry::mapping::{MapOutcome, Mapped};
use serde_json::{json, Value};

use crate::helpers::shipped_config;

fn shipped() -> Config {
    config::load(&shipped_config()).expect("shipped config")
}

fn fixture(name: &str) -> Vec<Value> {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name);
    let v: Value = serde_json::from_slice(&std::fs::read(p).expect("fixture")).expect("json");
    v["data"]["datas"].as_array().cloned().unwrap_or_default()
}

fn mapped(o: MapOutcome) -> Mapped {
    match o {
        MapOutcome::Mapped(m) => m,
        other => panic!("expected a model, got {other:?}"),
    }
}

fn a_return() -> Value {
    fixture("return.json").remove(0)
}

#[test]
fn sales_return_has_every_header_entry_and_subhead_field() {
    let c = shipped();
    let s = c.scheme("offline-returns").expect("scheme");
    let m = mapped(s.mapper.map(&a_return()));
    assert_eq!(m.source_key, "10001");
    assert_eq!(m.identity, "JST-10001");
    assert_eq!(m.line_keys, vec!["20001", "20002"]);
    let model = &m.model();
    assert_eq!(model["FBillTypeID"], json!({"FNUMBER": "XSTHD01_SYS"}));
    assert_eq!(model["FBillNo"], "JST-10001");
    assert_eq!(
        model["FDate"], "2026-09-02",
        "time with milliseconds formatted as yyyy-MM-dd"
    );
    assert_eq!(model["FSaleOrgId"]["FNumber"], "100");
    assert_eq!(model["FStockOrgId"]["FNumber"], "100");
    assert_eq!(
        model["FRetcustId"]["FNumber"], "CUST001",
        "lookup customer by drp_co_name"
    );
    assert_eq!(
        model["FHeadNote"],
        "聚水潭其它进仓 10001：门店退回，包装破损"
    );
    assert_eq!(model["FSalesManID"]["FNumber"], "XSY001");
    assert_eq!(model["SubHeadEntity"]["FSettleCurrId"]["FNumber"], "PRE001");
    assert_eq!(model["SubHeadEntity"]["FSettleOrgId"]["FNumber"], "100");
    let rows = model["FEntity"].as_array().expect("FEntity");
    assert_eq!(rows.len(), 2);
    let r0 = &rows[0];
    assert_eq!(r0["FMaterialId"]["FNumber"], "SKU-0007");
    assert_eq!(r0["FRealQty"], 3);
    assert_eq!(r0["FTAXPRICE"], 89.9);
    assert_eq!(r0["FIsFree"], false);
    assert_eq!(r0["FEntryTaxRate"], 13);
    assert_eq!(r0["FReturnType"]["FNumber"], "THLX01_SYS");
    assert_eq!(r0["FOwnerTypeId"], "BD_OwnerOrg");
    assert_eq!(r0["FOwnerId"]["FNumber"], "100");
    assert_eq!(
        r0["FStockId"]["FNumber"], "CK002",
        "lookup warehouse 销退仓"
    );
    assert_eq!(r0["FLot"]["FNumber"], "B20260801");
    assert_eq!(r0["FProduceDate"], "2026-08-01");
    assert_eq!(r0["FDeliveryDate"], "2026-09-02");
    assert_eq!(r0["FSRCBILLNO"], "JST-10001");
    assert_eq!(r0["FORDERNO"], "SO-88001");
    assert_eq!(rows[1]["FIsFree"], true, "a zero price is free");
    assert_eq!(rows[1]["FNote"], "赠品");
    // Fingerprints are stable and change with the document.
    let again = mapped(s.mapper.map(&a_return()));
    assert_eq!(again.fingerprint, m.fingerprint);
    let mut changed = a_return();
    changed["items"][0]["qty"] = json!(4);
    assert_ne!(mapped(s.mapper.map(&changed)).fingerprint, m.fingerprint);
}

#[test]
fn batches_spelled_batchs_feed_the_lot_when_the_item_has_none() {
    let c = shipped();
    let s = c.scheme("offline-returns").expect("scheme");
    let mut doc = a_return();
    doc["items"][0]
        .as_object_mut()
        .expect("item")
        .remove("batch_id");
    let m = mapped(s.mapper.map(&doc));
    assert_eq!(m.model()["FEntity"][0]["FLot"]["FNumber"], "B20260801");
}

#[test]
fn preconditions_filter_instead_of_failing() {
    let c = shipped();
    let s = c.scheme("offline-returns").expect("scheme");
    let docs = fixture("return.json");
    match s.mapper.map(&docs[1]) {
        MapOutcome::Filtered { source_key, reason } => {
            assert_eq!(source_key, "10002");
            assert!(reason.contains("precondition"), "{reason}");
        }
        other => panic!("{other:?}"),
    }
    let mut empty = a_return();
    empty["items"] = json!([]);
    assert!(matches!(s.mapper.map(&empty), MapOutcome::Filtered { .. }));
    let mut no_items = a_return();
    no_items.as_object_mut().expect("doc").remove("items");
    assert!(matches!(
        s.mapper.map(&no_items),
        MapOutcome::Filtered { .. }
    ));
    let mut cancelled = a_return();
    cancelled["status"] = json!("Cancelled");
    assert!(matches!(
        s.mapper.map(&cancelled),
        MapOutcome::Filtered { .. }
    ));
}

#[test]
fn a_value_missing_from_a_lookup_fails_the_document_naming_lookup_and_key() {
    let c = shipped();
    let s = c.scheme("offline-returns").expect("scheme");
    let mut doc = a_return();
    doc["warehouse"] = json!("外仓");
    match s.mapper.map(&doc) {
        MapOutcome::Failed { source_key, error } => {
            assert_eq!(source_key, "10001");
            assert!(
                error.contains("warehouse") && error.contains("外仓"),
                "{error}"
            );
            assert!(
                error.contains("FEntity[0].FStockId"),
                "names the field: {error}"
            );
            assert!(
                error.contains("offline-returns"),
                "names the scheme: {error}"
            );
        }
        other => panic!("{other:?}"),
    }
    let mut doc = a_return();
    doc["drp_co_name"] = json!("线下门店-深圳");
    match s.mapper.map(&doc) {
        MapOutcome::Failed { error, .. } => assert!(
            error.contains("线下门店-深圳") && error.contains("FRetcustId"),
            "{error}"
        ),
        other => panic!("{other:?}"),
    }
}

#[test]
fn script_errors_name_scheme_field_and_document() {
    let c = shipped();
    let s = c.scheme("offline-returns").expect("scheme");
    let mut doc = a_return();
    doc["items"][1]["qty"] = json!("two");
    match s.mapper.map(&doc) {
        MapOutcome::Failed { source_key, error } => {
            assert_eq!(source_key, "10001");
            assert!(error.contains("FEntity[1].FRealQty"), "{error}");
            assert!(
                error.contains("10001") && error.contains("offline-returns"),
                "{error}"
            );
        }
        other => panic!("{other:?}"),
    }
    let mut doc = a_return();
    doc["io_date"] = json!("yesterday");
    match s.mapper.map(&doc) {
        MapOutcome::Failed { error, .. } => assert!(error.contains("FDate"), "{error}"),
        other => panic!("{other:?}"),
    }
    let mut doc = a_return();
    doc.as_object_mut().expect("doc").remove("io_id");
    match s.mapper.map(&doc) {
        MapOutcome::Failed { source_key, error } => {
            assert_eq!(source_key, "");
            assert!(error.contains("io_id"), "{error}");
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn unexpected_field_types_and_times_without_milliseconds() {
    let c = shipped();
    let s = c.scheme("offline-returns").expect("scheme");
    let mut doc = a_return();
    doc["io_id"] = json!("10001");
    doc["io_date"] = json!("2026-09-02 10:00:00");
    doc["items"][0]["ioi_id"] = json!("20001");
    doc["items"][0]["sale_price"] = json!(12.345);
    doc["remark"] = Value::Null;
    doc["so_id"] = Value::Null;
    let m = mapped(s.mapper.map(&doc));
    assert_eq!(m.identity, "JST-10001");
    assert_eq!(m.line_keys[0], "20001");
    assert_eq!(m.model()["FDate"], "2026-09-02");
    assert_eq!(
        m.model()["FEntity"][0]["FTAXPRICE"],
        12.35,
        "rounded to 2 digits"
    );
    assert_eq!(m.model()["FHeadNote"], "聚水潭其它进仓 10001");
    assert_eq!(m.model()["FEntity"][0]["FORDERNO"], "");
    let mut doc = a_return();
    doc["items"] = json!("not a list");
    assert!(matches!(
        s.mapper.map(&doc),
        MapOutcome::Failed { .. } | MapOutcome::Filtered { .. }
    ));
}

#[test]
fn shop_becomes_a_stock() {
    let c = shipped();
    let s = c.scheme("shops-to-stocks").expect("scheme");
    let shops = fixture("shop.json");
    let m = mapped(s.mapper.map(&shops[0]));
    assert_eq!(m.identity, "JSTSHOP10178845");
    assert!(m.line_keys.is_empty());
    let model = &m.model();
    assert_eq!(model["FName"], "杭州旗舰店");
    assert_eq!(model["FNumber"], "JSTSHOP10178845");
    assert_eq!(model["FUseOrgId"]["FNumber"], "100");
    assert_eq!(model["FCreateOrgId"]["FNumber"], "100");
    assert_eq!(model["FStockStatusType"], "0,1,2,3,4,5,6,7,8");
    assert_eq!(model["FStockProperty"], "1");
    assert_eq!(model["FDescription"], "聚水潭店铺 10178845（商家自有商城）");
    assert_eq!(model["FAddress"], "");
    // null shop_url, timestamps with milliseconds
    let m = mapped(s.mapper.map(&shops[1]));
    assert_eq!(m.model()["FName"], "0103顺祥测试店铺mr.g");
}

#[test]
fn custom_mapping_syntax_paths_constants_nested_entries_and_escapes() {
    let text = r#"
data_dir = "d"
[simulator]
enabled = true
[lookups.unit]
"件" = "Pcs"
[[scheme]]
name = "custom"
[scheme.source]
api = "purchasein.query"
key = "po_id"
lines = "items"
line_key = "id"
[scheme.target]
form_id = "STK_InStock"
[scheme.mapping]
FBillNo = "$po_id"
FConst = "$$literal"
FEq = "==x"
FFirst = "$items.0.sku"
FTotal = "=let t = 0.0; for i in doc.items { t += i.qty * i.price; } t"
FLink = [ { FEntity_Link_FRuleId = "R1", FEntity_Link_FSBillId = "$po_id" } ]
[scheme.mapping.FEntity]
from = "items"
[scheme.mapping.FEntity.fields]
FUnitID = { FNumber = '=lookup_or("unit", item.unit, "Pcs")' }
FSeq = "=index + 1"
FCopy = "=let x = item; x.qty = 99; x.qty"
FQty = "=item.qty"
FPo = '="row of " + doc.po_id'
FSerials = { from = "item.sns", fields = { FSerialNo = "$item.sn", FTag = '=item.sn + "/" + index + "/" + doc.items.len()' } }
"#;
    let c = config::load_str(Path::new("custom.toml"), text).expect("valid");
    let s = c.scheme("custom").expect("scheme");
    let doc = json!({"po_id": "PO-1", "items": [
        {"id": 1, "sku": "A", "unit": "件", "qty": 2, "price": 1.5, "sns": [{"sn": "S1"}, {"sn": "S2"}]},
        {"id": 2, "sku": "B", "unit": "箱", "qty": 1, "price": 4.0}
    ]});
    let m = mapped(s.mapper.map(&doc));
    assert_eq!(m.identity, "PO-1");
    assert_eq!(m.line_keys, vec!["1", "2"]);
    assert_eq!(
        m.model(),
        json!({
            "FBillNo": "PO-1", "FConst": "$literal", "FEq": "=x", "FFirst": "A", "FTotal": 7.0,
            "FLink": [{"FEntity_Link_FRuleId": "R1", "FEntity_Link_FSBillId": "PO-1"}],
            "FEntity": [
                {"FUnitID": {"FNumber": "Pcs"}, "FSeq": 1, "FCopy": 99, "FQty": 2, "FPo": "row of PO-1",
                 "FSerials": [{"FSerialNo": "S1", "FTag": "S1/0/2"}, {"FSerialNo": "S2", "FTag": "S2/1/2"}]},
                {"FUnitID": {"FNumber": "Pcs"}, "FSeq": 2, "FCopy": 99, "FQty": 1, "FPo": "row of PO-1", "FSerials": []}
            ]
        })
    );
}

#[test]
fn runaway_scripts_are_stopped() {
    let text = r#"
[simulator]
enabled = true
[[scheme]]
name = "loop"
[scheme.source]
api = "shops.query"
key = "shop_id"
[scheme.target]
form_id = "BD_STOCK"
identity_field = "FNumber"
[scheme.mapping]
FNumber = "=let x = 0; loop { x += 1; }"
"#;
    let c = config::load_str(Path::new("loop.toml"), text).expect("valid");
    let s = c.scheme("loop").expect("scheme");
    match s.mapper.map(&json!({"shop_id": 1})) {
        MapOutcome::Failed { error, .. } => {
            assert!(error.to_lowercase().contains("operations"), "{error}")
        }
        other => panic!("{other:?}"),
    }
}
