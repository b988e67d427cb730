//! What the benches share: the shipped config, the 5-line sales return of the fixtures, and
//! whether criterion runs in test mode (`cargo test --benches`, `cargo bench -- --test`: every
//! bench once, so CI keeps them working; the benches then use small sizes).

#![allow(dead_code)]

use std::path::Path;

use serde_json::Value;

/// True unless `cargo bench` runs the benches for their figures.
pub fn test_mode() -> bool {
    let args: Vec<String> = std::env::args().collect();
    !args.iter().any(|a| a == "--bench") || args.iter().any(|a| a == "--test")
}

/// The shipped config.toml, loaded.
pub fn shipped_config() -> ferry::config::Config {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml");
    ferry::config::load(&path).expect("shipped config")
}

/// The first return of the fixture, with 5 lines (line keys 20001..20005).
pub fn five_line_return() -> Value {
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

/// A number from the environment, or `default`.
pub fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
