//! The binary end to end against a form id the Kingdee simulator does not know.

use super::*;

/// The binary end to end: a typo in a scheme's form_id saves nothing and dead-letters every
/// document with Kingdee's message verbatim (it used to "deliver" against the simulator).
#[test]
fn a_typo_in_form_id_dead_letters_with_kingdees_message() {
    use crate::helpers::{ferry, run_once, start_sims, write_config, SimOpts};
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let sims = start_sims(
        dir.path(),
        &SimOpts {
            shops: 3,
            ..SimOpts::default()
        },
    );
    let config = write_config(dir.path(), &sims, |t| {
        let Some(toml::Value::Array(schemes)) = t.get_mut("scheme") else {
            panic!("no schemes")
        };
        for sc in schemes.iter_mut().filter_map(|s| s.as_table_mut()) {
            match sc.get("name").and_then(|n| n.as_str()) {
                Some("shops-to-stocks") => {
                    if let Some(toml::Value::Table(target)) = sc.get_mut("target") {
                        target.insert("form_id".into(), toml::Value::String("BD_STOCKK".into()));
                    }
                }
                _ => {
                    sc.insert("enabled".into(), toml::Value::Boolean(false));
                }
            }
        }
    });
    let (code, summary, stderr) = run_once(&config, &[]);
    assert_ne!(code, 0, "{summary}\n{stderr}");
    assert_eq!(sims.kingdee.count("BD_STOCKK"), 0);
    assert_eq!(sims.kingdee.count(STOCK), 0);
    let out = ferry(&config, &["dlq", "list", "--json"]);
    let list: Value = serde_json::from_slice(&out.stdout)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(&out.stdout)));
    let errors: Vec<&str> = list
        .as_array()
        .map(|a| a.iter().filter_map(|d| d["error"].as_str()).collect())
        .unwrap_or_default();
    assert_eq!(errors.len(), 3, "{list}");
    for e in errors {
        assert!(
            e.contains("标识为“BD_STOCKK”的业务对象不存在，或者被删除。"),
            "{e}"
        );
    }
    sims.stop();
}
