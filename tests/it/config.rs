//! Config: every mistake at once with its line, unknown keys, `${VAR}`, paths, CRLF, non-UTF-8.

use std::path::Path;

use ferry::config::{self, KingdeeAuth};

use crate::helpers::shipped_config;

fn shipped_text() -> String {
    std::fs::read_to_string(shipped_config()).expect("shipped config")
}

fn line_of(text: &str, needle: &str) -> usize {
    text.lines()
        .position(|l| l.contains(needle))
        .map(|i| i + 1)
        .unwrap_or_else(|| panic!("`{needle}` not in the text"))
}

#[test]
fn shipped_config_compiles_and_resolves_data_dir_next_to_the_file() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("ferry.toml");
    std::fs::write(&path, shipped_text()).expect("write");
    let c = config::load(&path).expect("shipped config is valid");
    assert_eq!(c.data_dir, dir.path().join("data"));
    assert_eq!(c.schemes.len(), 2);
    let r = c.scheme("offline-returns").expect("offline-returns");
    assert_eq!(r.source.api, "other.inout.query");
    assert_eq!(r.source.window.as_secs(), 7 * 86400);
    assert_eq!(r.source.overlap.as_secs(), 60);
    assert_eq!(r.every.as_secs(), 10);
    assert_eq!(c.pipeline.settle_lag.as_secs(), 5);
    assert_eq!(c.simulator.live, 0.0);
    assert_eq!(r.source.page_size, 50);
    assert_eq!(r.target.identity_field, "FBillNo");
    assert_eq!(r.source.params["types"], serde_json::json!(["其它进仓"]));
    assert_eq!(
        r.target.options["IsVerifyBaseDataField"],
        serde_json::json!(true)
    );
    let s = c.scheme("shops-to-stocks").expect("shops-to-stocks");
    assert!(s.source.window.is_zero());
    assert_eq!(s.target.id_field, "FStockId");
    assert_eq!(c.jushuitan.per_second, 5);
    assert_eq!(c.jushuitan.per_minute, 100);
    assert_eq!(c.jushuitan.page_cap("shops.query"), 100);
    assert_eq!(c.jushuitan.page_cap("other.inout.query"), 50);
    assert!(c.simulator.enabled);
}

#[test]
fn five_different_mistakes_are_all_reported_with_their_lines() {
    let text = shipped_text()
        .replacen("per_second = 5 ", "per_second = \"five\" ", 1)
        .replacen("lcid = 2052", "lcid = 2052\ncolour = \"blue\"", 1)
        .replacen("every = \"10s\"", "every = \"soon\"", 1)
        .replacen("window = \"7d\"", "window = \"10d\"", 1)
        .replacen(
            "batch_size = 50\nidentity_field = \"FBillNo\"",
            "batch_size = 0\nidentity_field = \"FBillNo\"",
            1,
        )
        .replacen(
            "FRetcustId = { FNumber = '=lookup(\"customer\", doc.drp_co_name)' }",
            "FRetcustId = { FNumber = '=lookup(\"customers\", doc.drp_co_name)' }",
            1,
        )
        .replacen(
            "FRealQty = \"=abs(item.qty)\"",
            "FRealQty = \"=abs(item.qty\"",
            1,
        );
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &text).expect("write");
    let errors = config::load(&path).expect_err("broken config");
    let all = errors.to_string();
    let expect = [
        ("per_second = \"five\"", "jushuitan.per_second"),
        ("colour = \"blue\"", "kingdee.colour"),
        ("every = \"soon\"", "every"),
        ("window = \"10d\"", "source.window"),
        ("batch_size = 0", "target.batch_size"),
        ("lookup(\"customers\"", "mapping.FRetcustId.FNumber"),
        ("FRealQty = \"=abs(item.qty\"", "FRealQty"),
    ];
    assert!(errors.len() >= expect.len(), "{all}");
    for (needle, field) in expect {
        let line = line_of(&text, needle);
        assert!(
            errors
                .iter()
                .any(|e| e.line == line && e.field.contains(field)),
            "no error for `{field}` on line {line}:\n{all}"
        );
    }
    // Scheme errors name the scheme; file names the file.
    let e = errors
        .iter()
        .find(|e| e.field == "every")
        .expect("every error");
    assert_eq!(e.scheme.as_deref(), Some("offline-returns"));
    assert!(all.contains("config.toml:"), "{all}");
    assert!(all.contains("unknown key `colour`"), "{all}");
    assert!(all.contains("lookup \"customers\" is not defined"), "{all}");
}

#[test]
fn unset_environment_variable_is_an_error_naming_it() {
    let text = shipped_text().replacen(
        "# app_secret = \"${JST_APP_SECRET}\"",
        "app_secret = \"${FERRY_TEST_SURELY_UNSET_VAR}\"",
        1,
    );
    let errors = config::load_str(Path::new("x.toml"), &text).expect_err("unset var");
    assert!(
        errors
            .iter()
            .any(|e| e.message.contains("FERRY_TEST_SURELY_UNSET_VAR")
                && e.field == "jushuitan.app_secret"),
        "{errors}"
    );
}

#[test]
fn a_ca_file_that_is_not_a_certificate_is_reported_by_check() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("kingdee.cer"), "导出失败\r\n").expect("write");
    let text = shipped_text().replacen(
        "# ca_file = \"kingdee.cer\"",
        "ca_file = \"kingdee.cer\"",
        1,
    );
    assert!(
        text.contains("\nca_file = \"kingdee.cer\""),
        "the shipped config changed"
    );
    let path = dir.path().join("config.toml");
    std::fs::write(&path, &text).expect("write");
    let errors = config::load(&path).expect_err("not a certificate");
    let e = errors
        .iter()
        .find(|e| e.field == "kingdee.ca_file")
        .unwrap_or_else(|| panic!("{errors}"));
    assert!(e.message.contains("holds no certificate"), "{errors}");
    assert_eq!(
        e.line,
        line_of(&text, "ca_file = \"kingdee.cer\""),
        "{errors}"
    );

    // A real certificate (here a DER .cer) passes.
    let der = std::fs::read(
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/tls/selfsigned.cer"),
    )
    .expect("fixture");
    std::fs::write(dir.path().join("kingdee.cer"), der).expect("write");
    config::load(&path).expect("a DER certificate is a valid ca_file");
}

#[test]
fn secrets_come_from_the_environment_and_never_print() {
    std::env::set_var("FERRY_TEST_KD_SECRET", "s3cr3t-value-123");
    let text = shipped_text()
        .replacen("enabled = true\ndocs", "enabled = false\ndocs", 1)
        .replacen(
            "# app_secret = \"${JST_APP_SECRET}\"",
            "app_secret = \"${FERRY_TEST_KD_SECRET}\"",
            1,
        )
        .replacen(
            "# app_secret = \"${KD_APP_SECRET}\"",
            "app_secret = \"${FERRY_TEST_KD_SECRET}\"",
            1,
        );
    let c = config::load_str(Path::new("x.toml"), &text).expect("valid");
    assert!(!c.simulator.enabled);
    match &c.kingdee.auth {
        KingdeeAuth::Signed { app_secret, .. } => {
            assert_eq!(app_secret.expose(), "s3cr3t-value-123")
        }
        other => panic!("{other:?}"),
    }
    let debug = format!("{c:?}");
    assert!(
        !debug.contains("s3cr3t-value-123"),
        "a secret leaked into Debug output"
    );
}

#[test]
fn without_the_simulator_missing_credentials_are_errors() {
    let text = shipped_text().replacen("enabled = true\ndocs", "enabled = false\ndocs", 1);
    let errors = config::load_str(Path::new("x.toml"), &text).expect_err("no secrets");
    let all = errors.to_string();
    assert!(
        all.contains("jushuitan.app_secret") && all.contains("kingdee.app_secret"),
        "{all}"
    );
}

#[test]
fn crlf_and_bom_are_read_like_lf() {
    let text = format!("\u{feff}{}", shipped_text().replace('\n', "\r\n"));
    let c = config::load_str(Path::new("crlf.toml"), &text).expect("CRLF config is valid");
    assert_eq!(c.schemes.len(), 2);
    let r = c.scheme("offline-returns").expect("scheme");
    let m = r.mapper.map(&serde_json::json!({"io_id": 1, "type": "其它进仓", "status": "Confirmed", "io_date": "2026-09-02 10:00:00", "warehouse": "主仓", "drp_co_name": "", "items": [{"ioi_id": 5, "sku_id": "SKU-0001", "qty": 1}]}));
    assert!(matches!(m, ferry::mapping::MapOutcome::Mapped(_)), "{m:?}");
}

#[test]
fn non_utf8_and_syntax_errors_name_the_file_and_line() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, b"data_dir = \"data\"\nname = \"\xff\xfe\"\n").expect("write");
    let e = config::load(&path).expect_err("not UTF-8");
    assert_eq!(e.len(), 1);
    assert!(
        e.to_string().contains("bad.toml:2:") && e.to_string().contains("UTF-8"),
        "{e}"
    );
    std::fs::write(&path, "data_dir = \"data\"\n[kingdee\n").expect("write");
    let e = config::load(&path).expect_err("syntax");
    assert!(
        e.to_string().contains("bad.toml:2:") && e.to_string().contains("TOML syntax"),
        "{e}"
    );
    let e = config::load(&dir.path().join("missing.toml")).expect_err("missing file");
    assert!(e.to_string().contains("missing.toml"), "{e}");
}

#[test]
fn duplicate_scheme_names_and_bad_policies_are_errors() {
    let text = shipped_text().replacen(
        "name = \"shops-to-stocks\"",
        "name = \"offline-returns\"",
        1,
    );
    let all = config::load_str(Path::new("x.toml"), &text)
        .expect_err("dup")
        .to_string();
    assert!(all.contains("defined twice"), "{all}");
    let text = shipped_text().replacen("on_change = \"record\"", "on_change = \"ignore\"", 1);
    let all = config::load_str(Path::new("x.toml"), &text)
        .expect_err("policy")
        .to_string();
    assert!(all.contains("unknown policy `ignore`"), "{all}");
}

#[test]
fn simulator_live_rate_is_a_number_of_changes_per_second() {
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("config.toml");
    for (value, want) in [
        ("2.5", Some(2.5)),
        ("3", Some(3.0)),
        ("-1", None),
        ("\"fast\"", None),
    ] {
        let text = shipped_text().replacen("live = 0 ", &format!("live = {value} "), 1);
        assert!(text.contains(&format!("live = {value} ")));
        std::fs::write(&path, &text).expect("write");
        match (config::load(&path), want) {
            (Ok(c), Some(rate)) => assert_eq!(c.simulator.live, rate),
            (Err(e), None) => {
                let all = e.to_string();
                assert!(all.contains("simulator.live"), "{all}");
            }
            (Ok(c), None) => panic!("live = {value} accepted as {}", c.simulator.live),
            (Err(e), Some(_)) => panic!("live = {value} refused: {e}"),
        }
    }
}
