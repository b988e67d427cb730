//! Mapping cost per document: the shipped sales-return mapping on a 5-line return.
//!
//! `cargo bench --bench mapping`. The throughput bench's end-to-end target (5,000 documents/s
//! on 2 cores) leaves the Mapper well under 100 µs per document.

use std::path::Path;

use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use ferry::mapping::MapOutcome;
use serde_json::Value;

/// The first return of the fixture, with 5 lines.
fn five_line_return() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/return.json");
    let v: Value = serde_json::from_slice(&std::fs::read(p).expect("fixture")).expect("json");
    let mut doc = v["data"]["datas"][0].clone();
    let items = doc["items"].as_array().cloned().unwrap_or_default();
    let lines: Vec<Value> = (0..5)
        .map(|i| {
            let mut it = items[i % items.len()].clone();
            it["ioi_id"] = Value::from(20001 + i as i64);
            it
        })
        .collect();
    doc["items"] = Value::Array(lines);
    doc
}

fn mapping(c: &mut Criterion) {
    let config_path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
    let config = ferry::config::load(&config_path).expect("shipped config");
    let scheme = config.scheme("offline-returns").expect("scheme");
    let doc = five_line_return();
    assert!(matches!(scheme.mapper.map(&doc), MapOutcome::Mapped(_)));
    let mut g = c.benchmark_group("mapping");
    g.throughput(Throughput::Elements(1));
    g.bench_function("sales return, 5 lines", |b| {
        b.iter(|| scheme.mapper.map(&doc))
    });
    g.finish();
}

criterion_group!(benches, mapping);
criterion_main!(benches);
