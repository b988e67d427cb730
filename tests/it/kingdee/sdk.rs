//! The official Python SDK against the simulator (FERRY_SDK_TESTS=1).

use super::*;

fn sdk_enabled() -> bool {
    if std::env::var("FERRY_SDK_TESTS").as_deref() == Ok("1") {
        return true;
    }
    eprintln!("note: skipped; set FERRY_SDK_TESTS=1 to run the official Python SDK tests");
    false
}

fn python(args: &[&str]) -> std::process::Output {
    let root = env!("CARGO_MANIFEST_DIR");
    let mut cmd = std::process::Command::new("python3");
    cmd.current_dir(root).args(args);
    match cmd.output() {
        Ok(o) => o,
        Err(e) => panic!("cannot run python3: {e}"),
    }
}

#[test]
fn sdk_signed_headers_equal_ferrys() {
    if !sdk_enabled() {
        return;
    }
    let cases = [
        ("http://127.0.0.1:8080/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.BatchSave.common.kdsvc",
         "65f0000000000a", "apiuser", "200001_422C1/iIyuH4R+Ws526A2/yLyrX6RrOs",
         "fedcba9876543210fedcba9876543210", 2052u32, "0", 1_700_000_000i64),
        ("https://erp.example.cn/k3cloud/Kingdee.BOS.WebApi.ServicesStub.DynamicFormService.ExecuteBillQuery.common.kdsvc",
         "6f1a2b3c4d5e6f", "张三", "300001_notthirtytwo", "abc", 1033, "100", 1_800_000_123),
    ];
    for (url, acct, user, app_id, secret, lcid, org, ts) in cases {
        let (lcid_s, ts_s) = (lcid.to_string(), ts.to_string());
        let out = python(&[
            "tests/sdk/signed_headers.py",
            url,
            acct,
            user,
            app_id,
            secret,
            &lcid_s,
            org,
            &ts_s,
        ]);
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let sdk: Vec<(String, String)> =
            serde_json::from_slice(&out.stdout).unwrap_or_else(|e| panic!("{e}"));
        let sdk: Vec<(String, String)> = sdk
            .into_iter()
            .filter(|(k, _)| k.to_ascii_lowercase().starts_with("x-"))
            .collect();
        let ours = signed_headers(app_id, secret, acct, user, lcid, org, url, ts);
        assert_eq!(ours, sdk, "{url}");
    }
}

#[test]
fn sdk_conformance_against_the_simulator() {
    if !sdk_enabled() {
        return;
    }
    let s = sim(KdSimOptions::default());
    let base = s.base_url();
    let out = python(&[
        "tests/sdk/conformance.py",
        &base,
        s.acct_id(),
        s.user(),
        s.app_id(),
        s.app_secret(),
    ]);
    assert!(
        out.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(s.count(STOCK), 2);
    assert_eq!(s.count(RET), 2);
}

#[test]
fn form_urlencoded_requests_client_against_the_simulator() {
    if !sdk_enabled() {
        return;
    }
    let s = sim(KdSimOptions::default());
    let out = python(&[
        "tests/sdk/form_client.py",
        &s.base_url(),
        s.acct_id(),
        s.user(),
        s.password(),
    ]);
    assert!(
        out.status.success(),
        "stdout:\n{}\nstderr:\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(saved_numbers(&s, RET, "FBillNo"), vec!["FORM-0001"]);
    assert_eq!(s.count("SAL_RETURNSTOK"), 0);
}
