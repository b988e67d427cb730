//! Numbers sent as strings (issue 12, item 1). Jushuitan's documentation types `qty`, prices and
//! amounts as `string`, so an answer may carry `"129.90"`, `"2"`, `"0.00"` where the fixtures
//! carry numbers. The shipped mapping gives the same Kingdee model for both shapes; a value that
//! is not a number fails only its document, naming the field and the value.

use std::path::Path;

use ferry::config::{self, Config};
use ferry::mapping::{MapOutcome, Mapped};
use serde_json::{json, Value};

use crate::helpers::*;

/// The numeric fields of a line (and of a batch) that Jushuitan types as `string`.
const LINE_NUMBERS: [&str; 5] = [
    "qty",
    "cost_price",
    "cost_amount",
    "sale_price",
    "sale_amount",
];

fn shipped() -> Config {
    config::load(&shipped_config()).expect("shipped config")
}

fn a_return() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/return.json");
    let v: Value = serde_json::from_slice(&std::fs::read(p).expect("fixture")).expect("json");
    v["data"]["datas"][0].clone()
}

fn mapped(o: MapOutcome) -> Mapped {
    match o {
        MapOutcome::Mapped(m) => m,
        other => panic!("expected a model, got {other:?}"),
    }
}

fn failed(o: MapOutcome) -> (String, String) {
    match o {
        MapOutcome::Failed { source_key, error } => (source_key, error),
        other => panic!("expected a failure, got {other:?}"),
    }
}

/// A number as Jushuitan writes it in a string: integers plainly, other numbers with two
/// decimals when that is exact (`"129.90"`, `"0.00"`), else as JSON writes them.
fn number_text(n: &serde_json::Number) -> String {
    if n.is_f64() {
        let f = n.as_f64().unwrap_or_default();
        let two = format!("{f:.2}");
        if two.parse::<f64>().ok() == Some(f) {
            return two;
        }
    }
    n.to_string()
}

/// Applies `f` to every numeric field of every line and batch of `doc`.
fn each_number(doc: &Value, f: &dyn Fn(&Value) -> Value) -> Value {
    let mut doc = doc.clone();
    for list in ["items", "batchs"] {
        if let Some(rows) = doc[list].as_array_mut() {
            for row in rows {
                for k in LINE_NUMBERS {
                    if let Some(v) = row.get_mut(k) {
                        *v = f(v);
                    }
                }
            }
        }
    }
    doc
}

fn as_strings(doc: &Value) -> Value {
    each_number(doc, &|v| match v {
        Value::Number(n) => Value::String(number_text(n)),
        other => other.clone(),
    })
}

fn as_numbers(doc: &Value) -> Value {
    each_number(doc, &|v| match v {
        Value::String(s) => serde_json::from_str::<Value>(s.trim())
            .ok()
            .filter(Value::is_number)
            .unwrap_or_else(|| v.clone()),
        other => other.clone(),
    })
}

/// A number given as a number or a numeric string (for checking what reached Kingdee).
fn num(v: &Value) -> Option<f64> {
    match v {
        Value::Number(n) => n.as_f64(),
        Value::String(s) => s.trim().parse::<f64>().ok().filter(|f| f.is_finite()),
        _ => None,
    }
}

#[test]
fn every_shipped_formula_gives_the_same_model_for_numbers_and_numeric_strings() {
    let c = shipped();
    let s = c.scheme("offline-returns").expect("scheme");
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(
        dir.path(),
        &SimOpts {
            docs: 300,
            ..SimOpts::default()
        },
    );
    let docs = eligible_returns(&sims);
    sims.stop();
    // The simulator sends both shapes, as the documentation allows.
    let lines: Vec<&Value> = docs
        .iter()
        .flat_map(|d| d["items"].as_array().into_iter().flatten())
        .collect();
    let strings = lines.iter().filter(|l| l["sale_price"].is_string()).count();
    let numbers = lines.iter().filter(|l| l["sale_price"].is_number()).count();
    assert!(
        strings * 10 >= lines.len() && numbers * 10 >= lines.len(),
        "{strings} lines with a string price, {numbers} with a number, of {}",
        lines.len()
    );
    assert!(
        lines.iter().any(|l| l["qty"].is_string()) && lines.iter().any(|l| l["qty"].is_i64()),
        "quantities in both shapes"
    );
    let mut free = 0;
    for doc in docs.iter().chain([&a_return()]) {
        let as_sent = mapped(s.mapper.map(doc));
        let numbers = mapped(s.mapper.map(&as_numbers(doc)));
        let strings = mapped(s.mapper.map(&as_strings(doc)));
        assert_eq!(
            numbers.model(),
            strings.model(),
            "document {}: numbers and numeric strings map differently",
            doc["io_id"]
        );
        assert_eq!(
            as_sent.model(),
            numbers.model(),
            "document {}",
            doc["io_id"]
        );
        assert_eq!(numbers.fingerprint, strings.fingerprint);
        for (e, line) in as_sent.model()["FEntity"]
            .as_array()
            .expect("FEntity")
            .iter()
            .zip(doc["items"].as_array().expect("items"))
        {
            let price = num(&line["sale_price"]).expect("a price");
            assert_eq!(e["FIsFree"], json!(price == 0.0), "{line}");
            free += usize::from(price == 0.0);
            assert_eq!(e["FRealQty"].as_f64(), num(&line["qty"]).map(f64::abs));
        }
    }
    assert!(free > 0, "some free lines were compared");
}

#[test]
fn a_zero_or_missing_price_is_free_in_every_shape() {
    let c = shipped();
    let s = c.scheme("offline-returns").expect("scheme");
    for price in [
        json!(0),
        json!(0.0),
        json!("0"),
        json!("0.00"),
        json!(" 0.00 "),
        json!("-0"),
        json!(""),
        Value::Null,
    ] {
        let mut doc = a_return();
        doc["items"][0]["sale_price"] = price.clone();
        let m = mapped(s.mapper.map(&doc));
        let model = m.model();
        let row = &model["FEntity"][0];
        assert_eq!(row["FIsFree"], true, "sale_price {price}");
        assert_eq!(row["FTAXPRICE"].as_f64(), Some(0.0), "sale_price {price}");
    }
    let mut doc = a_return();
    doc["items"][0]
        .as_object_mut()
        .expect("line")
        .remove("sale_price");
    assert_eq!(
        mapped(s.mapper.map(&doc)).model()["FEntity"][0]["FIsFree"],
        true
    );
    for (price, expect) in [
        (json!("129.90"), 129.9),
        (json!("12.345"), 12.35),
        (json!(" 12.5 "), 12.5),
        (json!("0.01"), 0.01),
        (json!("80"), 80.0),
        (json!("1e2"), 100.0),
    ] {
        let mut doc = a_return();
        doc["items"][0]["sale_price"] = price.clone();
        let m = mapped(s.mapper.map(&doc));
        let model = m.model();
        let row = &model["FEntity"][0];
        assert_eq!(row["FIsFree"], false, "sale_price {price}");
        assert_eq!(
            row["FTAXPRICE"].as_f64(),
            Some(expect),
            "sale_price {price}"
        );
    }
    for (qty, expect) in [
        (json!("3"), json!(3)),
        (json!("-2"), json!(2)),
        (json!(" 4 "), json!(4)),
    ] {
        let mut doc = a_return();
        doc["items"][0]["qty"] = qty.clone();
        let m = mapped(s.mapper.map(&doc));
        assert_eq!(m.model()["FEntity"][0]["FRealQty"], expect, "qty {qty}");
    }
}

#[test]
fn a_value_that_is_not_a_number_fails_its_document_naming_field_and_value() {
    let c = shipped();
    let s = c.scheme("offline-returns").expect("scheme");
    for (price, shown) in [
        (json!("12,5"), "12,5"),
        (json!("abc"), "abc"),
        (json!("NaN"), "NaN"),
        (json!("inf"), "inf"),
        (json!("1e999"), "1e999"),
        (json!("0x10"), "0x10"),
        (json!(true), "true"),
        (json!([1]), "array"),
        (json!({"amount": 1}), "object"),
    ] {
        let mut doc = a_return();
        doc["items"][1]["sale_price"] = price.clone();
        let (key, error) = failed(s.mapper.map(&doc));
        assert_eq!(key, "10001");
        assert!(
            error.contains("FEntity[1].FTAXPRICE") && error.contains(shown),
            "sale_price {price}: {error}"
        );
        assert!(
            error.contains("not a number") && !error.contains("Function not found"),
            "in plain words: {error}"
        );
    }
    for qty in [json!("two"), json!(""), Value::Null] {
        let mut doc = a_return();
        doc["items"][0]["qty"] = qty.clone();
        let (_, error) = failed(s.mapper.map(&doc));
        assert!(
            error.contains("FEntity[0].FRealQty") && !error.contains("Function not found"),
            "qty {qty}: {error}"
        );
    }
}

/// End to end: the simulator sends a share of the numbers as strings; every return reaches
/// Kingdee with the right numbers, and one document with a price that is not a number goes to
/// the dead letters alone, named with its field and value.
#[test]
fn numeric_strings_reach_kingdee_as_numbers_and_a_bad_one_dead_letters_its_document_only() {
    let dir = tempfile::tempdir().expect("tempdir");
    let sims = start_sims(dir.path(), &SimOpts::default());
    let config = write_config(dir.path(), &sims, |_| {});
    let eligible = eligible_returns(&sims);
    let mut bad = eligible[0].clone();
    bad["io_id"] = json!(990002);
    if let Some(items) = bad["items"].as_array_mut() {
        for it in items.iter_mut() {
            it["ioi_id"] = json!(it["ioi_id"].as_i64().unwrap_or(0) + 6_000_000);
        }
        items[0]["sale_price"] = json!("12,50");
    }
    sims.jushuitan.upsert(bad);
    std::thread::sleep(std::time::Duration::from_secs(2)); // past the 1 s settle lag
    let (code, summary, stderr) = run_once(&config, &[]);
    assert_eq!(code, 1, "one dead letter: {summary}\n{stderr}");
    let r = row(&summary, "offline-returns");
    assert_eq!(r["dead"].as_u64(), Some(1), "{summary}");
    assert_eq!(
        r["delivered"].as_u64(),
        Some(eligible.len() as u64),
        "{summary}"
    );

    let out = ferry(&config, &["dlq", "list", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout).expect("dlq json");
    let dead = list.as_array().expect("array");
    assert_eq!(dead.len(), 1, "{list}");
    assert_eq!(dead[0]["source_key"], "990002");
    let reason = dead[0]["error"].as_str().unwrap_or_default();
    // The first field that reads the price (the test config is written with sorted keys).
    assert!(
        (reason.contains("FEntity[0].FTAXPRICE") || reason.contains("FEntity[0].FIsFree"))
            && reason.contains("\"12,50\" is not a number"),
        "{reason}"
    );

    let saved = sims.kingdee.saved("SAL_RETURNSTOCK");
    let mut from_strings = 0;
    for doc in &eligible {
        let bill = format!("JST-{}", doc["io_id"]);
        let model = saved
            .iter()
            .find(|m| m["FBillNo"] == bill.as_str())
            .unwrap_or_else(|| panic!("{bill} not saved"));
        let items = doc["items"].as_array().expect("items");
        let entries = model["FEntity"].as_array().expect("FEntity");
        assert_eq!(entries.len(), items.len(), "{bill}");
        for (e, i) in entries.iter().zip(items) {
            from_strings += usize::from(i["sale_price"].is_string());
            let price = num(&i["sale_price"]).expect("price");
            assert_eq!(
                e["FRealQty"].as_f64(),
                num(&i["qty"]).map(f64::abs),
                "{bill}"
            );
            assert_eq!(e["FTAXPRICE"].as_f64(), Some(price), "{bill}");
            assert_eq!(e["FIsFree"], json!(price == 0.0), "{bill}");
        }
    }
    assert!(from_strings > 0, "some prices were sent as strings");
    sims.stop();
}
