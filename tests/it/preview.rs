//! `ferry preview` on large and odd inputs (issue 12, item 9), through the real binary.

use std::path::{Path, PathBuf};

use serde_json::{json, Value};

use crate::helpers::*;

fn a_return() -> Value {
    let p = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/return.json");
    let v: Value = serde_json::from_slice(&std::fs::read(p).expect("fixture")).expect("json");
    v["data"]["datas"][0].clone()
}

/// The fixture return with `n` lines (the fixture's two lines repeated, each with its own key).
fn return_with_lines(n: usize) -> Value {
    let mut doc = a_return();
    let items = doc["items"].as_array().cloned().unwrap_or_default();
    let lines: Vec<Value> = (0..n)
        .map(|i| {
            let mut it = items[i % items.len()].clone();
            it["ioi_id"] = json!(20001 + i as i64);
            it["name"] = json!(format!("纯棉T恤 白色 M 第{i}行"));
            it
        })
        .collect();
    doc["items"] = Value::Array(lines);
    doc
}

fn write_input(dir: &Path, name: &str, v: &Value) -> PathBuf {
    let p = dir.join(name);
    std::fs::write(&p, serde_json::to_vec(v).expect("json")).expect("write input");
    p
}

/// `ferry preview` with the shipped config: exit code, stdout, stderr.
fn preview(config: &Path, scheme: &str, input: &Path) -> (Option<i32>, String, String) {
    let out = ferry(
        config,
        &[
            "preview",
            "--scheme",
            scheme,
            "--input",
            input.to_str().unwrap_or_default(),
        ],
    );
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).to_string(),
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[test]
fn a_ten_thousand_line_document_previews() {
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write_input(dir.path(), "big.json", &return_with_lines(10_000));
    let (code, stdout, stderr) = preview(&shipped_config(), "offline-returns", &input);
    let head: String = stdout.chars().take(600).collect();
    assert_eq!(code, Some(0), "{head}\n{stderr}");
    assert!(
        stdout.contains("SAL_RETURNSTOCK FBillNo = JST-10001 (10000 line keys)"),
        "{head}"
    );
    assert!(stdout.contains("第9999行") || stdout.contains("\"FMaterialId\""));
    assert_eq!(stdout.matches("\"FRealQty\"").count(), 10_000);
}

/// The limits still stop a script that really builds something huge, on a small document and
/// on a large one alike.
#[test]
fn a_script_that_builds_a_huge_string_is_still_stopped() {
    let dir = tempfile::tempdir().expect("tempdir");
    let text = std::fs::read_to_string(shipped_config()).expect("config");
    let runaway = text.replace(
        "FHeadNote = '=\"聚水潭其它进仓 \" + doc.io_id",
        "FHeadNote = '=let s = \"聚水潭\"; for i in 0..40 { s += s; }; s + doc.io_id",
    );
    assert_ne!(
        runaway, text,
        "the shipped FHeadNote changed; adjust the test"
    );
    let config = dir.path().join("config.toml");
    std::fs::write(&config, runaway).expect("write config");
    for lines in [2, 10_000] {
        let input = write_input(dir.path(), "doc.json", &return_with_lines(lines));
        let (code, stdout, stderr) = preview(&config, "offline-returns", &input);
        assert_eq!(code, Some(1), "{lines} lines: {stdout}\n{stderr}");
        assert!(
            stdout.contains("would go to the dead letters")
                && stdout.contains("FHeadNote")
                && stdout.contains("too large"),
            "{lines} lines: {stdout}"
        );
    }
}

#[test]
fn a_jushuitan_error_answer_is_reported_as_that_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (answer, expect) in [
        (
            json!({"code": 100, "msg": "签名错误", "data": null}),
            "Jushuitan answered code 100: 签名错误",
        ),
        (
            json!({"code": "199", "msg": "access_token已过期"}),
            "Jushuitan answered code 199: access_token已过期",
        ),
        (
            json!({"code": -1, "msg": null}),
            "Jushuitan answered code -1",
        ),
    ] {
        let input = write_input(dir.path(), "answer.json", &answer);
        let (code, stdout, stderr) = preview(&shipped_config(), "offline-returns", &input);
        assert_eq!(code, Some(1), "{answer}: {stdout}\n{stderr}");
        assert!(stdout.contains(expect), "{answer}: {stdout}");
        assert!(!stdout.contains("no source key"), "{answer}: {stdout}");
    }
    // A success answer still previews its documents; an empty one says so.
    let ok =
        json!({"code": 0, "msg": "执行成功", "data": {"datas": [a_return()], "has_next": false}});
    let input = write_input(dir.path(), "answer.json", &ok);
    let (code, stdout, stderr) = preview(&shipped_config(), "offline-returns", &input);
    assert_eq!(code, Some(0), "{stdout}\n{stderr}");
    assert!(stdout.contains("FBillNo = JST-10001"), "{stdout}");
    for empty in [
        json!({"code": 0, "msg": "执行成功", "data": {"datas": [], "has_next": false}}),
        json!({"code": "0", "msg": "", "data": {"datas": null}}),
    ] {
        let input = write_input(dir.path(), "answer.json", &empty);
        let (code, stdout, _) = preview(&shipped_config(), "offline-returns", &input);
        assert_eq!(code, Some(1), "{empty}: {stdout}");
        assert!(stdout.contains("no documents"), "{empty}: {stdout}");
        assert!(!stdout.contains("no source key"), "{empty}: {stdout}");
    }
}

#[test]
fn odd_inputs_give_clear_errors_and_never_panic() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut deep = String::new();
    for _ in 0..500 {
        deep.push('[');
    }
    for _ in 0..500 {
        deep.push(']');
    }
    let mut inputs: Vec<String> = [
        json!(5),
        Value::Null,
        json!("text"),
        json!([]),
        json!({}),
        json!([[1, [2]], null, "x"]),
        json!({"data": 5}),
        json!({"data": {"datas": 5}}),
        json!({"code": null, "msg": 5}),
        json!({"code": {"x": 1}}),
        json!({"io_id": {"a": 1}}),
        json!([{"io_id": 1, "type": "其它进仓", "status": "Confirmed", "items": [[1], null, 5]}]),
        json!([{"io_id": 1, "type": "其它进仓", "status": "Confirmed", "items": "x"}]),
        json!({"io_id": 10001, "type": "其它进仓", "status": "Confirmed", "items": [{}], "io_date": null}),
    ]
    .iter()
    .map(Value::to_string)
    .collect();
    inputs.push(deep);
    inputs.push("{\"io_id\": 1,".into());
    inputs.push(String::new());
    for (i, text) in inputs.iter().enumerate() {
        let p = dir.path().join(format!("odd{i}.json"));
        std::fs::write(&p, text).expect("write");
        for scheme in ["offline-returns", "shops-to-stocks"] {
            let (code, stdout, stderr) = preview(&shipped_config(), scheme, &p);
            let shown: String = text.chars().take(80).collect();
            assert!(
                !stderr.contains("panicked") && code != Some(101),
                "{scheme} on {shown}: {stdout}\n{stderr}"
            );
            assert!(matches!(code, Some(0 | 1)), "{scheme} on {shown}: {code:?}");
            assert!(
                !stdout.trim().is_empty(),
                "{scheme} on {shown}: says nothing"
            );
        }
    }
}

/// `ferry preview … | head -1`: the reader goes away after one line; ferry ends quietly.
#[cfg(unix)]
#[test]
fn a_reader_that_goes_away_ends_preview_quietly() {
    use std::io::{BufRead, BufReader, Read};
    use std::process::{Command, Stdio};
    let dir = tempfile::tempdir().expect("tempdir");
    let input = write_input(dir.path(), "many.json", &return_with_lines(3000));
    let mut child = Command::new(ferry_bin())
        .arg("--config")
        .arg(shipped_config())
        .args(["preview", "--scheme", "offline-returns", "--input"])
        .arg(&input)
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn ferry");
    let mut stdout = BufReader::new(child.stdout.take().expect("stdout"));
    let mut first = String::new();
    stdout.read_line(&mut first).expect("first line");
    drop(stdout);
    let mut stderr = String::new();
    if let Some(mut e) = child.stderr.take() {
        let _ = e.read_to_string(&mut stderr);
    }
    let status = child.wait().expect("wait");
    assert!(first.contains("FBillNo"), "{first}");
    assert!(
        !stderr.contains("panicked") && !stderr.contains("error"),
        "{stderr}"
    );
    assert!(status.code().is_none_or(|c| c == 0), "{status:?}");
}

/// `ferry preview --sample`: a template just added is rehearsed against the simulator's documents
/// (fetched over HTTP, as `ferry run` asks for them), and a lookup the firm has not filled in
/// shows up as the dead letters it would make, naming the missing value.
#[test]
fn a_template_just_added_is_rehearsed_with_sample_documents() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    std::fs::copy(shipped_config(), &config).expect("copy config");
    let added = ferry(&config, &["template", "add", "purchase-in"]);
    assert!(
        added.status.success(),
        "{}",
        String::from_utf8_lossy(&added.stderr)
    );
    let run = |n: &str| {
        let out = ferry(
            &config,
            &["preview", "--scheme", "purchase-in", "--sample", n],
        );
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).to_string(),
        )
    };
    let (code, stdout) = run("1");
    assert_eq!(code, Some(0), "{stdout}");
    assert!(stdout.contains("purchasein.query"), "{stdout}");
    let summary = stdout
        .lines()
        .find(|l| l.contains("would be posted to STK_InStock"))
        .unwrap_or_else(|| panic!("no summary line: {stdout}"));
    let posted: usize = summary
        .split(": ")
        .nth(1)
        .and_then(|s| s.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no count in {summary}"));
    assert!(posted > 0, "{summary}");
    assert!(
        summary.contains("0 would go to the dead letters"),
        "{summary}"
    );
    // Exactly one model in full: one FBillNo line.
    assert_eq!(stdout.matches("\"FBillNo\"").count(), 1, "{stdout}");

    // A supplier the firm has not mapped yet: those documents would go to the dead letters.
    let text = std::fs::read_to_string(&config).expect("read config");
    let unmapped = text
        .lines()
        .find(|l| l.trim_start().starts_with("\"1001\""))
        .unwrap_or_else(|| panic!("no supplier 1001 in the added lookup:\n{text}"))
        .to_string();
    std::fs::write(&config, text.replace(&format!("{unmapped}\n"), "")).expect("write config");
    let (code, stdout) = run("0");
    assert_eq!(code, Some(1), "{stdout}");
    assert!(
        stdout.contains("would go to the dead letters: "),
        "{stdout}"
    );
    assert!(
        stdout.contains("1001"),
        "the missing supplier is named: {stdout}"
    );
    assert!(
        !stdout.contains(" 0 would go to the dead letters"),
        "{stdout}"
    );
}

/// `--sample` never reaches for the real Jushuitan: with the simulator off it says what to do.
#[test]
fn sample_needs_the_simulator() {
    let dir = tempfile::tempdir().expect("tempdir");
    let config = dir.path().join("config.toml");
    let text = std::fs::read_to_string(shipped_config()).expect("read config");
    std::fs::write(
        &config,
        text.replacen("enabled = true", "enabled = false", 1),
    )
    .expect("write config");
    let out = ferry(
        &config,
        &["preview", "--scheme", "offline-returns", "--sample"],
    );
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(out.status.code(), Some(1), "{stdout}");
    assert!(stdout.contains("--input FILE"), "{stdout}");
}
