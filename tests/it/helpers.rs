//! Shared helpers: simulators on loopback, configs pointing at them, the real `ferry` binary.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use ferry::sim::{self, SimSpec, Sims};

pub const DAY: i64 = 86400;

/// The shipped config.toml.
pub fn shipped_config() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("config.toml")
}

/// The real binary built for these tests.
pub fn ferry_bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_ferry"))
}

/// Options for [`start_sims`].
#[derive(Clone)]
pub struct SimOpts {
    pub docs: u32,
    pub shops: u32,
    pub seed: u64,
    pub faults: &'static str,
    pub per_second: u32,
    pub per_minute: u32,
    pub reject_duplicates: bool,
    /// Added to every Kingdee save (makes a backfill last long enough to be killed in).
    pub save_latency: std::time::Duration,
}

impl Default for SimOpts {
    fn default() -> Self {
        SimOpts {
            docs: 120,
            shops: 8,
            seed: 7,
            faults: "none",
            per_second: 5,
            per_minute: 100,
            reject_duplicates: false,
            save_latency: std::time::Duration::ZERO,
        }
    }
}

/// Starts both simulators on 127.0.0.1 with their state under `dir/sim`.
pub fn start_sims(dir: &Path, o: &SimOpts) -> Sims {
    let loopback = "127.0.0.1:0".parse().expect("addr");
    sim::start(&SimSpec {
        jushuitan_addr: loopback,
        kingdee_addr: loopback,
        state_dir: Some(dir.join("sim")),
        docs: o.docs,
        shops: o.shops,
        seed: o.seed,
        faults: o.faults.to_string(),
        per_second: o.per_second,
        per_minute: o.per_minute,
        reject_duplicates: o.reject_duplicates,
        save_latency: o.save_latency,
        ..SimSpec::default()
    })
    .expect("simulators start")
}

/// Writes a config into `dir` that is the shipped one pointed at running simulators (simulator
/// section disabled, explicit credentials), with `edit` applied to the TOML table.
pub fn write_config(dir: &Path, sims: &Sims, edit: impl FnOnce(&mut toml::Table)) -> PathBuf {
    let text = std::fs::read_to_string(shipped_config()).expect("shipped config");
    let mut t: toml::Table = text.parse().expect("shipped config parses");
    let d = sims.describe_json();
    let j = &d["jushuitan"];
    let k = &d["kingdee"];
    let s = |v: &serde_json::Value| toml::Value::String(v.as_str().unwrap_or_default().to_string());
    t.insert("data_dir".into(), toml::Value::String("data".into()));
    let mut jt = toml::Table::new();
    jt.insert("base_url".into(), s(&j["base_url"]));
    jt.insert("app_key".into(), s(&j["app_key"]));
    jt.insert("app_secret".into(), s(&j["app_secret"]));
    t.insert("jushuitan".into(), toml::Value::Table(jt));
    let mut kt = toml::Table::new();
    kt.insert("base_url".into(), s(&k["base_url"]));
    kt.insert("acct_id".into(), s(&k["acct_id"]));
    kt.insert("user".into(), s(&k["user"]));
    kt.insert("auth".into(), toml::Value::String("signed".into()));
    kt.insert("app_id".into(), s(&k["app_id"]));
    kt.insert("app_secret".into(), s(&k["app_secret"]));
    kt.insert("timeout".into(), toml::Value::String("3s".into()));
    t.insert("kingdee".into(), toml::Value::Table(kt));
    let mut st = toml::Table::new();
    st.insert("enabled".into(), toml::Value::Boolean(false));
    t.insert("simulator".into(), toml::Value::Table(st));
    // Tests run side by side: each ferry's admin server on a port of its own.
    let mut at = toml::Table::new();
    at.insert("listen".into(), toml::Value::String("127.0.0.1:0".into()));
    t.insert("admin".into(), toml::Value::Table(at));
    let mut pt = toml::Table::new();
    pt.insert("settle_lag".into(), toml::Value::String("1s".into()));
    t.insert("pipeline".into(), toml::Value::Table(pt));
    // History: the Jushuitan simulator spreads its documents over the last ~60 days.
    let start = ferry::time::format_beijing(ferry::time::now_unix() - 70 * DAY);
    if let Some(toml::Value::Array(schemes)) = t.get_mut("scheme") {
        for sc in schemes {
            if let Some(toml::Value::Table(src)) = sc.get_mut("source") {
                if src.contains_key("start_from") {
                    src.insert("start_from".into(), toml::Value::String(start.clone()));
                }
            }
        }
    }
    edit(&mut t);
    let path = dir.join("config.toml");
    std::fs::write(&path, toml::to_string(&t).expect("serialize config")).expect("write config");
    path
}

/// Replaces `key = value` on every `[[scheme]]` table's sub-table `sub` (or on the scheme itself
/// when `sub` is empty) that already has that key (so `window` only touches windowed schemes).
pub fn set_scheme(t: &mut toml::Table, sub: &str, key: &str, value: toml::Value) {
    if let Some(toml::Value::Array(schemes)) = t.get_mut("scheme") {
        for sc in schemes {
            let Some(table) = sc.as_table_mut() else {
                continue;
            };
            let target = if sub.is_empty() {
                Some(table)
            } else {
                table.get_mut(sub).and_then(|v| v.as_table_mut())
            };
            if let Some(t) = target {
                if t.contains_key(key) {
                    t.insert(key.into(), value.clone());
                }
            }
        }
    }
}

/// Runs the real binary with `args` against `config`.
pub fn ferry(config: &Path, args: &[&str]) -> Output {
    Command::new(ferry_bin())
        .arg("--config")
        .arg(config)
        .args(args)
        .env("FERRY_LOG", "warn")
        .output()
        .expect("run ferry")
}

/// `ferry run --once --json`: exit code and the parsed summary.
pub fn run_once(config: &Path, extra: &[&str]) -> (i32, serde_json::Value, String) {
    let mut args = vec!["run", "--once", "--json"];
    args.extend_from_slice(extra);
    let out = ferry(config, &args);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    let stderr = String::from_utf8_lossy(&out.stderr).to_string();
    let summary = stdout
        .lines()
        .rev()
        .find_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .unwrap_or(serde_json::Value::Null);
    (out.status.code().unwrap_or(-1), summary, stderr)
}

/// The summary row of `scheme`.
pub fn row<'a>(summary: &'a serde_json::Value, scheme: &str) -> &'a serde_json::Value {
    summary["schemes"]
        .as_array()
        .and_then(|a| a.iter().find(|r| r["scheme"] == scheme))
        .unwrap_or(&serde_json::Value::Null)
}

/// Source documents the SAL_RETURNSTOCK scheme should deliver: 其它进仓, Confirmed, with items.
pub fn eligible_returns(sims: &Sims) -> Vec<serde_json::Value> {
    eligible(
        sims,
        "other.inout.query",
        &[("type", &["其它进仓"]), ("status", &["Confirmed"])],
        Some("items"),
    )
}

/// The documents of `api` (`orders.out.simple.query`, `sku.query`, ...) that the simulator holds
/// now and a scheme should deliver: every `(field, values)` condition holds (the field's text,
/// numbers as their digits, is one of the values) and, with `lines`, that list is not empty.
/// In (modified, key) order, latest versions only.
pub fn eligible(
    sims: &Sims,
    api: &str,
    conditions: &[(&str, &[&str])],
    lines: Option<&str>,
) -> Vec<serde_json::Value> {
    let text = |v: &serde_json::Value| match v {
        serde_json::Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    sims.jushuitan
        .api_documents_at(api, ferry::time::now_unix())
        .into_iter()
        .filter(|d| {
            conditions
                .iter()
                .all(|(field, values)| values.contains(&text(&d[*field]).as_str()))
                && lines.is_none_or(|l| d[l].as_array().is_some_and(|a| !a.is_empty()))
        })
        .collect()
}

/// Identities saved in the Kingdee simulator for a form, with how often each was saved.
pub fn saved_identities(
    sims: &Sims,
    form: &str,
    field: &str,
) -> std::collections::BTreeMap<String, usize> {
    let mut m = std::collections::BTreeMap::new();
    for doc in sims.kingdee.saved(form) {
        let key = match &doc[field] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        *m.entry(key).or_insert(0) += 1;
    }
    m
}
