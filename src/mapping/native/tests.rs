//! Differential tests: the native evaluator against rhai, over many generated documents
//! (numbers as strings, missing and null fields, lookups that miss, odd types).

use std::sync::Arc;

use rhai::Scope;
use serde_json::{json, Map, Value};

use super::*;
use crate::mapping::eval::to_dynamic;
use crate::mapping::sandbox::{self, DataSizes};
use crate::mapping::script::{to_json, Lookups, ScriptEngine, VAR_DOC, VAR_INDEX, VAR_ITEM};
use crate::mapping::template::Template;
use crate::mapping::{MapOutcome, Mapper};

/// The shipped config's formulas, the template library's (h-tpl) and edge cases.
const FORMULAS: &[&str] = &[
    r#""JST-" + doc.io_id"#,
    r#""JST-AS-" + doc.io_id"#,
    r#""JSTSHOP" + doc.shop_id"#,
    r#"date(doc.io_date, "yyyy-MM-dd")"#,
    r#"lookup("customer", doc.drp_co_name)"#,
    r#"lookup("warehouse", doc.warehouse)"#,
    r#"lookup("warehouse", doc.link_warehouse)"#,
    r#"lookup("supplier", doc.supplier_id)"#,
    r#"lookup_or("shop_customer", doc.shop_id, "CUST000")"#,
    r#"lookup("unit", if item.unit == () { "" } else { item.unit })"#,
    r#""聚水潭其它进仓 " + doc.io_id + (if doc.remark == () || doc.remark == "" { "" } else { "：" + doc.remark })"#,
    r#""聚水潭店铺 " + doc.shop_id + (if doc.shop_site == () || doc.shop_site == "" { "" } else { "（" + doc.shop_site + "）" })"#,
    r#""聚水潭调拨 " + doc.io_id + "：" + doc.warehouse + " → " + doc.link_warehouse + (if doc.remark == () || doc.remark == "" { "" } else { "，" + doc.remark })"#,
    r#""聚水潭采购入库 " + doc.io_id + (if doc.po_id == () { "" } else { "，采购单 " + doc.po_id }) + (if doc.remark == () || doc.remark == "" { "" } else { "：" + doc.remark })"#,
    r#""聚水潭售后收货 " + doc.io_id + (if doc.as_id == () { "" } else { "，售后单 " + doc.as_id }) + (if doc.type == () || doc.type == "" { "" } else { "，" + doc.type })"#,
    r#"if doc.shop_url == () { "" } else { doc.shop_url }"#,
    r#"if doc.po_id == () { "" } else { "" + doc.po_id }"#,
    r#"if doc.so_id == () { "" } else { doc.so_id }"#,
    r#"if item.remark == () { "" } else { item.remark }"#,
    "abs(item.qty)",
    "abs(num(item.qty))",
    "round(num(item.sale_price), 2)",
    "round(num(item.cost_price), 2)",
    "round(item.sale_price, 1)",
    "num(item.sale_price) == 0",
    "num(doc.weight)",
    r#"item.is_gift == true || item.is_gift == "true" || num(item.sale_price) == 0"#,
    r#"if item.tax_rate != () && item.tax_rate != "" { num(item.tax_rate) } else if doc.tax_rate != () && doc.tax_rate != "" { num(doc.tax_rate) } else { 13 }"#,
    r#"if item.batch_id != () && item.batch_id != "" { item.batch_id } else { let b = ""; if doc.batchs != () { for x in doc.batchs { if x.sku_id == item.sku_id { b = x.batch_no; break; } } }; b }"#,
    r#"if item.product_date != () && item.product_date != "" { date(item.product_date, "yyyy-MM-dd") } else { "" }"#,
    r#"doc.type == "其它进仓" && doc.status == "Confirmed" && doc.items != () && doc.items.len() > 0"#,
    r#"(doc.status == "Confirmed" || doc.status == "Archive") && doc.items != () && doc.items.len() > 0"#,
    "num(doc.enabled) == 1",
    // Edge cases: floats in text, arithmetic, mixed comparisons, odd types, loops, locals.
    r#""x" + doc.n"#,
    r#"doc.n + "x""#,
    r#""x" + doc.flag + doc.n"#,
    "doc.n * 2 - index",
    "index + 1",
    "-doc.n",
    "!doc.flag",
    "doc.n < 2.5",
    "doc.n >= doc.io_id",
    "doc.n != 1",
    r#"doc.s < "m""#,
    "doc.s == doc.remark",
    "doc.flag == ()",
    "doc.items == ()",
    "doc.items == doc.items",
    "doc.a.b.c",
    "doc.s.len()",
    "doc.a.len()",
    "item.qty + item.qty",
    "item.qty * 3",
    r#"lookup("warehouse", doc.wh_id)"#,
    r#"lookup_or("warehouse", doc.n, doc.items)"#,
    r#"lookup_or("warehouse", doc.flag, doc.n)"#,
    r#"date(doc.io_date, "yyyy/MM/dd HH:mm:ss")"#,
    "date(doc.n, \"yyyy\")",
    "abs(doc.n)",
    "num(doc.s)",
    r#"{ let t = 0; for it in doc.items { t = t + num(it.qty); }; t }"#,
    r#"{ let t = ""; for it in doc.batchs { t = t + it.batch_no; }; t }"#,
    r#"if doc.flag { 1 } else { 2.5 }"#,
    r#"if doc.n > 1 { "big" }"#,
    "doc.items.len() > 0 && doc.flag",
    "()",
    "doc.a",
    "9223372036854775807 + index",
    "-9223372036854775807 - 2",
];

/// Picks one of `n` choices.
fn pick(rng: &mut fastrand::Rng, n: usize) -> usize {
    rng.usize(0..n)
}

/// A value for a field, or `None` to leave the field out.
fn variant(rng: &mut fastrand::Rng, choices: &[Value]) -> Option<Value> {
    let i = pick(rng, choices.len() + 2);
    match i {
        0 => None,
        1 => Some(Value::Null),
        _ => Some(choices[i - 2].clone()),
    }
}

fn numbers() -> Vec<Value> {
    vec![
        json!(3),
        json!(-2),
        json!(0),
        json!(1.5),
        json!(89.9),
        json!(-0.0),
        json!(1e20),
        json!(0.1),
        json!(18446744073709551615u64),
        json!(-9223372036854775808i64),
        json!("3"),
        json!("-2.5"),
        json!("129.90"),
        json!("0.00"),
        json!(" 12 "),
        json!("12,5"),
        json!(""),
        json!(" "),
        json!("abc"),
        json!("9223372036854775808"),
        json!("-9223372036854775808"),
        json!("1e400"),
        json!(true),
        json!([1]),
        json!({"a": 1}),
    ]
}

fn set(m: &mut Map<String, Value>, rng: &mut fastrand::Rng, key: &str, choices: &[Value]) {
    if let Some(v) = variant(rng, choices) {
        m.insert(key.to_string(), v);
    }
}

fn gen_item(rng: &mut fastrand::Rng, i: usize) -> Value {
    let mut m = Map::new();
    let nums = numbers();
    set(
        &mut m,
        rng,
        "ioi_id",
        &[json!(20001 + i), json!("20001"), json!("")],
    );
    set(
        &mut m,
        rng,
        "sku_id",
        &[json!("SKU-0007"), json!("SKU-0012"), json!(7)],
    );
    set(&mut m, rng, "qty", &nums);
    set(&mut m, rng, "sale_price", &nums);
    set(&mut m, rng, "cost_price", &nums);
    set(&mut m, rng, "tax_rate", &nums);
    set(
        &mut m,
        rng,
        "batch_id",
        &[json!("B20260801"), json!(""), json!(5)],
    );
    let dates = [
        json!("2026-08-01 00:00:00"),
        json!("2026-08-01"),
        json!(""),
        json!("2026-13-01"),
        json!(20260801),
    ];
    set(&mut m, rng, "product_date", &dates);
    set(&mut m, rng, "remark", &[json!(""), json!("赠品"), json!(1)]);
    set(
        &mut m,
        rng,
        "unit",
        &[json!("件"), json!("条"), json!("箱"), json!("")],
    );
    set(
        &mut m,
        rng,
        "is_gift",
        &[json!(true), json!(false), json!("true")],
    );
    Value::Object(m)
}

fn gen_doc(rng: &mut fastrand::Rng) -> Value {
    let mut m = Map::new();
    let nums = numbers();
    let io_ids = [
        json!(10001),
        json!("10001"),
        json!(""),
        json!(1.5),
        json!(true),
    ];
    set(&mut m, rng, "io_id", &io_ids);
    set(&mut m, rng, "shop_id", &io_ids);
    let dates = [
        json!("2026-09-02 10:00:00.123"),
        json!("2026-09-02"),
        json!("2026-09-02T23:59:59"),
        json!("bad"),
        json!(""),
        json!(123),
    ];
    set(&mut m, rng, "io_date", &dates);
    let texts = [json!(""), json!("门店退回，包装破损"), json!(5), json!(2.5)];
    for k in [
        "remark",
        "shop_site",
        "shop_url",
        "po_id",
        "as_id",
        "so_id",
        "s",
    ] {
        set(&mut m, rng, k, &texts);
    }
    let customers = [
        json!(""),
        json!("线下门店-北京"),
        json!("线下门店-成都"),
        json!(7),
    ];
    set(&mut m, rng, "drp_co_name", &customers);
    let warehouses = [json!("主仓"), json!("销退仓"), json!("外仓"), json!(3)];
    set(&mut m, rng, "warehouse", &warehouses);
    set(&mut m, rng, "link_warehouse", &warehouses);
    set(
        &mut m,
        rng,
        "supplier_id",
        &[json!("S01"), json!(1), json!("")],
    );
    set(&mut m, rng, "wh_id", &[json!(1), json!(2), json!("主仓")]);
    let types = [json!("其它进仓"), json!("其它出库"), json!(""), json!(1)];
    set(&mut m, rng, "type", &types);
    let statuses = [json!("Confirmed"), json!("Archive"), json!("WaitConfirm")];
    set(&mut m, rng, "status", &statuses);
    for k in ["enabled", "weight", "tax_rate", "n"] {
        set(&mut m, rng, k, &nums);
    }
    set(
        &mut m,
        rng,
        "flag",
        &[json!(true), json!(false), json!("true")],
    );
    let a = [
        json!({"b": {"c": "深"}}),
        json!({"b": 1}),
        json!("x"),
        json!([]),
    ];
    set(&mut m, rng, "a", &a);
    let n = pick(rng, 6);
    let items: Vec<Value> = (0..n).map(|i| gen_item(rng, i)).collect();
    let shapes = [Value::Array(items), json!([]), json!("oops"), json!({})];
    set(&mut m, rng, "items", &shapes);
    let batches = [
        json!([{"sku_id": "SKU-0007", "batch_no": "B1"}, {"sku_id": "SKU-0012", "batch_no": 2}]),
        json!([{"sku_id": "SKU-0012"}]),
        json!([]),
        json!("str"),
        json!([1, 2]),
    ];
    set(&mut m, rng, "batchs", &batches);
    Value::Object(m)
}

fn lookups() -> Lookups {
    let table = |pairs: &[(&str, &str)]| {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let mut l = Lookups::new();
    l.insert(
        "warehouse".into(),
        table(&[
            ("主仓", "CK001"),
            ("销退仓", "CK002"),
            ("1", "CK001"),
            ("true", "T"),
        ]),
    );
    l.insert(
        "customer".into(),
        table(&[("", "CUST000"), ("线下门店-北京", "CUST001")]),
    );
    l.insert(
        "supplier".into(),
        table(&[("S01", "VEN001"), ("1", "VEN001")]),
    );
    l.insert("shop_customer".into(), table(&[("10001", "CUST009")]));
    l.insert("unit".into(), table(&[("件", "Pcs"), ("条", "Pcs")]));
    l
}

/// The rhai result of a script, as the mapper runs it.
fn by_rhai(
    e: &ScriptEngine,
    s: &Script,
    doc: &Value,
    item: &Value,
    index: usize,
) -> Result<Value, String> {
    let mut sizes = DataSizes::default();
    let mut scope = Scope::new();
    scope.push_constant_dynamic(VAR_DOC, to_dynamic(doc, &mut sizes));
    scope.push_constant_dynamic(VAR_ITEM, to_dynamic(item, &mut DataSizes::default()));
    scope.push_constant(VAR_INDEX, index as i64);
    let d = e.run_sized(s, &mut scope, sandbox::class_of(&sizes))?;
    to_json(&d)
}

use crate::mapping::script::Script;

#[test]
fn native_results_are_rhai_results() {
    let engine = ScriptEngine::new(lookups());
    let mut rng = fastrand::Rng::with_seed(15);
    let docs: Vec<Value> = (0..400).map(|_| gen_doc(&mut rng)).collect();
    let mut native_runs = 0;
    let mut total = 0;
    for src in FORMULAS {
        let s = engine
            .compile(src, true)
            .unwrap_or_else(|e| panic!("{src}: {e}"));
        let n = Native::compile(src);
        let mut ok = 0;
        for (d, doc) in docs.iter().enumerate() {
            let fallback_item = gen_item(&mut rng, d);
            let item = doc
                .get("items")
                .and_then(Value::as_array)
                .and_then(|a| a.first())
                .unwrap_or(&fallback_item);
            let index = d % 4;
            total += 1;
            let Some(n) = &n else { continue };
            let Ok(v) = eval(n, doc, Some(item), index, engine.lookups()) else {
                continue;
            };
            ok += 1;
            let r = by_rhai(&engine, &s, doc, item, index);
            let native = serde_json::to_string(&v).unwrap();
            let rhai = r.map(|v| serde_json::to_string(&v).unwrap());
            assert_eq!(Ok(native), rhai, "{src}\ndoc: {doc}\nitem: {item}");
        }
        native_runs += ok;
        // Every formula of the corpus runs natively on some documents (the test is not empty).
        assert_eq!(
            ok > 0,
            !ALWAYS_RHAI.contains(src),
            "{src}: {ok} native runs"
        );
    }
    // Most runs are native: the generated documents are hostile, real ones even more so native.
    assert!(native_runs * 2 > total, "{native_runs} of {total}");
}

/// Formulas of the corpus the native evaluator always leaves to rhai (an overflow is rhai's
/// error).
const ALWAYS_RHAI: &[&str] = &["-9223372036854775807 - 2"];

#[test]
fn the_library_formulas_are_in_the_native_subset() {
    for src in FORMULAS {
        assert!(Native::compile(src).is_some(), "{src}");
    }
}

/// The same mapper with every script left to rhai: what ferry did before native formulas.
fn rhai_only(m: &Mapper) -> Mapper {
    fn strip(t: &Template) -> Template {
        match t {
            Template::Script(s) => {
                let mut s = (**s).clone();
                s.native = None;
                Template::Script(Box::new(s))
            }
            Template::Object(f) => {
                Template::Object(f.iter().map(|(k, t)| (k.clone(), strip(t))).collect())
            }
            Template::Array(a) => Template::Array(a.iter().map(strip).collect()),
            Template::Entries { from, fields } => Template::Entries {
                from: from.clone(),
                fields: fields.iter().map(|(k, t)| (k.clone(), strip(t))).collect(),
            },
            other => other.clone(),
        }
    }
    let mut spec = m.spec.clone();
    spec.fields = spec
        .fields
        .iter()
        .map(|(k, t)| (k.clone(), strip(t)))
        .collect();
    if let Some(p) = &mut spec.precondition {
        p.native = None;
    }
    Mapper::new(spec)
}

/// Whole documents through the shipped config's schemes: the same models, the same errors, the
/// same filtered documents as with rhai alone.
#[test]
fn shipped_schemes_map_as_with_rhai_alone() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
    let config = crate::config::load_without_secrets(&path).expect("shipped config");
    let mut rng = fastrand::Rng::with_seed(1415);
    let mut kinds = [0usize; 3];
    for scheme in &config.schemes {
        let fast: &Arc<Mapper> = &scheme.mapper;
        let slow = rhai_only(fast);
        for _ in 0..600 {
            let mut doc = gen_doc(&mut rng);
            // Mostly mappable documents, so that the entries are reached too.
            if rng.bool() {
                doc["io_id"] = json!(10001);
                doc["shop_id"] = json!(7);
                doc["type"] = json!("其它进仓");
                doc["status"] = json!("Confirmed");
            }
            let a = fast.map(&doc);
            let b = slow.map(&doc);
            assert_eq!(a, b, "scheme {}\ndoc: {doc}", scheme.name);
            if let MapOutcome::Mapped(m) = &a {
                // Written straight from the templates: the bytes of the model built as a Value.
                let mut run = crate::mapping::eval::Run::new(&fast.spec.engine, &doc);
                let built = run.model_value(&fast.spec.fields).expect("built");
                assert_eq!(m.json, serde_json::to_vec(&built).expect("json"), "{doc}");
            }
            kinds[match a {
                MapOutcome::Mapped(_) => 0,
                MapOutcome::Filtered { .. } => 1,
                MapOutcome::Failed { .. } => 2,
            }] += 1;
        }
    }
    assert!(
        kinds.iter().all(|k| *k > 20),
        "mapped, filtered, failed: {kinds:?}"
    );
}

/// The shipped sales return (the mapping bench's document: 5 lines, two of them without a
/// `batch_id`, looked up in `batchs`) maps without running rhai at all: its 39 script runs are native.
#[test]
fn the_shipped_sales_return_needs_no_rhai() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
    let config = crate::config::load_without_secrets(&path).expect("shipped config");
    let scheme = config.scheme("offline-returns").expect("scheme");
    let fixture =
        std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/return.json");
    let v: Value = serde_json::from_slice(&std::fs::read(fixture).unwrap()).unwrap();
    let mut doc = v["data"]["datas"][0].clone();
    let items = doc["items"].as_array().cloned().unwrap();
    doc["items"] = (0..5)
        .map(|i| {
            let mut it = items[i % items.len()].clone();
            it["ioi_id"] = json!(20001 + i);
            it
        })
        .collect();
    let before = crate::mapping::script::RHAI_RUNS.with(|n| n.get());
    let out = scheme.mapper.map(&doc);
    let runs = crate::mapping::script::RHAI_RUNS.with(|n| n.get()) - before;
    let MapOutcome::Mapped(m) = &out else {
        panic!("{out:?}");
    };
    assert_eq!(
        m.model()["FEntity"][0]["FLot"]["FNumber"],
        json!("B20260801")
    );
    assert_eq!(m.model()["FEntity"][1]["FLot"]["FNumber"], json!(""));
    assert_eq!(runs, 0, "scripts run in rhai");
    // As ferry did before: every script in rhai (the count the issue measured).
    let slow = rhai_only(&scheme.mapper);
    let before = crate::mapping::script::RHAI_RUNS.with(|n| n.get());
    assert_eq!(out, slow.map(&doc));
    let slow_runs = crate::mapping::script::RHAI_RUNS.with(|n| n.get()) - before;
    assert!(slow_runs >= 30, "{slow_runs}");
}
