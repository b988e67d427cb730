//! Every template rehearsed as a consultant would: added with `ferry template add` to a copy of
//! the shipped config pointed at the simulators, `ferry run --once` delivers every eligible
//! document of its Jushuitan API exactly once, each saved model carries the form's required
//! fields (and one entry row per source line), and the documents it filters are not posted.

use std::collections::{BTreeMap, BTreeSet};

use serde_json::Value;

use crate::helpers::*;

/// What one template must do, as data.
struct Flow {
    template: &'static str,
    api: &'static str,
    /// Whether the API answers a document, given the template's params (`types`, `statuss`).
    fetched: fn(&Value) -> bool,
    /// Whether the latest version of a source document must reach Kingdee.
    eligible: fn(&Value) -> bool,
    form: &'static str,
    identity: &'static str,
    /// The Kingdee identity a source document gets.
    number: fn(&Value) -> String,
    /// Required header fields; groups of which one must be filled are written `A|B`.
    head: &'static [&'static str],
    /// Sub-header and its required fields.
    sub: Option<(&'static str, &'static [&'static str])>,
    /// Entry, its required row fields, and the source lines it is made of.
    entry: Option<(&'static str, &'static [&'static str], &'static str)>,
}

fn text(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

fn has_lines(d: &Value) -> bool {
    d["items"].as_array().is_some_and(|a| !a.is_empty())
}

fn confirmed_with_lines(d: &Value) -> bool {
    d["status"] == "Confirmed" && has_lines(d)
}

fn bill(d: &Value) -> String {
    format!("JST-{}", text(&d["io_id"]))
}

const FLOWS: &[Flow] = &[
    Flow {
        template: "shops-to-stocks",
        api: "shops.query",
        fetched: |_| true,
        eligible: |_| true,
        form: "BD_STOCK",
        identity: "FNumber",
        number: |d| format!("JSTSHOP{}", text(&d["shop_id"])),
        head: &["FNumber", "FName", "FCreateOrgId", "FUseOrgId"],
        sub: None,
        entry: None,
    },
    Flow {
        template: "offline-returns",
        api: "other.inout.query",
        fetched: |d| d["type"] == "其它进仓",
        eligible: |d| d["type"] == "其它进仓" && confirmed_with_lines(d),
        form: "SAL_RETURNSTOCK",
        identity: "FBillNo",
        number: bill,
        head: &[
            "FBillTypeID",
            "FDate",
            "FSaleOrgId",
            "FStockOrgId",
            "FRetcustId",
        ],
        sub: Some(("SubHeadEntity", &["FSettleCurrId", "FSettleOrgId"])),
        entry: Some(("FEntity", &["FMaterialId", "FRealQty", "FStockId"], "items")),
    },
    Flow {
        template: "sales-out",
        api: "orders.out.simple.query",
        fetched: |_| true,
        eligible: confirmed_with_lines,
        form: "SAL_OUTSTOCK",
        identity: "FBillNo",
        number: bill,
        head: &[
            "FBillTypeID",
            "FDate",
            "FSaleOrgId",
            "FStockOrgId",
            "FCustomerID",
        ],
        sub: Some(("SubHeadEntity", &["FSettleCurrID", "FSettleOrgID"])),
        entry: Some(("FEntity", &["FMaterialID", "FRealQty", "FStockID"], "items")),
    },
    Flow {
        template: "aftersale-returns",
        api: "aftersale.received.query",
        fetched: |_| true,
        eligible: confirmed_with_lines,
        form: "SAL_RETURNSTOCK",
        identity: "FBillNo",
        number: |d| format!("JST-AS-{}", text(&d["io_id"])),
        head: &[
            "FBillTypeID",
            "FDate",
            "FSaleOrgId",
            "FStockOrgId",
            "FRetcustId",
        ],
        sub: Some(("SubHeadEntity", &["FSettleCurrId", "FSettleOrgId"])),
        entry: Some(("FEntity", &["FMaterialId", "FRealQty", "FStockId"], "items")),
    },
    Flow {
        template: "purchase-in",
        api: "purchasein.query",
        fetched: |d| d["status"] == "Confirmed" || d["status"] == "Archive",
        eligible: |d| (d["status"] == "Confirmed" || d["status"] == "Archive") && has_lines(d),
        form: "STK_InStock",
        identity: "FBillNo",
        number: bill,
        head: &["FBillTypeID", "FDate", "FStockOrgId", "FSupplierId"],
        sub: Some(("FInStockFin", &["FSettleOrgId"])),
        entry: Some((
            "FInStockEntry",
            &["FMaterialId", "FRealQty", "FStockId"],
            "items",
        )),
    },
    Flow {
        template: "purchase-returns",
        api: "purchaseout.query",
        fetched: |_| true,
        eligible: confirmed_with_lines,
        form: "PUR_MRB",
        identity: "FBillNo",
        number: bill,
        head: &["FBillTypeID", "FDate", "FStockOrgId", "FSupplierID"],
        sub: None,
        entry: Some((
            "FPURMRBENTRY",
            &["FMATERIALID", "FRMREALQTY", "FSTOCKID"],
            "items",
        )),
    },
    Flow {
        template: "other-out",
        api: "other.inout.query",
        fetched: |d| d["type"] == "其它出库",
        eligible: |d| d["type"] == "其它出库" && confirmed_with_lines(d),
        form: "STK_MisDelivery",
        identity: "FBillNo",
        number: bill,
        head: &[
            "FBillTypeID",
            "FStockOrgId",
            "FPickOrgId",
            "FDate",
            "FDeptId|FCustId",
        ],
        sub: None,
        entry: Some(("FEntity", &["FMaterialId", "FQty", "FStockId"], "items")),
    },
    Flow {
        template: "other-in",
        api: "other.inout.query",
        fetched: |d| d["type"] == "其它进仓",
        eligible: |d| {
            d["type"] == "其它进仓"
                && confirmed_with_lines(d)
                && d["drp_co_name"].as_str().unwrap_or("").is_empty()
        },
        form: "STK_MISCELLANEOUS",
        identity: "FBillNo",
        number: bill,
        head: &["FBillTypeID", "FStockOrgId", "FDate", "FDEPTID|FSUPPLIERID"],
        sub: None,
        entry: Some(("FEntity", &["FMATERIALID", "FQty", "FSTOCKID"], "items")),
    },
    Flow {
        template: "transfers",
        api: "allocate.query",
        fetched: |d| d["type"] == "调拨出",
        eligible: |d| d["type"] == "调拨出" && confirmed_with_lines(d),
        form: "STK_TransferDirect",
        identity: "FBillNo",
        number: bill,
        head: &["FBillTypeID", "FStockOutOrgId", "FStockOrgId", "FDate"],
        sub: None,
        entry: Some((
            "FBillEntry",
            &["FMaterialId", "FQty", "FSrcStockId", "FDestStockId"],
            "items",
        )),
    },
    Flow {
        template: "materials",
        api: "sku.query",
        fetched: |_| true,
        eligible: |d| text(&d["enabled"]) == "1",
        form: "BD_MATERIAL",
        identity: "FNumber",
        number: |d| text(&d["sku_id"]),
        head: &["FNumber", "FName", "FCreateOrgId", "FUseOrgId"],
        sub: Some(("SubHeadEntity", &["FErpClsID", "FBaseUnitId"])),
        entry: None,
    },
];

/// Materials the Kingdee simulator starts with (SKU-0001..SKU-0060, NOTES-kingdee.md): the
/// materials flow finds them by number instead of creating them again.
fn seeded_material(number: &str) -> bool {
    number
        .strip_prefix("SKU-")
        .and_then(|n| n.parse::<u32>().ok())
        .is_some_and(|n| (1..=60).contains(&n))
}

/// A field of a model, its key in any ASCII case (Kingdee ignores it).
fn field<'a>(model: &'a Value, key: &str) -> Option<&'a Value> {
    model
        .as_object()?
        .iter()
        .find(|(k, _)| k.eq_ignore_ascii_case(key))
        .map(|(_, v)| v)
}

/// Filled: a non-blank text or number, or a reference with a non-blank FNumber.
fn filled(v: Option<&Value>) -> bool {
    match v {
        Some(Value::String(s)) => !s.trim().is_empty(),
        Some(Value::Number(_)) | Some(Value::Bool(_)) => true,
        Some(o @ Value::Object(_)) => filled(field(o, "FNumber")),
        _ => false,
    }
}

fn assert_required(flow: &Flow, model: &Value, keys: &[&str], place: &str) {
    for k in keys {
        assert!(
            k.split('|').any(|k| filled(field(model, k))),
            "{}: {place} lacks required {k}: {model}",
            flow.template
        );
    }
}

/// The latest version of every document of `api` the simulator holds now.
fn source_documents(sims: &ferry::sim::Sims, api: &str) -> Vec<Value> {
    let now = ferry::time::now_unix();
    match api {
        "shops.query" => sims.jushuitan.shops(),
        "other.inout.query" => sims.jushuitan.documents_at(now),
        other => sims.jushuitan.api_documents_at(other, now),
    }
}

fn rehearse(name: &str) {
    let flow = FLOWS
        .iter()
        .find(|f| f.template == name)
        .expect("flow of the template");
    let dir = tempfile::tempdir().expect("tempdir");
    // Kingdee refuses a number it already has, as the real one does.
    let opts = SimOpts {
        reject_duplicates: true,
        ..SimOpts::default()
    };
    let sims = start_sims(dir.path(), &opts);
    // The shipped config, pointed at the simulators, without the template's own scheme (the
    // seeds ship in it), every other scheme off.
    let path = write_config(dir.path(), &sims, |t| {
        if let Some(toml::Value::Array(schemes)) = t.get_mut("scheme") {
            schemes.retain(|s| s.get("name").and_then(|n| n.as_str()) != Some(name));
        }
        set_scheme(t, "", "enabled", toml::Value::Boolean(false));
    });
    let o = ferry(&path, &["template", "add", name]);
    assert!(
        o.status.success(),
        "template add {name}: {}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    );
    // The history the simulator made starts ~60 days back.
    let mut t: toml::Table = std::fs::read_to_string(&path)
        .expect("config")
        .parse()
        .expect("config after add");
    let start = ferry::time::format_beijing(ferry::time::now_unix() - 70 * DAY);
    set_scheme(&mut t, "source", "start_from", toml::Value::String(start));
    std::fs::write(&path, toml::to_string(&t).expect("toml")).expect("write");

    let (code, summary, stderr) = run_once(&path, &["--scheme", name]);
    let r = row(&summary, name);
    assert_eq!(code, 0, "{name}: {summary}\n{stderr}");

    let docs = source_documents(&sims, flow.api);
    let eligible: Vec<&Value> = docs.iter().filter(|d| (flow.eligible)(d)).collect();
    assert!(
        eligible.len() >= 5,
        "{name}: the simulator should have documents to deliver ({} of {})",
        eligible.len(),
        docs.len()
    );
    assert_eq!(
        r["delivered"].as_u64(),
        Some(eligible.len() as u64),
        "{name}: {summary}"
    );
    assert_eq!(r["dead"].as_u64(), Some(0), "{name}: {summary}");
    let filtered = docs
        .iter()
        .filter(|d| (flow.fetched)(d) && !(flow.eligible)(d))
        .count();
    assert!(
        r["filtered"].as_u64().unwrap_or(0) >= filtered as u64,
        "{name}: {filtered} documents answered but not eligible must be filtered: {summary}"
    );
    if flow.template != "shops-to-stocks" {
        assert!(
            filtered > 0,
            "{name}: the simulator should answer documents to filter"
        );
    }

    // Exactly the eligible documents, each once (materials Kingdee already has are found, not
    // saved again).
    let expected: BTreeSet<String> = eligible
        .iter()
        .map(|d| (flow.number)(d))
        .filter(|n| !(flow.form == "BD_MATERIAL" && seeded_material(n)))
        .collect();
    let saved = saved_identities(&sims, flow.form, flow.identity);
    let twice: Vec<_> = saved.iter().filter(|(_, n)| **n > 1).collect();
    assert!(twice.is_empty(), "{name}: posted twice: {twice:?}");
    let got: BTreeSet<String> = saved.keys().cloned().collect();
    let missing: Vec<_> = expected.difference(&got).collect();
    let extra: Vec<_> = got.difference(&expected).collect();
    assert!(
        missing.is_empty(),
        "{name}: missing in Kingdee: {missing:?}"
    );
    assert!(
        extra.is_empty(),
        "{name}: not eligible but posted: {extra:?}"
    );

    // The form's required fields, and one entry row per source line.
    let by_number: BTreeMap<String, &Value> =
        eligible.iter().map(|d| ((flow.number)(d), *d)).collect();
    for model in sims.kingdee.saved(flow.form) {
        assert_required(flow, &model, flow.head, "the header");
        if let Some((sub, keys)) = flow.sub {
            let s = field(&model, sub).cloned().unwrap_or(Value::Null);
            assert_required(flow, &s, keys, sub);
        }
        if let Some((entry, keys, lines)) = flow.entry {
            let rows = field(&model, entry)
                .and_then(|e| e.as_array())
                .cloned()
                .unwrap_or_default();
            for row in &rows {
                assert_required(flow, row, keys, entry);
            }
            let number = text(field(&model, flow.identity).unwrap_or(&Value::Null));
            let source = by_number
                .get(&number)
                .expect("saved model of a source document");
            assert_eq!(
                rows.len(),
                source[lines].as_array().map_or(0, |a| a.len()),
                "{name}: {number}: one {entry} row per source line"
            );
        }
    }
}

#[test]
fn shops_to_stocks() {
    rehearse("shops-to-stocks");
}

#[test]
fn offline_returns() {
    rehearse("offline-returns");
}

#[test]
fn sales_out() {
    rehearse("sales-out");
}

#[test]
fn aftersale_returns() {
    rehearse("aftersale-returns");
}

#[test]
fn purchase_in() {
    rehearse("purchase-in");
}

#[test]
fn purchase_returns() {
    rehearse("purchase-returns");
}

#[test]
fn other_out() {
    rehearse("other-out");
}

#[test]
fn other_in() {
    rehearse("other-in");
}

#[test]
fn transfers() {
    rehearse("transfers");
}

#[test]
fn materials() {
    rehearse("materials");
}

/// Every template of the library has a rehearsal here.
#[test]
fn every_template_is_rehearsed() {
    for t in ferry::template::LIBRARY {
        assert!(
            FLOWS.iter().any(|f| f.template == t.name),
            "template {} has no rehearsal",
            t.name
        );
    }
}
